"""Rows read are the records each raw file holds, counted by a reader other than the staging.

Ingest checks every file's rows read against a count of its own (numpy on a text file's bytes,
openpyxl, pyarrow: ingest.check_rows_read). Here a third reader counts the same files (Python's
csv module, openpyxl, pyarrow.parquet) for a demo firm and for every sample export the adapter
tests write (conftest.py wraps their run_ingest: tests/record_counts.py), and a staging made
to lose rows must stop ingest with one line.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pandas as pd
import pytest
from rawfiles import TIME_HEADER, params, summary, write_csv, write_parquet, write_text, write_xlsx
from record_counts import ADAPTER_TEST_MODULES, check_counts

import clientlens.intake.ingest as ingest
from clientlens import demo
from clientlens.intake.readers.source import q

def test_every_file_of_a_demo_firm(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "processed"
    demo.generate(raw, tmp_path / "truth.json", clients=30, years=2, seed=7, end_quarter="2026Q3")
    # The other formats and layouts too: a register as a workbook under a title, with an empty
    # row; deliverables as Parquet with a blank row; people as CRLF text with blank records.
    invoices = pd.read_csv(raw / "invoices.csv", dtype=str, keep_default_na=False)
    (raw / "invoices.csv").unlink()
    rows = [["Invoices 2024-2026"], [], invoices.columns.tolist(), *invoices.values.tolist()[:40], [],
            *invoices.values.tolist()[40:]]
    write_xlsx(raw, "invoices.xlsx", rows)
    deliverables = pd.read_csv(raw / "deliverables.csv", dtype=str, keep_default_na=False)
    (raw / "deliverables.csv").unlink()
    blank = pd.DataFrame([[None] * len(deliverables.columns)], columns=deliverables.columns)
    write_parquet(raw, "deliverables.parquet", pd.concat([deliverables.iloc[:5], blank, deliverables.iloc[5:]]))
    people = (raw / "people.csv").read_text(encoding="utf-8").splitlines()
    (raw / "people.csv").write_bytes("\r\n".join(people[:3] + [",,,", '"", ,'] + people[3:]).encode())
    ingest.run_ingest(raw, out, params(as_of="2026-09-30"))
    assert check_counts(raw, out) == len(list(raw.iterdir()))


def test_every_ingest_of_the_adapter_tests_is_counted(request) -> None:
    """conftest.py replaces run_ingest in these modules by a counting one: each must have it."""
    for name in ADAPTER_TEST_MODULES:
        assert hasattr(importlib.import_module(name), "run_ingest"), name


def test_every_new_export_at_once(tmp_path: Path) -> None:
    from test_adapters_billing import write_every_new_export

    raw, out = tmp_path / "raw", tmp_path / "processed"
    raw.mkdir()
    write_every_new_export(raw)
    ingest.run_ingest(raw, out, params())
    assert check_counts(raw, out) >= 10


# --- a staging that loses rows -------------------------------------------------------------------
def _faulty_staging(monkeypatch, fault: str) -> None:
    """Make the stage SQL lose the rows whose first checked cell is empty: drop them, or take
    them for blank rows (which rows read leave out)."""
    real = ingest.stage_sql

    def faulty(table, mapping, *args, **kwargs):
        sql = real(table, mapping, *args, **kwargs)
        empty = f"{q(ingest.reread_marker(table, mapping))} IS NULL"
        if fault == "drop":
            return f"SELECT * FROM ({sql}) WHERE NOT {empty}"
        return f"SELECT * REPLACE (_blank OR {empty} AS _blank) FROM ({sql})"

    monkeypatch.setattr(ingest, "stage_sql", faulty)


def _with_empty_dates(raw: Path, kind: str) -> str:
    """40 time entries, 10 of them without a date (the first cell the rules check): set
    aside as empty, unless the staging loses them."""
    rows = [TIME_HEADER] + [[f"t{k}", "" if k % 4 == 0 else f"2025-03-{1 + k % 28:02d}", "Acme", "Ann", 2,
                             "feature work", 100, 40] for k in range(40)]
    if kind == "xlsx":
        write_xlsx(raw, "time_entries.xlsx", rows)
        return "time_entries.xlsx"
    if kind == "parquet":
        write_parquet(raw, "time_entries.parquet", pd.DataFrame(rows[1:], columns=TIME_HEADER).astype(str))
        return "time_entries.parquet"
    write_csv(raw, "time_entries.csv", rows)
    return "time_entries.csv"


@pytest.mark.parametrize("kind", ["csv typed", "csv text", "xlsx", "parquet"])
@pytest.mark.parametrize("fault", ["drop", "blank"])
def test_a_staging_that_loses_rows_stops_ingest(tmp_path: Path, monkeypatch, kind: str, fault: str) -> None:
    raw, out = tmp_path / "raw", tmp_path / "processed"
    name = _with_empty_dates(raw, kind.split()[0])
    if kind == "csv text":
        monkeypatch.setattr(ingest, "stage_typed", lambda *a, **k: None)
    _faulty_staging(monkeypatch, fault)
    with pytest.raises(RuntimeError) as info:
        ingest.run_ingest(raw, out, params())
    message = str(info.value)
    assert "\n" not in message
    assert re.fullmatch(rf"internal error: {re.escape(name)}: the file holds 40 records but staging read 30 "
                        rf"\(time_entries\)", message), message
    assert not (out / "ingest_summary.parquet").exists()


def test_without_the_check_the_lost_rows_still_balance(tmp_path: Path, monkeypatch) -> None:
    """Why the count must come from elsewhere: the summary's own identity holds on lost rows."""
    raw, out = tmp_path / "raw", tmp_path / "processed"
    _with_empty_dates(raw, "csv")
    _faulty_staging(monkeypatch, "drop")
    monkeypatch.setattr(ingest, "check_rows_read", lambda staged, records: staged)
    ingest.run_ingest(raw, out, params())
    s = summary(out)
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined).all()
    assert s.rows_read.tolist() == [30]  # of 40


def test_blank_records_title_lines_and_quoted_line_breaks_are_counted_as_read(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "processed"
    write_text(raw, "time_entries.csv",
               "Time report\r\n,,\r\n" + ",".join(TIME_HEADER) + "\r\n"
               't1,2025-03-03,Acme,Ann,2,"two\r\nlines",100,40\r\n'
               ",,,,,,,\r\n"
               '"", ,,,,,,\r\n'
               "\r\n"
               't2,2025-03-04,Acme,Ann,3,"say ""hi""",100,40\r\n'
               ",,Acme,,,,,\r\n")
    ingest.run_ingest(raw, out, params())
    assert summary(out).rows_read.tolist() == [3]
    assert check_counts(raw, out) == 1


@pytest.mark.parametrize("exact", [False, True])
def test_a_record_of_tabs_is_read_on_every_path(tmp_path: Path, exact: bool) -> None:
    """Blank means spaces alone, as cl_text trims a cell: the exact path (Python's csv, after a
    blank line) once dropped a record of tabs that DuckDB's read of a plain file keeps, and
    read ` " "` (a quoted space to DuckDB) as a cell of quotes."""
    raw, out = tmp_path / "raw", tmp_path / "processed"
    write_text(raw, "time_entries.csv", ",".join(TIME_HEADER) + "\n" + ("\n" if exact else "")
               + 't1,2025-03-03,Acme,Ann,2,x,100,40\n\t,,,,,,,\n , ,,,,,,\n, " ",,,,,,\n')
    ingest.run_ingest(raw, out, params())
    assert summary(out)[["rows_read", "rows_quarantined"]].values.tolist() == [[2, 1]]
    assert check_counts(raw, out) == 1
