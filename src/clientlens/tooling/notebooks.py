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
    """Bring the older of notebook and twin up to the newer one; say which was written.

    A notebook already in step with a newer twin is left alone (a fresh clone's file times
    say nothing about which was edited), and one rewritten from its twin keeps the ids of the
    cells that did not change, so `make report` leaves git with nothing to show.
    """
    import jupytext

    twin = ipynb.with_suffix(".py")
    if twin.exists() and (not ipynb.exists() or twin.stat().st_mtime > ipynb.stat().st_mtime):
        nb = jupytext.read(twin)
        if ipynb.exists():
            old = jupytext.read(ipynb)
            if jupytext.writes(old, fmt="py:percent") == twin.read_text(encoding="utf-8"):
                return ""
            kept: dict[tuple[str, str], list[str]] = {}
            for c in old.cells:
                kept.setdefault((c.cell_type, c.source), []).append(c.get("id"))
            for cell in nb.cells:  # each old id once: ids must stay unique
                ids = kept.get((cell.cell_type, cell.source))
                if ids:
                    cell["id"] = ids.pop(0)
        _write_ipynb(nb, ipynb)
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
