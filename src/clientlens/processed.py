"""Reading what earlier stages wrote to data/processed/ (never data/raw/)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

PANEL_FILE = "client_quarter.parquet"  # the client-quarter panel every analysis stage reads
PANEL_META_FILE = "panel_meta.json"

# Tables with a row per hour logged: tens of millions of rows at a large firm, more than an
# analyst's laptop holds in pandas. The analysis reads their client-quarter sums in the panel.
ROW_LEVEL_TABLES = frozenset({"time_entries"})


def file_stats(folder: Path | str, names: Iterable[str] | None = None,
                since_ns: int = 0) -> dict[str, list[int]]:
    """{file: [size, mtime_ns]} for the named files under `folder` that exist, or, without names,
    for every file below it (hidden ones aside) written at or after `since_ns`. Make-like
    checks compare these to see whether a file was written again."""
    folder = Path(folder)
    paths = ([folder / n for n in names] if names is not None
             else [p for p in folder.rglob("*") if not p.name.startswith(".")])
    out = {}
    for path in sorted(paths):
        if path.is_file() and (stat := path.stat()).st_mtime_ns >= since_ns:
            out[path.relative_to(folder).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return out


def load_table(processed_dir: Path | str, name: str) -> pd.DataFrame | None:
    """A processed table, or None when the firm did not supply it ("not measured")."""
    if name in ROW_LEVEL_TABLES:
        raise ValueError(f"{name} is not loaded into pandas (one row per hour logged, tens of millions at a "
                         "large firm): read its client-quarter sums from the panel (load_panel), or aggregate "
                         "it in SQL as clientlens.intake.panel does")
    path = Path(processed_dir) / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else None


class NotBuiltYet(FileNotFoundError):
    """A stage's input is missing: an earlier stage has not run."""


def load_panel(processed_dir: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    processed_dir = Path(processed_dir)
    if not (processed_dir / PANEL_FILE).exists() or not (processed_dir / PANEL_META_FILE).exists():
        raise NotBuiltYet(f"{processed_dir} holds no client-quarter panel yet: run notebooks/01-ingest "
                          "(or make report) first")
    panel = pd.read_parquet(processed_dir / PANEL_FILE)
    meta = json.loads((processed_dir / PANEL_META_FILE).read_text(encoding="utf-8"))
    return panel, meta


def save_table(df: pd.DataFrame, processed_dir: Path | str, name: str) -> None:
    """Write a stage's result, index-free so reruns give identical bytes."""
    df.reset_index(drop=True).to_parquet(Path(processed_dir) / f"{name}.parquet", index=False)


def ingest_manifest(processed_dir: Path | str) -> dict[str, Any]:
    """What ingest recorded of its run (manifest.json): the inputs, the tables supplied, the
    reporting currency it settled on, the dates the data spans."""
    path = Path(processed_dir) / "manifest.json"
    if not path.exists():
        raise NotBuiltYet(f"{processed_dir} holds no ingest manifest yet: run notebooks/01-ingest "
                          "(or make report) first")
    return json.loads(path.read_text(encoding="utf-8"))


def reporting_currency(processed_dir: Path | str) -> str:
    """The currency every amount was converted to, as ingest settled it: under
    reporting_currency auto, the one the exports name (see intake.ingest)."""
    return str(ingest_manifest(processed_dir)["reporting_currency"])


def summary_totals(summary: pd.DataFrame | None) -> dict[str, int]:
    """The ingest summary's totals: files, rows read (a file feeding two tables, a helpdesk
    export's requests and surveys, has a line per table: its rows count once), accepted,
    set aside, and merged or skipped (lines of one record, rows the export marks as none)."""
    if summary is None or summary.empty:
        return {"files": 0, "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "rows_merged_or_skipped": 0}
    by_file = summary.groupby("file")
    extra = [c for c in ("rows_merged", "rows_skipped") if c in summary.columns]
    return {"files": int(by_file.ngroups), "rows_read": int(by_file["rows_read"].max().sum()),
            "rows_accepted": int(summary["rows_accepted"].sum()) if "rows_accepted" in summary else 0,
            "rows_quarantined": int(summary["rows_quarantined"].sum()),
            "rows_merged_or_skipped": int(summary[extra].sum().sum()) if extra else 0}
