"""Parquet files joined and trimmed by their footers: the result reads as the sources' rows."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clientlens.intake.parquet_splice import SpliceError, decode_struct, encode_struct, read_footer, splice

ROWS = """SELECT {first} + i AS id, 'name ' || ({first} + i) % 97 AS name, i * 0.25 AS amount,
    DATE '2024-01-01' + (i % 700)::INTEGER AS day, TIME '08:00' + INTERVAL (i % 600) MINUTE AS at,
    CASE WHEN i % 11 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END AS note,
    i::BIGINT AS dropped, [{{'c': 'x', 'v': i::VARCHAR}}] AS nested
    FROM range({n}) t(i)"""
KEPT = ["id", "name", "amount", "day", "at", "flag", "note"]


def _duckdb_file(path: Path, first: int, n: int, row_group: int = 122_880) -> Path:
    duckdb.execute(f"COPY ({ROWS.format(first=first, n=n)}) TO '{path}' "
                   f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {row_group})")
    return path


def _rows(paths: list[Path]) -> pa.Table:
    return pa.concat_tables(pq.read_table(p, columns=KEPT) for p in paths)


def test_footers_read_and_write_back_byte_for_byte(tmp_path: Path) -> None:
    duck = _duckdb_file(tmp_path / "duck.parquet", 0, 5000, row_group=200)  # 25 row groups
    arrow = tmp_path / "arrow.parquet"
    pq.write_table(pq.read_table(duck), arrow, row_group_size=300, write_page_index=True)
    for path in (duck, arrow):
        _meta, start = read_footer(path)
        body = path.read_bytes()[start:-8]
        assert encode_struct(decode_struct(body)) == body, path.name


def test_spliced_files_read_as_their_kept_columns_in_order(tmp_path: Path) -> None:
    sources = [_duckdb_file(tmp_path / "a.parquet", 0, 300_000),
               _duckdb_file(tmp_path / "empty.parquet", 0, 0),
               _duckdb_file(tmp_path / "b.parquet", 10_000_000, 20_000, row_group=1000)]
    dest = tmp_path / "out.parquet"
    assert splice([(p, len(KEPT)) for p in sources], dest) == 320_000
    got = pq.read_table(dest)
    assert got.column_names == KEPT
    assert got.equals(_rows(sources))
    meta = pq.read_metadata(dest)
    assert meta.num_rows == 320_000 and meta.num_columns == len(KEPT)
    # DuckDB reads it too, with the statistics intact: a filter on them finds the right rows.
    found = duckdb.execute(f"SELECT count(*), sum(amount), min(id) FROM '{dest}' "
                           f"WHERE id >= 10000000").fetchall()
    assert found == [(20_000, sum(i * 0.25 for i in range(20_000)), 10_000_000)]
    assert dest.stat().st_size < sum(p.stat().st_size for p in sources)


def test_a_file_written_by_pyarrow_with_page_indexes(tmp_path: Path) -> None:
    duck = _duckdb_file(tmp_path / "duck.parquet", 0, 3000)
    arrow = tmp_path / "arrow.parquet"
    pq.write_table(pq.read_table(duck), arrow, row_group_size=700, write_page_index=True)
    dest = tmp_path / "out.parquet"
    splice([(arrow, 3), (arrow, 3)], dest)
    got = pq.read_table(dest)
    want = pq.read_table(arrow, columns=KEPT[:3])
    assert got.equals(pa.concat_tables([want, want]))


@pytest.mark.parametrize("case", ["nested", "differs", "not parquet"])
def test_sources_it_cannot_splice_stop_before_writing(tmp_path: Path, case: str) -> None:
    a = _duckdb_file(tmp_path / "a.parquet", 0, 100)
    other = tmp_path / "other.parquet"
    sources = {"nested": [(a, len(KEPT) + 2)],
               "differs": [(a, 3), (a, 4)],
               "not parquet": [(a, 3), (other, 3)]}[case]
    if case == "not parquet":
        other.write_text("entry_id,hours\n")
    dest = tmp_path / "out.parquet"
    with pytest.raises(SpliceError):
        splice(sources, dest)
    assert not dest.exists()
