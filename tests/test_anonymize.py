"""Anonymised mode: every name (client, person, project), key and file becomes a stable pseudonym
and free text is dropped, once, before the panel is built; tests/test_anonymize_reports.py checks
an anonymised run publishes no raw name."""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import duckdb
import pandas as pd
import pyarrow as pa

from clientlens.intake.contract import TABLES
from clientlens.intake.panel import (
    ANONYMIZED_COLUMNS,
    PANEL_FILE,
    anonymize_tables,
    anonymized_inputs,
    build_panel,
    input_labels,
    install_hmac,
    pseudonym,
    pseudonym_map,
    pseudonym_table,
)
from clientlens.parameters import load

P = load()

NAMES = {"A": "Acme Corp", "B": "<script>alert(1)</script>", "C": '=HYPERLINK("http://x","y")'}


def write(processed, name, rows):
    pd.DataFrame(rows).to_parquet(processed / f"{name}.parquet", index=False)


def make_processed(folder):
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, "clients", [{"client_id": k, "client_name": v, "exit_date": None, "exit_reason": None}
                              for k, v in NAMES.items()])
    write(folder, "time_entries", [
        {"entry_id": f"e{i}", "client_id": c, "date": dt.date(2025, 1 + i, 10), "hours": 2.0, "billable": True,
         "billable_amount": 200.0, "cost_amount": 80.0, "work_type": "feature", "rework": False,
         "after_hours": False, "person": "ann"} for i, c in enumerate(NAMES)])
    write(folder, "contracts", [
        {"contract_id": f"k{c}", "client_id": c, "contract_type": "retainer", "start_date": dt.date(2025, 1, 1),
         "end_date": dt.date(2026, 6, 30), "value": 1000.0, "currency": "USD", "renewal_of": "", "phase": "feature"}
        for c in NAMES])
    (folder / "manifest.json").write_text(json.dumps({"data_max_date": "2025-09-30"}))
    return folder


def test_pseudonym_is_stable_shaped_and_keyed():
    assert pseudonym("Acme Corp", "k7") == pseudonym("Acme Corp", "k7")
    assert re.fullmatch(r"Client [0-9A-F]{6}", pseudonym("Acme Corp", "k7"))
    assert pseudonym("Acme Corp", "k7") != pseudonym("Acme Corp", "k8")


def test_the_key_is_secret_made_once_and_kept(tmp_path):
    from clientlens.intake.panel import anonymize_key

    key = anonymize_key(tmp_path)
    assert len(key) == 64 and anonymize_key(tmp_path) == key
    other = tmp_path / "other"
    other.mkdir()
    assert anonymize_key(other) != key
    mapping = pseudonym_map([f"client {i}" for i in range(3000)], key="k1")
    assert len(set(mapping.values())) == 3000  # distinct, even where six hex digits would collide


def test_panel_has_pseudonyms_only(tmp_path):
    processed = make_processed(tmp_path / "p")
    meta = build_panel(processed, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=True, key="k5")
    assert meta["anonymized"] is True
    panel = pd.read_parquet(processed / PANEL_FILE)
    expected = {pseudonym(c, "k5") for c in NAMES}
    assert set(panel.client_id) == expected
    assert (panel.client_id == panel.client_name).all()
    # no original id or name left in the panel, nor in the canonical tables later stages read
    for path in processed.glob("*.parquet"):
        text = pd.read_parquet(path).astype(str).to_csv()
        for original in [*NAMES, *NAMES.values()]:
            if len(original) > 1:
                assert original not in text, (path.name, original)
        frame = pd.read_parquet(path)
        if "client_id" in frame:
            assert set(frame.client_id) <= expected, path.name


