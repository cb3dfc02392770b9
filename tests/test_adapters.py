"""Adapters: Harvest, Toggl Track, Jira/Tempo and 1C exports recognised from the header alone."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rawfiles import params, quarantine, read, summary, write_csv, write_text, write_xlsx

from clientlens.intake.ingest import IngestError, run_ingest

HARVEST = ["Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded",
           "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?",
           "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency",
           "External Reference URL"]
TOGGL = ["User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
         "Start time", "End date", "End time", "Duration", "Tags", "Amount (EUR)"]
TEMPO = ["Issue Key", "Issue summary", "Hours", "Work date", "Username", "Full name", "Account Name",
         "Account Customer", "Activity Name", "Billed Hours", "Work Description",
         "Work Attribute: Phase"]


def people(raw: Path) -> None:
    write_csv(raw, "people.csv", [["person", "role", "cost_rate", "bill_rate"],
                                  ["Ann Lee", "designer", 40, 120], ["Bob Ray", "developer", 50, 100]])


def test_harvest(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "harvest_time_report.csv", [
        HARVEST,
        ["01/15/2025", "Acme", "Site", "S1", "UX Design", "<b>mockups</b>", "1.5", "1.5", "Yes", "No",
         "Yes", "Ann", "Lee", "Designer", "Yes", "100", "150", "40", "60", "US Dollar - USD", ""],
        ["01/16/2025", "Acme", "Site", "S1", "Bug fixing", "rework of login", "2", "2", "No", "No",
         "Yes", "Bob", "Ray", "Developer", "Yes", "100", "0", "50", "100", "USD", ""],
        ["01/18/2025", "Acme", "Site", "S1", "Bug fixing", "", "-2", "2", "No", "No",
         "Yes", "Bob", "Ray", "Developer", "Yes", "100", "0", "50", "100", "USD", ""],
    ])
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["entry_id"].tolist() == ["harvest_time_report.csv:2", "harvest_time_report.csv:3"]
    assert te["person"].tolist() == ["Ann Lee", "Bob Ray"]
    assert [str(d) for d in te["date"]] == ["2025-01-15", "2025-01-16"]
    assert te["billable"].tolist() == [True, False]
    assert te["billable_amount"].tolist() == [150.0, 0.0]
    assert te["cost_amount"].tolist() == [60.0, 100.0]
    assert te["currency"].tolist() == ["USD", "USD"]
    assert te["work_type"].tolist() == ["ux", "stability"]
    assert te["rework"].tolist() == [False, True]  # 'rework' in the notes
    assert te["after_hours"].isna().all()  # no start time: not measured
    assert summary(out)["format"].tolist() == ["harvest"]
    assert quarantine(out)[["file", "row", "column"]].values.tolist() == [
        ["harvest_time_report.csv", 4, "hours"]]


def test_toggl(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    people(raw)
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.10"]])
    write_csv(raw, "Toggl_Track_summary.csv", [
        TOGGL,
        ["Ann Lee", "ann@x", "Acme", "Site", "", "Weekly sync", "Yes", "2025-01-15", "21:30:00",
         "2025-01-15", "22:00:00", "00:30:00", "meeting", "50.00"],
        ["Bob Ray", "bob@x", "Acme", "Site", "Checkout", "", "No", "2025-01-18", "10:00:00",
         "2025-01-18", "11:30:00", "01:30:00", "backend", ""],
    ])
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["hours"].tolist() == [0.5, 1.5]
    assert te["billable_amount"].tolist() == [pytest.approx(55.0), 0.0]  # 50 EUR at 1.10
    assert te["currency"].tolist() == ["EUR", "EUR"]
    assert te["cost_amount"].tolist() == [pytest.approx(20.0), pytest.approx(75.0)]  # people rates
    assert te["role"].tolist() == ["designer", "developer"]
    assert te["after_hours"].tolist() == [True, True]  # 21:30 on a weekday; a Saturday
    assert te["work_type"].tolist() == ["communication", "feature"]
    assert str(te["start_time"].iloc[0]) == "21:30:00"
    assert summary(out).set_index("file").loc["Toggl_Track_summary.csv", "format"] == "toggl"


def test_tempo_rates_from_people(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    people(raw)
    write_csv(raw, "worklogs.csv", [
        TEMPO,
        ["PRJ-1", "Implement checkout", "3", "2025-01-20 00:00", "ann", "Ann Lee", "ACC-1", "Acme",
         "Development", "2", "", ""],
        ["PRJ-2", "Call with client", "1", "2025-01-21 00:00", "bob", "Bob Ray", "Beta Corp", "",
         "", "0", "", "Meeting"],
    ])
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["client_id"].tolist() == ["Acme", "Beta Corp"]  # customer, else account name
    assert te["billable"].tolist() == [True, False]
    assert te["billable_amount"].tolist() == [240.0, 0.0]  # billed hours x people bill rate
    assert te["cost_amount"].tolist() == [120.0, 50.0]
    assert te["work_type"].tolist() == ["feature", "communication"]
    assert summary(out).set_index("file").loc["worklogs.csv", "format"] == "tempo"


def test_tempo_without_people_leaves_cost_unmeasured(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "worklogs.csv", [TEMPO[:6] + ["Account Name"],
                                    ["P-1", "Fix bug", "2", "2025-01-20", "ann", "Ann Lee", "Acme"]])
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    # Tempo says neither what is billable nor at what rate: revenue is not known either.
    assert te["cost_amount"].isna().all() and te["billable_amount"].isna().all()
    assert te["billable"].isna().all()


def test_onec_invoice_register_xlsx(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "hours"], ["2025-02-03", "Ромашка", 1]])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["RUB", "0,011"]])
    write_xlsx(raw, "Реестр счетов.xlsx", [
        ["Реестр счетов покупателям"], [],
        ["Дата", "Номер", "Контрагент", "Договор", "Сумма", "Валюта", "Срок оплаты", "Дата оплаты"],
        ["03.02.2025 0:00:00", "0001", "Ромашка", "Д-1", "12 000,00", "руб.", "13.02.2025", None],
        [dt.datetime(2025, 2, 5), "0002", "Ромашка", "", "1 500,00", "RUB", "01.02.2025", None],
    ])
    run_ingest(raw, out, params())
    inv = read(out, "invoices")
    assert inv[["invoice_id", "client_id", "contract_id", "currency"]].values.tolist() == [
        ["0001", "Ромашка", "Д-1", "RUB"]]
    assert inv["amount"].iloc[0] == pytest.approx(132.0)
    assert str(inv["due_date"].iloc[0]) == "2025-02-13"
    q = quarantine(out)
    assert q[["file", "row", "column", "reason"]].values.tolist() == [
        ["Реестр счетов.xlsx", 5, "due_date", "due_date before issue_date"]]
    assert summary(out).set_index("file").loc["Реестр счетов.xlsx", "format"] == "1c"


def test_onec_csv_variants(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "hours"], ["2025-02-03", "Ромашка", 1]])
    write_text(raw, "счета.csv", "Дата документа;Номер документа;Покупатель;Сумма документа;"
                                 "Оплатить до\n03.02.2025;17;Ромашка;1 000,50;10.02.2025\n", "cp1251")
    run_ingest(raw, out, params(reporting_currency="RUB"))
    inv = read(out, "invoices")
    assert inv[["invoice_id", "client_id"]].values.tolist() == [["17", "Ромашка"]]
    assert inv["amount"].iloc[0] == pytest.approx(1000.5)


def test_russian_contracts_file_is_not_taken_for_1c(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "hours"], ["2025-02-03", "Ромашка", 1]])
    write_csv(raw, "contracts.csv", [["Номер договора", "Контрагент", "Тип", "Начало", "Сумма"],
                                     ["Д-1", "Ромашка", "проект", "01.01.2025", "100"]])
    run_ingest(raw, out, params())
    assert read(out, "contracts")[["contract_id", "contract_type"]].values.tolist() == [["Д-1", "project"]]
    assert summary(out).set_index("file").loc["contracts.csv", "format"] == "canonical"


def test_adapter_missing_column_names_the_export(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "toggl.csv", [["User", "Email", "Start date", "Start time", "Duration"],
                                 ["Ann", "a@x", "2025-01-01", "10:00", "1:00:00"]])
    with pytest.raises(IngestError, match=r"toggl.csv: missing required column 'client_id' "
                                          r"\(time_entries, toggl export; found: User, Email"):
        run_ingest(raw, tmp_path / "out", params())
