"""What ingest decides on its own, and must not decide wrong: which table a file holds, a
file nothing of which was kept, the reporting currency, the quarter left unfinished, and
which work a task names."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from rawfiles import params, quarantine, read, summary, time_rows, write_csv

from clientlens.intake.ingest import IngestError, run_ingest
from clientlens.intake.panel import build_panel
from clientlens.intake.readers.derive import at_word_start
from clientlens.intake.readers.headers import guess_table, table_fits
from clientlens.intake.stage import left_out_text, run_intake

def one_line_error(raw: Path, out: Path, **overrides) -> str:
    """The IngestError a raw folder stops with, checked to be one line."""
    with pytest.raises(IngestError) as err:
        run_ingest(raw, out, params(**overrides))
    assert "\n" not in str(err.value)
    return str(err.value)


# --- which table a file holds ------------------------------------------------------------------
# Zendesk's ticket export (https://support.zendesk.com/hc/en-us/articles/4408886165402, "Exporting
# ticket, user, or organization data from your account": the CSV columns) has "Id" and "Status",
# which alone once made it a deliverables table.
ZENDESK_LIKE = ["Id", "Requester", "Requester id", "Assignee", "Group", "Subject", "Status",
                "Priority", "Type", "Created at", "Updated at", "Tags"]


@pytest.mark.parametrize("headers", [
    ZENDESK_LIKE,
    ["Id", "Name", "Status"],
    ["Type", "Name", "Date", "Amount"],
    ["Client", "Status", "Id"],
])
def test_generic_headers_never_decide_a_table(headers: list[str]) -> None:
    assert guess_table(headers) is None


@pytest.mark.parametrize("headers, table", [
    (["Work date", "Customer", "User", "Duration"], "time_entries"),
    (["date", "client", "hours"], "time_entries"),
    (["Currency", "Rate"], "fx_rates"),
    (["invoice", "client", "invoice date", "due", "total"], "invoices"),
])
def test_distinctive_headers_still_decide(headers: list[str], table: str) -> None:
    assert guess_table(headers).table == table


# Clockify's detailed report (https://docs.clockify.me/ "Detailed report" export; the CSV columns
# as the report writes them) was once taken for the clients table by its "Client" header.
CLOCKIFY = ["Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable",
            "Start Date", "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)",
            "Billable Rate (USD)", "Billable Amount (USD)"]


def test_a_guess_needs_every_required_column_and_half_the_headers() -> None:
    fits = {f.table: f for f in table_fits(CLOCKIFY)}
    assert fits["clients"].missing == ("client_id",)  # a name is there, the key is not
    assert not fits["time_entries"].complete  # no "date", no "hours"
    assert guess_table(CLOCKIFY) is None
    # Two headers a mapping table would take explain too little of a fifteen-column report.
    assert guess_table(["Client", "Project", *[f"Field {i}" for i in range(8)]]) is None


def test_a_file_that_fits_nothing_names_the_closest_formats(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", time_rows(2))
    # A Harvest report with its client and people cut off, under a name that says nothing.
    write_csv(raw, "export (3).csv", [["Date", "Project", "Task", "Hours", "Notes"],
                                      ["2025-03-03", "Site", "Design", "2", ""]])
    message = one_line_error(raw, tmp_path / "out")
    assert "export (3).csv: cannot tell which table this file holds" in message
    assert "time_entries (missing client_id)" in message
    assert "harvest export (missing client, first name, last name)" in message
    assert "found: Date, Project, Task, Hours, Notes" in message


def test_kimai_type_column_is_not_the_work_type(tmp_path: Path) -> None:
    """Kimai's export has a Type column whose value is "timesheet" (kimai/kimai,
    src/Export/Spreadsheet: the timesheet export's columns); as an alias of work_type it once
    set every row aside."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", [["date", "client", "hours", "Type"]]
              + [[f"2025-03-0{d}", "Acme", "2", "timesheet"] for d in range(1, 8)])
    run_ingest(raw, out, params())
    assert len(read(out, "time_entries")) == 7 and quarantine(out).empty


