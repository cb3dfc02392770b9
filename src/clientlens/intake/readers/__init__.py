"""Readers: every supported file format turned into one SQL relation of text columns.

`open_source` picks the reader by file suffix; `recognise` (adapters) says which
canonical table and export format the header row is.
"""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from clientlens.intake.readers.adapters import FileMapping, recognise
from clientlens.intake.readers.csv_reader import open_csv, open_csv_fast
from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.excel import open_xlsx
from clientlens.intake.readers.parquet_reader import open_parquet
from clientlens.intake.readers.source import RawSource

TEXT_SUFFIXES = (".csv", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
DATA_SUFFIXES = TEXT_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES


def find_inputs(raw_dir: Path) -> list[Path]:
    """Data files in the raw folder and its subfolders, sorted by path (the order that decides
    'first occurrence').

    Hidden files, Excel lock files (~$...) and other suffixes (README.md, .gitkeep)
    are not inputs. An old .xls stops the run: it cannot be read safely.
    """
    if not raw_dir.is_dir():
        raise IngestError(f"{display_path(raw_dir)}: no such folder")
    files = []
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir)
        if not path.is_file() or any(part.startswith((".", "~$")) for part in rel.parts):
            continue
        suffix = path.suffix.lower()
        if suffix == ".xls":
            raise IngestError(f"{display_path(path)}: old .xls workbooks are not supported; "
                              f"save it as .xlsx or .csv")
        if suffix in DATA_SUFFIXES:
            files.append(path)
    return files


def open_source(path: Path, name: str, tmpdir: Path, con: duckdb.DuckDBPyConnection,
                fast: bool = False) -> RawSource:
    """The file as a relation; with `fast`, a CSV that looks plain is not scanned in full
    first (see csv_reader.open_csv_fast: the typed read checks it instead)."""
    suffix = path.suffix.lower()
    try:
        if fast and suffix not in EXCEL_SUFFIXES + PARQUET_SUFFIXES:
            source = open_csv_fast(path, name)
            if source is not None:
                return source
        if suffix in EXCEL_SUFFIXES:
            return open_xlsx(path, name, tmpdir)
        if suffix in PARQUET_SUFFIXES:
            return open_parquet(path, name, con)
        return open_csv(path, name, tmpdir)
    except OSError as exc:
        raise IngestError(f"{display_path(path)}: unreadable ({exc.strerror or exc})") from exc
    except (csv.Error, UnicodeError, ValueError) as exc:
        raise IngestError(f"{display_path(path)}: unreadable ({type(exc).__name__}: {exc})") from exc


__all__ = ["FileMapping", "IngestError", "RawSource", "find_inputs", "open_source", "recognise"]
