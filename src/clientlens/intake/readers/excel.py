"""XLSX workbooks (openpyxl, read-only): the first sheet with data, values as displayed.

Cells are turned into text the way a person reads them (dates as ISO, 8.0 as 8)
and go through the same SQL rules as CSV. Formulas are never evaluated: a cell
holds its cached value, and text that looks like a formula stays text. Fully
empty rows and columns past the last header are ignored and not counted as read,
but every row keeps its real sheet row number.

A workbook cannot hold a control character in its XML: Excel writes one as _x0007_
(ECMA-376 Part 1, 22.9.2.19, ST_Xstring; Office's reading of it:
https://learn.microsoft.com/en-us/openspecs/office_standards/ms-oi29500/d34ae755-c53f-4a44-a363-c6dd3ee018a4),
which openpyxl leaves as it is. Such escapes are
read back into the character, so a cell holding one is quarantined as a CSV cell would be
(and Excel's _x000D_ before a line break is the carriage return it stands for).
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from clientlens.intake.readers.csv_reader import safe_name
from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.sniff import HEADER_SEARCH_LINES
from clientlens.intake.readers.source import RawSource, check_header, lit

# An escaped character below U+0020, the only ones XML cannot hold as they are.
_ESCAPED_CONTROL = re.compile(r"_x00([01][0-9A-Fa-f])_")


def cell_text(value: object) -> str | None:
    """A cell as the text a person sees, or None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # a duration cell ([h]:mm)
        total = int(round(value.total_seconds()))
        return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value)
    if "_x00" in text:
        text = _ESCAPED_CONTROL.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text if text.strip() else None


def _rows(path: Path):
    import openpyxl  # imported here: only workbooks need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"{display_path(path)}: unreadable workbook ({type(exc).__name__}: "
                          f"{exc}); save it again as .xlsx") from exc
    try:
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # some exporters write a wrong sheet size
            rows = [(i, [cell_text(v) for v in row])
                    for i, row in enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), 1)]
            rows = [(i, cells) for i, cells in rows if any(c is not None for c in cells)]
            if rows:
                return rows
        return []
    finally:
        book.close()


def open_xlsx(path: Path, name: str, tmpdir: Path) -> RawSource:
    shown = display_path(path)
    if path.stat().st_size == 0:
        raise IngestError(f"{shown}: empty file (0 bytes); export it again or remove it")
    rows = _rows(path)
    if not rows:
        raise IngestError(f"{shown}: the workbook has no data (not even a header row)")
    header_pos = next((k for k, (_i, cells) in enumerate(rows[:HEADER_SEARCH_LINES])
                       if sum(c is not None for c in cells) >= 2), 0)
    header_cells = rows[header_pos][1]
    width = max(k for k, c in enumerate(header_cells) if c is not None) + 1
    headers = tuple((c or "").strip() for c in header_cells[:width])
    check_header(shown, headers, f"sheet row {rows[header_pos][0]}")
    data = rows[header_pos + 1:]
    columns: dict[str, list] = {"_row": [i for i, _c in data]}
    for k in range(width):
        columns[f"c{k}"] = [cells[k] if k < len(cells) else None for _i, cells in data]
    columns[f"c{width}"] = [" | ".join(c for c in cells[width:] if c is not None) or None
                            for _i, cells in data]
    schema = pa.schema([("_row", pa.int64())] + [(f"c{k}", pa.string()) for k in range(width + 1)])
    dest = tmpdir / f"{safe_name(name)}.parquet"
    pq.write_table(pa.table(columns, schema=schema), dest)
    return RawSource(path, name, "xlsx", "n/a", headers, f"read_parquet({lit(dest)})",
                     row_column=True, overflow=(f"c{width}",), records=len(data))
