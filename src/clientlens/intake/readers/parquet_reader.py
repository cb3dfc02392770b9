"""Parquet files: columns are read as text so the same rules type-check them.

Rows are numbered as if the file were a sheet with a header row (first row = 2),
from the file's own row order.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.source import RawSource, lit, q


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
    cols = ", ".join(f"CAST({q(n)} AS VARCHAR) AS c{i}" for i, n in enumerate(names))
    relation = (f"(SELECT file_row_number + 2 AS _row{', ' if cols else ''}{cols} "
                f"FROM read_parquet({lit(path)}, file_row_number=true))")
    return RawSource(path, name, "parquet", "n/a", tuple(names), relation, row_column=True)