# --- a file nothing of which was kept ------------------------------------------------------------
def test_every_row_set_aside_stops_with_the_commonest_reason(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", time_rows(2))
    write_csv(raw, "requests.csv", [["request_id", "client_id", "type", "created_at"]]
              + [[f"r{i}", "Acme", "timesheet", "2025-03-03"] for i in range(6)]
              + [["r9", "Acme", "incident", "someday"]])
    message = one_line_error(raw, tmp_path / "out")
    assert "requests.csv: all 7 rows were set aside (requests, canonical)" in message
    assert "the commonest reason, on 6 rows: request_type (header 'type') not one of" in message
    assert "'timesheet'" in message


def test_a_required_table_left_empty_says_why_not_the_period(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", [["date", "client", "hours"], ["2025-03-03", "Acme", "-2"]])
    with pytest.raises(IngestError, match=r"time_entries.csv: all 1 rows were set aside .*negative hours"):
        run_ingest(raw, tmp_path / "out", params())


def test_a_short_file_with_one_bad_row_is_quarantined_not_stopped(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", time_rows(2))
    write_csv(raw, "surveys.csv", [["client_id", "survey_date", "survey_type", "score"],
                                   ["Acme", "2025-03-03", "nps", "11"]])
    result = run_ingest(raw, out, params())
    assert result.quarantine_count == 1


# --- the reporting currency ----------------------------------------------------------------------
HARVEST = ["Date", "Client", "Project", "Task", "Notes", "Hours", "Billable?", "First Name",
           "Last Name", "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency"]


def harvest_rows(currency: str, amount: str, n: int = 2) -> list[list[str]]:
    return [[f"2025-03-0{d + 3}", "Acme", "Site", "Dev", "", "2", "Yes", "Ann", "Lee", "50", amount,
             "20", "40", currency] for d in range(n)]


def test_auto_currency_of_a_euro_harvest_export_needs_no_fx_file(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "harvest.csv", [HARVEST, *harvest_rows("Euro - EUR", "100.00")])
    result = run_ingest(raw, out, params(reporting_currency="auto"))
    assert result.manifest["reporting_currency"] == "EUR"
    assert read(out, "time_entries")["billable_amount"].sum() == 200.0


def test_auto_currency_takes_the_currency_with_most_money(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "harvest.csv", [HARVEST, *harvest_rows("EUR", "100.00"), *harvest_rows("GBP", "900.00", 1)])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "0.85"]])
    result = run_ingest(raw, out, params(reporting_currency="auto"))
    assert result.manifest["reporting_currency"] == "GBP"
    assert read(out, "time_entries")["billable_amount"].sum() == pytest.approx(900 + 2 * 85.0)


def test_auto_currency_missing_rate_offers_both_ways_out(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "harvest.csv", [HARVEST, *harvest_rows("EUR", "100.00"), *harvest_rows("GBP", "900.00", 1)])
    with pytest.raises(IngestError) as err:
        run_ingest(raw, tmp_path / "out", params(reporting_currency="auto"))
    assert "amounts in EUR but fx_rates has no EUR rate" in str(err.value)
    assert "make report REPORTING_CURRENCY=EUR" in str(err.value)


