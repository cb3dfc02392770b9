"""sync_pair: a notebook and its .py twin in step, without churning git."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat

from clientlens.paths import PROJECT_ROOT
from clientlens.tooling.notebooks import sync_pair


def _pair(tmp_path: Path, name: str = "02-pnl") -> Path:
    for suffix in (".ipynb", ".py"):
        shutil.copy(PROJECT_ROOT / "notebooks" / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.ipynb"


def _newer(path: Path) -> None:
    later = path.with_suffix(".ipynb" if path.suffix == ".py" else ".py").stat().st_mtime + 10
    os.utime(path, (later, later))


def test_a_pair_in_step_is_left_alone_whichever_is_newer(tmp_path: Path) -> None:
    ipynb = _pair(tmp_path)
    before = ipynb.read_bytes()
    _newer(ipynb.with_suffix(".py"))  # as a fresh clone may check them out
    assert sync_pair(ipynb) == ""
    assert ipynb.read_bytes() == before


def test_an_edited_twin_rewrites_the_notebook_keeping_unchanged_cells_ids(tmp_path: Path) -> None:
    ipynb = _pair(tmp_path)
    old = nbformat.read(ipynb, as_version=4)
    twin = ipynb.with_suffix(".py")
    twin.write_text(twin.read_text(encoding="utf-8") + "\n# %%\nprint('added')\n", encoding="utf-8")
    _newer(twin)
    assert sync_pair(ipynb) == "ipynb"
    new = nbformat.read(ipynb, as_version=4)
    assert [c.id for c in new.cells[:len(old.cells)]] == [c.id for c in old.cells]
    assert new.cells[-1].source == "print('added')" and new.cells[-1].id not in {c.id for c in old.cells}
