"""A raw file made readable by DuckDB: one SQL relation of text columns c0..cN.

Every format ends here, so validation is one SQL rule engine whatever the export:
the relation yields each header's column as VARCHAR (c0, c1, ...), any fields
beyond the header as overflow columns, and, when the reader knows it, the
spreadsheet row of each record as _row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from clientlens.intake.readers.errors import IngestError

# C0 and C1 control characters and DEL: no text a person typed holds them, a file holding one
# in a cell is damaged or binary. Tab, line feed and carriage return are text inside a cell.
# The same pattern serves Python's re and DuckDB's RE2.
CONTROL_CHARACTERS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
_CONTROL = re.compile(CONTROL_CHARACTERS)


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def control_character(text: str) -> str | None:
    """The first control character of `text` as U+XXXX, or None."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_header(shown: str, headers: list[str] | tuple[str, ...], where: str) -> None:
    """Stop when a header cell holds a control character: every column name after it is in doubt."""
    for k, header in enumerate(headers, 1):
        code = control_character(header)
        if code:
            raise IngestError(f"{shown}: control character {code} in the header row ({where}, column {k}); "
                              f"the file is damaged or not a table: export it again")


@dataclass(frozen=True)
class TextLayout:
    """Where a delimited text file's records are: its codec, separator and header line (0-based)."""
    codec: str
    delimiter: str
    header_index: int


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
    # How many records lie below the header, as a reader other than the staging counted them
    # (ingest checks the rows staged against it): set by the workbook and Parquet readers; a
    # text file's are counted from its bytes (sniff.count_records), with `layout`.
    records: int | None = None
    layout: TextLayout | None = None

    def column(self, index: int) -> str:
        return q(f"c{index}")
