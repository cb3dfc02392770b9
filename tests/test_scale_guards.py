"""No notebook loads raw time entries into pandas: they are tens of millions of rows at a large
firm, so the analysis reads their client-quarter sums in the panel (built in SQL) instead.

Two checks: `load_table` refuses the row-level tables outright, and no notebook, nor any
src module a notebook imports, hands a time-entry file to a pandas or pyarrow reader."""
from __future__ import annotations

import ast

import pandas as pd
import pytest

from clientlens.paths import NOTEBOOKS_DIR, PROJECT_ROOT
from clientlens.processed import ROW_LEVEL_TABLES, load_table
from clientlens.tooling.pipeline import notebook_code, source_dependencies

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb"))
# Calls that bring a file or table into memory as a DataFrame or Arrow table.
READERS = {"read_parquet", "read_csv", "read_table", "read_feather", "read_excel", "ParquetFile",
           "ParquetDataset", "dataset", "load_table"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def row_level_reads(source: str) -> list[int]:
    """Line numbers of reader calls whose arguments name a row-level table."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and _call_name(node) in READERS):
            continue
        args = list(node.args) + [k.value for k in node.keywords]
        for arg in args:
            texts = [n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if any(table in text for text in texts for table in ROW_LEVEL_TABLES):
                found.append(node.lineno)
                break
    return found


def test_load_table_refuses_time_entries(tmp_path):
    folder = tmp_path / "time_entries.parquet"  # as ingest writes it: a folder of parts
    folder.mkdir()
    pd.DataFrame({"client_id": ["C1"], "hours": [1.0]}).to_parquet(folder / "part-00000.parquet")
    with pytest.raises(ValueError, match="time_entries is not loaded into pandas.*panel"):
        load_table(tmp_path, "time_entries")
    pd.DataFrame({"client_id": ["C1"]}).to_parquet(tmp_path / "invoices.parquet")
    assert len(load_table(tmp_path, "invoices")) == 1


@pytest.mark.parametrize("snippet", [
    'pd.read_parquet(Path(processed_dir) / "time_entries.parquet")',
    'load_table(processed_dir, "time_entries")',
    'pq.read_table(f"{d}/time_entries.parquet", columns=["hours"])',
    'pandas.read_csv(path=raw / "time_entries.csv")',
    'ds.dataset(str(root / "time_entries.parquet")).to_table()',
    'pq.read_table(processed / "time_entries.parquet" / "part-00000.parquet")',
])
def test_the_check_finds_a_pandas_read_of_time_entries(snippet):
    assert row_level_reads(snippet) == [1]


@pytest.mark.parametrize("snippet", [
    'load_table(processed_dir, "invoices")',
    'pd.read_parquet(Path(processed_dir) / "client_quarter.parquet")',
    'con.execute("SELECT client_id, sum(hours) FROM time_entries GROUP BY 1")',
])
def test_the_check_lets_other_reads_pass(snippet):
    assert row_level_reads(snippet) == []


def test_no_notebook_reads_time_entries_into_pandas():
    """Every notebook and every src module it imports, ingest and panel included."""
    sources = {nb.name: notebook_code(nb) for nb in NOTEBOOKS}
    modules = source_dependencies(sources.values())
    assert PROJECT_ROOT / "src/clientlens/intake/panel.py" in modules  # the walk does reach the SQL stage
    sources.update({str(p.relative_to(PROJECT_ROOT)): p.read_text(encoding="utf-8") for p in modules})
    offenders = {name: lines for name, source in sources.items() if (lines := row_level_reads(source))}
    assert not offenders, f"raw time entries read into pandas at (file: lines) {offenders}; use the panel"
