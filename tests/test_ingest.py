"""The ingest stage end to end: outputs, derived columns, references, determinism, schema."""
from __future__ import annotations

import json
from pathlib import Path

import blake3
import pandas as pd
import pandera.pandas as pa
import pytest
from rawfiles import params, quarantine, read, summary, time_rows, write_csv

from clientlens.intake.contract import TABLES, Table
from clientlens.intake.ingest import IngestError, IngestResult, run_ingest
from clientlens.parameters import ConfigError
from clientlens.intake.readers.sniff import CHUNK, hash_file

PANDERA_TYPES = {"str": "str", "enum": "str", "quarter": "str", "float": "float64",
                 "money": "float64", "int": "int64", "bool": "bool", "date": "object",
                 "datetime": "datetime64[us]", "time": "object"}


def contract_schema(table: Table) -> pa.DataFrameSchema:
    """The typed output a table must have: contract columns, order, types, enums, ranges, keys."""
    columns = {}
    for c in table.columns:
        checks = []
        if c.values:
            checks.append(pa.Check.isin(list(c.values)))
        if c.min is not None:
            checks.append(pa.Check.ge(c.min))
        if c.max is not None:
            checks.append(pa.Check.le(c.max))
        dtype = PANDERA_TYPES[c.type]
        columns[c.name] = pa.Column(None if dtype in ("object", "str", "bool") else dtype,
                                    checks=checks, nullable=c.nullable)
    unique = list(table.key) if table.key else None
    return pa.DataFrameSchema(columns, ordered=True, strict=True, unique=unique, coerce=False)


def write_company(raw: Path) -> None:
    """A small firm that exercises every table and every cross-table rule."""
    write_csv(raw, "clients.csv", [["client_id", "client_name", "industry", "acquired_date"],
                                   ["C1", "Acme Corp", "retail", "2024-01-10"],
                                   ["C2", "Beta LLC", "bank", "2024-06-01"]])
    write_csv(raw, "people.csv", [["person", "role", "cost_rate", "bill_rate", "currency"],
                                  ["Ann", "developer", 40, 100, ""], ["Bob", "designer", 50, 120, "EUR"]])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.5"], ["USD", "7"]])
    write_csv(raw, "time_entries.csv", [
        ["date", "start_time", "client", "person", "hours", "task", "project", "billable",
         "bill_rate", "billable_amount", "currency", "work_type"],
        ["2025-03-03", "08:00", "Acme Corp", "Ann", 2, "Estimate for new module", "", "", "", "", "", ""],
        ["2025-03-08", "11:00", "C2", "Bob", 1, "", "Redesign", "yes", "", "", "EUR", ""],
        ["2025-03-04", "", "acme corp", "Ann", 3, "rework of login bug", "", "no", "", "", "", ""],
        ["2025-03-05", "12:00", "Acme Corp", "Ann", 4, "whatever", "", "", "", "300", "", "support"],
        ["2025-03-06", "12:00", "Gamma", "Ann", 1, "", "", "", "", "", "", ""],
    ])
    write_csv(raw, "contracts.csv", [
        ["contract_id", "client_id", "contract_type", "start_date", "end_date", "value", "currency",
         "renewal_of"],
        ["K1", "C1", "project", "2024-01-10", "2024-12-31", "1000", "EUR", ""],
        ["K2", "C1", "Retainer", "2025-01-01", "", "2000", "", "K1"]])
    write_csv(raw, "invoices.csv", [
        ["invoice_id", "client_id", "contract_id", "issue_date", "due_date", "paid_date", "amount"],
        ["I1", "Acme Corp", "K2", "2025-01-31", "2025-02-28", "2025-03-15", "500"],
        ["I2", "Beta LLC", "", "2025-04-30", "2025-05-30", "", "-50"]])


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> tuple[Path, IngestResult]:
    base = tmp_path_factory.mktemp("company")
    write_company(base / "raw")
    result = run_ingest(base / "raw", base / "out", params(), progress=True)
    return base / "out", result


def test_result_and_summary(company) -> None:
    out, result = company
    assert result.measured_tables == ["clients", "contracts", "invoices", "time_entries", "people",
                                      "fx_rates"]
    s = summary(out)
    assert list(s.columns) == ["file", "table", "format", "encoding", "rows_read", "rows_accepted",
                               "rows_quarantined", "rows_merged", "rows_skipped", "skipped_because"]
    assert (s.rows_merged == 0).all() and (s.rows_skipped == 0).all()  # no export of lines or skips
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined).all()
    assert s.set_index("file").loc["time_entries.csv", "rows_quarantined"] == 1
    assert result.quarantine_count == 1
    pd.testing.assert_frame_equal(s, result.summary)


