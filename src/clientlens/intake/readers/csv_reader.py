"""CSV and other delimited text: UTF-8 (with or without BOM), CP1251 or Windows-1252, , ; tab or | separated.

The fast path hands the file straight to DuckDB's parallel reader. Two kinds of
file take a slower exact path through Python's csv module instead, because
DuckDB would silently lose track of them: blank lines between records (DuckDB
skips them, shifting every later spreadsheet row number) and unbalanced quotes
(DuckDB reads the rest of the file as one field). CP1251 and Windows-1252 text is transcoded to
a temporary UTF-8 file in chunks, since DuckDB reads only UTF-8 without an
extension download.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.sniff import (
    CHUNK,
    FileScan,
    binary_kind,
    find_header,
    head_bytes,
    head_encoding,
    read_head,
    scan_file,
)
from clientlens.intake.readers.source import RawSource, TextLayout, check_header, lit

# Extra columns that catch fields past the header, so a row with one or a few
# too many fields is quarantined instead of stopping the run.
OVERFLOW = 4
# A record may be up to 16 MiB (a long description). DuckDB's read buffer defaults to 16
# times that, 256 MiB: buffers that large are mapped afresh from the OS for each read and
# freed after it, and faulting their pages in cost some 5 CPU-seconds of kernel time
# on a 5.4 GB file (4 million page faults against 1.9 million with 32 MiB buffers, which
# the allocator reuses), and twice the resident memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
READ_BUFFER_BYTES = 2 * MAX_LINE_BYTES  # room for a record of the longest size wherever it starts


def safe_name(name: str) -> str:
    """A temporary file name derived from the input's name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def transcode(path: Path, encoding: str, dest: Path) -> None:
    """Copy a text file into UTF-8, chunk by chunk (constant memory); bad bytes become U+FFFD."""
    with open(path, encoding=encoding, errors="replace", newline="") as src, \
            open(dest, "w", encoding="utf-8", newline="") as out:
        while chunk := src.read(CHUNK):
            out.write(chunk)