def test_auto_currency_with_no_currency_named_is_the_configured_one(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", time_rows(2))
    result = run_ingest(raw, out, params(reporting_currency="auto", unnamed_currency="RUB"))
    assert result.manifest["reporting_currency"] == "RUB"


# --- the quarter not yet finished ----------------------------------------------------------------
def test_an_unfinished_last_quarter_is_said_to_be_left_out(tmp_path: Path) -> None:
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    rows = [["date", "client", "hours", "billable_amount", "cost_amount"]]
    rows += [[f"2025-{m:02d}-10", "Acme", "2", "200", "80"] for m in range(1, 10)]  # Q1-Q3
    rows += [["2025-10-10", "Acme", "3", "300", "120"], ["2025-11-03", "Acme", "1", "100", "40"]]
    write_csv(raw, "time_entries.csv", rows)
    intake = run_intake(raw, processed, params(as_of="2025-11-20"))
    meta = intake.panel_meta
    assert meta["period_end"] == "2025Q3" and meta["left_out"] == {"time_entries": 2}
    text = left_out_text(meta)
    assert "3 Nov 2025" in text and "Q3 2025" in text and "2 rows of time_entries" in text
    assert ".parquet" not in text  # the reader's words, not the file the analysis writes
    russian = left_out_text(meta, "ru")
    assert "2 строки в time_entries" in russian and "03.11.2025" in russian and "III кв. 2025" in russian
    assert "make report PERIOD_END=2025Q4" in text
    # A finished quarter leaves nothing out, and says nothing.
    assert left_out_text({**meta, "left_out": {}}) is None


def test_rows_after_a_chosen_period_end_are_counted(tmp_path: Path) -> None:
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_csv(raw, "time_entries.csv", [["date", "client", "hours"], ["2025-03-03", "Acme", "2"],
                                        ["2025-05-05", "Acme", "1"]])
    # A request raised during the quarter's last day belongs to it, whatever its hour.
    write_csv(raw, "requests.csv", [["request_id", "client_id", "request_type", "created_at"],
                                    ["r1", "Acme", "incident", "2025-03-31 18:30"]])
    run_ingest(raw, processed, params())
    meta = build_panel(processed, "2025Q1", params().office_hours, lapse_quarters=params().lapse_quarters, deadline_grace_days=params().deadline_grace_days, anonymize=False)
    assert meta["left_out"] == {"time_entries": 1} and meta["period_end_chosen"]
    assert "the period end chosen" in left_out_text(meta)


# --- work types from words -----------------------------------------------------------------------
@pytest.mark.parametrize("text, pattern, hit", [
    ("Build checkout", "ux|ui", False),
    ("UI review", "ux|ui", True),
    ("ui-kit", "ux|ui", True),
    ("design_system", "design", True),
    ("Оценка проекта", "оценк", True),
    ("переоценка", "оценк", False),
    ("bugfix", "fix", False),
    ("bugfix", "bug", True),
])
def test_rules_match_at_the_start_of_a_word(text: str, pattern: str, hit: bool) -> None:
    con = duckdb.connect()
    assert con.execute("SELECT regexp_matches(?, ?, 'i')", [text, at_word_start(pattern)]).fetchone()[0] is hit


def test_feature_work_named_build_is_not_ux(tmp_path: Path) -> None:
    """Harvest task names such as "Build" (a firm's feature work) once matched the ux rule's "ui"."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", [["date", "client", "hours", "task", "project"],
                                        ["2025-03-03", "Acme", "2", "Build", "Checkout feature"],
                                        ["2025-03-03", "Acme", "2", "Guide", "Onboarding"],
                                        ["2025-03-03", "Acme", "2", "UI polish", "Site"]])
    run_ingest(raw, out, params())
    # "Build" names no rule: the project's name decides; "Guide" names none and neither does its
    # project, so it is "other", not ux.
    assert read(out, "time_entries")["work_type"].tolist() == ["feature", "other", "ux"]


def test_summary_reads_back(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", time_rows(3))
    run_ingest(raw, out, params())
    assert summary(out)["rows_accepted"].tolist() == [3]
    assert json.loads((out / "manifest.json").read_text())["reporting_currency"] == "USD"


# --- an invoice export that covers some clients only --------------------------------------------
def test_a_client_the_invoice_exports_leave_out_has_revenue_not_measured(tmp_path: Path) -> None:
    """Once invoices are supplied revenue is what they bill; a client with billable work and no
    invoice at all is one the accounting export does not cover: not measured, never 0 (which
    made every such client a loss-maker)."""
    import pandas as pd

    from clientlens.analysis.pnl import client_pnl, margin_notes

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_csv(raw, "time_entries.csv", [["date", "client", "hours", "billable", "billable_amount", "cost_amount"],
                                        ["2025-01-10", "Acme", "2", "yes", "200", "80"],
                                        ["2025-01-11", "Beta", "3", "yes", "300", "120"],
                                        ["2025-01-12", "Gamma", "1", "no", "0", "40"]])
    write_csv(raw, "invoices.csv", [["invoice_id", "client_id", "issue_date", "due_date", "amount"],
                                    ["i1", "Acme", "2025-02-01", "2025-03-01", "200"]])
    intake = run_intake(raw, processed, params(as_of="2025-06-30", period_end="2025Q1"))
    panel = pd.read_parquet(processed / "client_quarter.parquet").set_index("client_id")
    assert panel.loc["Acme", "revenue"] == 200
    assert pd.isna(panel.loc["Beta", "revenue"]) and pd.isna(panel.loc["Beta", "revenue_collected"])
    assert panel.loc["Gamma", "revenue"] == 0  # no billable work: nothing to invoice, 0 is right
    pnl = client_pnl(panel.reset_index(), 0.1, overhead_base="delivery_cost", lapse_quarters=2,
                     period_end=intake.panel_meta["period_end"]).set_index("client_id")
    assert pd.isna(pnl.loc["Beta", "margin"]) and pnl.loc["Beta", "is_loss_making"] is not True
    assert margin_notes(pnl.reset_index()).tolist()[1] == (
        "revenue not measured: billable work, but no invoice in the invoice exports")


def test_quarters_the_invoice_exports_do_not_reach_have_revenue_not_measured(tmp_path: Path) -> None:
    """An invoice export of the last year only, beside two years of time: the first year's
    revenue is not measured (never 0, which made every client a loss-maker then); the quarter
    just before the first invoice counts, for invoices in arrears bill it."""
    import pandas as pd

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    rows = [["date", "client", "hours", "billable", "billable_amount", "cost_amount"]]
    rows += [[f"{year}-{month:02d}-10", "Acme", "2", "yes", "200", "80"]
             for year in (2024, 2025) for month in (1, 4, 7, 10)]
    write_csv(raw, "time_entries.csv", rows)
    write_csv(raw, "invoices.csv", [["invoice_id", "client_id", "issue_date", "due_date", "amount"]]
              + [[f"i{m}", "Acme", f"2025-{m:02d}-15", f"2025-{m:02d}-28", "200"] for m in (4, 7, 10)])
    run_intake(raw, processed, params(as_of="2025-12-31", period_end="2025Q4"))
    panel = pd.read_parquet(processed / "client_quarter.parquet").set_index("quarter")
    assert panel.loc[["2024Q1", "2024Q2", "2024Q3", "2024Q4"], "revenue"].isna().all()
    assert panel.loc["2025Q1", "revenue"] == 0  # a quarter before the first invoice: in arrears
    assert panel.loc[["2025Q2", "2025Q3", "2025Q4"], "revenue"].tolist() == [200, 200, 200]