def test_unknown_client_quarantined_and_names_resolved(company) -> None:
    out, _ = company
    q = quarantine(out)
    assert q[["file", "table", "row", "column", "value", "reason"]].values.tolist() == [
        ["time_entries.csv", "time_entries", 6, "client_id", "Gamma", "unknown client 'Gamma'"]]
    assert read(out, "time_entries")["client_id"].tolist() == ["C1", "C2", "C1", "C1"]
    assert read(out, "invoices")["client_id"].tolist() == ["C1", "C2"]


def test_time_entry_derivations(company) -> None:
    out, _ = company
    te = read(out, "time_entries").set_index("entry_id")
    assert list(te.index) == ["time_entries.csv:2", "time_entries.csv:3", "time_entries.csv:4",
                              "time_entries.csv:5"]
    a, b, c, d = (te.iloc[i] for i in range(4))
    # after hours: 08:00 before office hours; Saturday 11:00; no start time -> not measured
    assert (a.after_hours, b.after_hours, d.after_hours) == (True, True, False)
    assert pd.isna(c.after_hours)
    assert (a.work_type, b.work_type, c.work_type, d.work_type) == ("presale", "ux", "stability",
                                                                    "support")
    assert (a.rework, c.rework) == (False, True)
    # billable: Ann's row has no flag, amount or own rate -> not known (her list rate in people
    # is a price, not a statement that the hours were billed); Bob says yes
    assert (pd.isna(a.billable), b.billable, c.billable, d.billable) == (True, True, False, True)
    assert pd.isna(a.billable_amount) and d.billable_amount == 300
    assert b.bill_rate == pytest.approx(180.0)  # people: 120 EUR at 1.5
    assert b.billable_amount == pytest.approx(180.0)
    assert a.cost_amount == pytest.approx(80.0) and b.cost_amount == pytest.approx(75.0)
    assert (a.role, b.role) == ("developer", "designer")


def test_money_converted_currency_kept(company) -> None:
    out, _ = company
    k = read(out, "contracts")
    assert k["value"].tolist() == [1500.0, 2000.0]
    assert k["currency"].iloc[0] == "EUR" and pd.isna(k["currency"].iloc[1])
    assert k["contract_type"].tolist() == ["project", "retainer"]
    fx = read(out, "fx_rates")
    assert fx["currency"].tolist() == ["EUR", "USD"]  # the file's own USD row is kept as data


def test_outputs_match_the_contract_schema(company) -> None:
    out, _ = company
    for name in ("clients", "contracts", "invoices", "time_entries", "people", "fx_rates"):
        contract_schema(TABLES[name]).validate(read(out, name))


def test_manifest(company) -> None:
    out, _ = company
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["reporting_currency"] == "USD" and m["as_of"] == "2026-06-30"
    assert m["data_min_date"] == "2025-01-31" and m["data_max_date"] == "2025-04-30"
    assert {i["file"] for i in m["inputs"]} == {"clients.csv", "people.csv", "fx_rates.csv",
                                                 "time_entries.csv", "contracts.csv", "invoices.csv"}
    assert all(len(i["blake3"]) == 64 and i["bytes"] > 0 and i["format"] == "canonical"
               for i in m["inputs"])
    assert m["measured_tables"] == ["clients", "contracts", "invoices", "time_entries", "people",
                                    "fx_rates"]


def test_manifest_digests_are_the_files_blake3(company) -> None:
    out, _ = company
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    raw = out.parent / "raw"
    for item in m["inputs"]:
        data = (raw / item["file"]).read_bytes()
        assert item["blake3"] == blake3.blake3(data).hexdigest() and item["bytes"] == len(data)


# BLAKE3's published test vectors (the reference repository's test_vectors.json): the
# empty input, and the first 1,025 bytes of the repeating 0..250 pattern, which spans
# two chunks. So the digest an auditor's `b3sum` prints is the one the report shows.
BLAKE3_VECTORS = {
    0: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    1025: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
}


@pytest.mark.parametrize("length", sorted(BLAKE3_VECTORS))
def test_input_digest_matches_blake3_published_vectors(tmp_path: Path, length: int) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(bytes(i % 251 for i in range(length)))
    digest, size, _lines = hash_file(path)
    assert (digest, size) == (BLAKE3_VECTORS[length], length)


