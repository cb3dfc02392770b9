"""Parquet files: columns are read as text so the same rules type-check them.

Rows are numbered as if the file were a sheet with a header row (first row = 2),
from the file's own row order.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.source import RawSource, check_header, lit, q


def open_parquet(path: Path, name: str, con: duckdb.DuckDBPyConnection) -> RawSource:
    shown = display_path(path)
    if path.stat().st_size == 0:
        raise IngestError(f"{shown}: empty file (0 bytes); export it again or remove it")
    try:
        names = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({lit(path)})").fetchall()]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise IngestError(f"{shown}: unreadable parquet ({first})") from exc
    check_header(shown, names, "its column names")
    cols = ", ".join(f"CAST({q(n)} AS VARCHAR) AS c{i}" for i, n in enumerate(names))
    relation = (f"(SELECT file_row_number + 2 AS _row{', ' if cols else ''}{cols} "
                f"FROM read_parquet({lit(path)}, file_row_number=true))")
    return RawSource(path, name, "parquet", "n/a", tuple(names), relation, row_column=True,
                     records=count_rows(path))


def count_rows(path: Path) -> int:
    """Rows of a Parquet file that are not blank (every cell empty, NULL or spaces, as cl_text
    reads the cell as text), by pyarrow, not by the DuckDB read that stages them.

    The row count is in the file's footer. A row group has no blank row where some column
    has no NULL and no value that is spaces or empty: any but a text column, or a text
    column whose smallest value starts above a space (as every value then does); only
    the other row groups are read.
    """
    parquet = pq.ParquetFile(path)
    meta = parquet.metadata
    rows = meta.num_rows
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_rows == 0 or any(_never_blank(group.column(i)) for i in range(group.num_columns)):
            continue
        table = parquet.read_row_group(g)
        if table.num_columns == 0:
            rows -= table.num_rows
            continue
        blank = None
        for column in table.columns:
            empty = _empty(column)
            blank = empty if blank is None else pc.and_(blank, empty)
        rows -= int(pc.sum(pc.cast(blank, pa.int64())).as_py() or 0)
    return rows


def _never_blank(chunk: pq.ColumnChunkMetaData) -> bool:
    stats = chunk.statistics
    if stats is None or not stats.has_null_count or stats.null_count:
        return False
    if chunk.physical_type != "BYTE_ARRAY":
        return True
    if not stats.has_min_max:
        return False
    low = stats.min
    first = low[:1].encode("utf-8") if isinstance(low, str) else bytes(low[:1])
    return bool(first) and first > b" "


def _empty(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Where a column's cell is NULL, or text of nothing but spaces."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.fill_null(pc.equal(pc.utf8_trim(column, characters=" "), ""), True)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pc.fill_null(pc.equal(pc.binary_length(column), 0), True)
    return pc.is_null(column)