def renumber(path: Path, encoding: str, delimiter: str, header_index: int, width: int,
             dest: Path) -> None:
    """Rewrite the records below the header as UTF-8 CSV with their spreadsheet row first.

    Fully empty records are dropped here (they are not rows a person would count): those
    whose fields hold nothing but spaces, as a cell is empty to cl_text and so to DuckDB's
    read of other files. Any fields past the header are joined into one overflow field.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, encoding=encoding, errors="replace", newline="") as src, \
            open(dest, "w", encoding="utf-8", newline="") as out:
        # Spaces before a quote are skipped, as DuckDB's reader of other files skips them (the
        # cells are trimmed anyway): `a, "b, c"` is two fields, the second quoted.
        reader = csv.reader(src, delimiter=delimiter, strict=True, skipinitialspace=True)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["_row", *(f"c{i}" for i in range(width + 1))])
        try:
            for index, record in enumerate(reader):
                if index <= header_index or not any(f.strip(" ") for f in record):
                    continue
                head, rest = record[:width], record[width:]
                head += [""] * (width - len(head))
                writer.writerow([index + 1, *head, delimiter.join(rest)])
        except csv.Error as exc:
            raise IngestError(f"{display_path(path)}: line {reader.line_num}: cannot read the CSV "
                              f"({exc}); look for an unclosed quote") from exc


def _read_csv_sql(path: Path, columns: list[tuple[str, str]], delimiter: str, skip: int,
                  parallel: bool, header: bool = True, extra: str = "") -> str:
    spec = "{" + ", ".join(f"{lit(n)}: {lit(t)}" for n, t in columns) + "}"
    return (f"read_csv({lit(path)}, header={'true' if header else 'false'}, skip={skip}, "
            f"auto_detect=false, columns={spec}, delim={lit(delimiter)}, quote='\"', escape='\"', "
            f"null_padding=true, strict_mode=true, parallel={'true' if parallel else 'false'}, "
            f"max_line_size={MAX_LINE_BYTES}, buffer_size={READ_BUFFER_BYTES}{extra})")


def open_csv_fast(path: Path, name: str) -> RawSource | None:
    """A CSV DuckDB may read straight and typed, judged from its head alone; None if not.

    What the full scan would find further on (a bad byte, blank lines, an unclosed
    quote, records spanning lines) the typed read finds too: it stops, or it reads
    fewer records than the file has lines, and the file then goes through `open_csv`.
    """
    encoding = head_encoding(path)
    if encoding is None or binary_kind(head_bytes(path)):
        return None
    head = read_head(path, "utf-8")
    header = find_header(head)
    if header is None:
        return None
    check_header(display_path(path), header.fields, f"line {header.index + 1}")
    if any(not line.strip() for line in re.split(r"\r?\n", head)[:header.index]):
        return None  # blank lines above the header: DuckDB's skip would count them differently
    headers = tuple(h.strip() for h in header.fields)
    width = len(headers)
    cols = [(f"c{i}", "VARCHAR") for i in range(width + OVERFLOW)]
    return RawSource(path, name, "csv", encoding, headers,
                     _read_csv_sql(path, cols, header.delimiter, header.index, True),
                     first_row=header.index + 2,
                     overflow=tuple(f"c{i}" for i in range(width, width + OVERFLOW)),
                     fallback_relation=_read_csv_sql(path, cols, header.delimiter, header.index, False),
                     delimiter=header.delimiter, skip=header.index, fast=True,
                     layout=TextLayout(encoding, header.delimiter, header.index))


def typed_relation(source: RawSource, types: dict[int, str], rejects: str) -> str:
    """The fast source read with DuckDB's own parser typing the columns in `types`.

    Records a cast fails on are not read but logged in the tables `rejects` (errors)
    and `rejects`_scan, with their line; every other column is text as in `relation`.
    """
    width = len(source.headers)
    cols = [(f"c{i}", types.get(i, "VARCHAR")) for i in range(width + OVERFLOW)]
    extra = (f", store_rejects=true, rejects_table={lit(rejects)}, "
             f"rejects_scan={lit(rejects + '_scan')}, rejects_limit=0")
    return _read_csv_sql(source.path, cols, source.delimiter, source.skip, True, extra=extra)


def fetch_lines(path: Path, wanted: list[int]) -> dict[int, bytes]:
    """Physical lines (1-based, without their line break) of a file, in one streaming pass."""
    todo = sorted(set(wanted))
    out: dict[int, bytes] = {}
    line, carry, k = 1, b"", 0
    with open(path, "rb") as fh:
        while k < len(todo) and (chunk := fh.read(CHUNK)):
            buf = carry + chunk
            end = buf.rfind(b"\n")
            if end < 0:
                carry = buf
                continue
            complete, carry = buf[:end], buf[end + 1:]
            count = complete.count(b"\n") + 1
            if todo[k] < line + count:
                parts = complete.split(b"\n")
                while k < len(todo) and todo[k] < line + count:
                    out[todo[k]] = parts[todo[k] - line]
                    k += 1
            line += count
        if k < len(todo) and todo[k] == line and carry:
            out[todo[k]] = carry
    return {n: text.rstrip(b"\r") for n, text in out.items()}


def suspect_source(source: RawSource, lines: dict[int, bytes], dest: Path) -> RawSource:
    """The given lines of a fast source as a small CSV with their spreadsheet row first,
    for the text path (the file has no records spanning lines, so line = row)."""
    delimiter = source.delimiter.encode("utf-8")
    with open(dest, "wb") as out:
        for row in sorted(lines):
            out.write(str(row).encode("ascii") + delimiter + lines[row] + b"\n")
    width = len(source.headers)
    cols = [("_row", "BIGINT")] + [(f"c{i}", "VARCHAR") for i in range(width + OVERFLOW)]
    relation = _read_csv_sql(dest, cols, source.delimiter, 0, False, header=False)
    return RawSource(source.path, source.name, "csv", source.encoding, source.headers, relation,
                     row_column=True, overflow=source.overflow, fallback_relation=relation,
                     delimiter=source.delimiter)


def open_csv(path: Path, name: str, tmpdir: Path, scan: FileScan | None = None) -> RawSource:
    scan = scan or scan_file(path)
    shown = display_path(path)
    if scan.size == 0:
        raise IngestError(f"{shown}: empty file (0 bytes); export it again or remove it")
    kind = binary_kind(head_bytes(path))
    if kind:
        raise IngestError(f"{shown}: not a text file ({kind}); export it as CSV, XLSX or Parquet")
    head = read_head(path, scan.codec)
    header = find_header(head)
    if header is None:
        raise IngestError(f"{shown}: no header row (the file holds only blank lines)")
    check_header(shown, header.fields, f"line {header.index + 1}")
    layout = TextLayout(scan.codec, header.delimiter, header.index)
    headers = tuple(h.strip() for h in header.fields)
    width = len(headers)
    exact = scan.inner_blank_lines or scan.odd_quotes or scan.encoding == "utf-16"
    if exact:
        dest = tmpdir / f"{safe_name(name)}-rows.csv"
        renumber(path, scan.codec, header.delimiter, header.index, width, dest)
        cols = [("_row", "BIGINT")] + [(f"c{i}", "VARCHAR") for i in range(width + 1)]
        fast = _read_csv_sql(dest, cols, ",", 0, True)
        slow = _read_csv_sql(dest, cols, ",", 0, False)
        return RawSource(path, name, "csv", scan.encoding, headers, fast,
                         row_column=True, overflow=(f"c{width}",), fallback_relation=slow, layout=layout)
    readable = path
    if not scan.duckdb_reads_directly:
        readable = tmpdir / f"{safe_name(name)}-utf8.csv"
        transcode(path, scan.codec, readable)
    cols = [(f"c{i}", "VARCHAR") for i in range(width + OVERFLOW)]
    fast = _read_csv_sql(readable, cols, header.delimiter, header.index, True)
    slow = _read_csv_sql(readable, cols, header.delimiter, header.index, False)
    return RawSource(path, name, "csv", scan.encoding, headers, fast,
                     first_row=header.index + 2,
                     overflow=tuple(f"c{i}" for i in range(width, width + OVERFLOW)),
                     fallback_relation=slow, layout=layout)