def test_same_across_runs_and_not_applied_twice(tmp_path):
    first = make_processed(tmp_path / "one")
    second = make_processed(tmp_path / "two")
    build_panel(first, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=True, key="k5")
    build_panel(second, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=True, key="k5")
    build_panel(second, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=True, key="k5")  # a rerun on the same tables changes nothing
    a = pd.read_parquet(first / PANEL_FILE)
    b = pd.read_parquet(second / PANEL_FILE)
    pd.testing.assert_frame_equal(a, b)
    contracts = pd.read_parquet(second / "contracts.parquet")
    assert set(contracts.client_id) == set(a.client_id)  # renewals still join on the pseudonym


def test_default_keeps_names(tmp_path):
    processed = make_processed(tmp_path / "p")
    meta = build_panel(processed, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    assert meta["anonymized"] is False
    assert set(pd.read_parquet(processed / PANEL_FILE).client_name) == set(NAMES.values())


# --- every name, key, free text and file ------------------------------------------------------
def test_every_text_column_of_the_contract_is_decided():
    """A text column added to the contract must be decided on: kept, pseudonymised or dropped."""
    assert set(ANONYMIZED_COLUMNS) == set(TABLES)
    for name, table in TABLES.items():
        assert set(ANONYMIZED_COLUMNS[name]) == {c.name for c in table.columns if c.type == "str"}, name
    kinds = {what for plan in ANONYMIZED_COLUMNS.values() for what in plan.values()}
    assert {"Client", "Person", "Project", "drop", "keep"} <= kinds


def test_pseudonyms_in_sql_are_those_of_python():
    key = "k" * 70  # longer than a block: HMAC hashes it first
    values = ["Acme Corp", "O'Brien & Sons", "Ромашка", "=1+1", "a" * 200]
    con = duckdb.connect()
    install_hmac(con, key)
    con.register("vals", pa.table({"v": values}))
    for kind in ("Client", "Person", "Contract"):
        sql = pseudonym_table(con, "SELECT v FROM vals", kind)
        assert dict(zip(sql.column("value").to_pylist(), sql.column("pseudonym").to_pylist())) \
            == pseudonym_map(values, key, kind)
    assert pseudonym("Ann", key, kind="Person").startswith("Person ")
    assert pseudonym("Ann", key, kind="Person")[7:] != pseudonym("Ann", key)[7:], "kinds hash apart"


def test_inputs_are_named_by_checksum():
    digest = "3fa2c1d4" + "0" * 56
    labels = input_labels([
        {"file": "time_entries_Northwind.csv", "blake3": digest},
        {"file": "sub/Acme invoices.XLSX", "blake3": "ab" * 32},
        {"file": "copy of it.csv", "blake3": "ab" * 32},  # the same bytes under another name
        {"file": "clash.parquet", "blake3": "3fa2c1d4ff" + "1" * 54},  # same first 8 digits
        {"file": "no checksum.csv"},
        {"file": "input 0123abcd (.csv)", "blake3": "0123abcd" * 8},  # named so already
    ])
    assert labels["time_entries_Northwind.csv"] == "input 3fa2c1d400 (.csv)"
    assert labels["clash.parquet"] == "input 3fa2c1d4ff (.parquet)"
    assert labels["sub/Acme invoices.XLSX"] == "input ababababab #2 (.xlsx)"
    assert labels["copy of it.csv"] == "input ababababab #1 (.csv)"
    assert labels["no checksum.csv"] == "input #1 (.csv)"
    assert "input 0123abcd (.csv)" not in labels
    assert input_labels([{"file": "a.csv", "blake3": digest}]) == {"a.csv": "input 3fa2c1d4 (.csv)"}
    once = anonymized_inputs([{"file": "a.csv", "blake3": digest, "bytes": 3}])
    assert once == [{"file": "input 3fa2c1d4 (.csv)", "blake3": digest, "bytes": 3}]
    assert anonymized_inputs(once) == once


FIRM = {  # the raw values of make_firm: none may be left after anonymize_tables
    "clients": ["CL-ACME", "CL-BETA", "Acme Corp", "Beta & Sons"],
    "people": ["Ann Smith", "Bob Jones", "Zoe of Acme", "Freelancer of Beta"],
    "projects": ["Acme portal", "Beta app"],
    "text": ["Call with Acme Corp", "Acme loyalty app", "Beta shouted at Ann", "Acme's warehouse"],
    "keys": ["K-ACME-1", "K-ACME-2", "INV-ACME-1", "REQ-BETA-1", "D-ACME-1", "S-ACME-1", "F-BETA-1",
             "time_Acme Corp.csv:2"],
    "files": ["time_Acme Corp.csv", "contacts of Beta & Sons.csv"],
    "quarantined": ["Gamma Unknown Ltd", "Acme overtime"],
}


def make_firm(folder):
    """Canonical tables and ingest's own outputs as ingest writes them, naming clients everywhere."""
    folder.mkdir(parents=True)
    (folder / "quarantine").mkdir()
    (folder / "time_entries.parquet").mkdir()
    write(folder, "clients", [{"client_id": "CL-ACME", "client_name": "Acme Corp", "industry": "retail"},
                              {"client_id": "CL-BETA", "client_name": "Beta & Sons", "industry": "food"}])
    entries = [{"entry_id": f"time_Acme Corp.csv:{i + 2}", "client_id": c, "date": dt.date(2025, 2, 3),
                "project": p, "task": "Call with Acme Corp", "person": who, "role": "developer", "hours": 1.0,
                "currency": "USD", "work_type": "communication"}
               for i, (c, p, who) in enumerate([("CL-ACME", "Acme portal", "Ann Smith"),
                                                ("CL-BETA", "Beta app", "Bob Jones"),
                                                ("CL-BETA", "Beta app", "Freelancer of Beta")])]
    pd.DataFrame(entries).to_parquet(folder / "time_entries.parquet" / "part-00000.parquet", index=False)
    pd.DataFrame(entries[:1]).to_parquet(folder / "time_entries.parquet" / "part-00001.parquet", index=False)
    write(folder, "people", [{"person": "Ann Smith", "role": "developer", "cost_rate": 50.0, "currency": "USD"},
                             {"person": "Bob Jones", "role": "designer", "cost_rate": 40.0, "currency": "USD"}])
    write(folder, "contacts", [{"client_id": "CL-ACME", "quarter": "2025Q1", "client_contact": "Zoe of Acme",
                                "our_communicator": "Ann Smith", "communicator_role": "technical"}])
    write(folder, "surveys", [{"survey_id": "S-ACME-1", "client_id": "CL-ACME", "respondent": "Zoe of Acme",
                               "score": 9.0}])
    write(folder, "team_feedback", [{"feedback_id": "F-BETA-1", "client_id": "CL-BETA", "person": "Ann Smith",
                                     "comment": "Beta shouted at Ann", "score": 2.0}])
    write(folder, "deliverables", [{"deliverable_id": "D-ACME-1", "client_id": "CL-ACME", "name": "Acme loyalty app",
                                    "status": "shelved"}])
    write(folder, "requests", [{"request_id": "REQ-BETA-1", "client_id": "CL-BETA", "deliverable_id": "D-ACME-1",
                                "request_type": "incident"}])
    write(folder, "contracts", [{"contract_id": "K-ACME-1", "client_id": "CL-ACME", "renewal_of": None},
                                {"contract_id": "K-ACME-2", "client_id": "CL-ACME", "renewal_of": "K-ACME-1"}])
    write(folder, "invoices", [{"invoice_id": "INV-ACME-1", "client_id": "CL-ACME", "contract_id": "K-ACME-2",
                                "currency": "EUR"}])
    write(folder, "rates", [{"client_id": "CL-BETA", "role": None, "person": "Bob Jones", "bill_rate": 90.0}])
    write(folder, "project_clients", [{"project": "Beta app", "client_id": "CL-BETA"}])
    pd.DataFrame([{"project": "Beta app", "client_id": "CL-BETA", "listed": True, "entries": 2, "hours": 2.0}]) \
        .to_parquet(folder / "project_clients_used.parquet", index=False)
    pd.DataFrame([{"file": "time_Acme Corp.csv", "table": "time_entries", "format": "canonical", "rows_read": 5},
                  {"file": "contacts of Beta & Sons.csv", "table": "contacts", "format": "canonical",
                   "rows_read": 1}]).to_parquet(folder / "ingest_summary.parquet", index=False)
    quarantine = pd.DataFrame([
        {"file": "time_Acme Corp.csv", "table": "time_entries", "row": 4, "column": "client_id",
         "value": "Gamma Unknown Ltd", "reason": "unknown client 'Gamma Unknown Ltd'"},
        {"file": "time_Acme Corp.csv", "table": "time_entries", "row": 5, "column": "hours",
         "value": "Acme overtime", "reason": "not a number"},
        {"file": "contacts of Beta & Sons.csv", "table": "contacts", "row": 2, "column": "client_id",
         "value": "CL-ACME / 2025Q1", "reason": "duplicate client_id+quarter also on row 3 of time_Acme Corp.csv"}])
    quarantine.to_parquet(folder / "quarantine" / "quarantine.parquet", index=False)
    quarantine.to_csv(folder / "quarantine" / "quarantine.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps({"data_max_date": "2025-03-31", "inputs": [
        {"file": "time_Acme Corp.csv", "blake3": "aa" * 32, "table": "time_entries"},
        {"file": "contacts of Beta & Sons.csv", "blake3": "bb" * 32, "table": "contacts"}]}))
    return folder


