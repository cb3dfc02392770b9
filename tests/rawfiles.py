"""Helpers that write raw export files into a test's tmp_path, and read ingest outputs back."""
from __future__ import annotations

import copy
import csv
import functools
import io
from pathlib import Path

import openpyxl
import pandas as pd

from clientlens import parameters

AS_OF = "2026-06-30"


@functools.lru_cache(maxsize=1)
def _project_params() -> dict:
    return parameters.read_file()


def params(**overrides) -> parameters.Params:
    """The project's real parameters with a fixed 'today', so future-date checks are stable,
    and a firm that reports in USD (tests of reporting_currency auto say so)."""
    return parameters.validate({**copy.deepcopy(_project_params()), "as_of": AS_OF,
                                "reporting_currency": "USD", **overrides})


def csv_text(rows: list[list[object]], sep: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def write_csv(folder: Path, name: str, rows: list[list[object]], sep: str = ",",
              encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(csv_text(rows, sep).encode(encoding))
    return path


def write_text(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(folder: Path, name: str, rows: list[list[object]], start_row: int = 1) -> Path:
    """A workbook whose first sheet holds `rows` from `start_row`; '=...' strings stay text."""
    folder.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate(rows, start_row):
        for c, value in enumerate(row, 1):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as exports write it
    path = folder / name
    book.save(path)
    return path


def write_parquet(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_parquet(path, index=False)
    return path


TIME_HEADER = ["entry_id", "date", "client_id", "person", "hours", "task", "bill_rate", "cost_rate"]


def time_rows(n: int = 3, client: str = "Acme") -> list[list[object]]:
    """A canonical time-entries table of n clean rows."""
    rows: list[list[object]] = [TIME_HEADER]
    for i in range(n):
        rows.append([f"t{i + 1}", f"2025-03-{i + 3:02d}", client, "Ann", 2, "feature work", 100, 40])
    return rows


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{table}.parquet")


def quarantine(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "quarantine" / "quarantine.parquet")


def summary(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "ingest_summary.parquet")
