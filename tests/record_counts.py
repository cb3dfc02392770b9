"""Records of a raw file counted by a third reader (Python's csv module, openpyxl,
pyarrow.parquet), neither the staging that parses it nor ingest's own count (check_rows_read).

conftest.py checks with it every ingest the adapter tests make (ADAPTER_TEST_MODULES), file by
file; tests/test_row_counts.py checks a demo firm and staging faults.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
from rawfiles import summary

SEPARATORS = (",", ";", "\t", "|")
HEADER_SEARCH = 30  # lines or sheet rows a header may lie below (titles above a register)
CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-8 (repaired)": "utf-8", "cp1251": "cp1251",
          "cp1252": "cp1252", "utf-16": "utf-16"}


def _filled(cells: list[object]) -> bool:
    return any(not pd.isna(c) and str(c).strip(" ") != "" for c in cells)


def csv_records(path: Path, encoding: str) -> int:
    """Records below the header, blank ones (nothing but spaces in every field) left out."""
    text = path.read_bytes().decode(CODECS[encoding], errors="replace").lstrip("\ufeff")
    first_lines = text.splitlines()[:HEADER_SEARCH]

    def fields(line: str, sep: str) -> list[str]:
        return next(csv.reader([line], delimiter=sep), [])

    def header_at(sep: str) -> int | None:
        return next((k for k, line in enumerate(first_lines)
                     if sum(1 for f in fields(line, sep) if f.strip()) >= 2), None)

    sep = max(SEPARATORS, key=lambda s: max((len(fields(line, s)) for line in first_lines), default=0))
    header = header_at(sep) or 0
    # Spaces before a quote are skipped, as DuckDB skips them: ` " "` is a quoted space.
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True))
    return sum(1 for record in records[header + 1:] if _filled(record))


def xlsx_records(path: Path) -> int:
    book = openpyxl.load_workbook(path, data_only=True)
    for sheet in book.worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        rows = [r for r in rows if _filled(r)]
        if rows:
            header = next((k for k, r in enumerate(rows[:HEADER_SEARCH])
                           if sum(c is not None and str(c).strip() != "" for c in r) >= 2), 0)
            return len(rows) - header - 1
    return 0


def parquet_records(path: Path) -> int:
    frame = pq.read_table(path).to_pandas()
    return int(frame.apply(lambda row: _filled(list(row)), axis=1).sum()) if len(frame) else 0


def third_count(path: Path, encoding: str) -> int:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_records(path)
    if suffix in (".parquet", ".pq"):
        return parquet_records(path)
    return csv_records(path, encoding)


def check_counts(raw: Path, out: Path) -> int:
    """Every file the summary lists: rows read = the third reader's count; the files checked."""
    s = summary(out)
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined + s.rows_merged + s.rows_skipped).all(), s
    for line in s.itertuples():
        assert line.rows_read == third_count(raw / line.file, line.encoding), (line.file, line.table)
    return len(s)


ADAPTER_TEST_MODULES = ("test_adapters", "test_adapters_time", "test_adapters_billing", "test_adapters_crm")


def counted(run_ingest):
    """run_ingest, each ingest it makes checked file by file by the third reader."""
    def run_and_count(raw, out, *args, **kwargs):
        result = run_ingest(raw, out, *args, **kwargs)
        check_counts(Path(raw), Path(out))
        return result
    return run_and_count
