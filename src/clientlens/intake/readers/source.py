"""A raw file made readable by DuckDB: one SQL relation of text columns c0..cN.

Every format ends here, so validation is one SQL rule engine whatever the export:
the relation yields each header's column as VARCHAR (c0, c1, ...), any fields
beyond the header as overflow columns, and, when the reader knows it, the
spreadsheet row of each record as _row.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class RawSource:
    path: Path
    name: str  # path relative to the raw folder: what outputs and entry ids show
    kind: str  # csv, xlsx or parquet
    encoding: str  # utf-8, utf-8-sig, cp1251, or n/a for binary formats
    headers: tuple[str, ...]  # header i is column c{i} of `relation`
    relation: str  # SQL table expression
    row_column: bool = False  # relation has _row; else rows are first_row + insertion order
    first_row: int = 2
    overflow: tuple[str, ...] = ()  # columns holding fields past the header
    fallback_relation: str = ""  # a slower single-threaded read, tried when DuckDB asks for it
    # Set on a CSV that DuckDB may read straight, typed (readers.csv_reader.typed_relation):
    delimiter: str = ""
    skip: int = 0  # lines above the header
    fast: bool = False  # not yet scanned in full: the typed read checks what the scan would

    def column(self, index: int) -> str:
        return q(f"c{index}")
