"""Keeps each notebook and its percent-format .py twin in step, without outputs."""
from __future__ import annotations

from pathlib import Path

KERNELSPEC = {"name": "clientlens", "display_name": "clientlens (project)", "language": "python"}


def _write_ipynb(nb, path: Path) -> None:
    import jupytext

    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    jupytext.write(nb, path, fmt="ipynb")


def sync_pair(ipynb: Path) -> str:
    """Bring the older of notebook and twin up to the newer one; say which was written."""
    import jupytext

    twin = ipynb.with_suffix(".py")
    if twin.exists() and (not ipynb.exists() or twin.stat().st_mtime > ipynb.stat().st_mtime):
        _write_ipynb(jupytext.read(twin), ipynb)
        return "ipynb"
    if ipynb.exists() and (not twin.exists() or ipynb.stat().st_mtime > twin.stat().st_mtime):
        nb = jupytext.read(ipynb)
        if jupytext.writes(nb, fmt="py:percent") != (twin.read_text(encoding="utf-8") if twin.exists() else ""):
            jupytext.write(nb, twin, fmt="py:percent")
            return "py"
    return ""


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:] or [str(p) for p in sorted(Path("notebooks").glob("*.py"))]:
        path = Path(arg).with_suffix(".ipynb")
        written = sync_pair(path)
        if written:
            print(f"{path.with_suffix('.' + written)} updated", file=sys.stderr)
