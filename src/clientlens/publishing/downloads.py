"""CSV downloads that are safe to open in Excel.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be run
as a formula by a spreadsheet (CSV injection), so every string cell that does gets a
leading single quote. Hidden characters (bidirectional overrides, zero-width and control
characters) are shown as U+FFFD, as on the pages (display.neutralise). Column names get both
guards too. Files are UTF-8 with a BOM, so Excel reads non-ASCII names.

Notebooks write into `data/processed/downloads/`; publishing copies them into
`reports/downloads/` together with the pages (see `publish.build_site`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from clientlens.i18n import N_, tr
from clientlens.publishing.display import neutralise

DOWNLOADS_DIR = "downloads"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def guard_cell(value: Any) -> Any:
    """The value, its hidden characters shown, with a leading single quote if it is a string a
    spreadsheet would run; anything but a string as it is."""
    if not isinstance(value, str):
        return value
    value = neutralise(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def guard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of df with every string cell, and every column name, guarded."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(guard_cell)
    out.columns = [guard_cell(str(c)) for c in out.columns]
    return out


CLIENT_ID_HEADER = N_("client id")


def write_csv(df: pd.DataFrame, reports_dir: Path | str, name: str, lang: str = "en") -> str:
    """Write `<reports_dir>/downloads/<name>.csv`, its headers in `lang` (client_id as
    "client id", for joining with the firm's own systems); return its href relative to the pages."""
    df = df.rename(columns={"client_id": CLIENT_ID_HEADER}).rename(columns=lambda c: tr(str(c), lang))
    if not _SAFE_NAME.match(name) or name.endswith(".csv"):
        raise ValueError(f"download name {name!r}: use letters, digits, '-', '_' and no extension")
    folder = Path(reports_dir) / DOWNLOADS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.csv"
    tmp = target.with_name(f".{target.name}.tmp")
    # CRLF, as RFC 4180 has it: the csv writer then quotes a cell holding a lone carriage return,
    # which a spreadsheet would otherwise take for a new row whose first cell escaped the guard.
    guard_frame(df).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    tmp.replace(target)
    return f"{DOWNLOADS_DIR}/{name}.csv"