def test_names_keys_text_and_files_are_anonymised_everywhere(tmp_path):
    processed = make_firm(tmp_path / "p")
    clients = anonymize_tables(processed, "k9")
    assert clients == {"CL-ACME": pseudonym("CL-ACME", "k9"), "CL-BETA": pseudonym("CL-BETA", "k9")}
    read = lambda name: pd.read_parquet(processed / name)  # noqa: E731
    person = lambda name: pseudonym(name, "k9", kind="Person")  # noqa: E731
    # a person is one pseudonym in every table, ours and theirs alike; distinct people stay distinct
    entries = read("time_entries.parquet")
    assert list(entries.person) == [person("Ann Smith"), person("Bob Jones"), person("Freelancer of Beta"),
                                    person("Ann Smith")]
    assert set(read("people.parquet").person) == {person("Ann Smith"), person("Bob Jones")}
    contacts = read("contacts.parquet")
    assert (contacts.our_communicator == person("Ann Smith")).all()
    assert (contacts.client_contact == person("Zoe of Acme")).all()
    assert list(read("surveys.parquet").respondent) == [person("Zoe of Acme")]
    assert list(read("team_feedback.parquet").person) == [person("Ann Smith")]
    assert list(read("rates.parquet").person) == [person("Bob Jones")]
    # projects, and the clients they stand for
    project = pseudonym("Beta app", "k9", kind="Project")
    assert list(entries.project) == [pseudonym("Acme portal", "k9", kind="Project"), project, project,
                                     pseudonym("Acme portal", "k9", kind="Project")]
    assert list(read("project_clients.parquet").project) == [project]
    used = read("project_clients_used.parquet")
    assert list(used.project) == [project] and list(used.client_id) == [clients["CL-BETA"]]
    # keys stay keys: renewals, invoices and requests still join
    contracts = read("contracts.parquet")
    assert contracts.renewal_of.iloc[1] == contracts.contract_id.iloc[0] and contracts.renewal_of.isna().iloc[0]
    assert contracts.contract_id.str.startswith("Contract ").all()
    assert set(read("invoices.parquet").contract_id) <= set(contracts.contract_id)
    assert set(read("requests.parquet").deliverable_id) == set(read("deliverables.parquet").deliverable_id)
    assert list(entries.entry_id) == ["Entry 0-0", "Entry 0-1", "Entry 0-2", "Entry 1-0"]
    # free text is gone; codes stay
    assert entries.task.isna().all() and read("deliverables.parquet").name.isna().all()
    assert read("team_feedback.parquet").comment.isna().all()
    assert list(read("clients.parquet").industry) == ["retail", "food"]
    assert list(read("invoices.parquet").currency) == ["EUR"] and set(entries.role) == {"developer"}
    assert list(read("clients.parquet").client_name) == [clients["CL-ACME"], clients["CL-BETA"]]
    # files by checksum; the quarantine without the values it quoted
    labels = {"time_Acme Corp.csv": "input aaaaaaaa (.csv)", "contacts of Beta & Sons.csv": "input bbbbbbbb (.csv)"}
    assert list(read("ingest_summary.parquet").file) == list(labels.values())
    quarantine = read("quarantine/quarantine.parquet")
    assert list(quarantine.file) == [labels["time_Acme Corp.csv"]] * 2 + [labels["contacts of Beta & Sons.csv"]]
    assert quarantine.value.isna().all()
    assert list(quarantine.reason) == ["unknown client", "not a number",
                                       "duplicate client_id+quarter also on row 3 of input aaaaaaaa (.csv)"]
    assert list(quarantine.row) == [4, 5, 2]
    manifest = json.loads((processed / "manifest.json").read_text())
    assert manifest["anonymized"] and [i["file"] for i in manifest["inputs"]] == list(labels.values())
    # nothing raw is left in any file the stages after ingest read
    for path in [*processed.rglob("*.parquet"), processed / "quarantine" / "quarantine.csv",
                 processed / "manifest.json"]:
        text = pd.read_parquet(path).to_csv() if path.suffix == ".parquet" else path.read_text()
        for values in FIRM.values():
            for value in values:
                assert value not in text, (path.name, value)
    assert anonymize_tables(processed, "k9") == {}, "once per ingest"