def test_input_digest_and_lines_span_read_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    line = b"C00001-T000001,2025-01-31,1.5\n"
    data = line * (2 * CHUNK // len(line) + 3) + b"\n\n"  # past two reads, blank lines at the end
    path.write_bytes(data)
    assert hash_file(path) == (blake3.blake3(data).hexdigest(), len(data), data.count(line))


@pytest.mark.parametrize("data", [b"", b"\n\n", b"a", b"a\n", b"a\r\n\r\n", b"ab\ncd", b"ab\ncd\n\n\n\n\n\n",
                                  b"ab\r\ncd\r\n\r\n\r\n\r\n", b"\n\nab\n\ncd\n", b"abcdefgh\n\n\n\n\n\nx"])
def test_line_count_is_the_lines_a_reader_sees_across_chunk_edges(tmp_path: Path, monkeypatch,
                                                                   data: bytes) -> None:
    """Line breaks at the very end are not lines, even when they fill whole reads."""
    import clientlens.intake.readers.sniff as sniff

    path = tmp_path / "lines.csv"
    path.write_bytes(data)
    content = data.rstrip(b"\r\n")
    want = content.count(b"\n") + 1 if content else 0
    for chunk in (3, 4, 1 << 20):
        monkeypatch.setattr(sniff, "CHUNK", chunk)
        assert hash_file(path)[2] == want, chunk


def test_inputs_in_subfolders_and_non_inputs_ignored(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw / "2025", "time_entries.csv", time_rows(2))
    write_csv(raw, ".hidden.csv", [["junk"]])
    write_csv(raw, "~$time_entries.xlsx", [["junk"]])
    (raw / "README.md").write_text("not data", encoding="utf-8")
    result = run_ingest(raw, out, params())
    assert result.summary["file"].tolist() == ["2025/time_entries.csv"]
    assert read(out, "time_entries")["entry_id"].tolist() == ["t1", "t2"]


@pytest.mark.parametrize(("hours", "shown"), [
    # a formula a spreadsheet would run gets a quote
    (("=1+1", "-3"), ("'=1+1,not a number", "'-3,negative hours")),
    # a right-to-left override or zero-width space is shown as U+FFFD: a spreadsheet would
    # reorder or hide the text around it
    (("\u202e3.5", "\u200b=1+1"), ("\ufffd3.5,not a number", "\ufffd=1+1,not a number")),
])
def test_quarantine_csv_is_safe_in_a_spreadsheet(tmp_path: Path, hours, shown) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    rows = time_rows(3)
    rows[1][4], rows[2][4] = hours
    write_csv(raw, "time_entries.csv", rows)
    run_ingest(raw, out, params())
    text = (out / "quarantine" / "quarantine.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == "file,table,row,column,value,reason"
    assert text[1:] == [f"time_entries.csv,time_entries,{row},hours,{cell}" for row, cell in zip((2, 3), shown)]
    assert quarantine(out)["value"].tolist() == list(hours)  # the parquet keeps values as given


def test_clients_derived_when_not_supplied(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", time_rows(2, client="Zeta") + [["t9", "2025-03-09", "Acme", "A", 1]])
    result = run_ingest(raw, out, params())
    clients = read(out, "clients")
    assert clients[["client_id", "client_name"]].values.tolist() == [["Acme", "Acme"], ["Zeta", "Zeta"]]
    contract_schema(TABLES["clients"]).validate(clients)
    assert "clients" not in result.measured_tables


def test_ingest_is_deterministic(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_company(raw)
    write_csv(raw, "time_entries_extra.csv", time_rows(40, client="C2"))
    run_ingest(raw, tmp_path / "a", params())
    run_ingest(raw, tmp_path / "b", params())
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) >= 9
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_stale_tables_removed_and_failed_run_writes_nothing(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_company(raw)
    run_ingest(raw, out, params())
    (raw / "contracts.csv").unlink()
    (raw / "invoices.csv").unlink()
    run_ingest(raw, out, params())
    assert not (out / "contracts.parquet").exists() and (out / "time_entries.parquet").exists()
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    write_csv(raw, "invoices.csv", [["invoice_id", "client_id"], ["I1", "C1"]])
    with pytest.raises(IngestError, match="invoices.csv: missing required column 'issue_date'"):
        run_ingest(raw, out, params())
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".ingest-")]


def test_progress_lines(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", time_rows(2))
    run_ingest(raw, tmp_path / "out", params(), progress=True)
    assert "ingest: time_entries.csv -> time_entries (canonical): 2 rows in" in capsys.readouterr().err
    run_ingest(raw, tmp_path / "out2", params())
    assert capsys.readouterr().out == ""


def test_bad_config_pattern_stops(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"work_type_rules\.0\.pattern: not a regular expression"):
        params(work_type_rules=[{"pattern": "([", "work_type": "ux"}])
    with pytest.raises(ConfigError, match="not one of"):
        params(work_type_rules=[{"pattern": "x", "work_type": "fun"}])
    # Python reads a look-ahead, DuckDB's engine does not: the run says so before reading a row.
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", time_rows(1))
    with pytest.raises(IngestError, match="config/params.yaml: pattern"):
        run_ingest(raw, tmp_path / "out", params(work_type_rules=[{"pattern": "(?=x)", "work_type": "ux"}]))


CANONICAL_TIME_HEADER = ["entry_id", "date", "start_time", "after_hours", "client_id", "project", "task",
                         "person", "role", "hours", "billable", "bill_rate", "cost_rate", "billable_amount",
                         "cost_amount", "currency", "work_type", "rework"]


def _canonical_time_rows(prefix: str, n: int, project: str | None) -> list[list[object]]:
    """Time entries with every column given as ingest would write it (nothing to derive)."""
    return [CANONICAL_TIME_HEADER] + [
        [f"{prefix}{i}", f"2025-03-{i % 28 + 1:02d}", "10:00", "false", "C1", project or ("" if i % 2 else "Site"),
         "feature work", "Ann", "developer", 2, "true", 100, 40, 200, 80, "USD", "feature", "false"]
        for i in range(n)]


@pytest.mark.parametrize("hard_links", [True, False])
def test_time_entries_are_a_folder_of_parts_with_one_schema(tmp_path: Path, monkeypatch, hard_links) -> None:
    """One Parquet part per time export, in file order, every part with the contract's schema
    (nullability too, so the folder reads as one table and writes back): the first part
    derives work types, the second is a clean export's stage, published as it is (linked
    into the folder, or copied where the file system has no hard links)."""
    import os

    import duckdb
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    import clientlens.intake.ingest as ingest

    raw, out = tmp_path / "raw", tmp_path / "out"
    derived = _canonical_time_rows("a", 30, project="Site")
    for row in derived[1:]:
        row[-2] = ""  # no work type: the final select derives it from the task
    write_csv(raw, "time_entries_2024.csv", derived)
    write_csv(raw, "time_entries_2025.csv", _canonical_time_rows("b", 40, project=None))
    linked: list[str] = []
    real_link = ingest._link
    monkeypatch.setattr(ingest, "_link", lambda source, dest: (linked.append(dest.name), real_link(source, dest)))
    if not hard_links:
        def no_links(*_args, **_kwargs):
            raise OSError("no hard links here")
        monkeypatch.setattr(os, "link", no_links)
    run_ingest(raw, out, params())
    folder = out / "time_entries.parquet"
    assert linked == ["part-00001.parquet"]
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    want = ingest.arrow_schema(TABLES["time_entries"])
    assert all(pq.read_schema(part).equals(want) for part in folder.iterdir())
    ids = [f"a{i}" for i in range(30)] + [f"b{i}" for i in range(40)]
    assert ds.dataset(folder).to_table(columns=["entry_id"])["entry_id"].to_pylist() == ids
    assert [r[0] for r in duckdb.sql(f"SELECT entry_id FROM read_parquet('{folder}/*.parquet')").fetchall()] == ids
    whole = pq.read_table(folder)
    assert whole.column("project").null_count == 20 and set(whole.column("work_type").to_pylist()) == {"feature"}
    pq.write_table(whole, tmp_path / "copy.parquet")  # a part that declared a column never NULL would stop this
    assert pq.read_table(tmp_path / "copy.parquet").equals(whole)


def test_a_new_time_entries_folder_replaces_the_last_one_whole(tmp_path: Path) -> None:
    """No part of an earlier run survives a later one, whatever its layout was."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    out.mkdir()
    pd.DataFrame({"entry_id": ["old"]}).to_parquet(out / "time_entries.parquet")  # one file, as ingest once wrote
    write_csv(raw, "time_entries.csv", _canonical_time_rows("a", 3, project="Site"))
    write_csv(raw, "time_entries_more.csv", _canonical_time_rows("b", 2, project="Site"))
    run_ingest(raw, out, params())
    assert sorted(p.name for p in (out / "time_entries.parquet").iterdir()) == ["part-00000.parquet",
                                                                                "part-00001.parquet"]
    (raw / "time_entries_more.csv").unlink()
    run_ingest(raw, out, params())
    assert sorted(p.name for p in (out / "time_entries.parquet").iterdir()) == ["part-00000.parquet"]
    assert read(out, "time_entries")["entry_id"].tolist() == ["a0", "a1", "a2"]
    assert not [p for p in out.iterdir() if p.name.startswith(".ingest-")]