def test_the_anonymised_lineage_names_inputs_by_checksum():
    from clientlens.publishing.publish import Lineage, lineage_html

    inputs = [{"file": "time_Acme Corp.csv", "blake3": "ab" * 32, "bytes": 10}]
    lineage = Lineage("2025-03-31", "2025Q1", {"anonymize": True}, "abc", inputs)
    footer = lineage_html(lineage, "en")
    assert "Acme" not in footer and "input abababab (.csv)" in footer
    assert "time_Acme Corp.csv" in lineage_html(Lineage("2025-03-31", "2025Q1", {"anonymize": False}, "abc",
                                                        inputs), "en")


def test_what_ingest_says_names_inputs_by_their_labels():
    from clientlens.intake.stage import Relabelling

    out = io.StringIO()
    quoted = 'O\'Brien "Best".csv'
    stream = Relabelling(out, {"time_Acme Corp.csv": "input aaaaaaaa (.csv)", quoted: "input bbbbbbbb (.csv)"})
    print("ingest: time_Acme Corp.csv -> time_entries (canonical)", file=stream)
    stream.write("ingest: /data/raw/time_Acme")
    stream.write(f" Corp.csv, and {quoted!r}\n")  # as a message quoting it with !r writes it
    stream.write(f"no newline yet: {quoted}")
    stream.flush()
    assert out.getvalue() == ("ingest: input aaaaaaaa (.csv) -> time_entries (canonical)\n"
                              "ingest: /data/raw/input aaaaaaaa (.csv), and 'input bbbbbbbb (.csv)'\n"
                              "no newline yet: input bbbbbbbb (.csv)")


def test_the_anonymised_quarantine_page_quotes_nothing():
    from clientlens.publishing.reasons import quarantine_by_reason

    quarantine = pd.DataFrame([
        {"file": "time_Acme Corp.csv", "column": "client_id", "reason": "unknown client 'Acme\nCorp Ltd'"},
        {"file": "time_Acme Corp.csv", "column": "entry_id",
         "reason": "duplicate entry_id also on row 3 of time_Acme Corp.csv"}])
    shown = quarantine_by_reason(quarantine, "en", anonymize=True)
    assert list(shown.columns) == ["reason", "rows"]
    assert sorted(shown.reason) == ["duplicate entry_id", "unknown client"]
