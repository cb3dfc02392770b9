"""Accounting and helpdesk exports: Xero invoices, the QuickBooks Online invoice list, Zendesk tickets.

Each sample below is written here from the export's documented header row; the amounts are
chosen so that every total can be checked by hand to the cent.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
from rawfiles import params, quarantine, read, summary, write_csv

from clientlens.intake.ingest import run_ingest
from clientlens.intake.panel import PANEL_FILE, build_panel

# Xero, Sales > Invoices > Export: one row per invoice line, the invoice's own fields repeated on
# each. Header as in the Xero invoice template given by
# https://docs.moment.team/help/moment-by-topic/integrations/file-exports/file-export-accounting-system/xero/xero-templates
# ("according to the Xero template for file import"; column list also at .../file-export-accounting-system/xero).
XERO = ["ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3",
        "POAddressLine4", "POCity", "PORegion", "POPostalCode", "POCountry", "SAAddressLine1",
        "SAAddressLine2", "SAAddressLine3", "SAAddressLine4", "SACity", "SARegion", "SAPostalCode",
        "SACountry", "InvoiceNumber", "Reference", "InvoiceDate", "DueDate", "PlannedDate", "Total",
        "TaxTotal", "InvoiceAmountPaid", "InvoiceAmountDue", "InventoryItemCode", "Description",
        "Quantity", "UnitAmount", "Discount", "LineAmount", "AccountCode", "TaxType", "TaxAmount",
        "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency", "Type",
        "Sent", "Status"]

# QuickBooks Online, Reports > Invoice List, exported to CSV: company, report name and dates
# above the header (whose first column is unnamed), a TOTAL line and the basis and time of
# the run below. No Intuit page giving the Invoice List's exact columns was found; the
# layout of a QuickBooks Online report export is that of the public samples in
# github.com repositories parsing them (e.g. a General Ledger export: title lines, then
# ",Date,Transaction Type,Num,Name,...", "Total for ..." and "TOTAL" lines), with the
# Invoice List's default columns: Date, Transaction type, Num, Customer, Due date, Amount,
# Open balance.
QUICKBOOKS = ["", "Date", "Transaction type", "Num", "Customer", "Due date", "Amount", "Open balance"]

# Zendesk, Admin Center > Account > Tools > Reports > Export > CSV (one row per ticket):
# https://support.zendesk.com/hc/en-us/articles/4408886165402 (Exporting data to a JSON, CSV or
# XML file). The column names are those of that export as we know them; the article does not
# list them, so this list is not verified against it column by column.
ZENDESK = ["Id", "Requester", "Requester id", "Requester external id", "Requester email",
           "Requester domain", "Submitter", "Assignee", "Group", "Subject", "Tags", "Status",
           "Priority", "Via", "Ticket type", "Created at", "Updated at", "Assigned at",
           "Organization", "Due date", "Initially assigned at", "Solved at", "Resolution time",
           "Satisfaction Score", "Group stations", "Assignee stations", "Reopens", "Replies"]


def time_entries(raw: Path, clients: tuple[str, ...] = ("Acme Ltd", "Beta GmbH")) -> None:
    """The time entries every run needs, up to 30 June 2025: the period ends 2025Q2."""
    rows = [["entry_id", "date", "client_id", "person", "hours", "task", "bill_rate", "cost_rate"]]
    for i, client in enumerate(clients):
        rows += [[f"t{i}a", "2025-01-20", client, "Ann", 2, "feature work", 100, 40],
                 [f"t{i}b", "2025-06-30", client, "Ann", 2, "feature work", 100, 40]]
    write_csv(raw, "time_entries.csv", rows)


def xero_line(contact, number, issued, due, total, tax, paid, owed, description, qty, unit,
              line, line_tax, kind="Sales invoice", status="Awaiting Payment") -> list[object]:
    row = dict.fromkeys(XERO, "")
    row.update({"ContactName": contact, "InvoiceNumber": number, "InvoiceDate": issued,
                "DueDate": due, "Total": total, "TaxTotal": tax, "InvoiceAmountPaid": paid,
                "InvoiceAmountDue": owed, "Description": description, "Quantity": qty,
                "UnitAmount": unit, "LineAmount": line, "AccountCode": "200",
                "TaxType": "20% (VAT on Income)", "TaxAmount": line_tax, "Currency": "GBP",
                "Type": kind, "Sent": "Sent", "Status": status})
    return [row[h] for h in XERO]


XERO_ROWS = [
    # INV-001: two lines, paid in full, no date of payment in the export
    xero_line("Acme Ltd", "INV-001", "15/01/2025", "14/02/2025", "1500.00", "250.00", "1500.00", "0.00",
              "Development", 10, "100.00", "1000.00", "200.00", status="Paid"),
    xero_line("Acme Ltd", "INV-001", "15/01/2025", "14/02/2025", "1500.00", "250.00", "1500.00", "0.00",
              "Design", 5, "50.00", "250.00", "50.00", status="Paid"),
    # INV-002: one line, not paid, due 28 Feb 2025: late at the period end
    xero_line("Beta GmbH", "INV-002", "29/01/2025", "28/02/2025", "400.00", "66.67", "0.00", "400.00",
              "Support retainer", 1, "333.33", "333.33", "66.67"),
    # CN-001: a credit note, exported with positive amounts, fully allocated
    xero_line("Acme Ltd", "CN-001", "20/02/2025", "20/02/2025", "120.00", "20.00", "120.00", "0.00",
              "Refund of a day", 1, "100.00", "100.00", "20.00", kind="ACCRECCREDIT", status="PAID"),
    # no revenue: a voided and a draft invoice, and a bill (a purchase)
    xero_line("Acme Ltd", "INV-003", "21/02/2025", "21/03/2025", "600.00", "100.00", "0.00", "0.00",
              "Cancelled", 1, "500.00", "500.00", "100.00", status="Voided"),
    xero_line("Beta GmbH", "INV-004", "22/02/2025", "22/03/2025", "240.00", "40.00", "0.00", "240.00",
              "Not yet approved", 1, "200.00", "200.00", "40.00", status="Draft"),
    xero_line("Office Supplies Co", "BILL-17", "23/02/2025", "23/03/2025", "60.00", "10.00", "0.00",
              "60.00", "Paper", 1, "50.00", "50.00", "10.00", kind="ACCPAY", status="AUTHORISED"),
]


def net_of_lines(rows: list[list[object]]) -> dict[str, Decimal]:
    """The sample's own net total per invoice, from its lines (amounts are tax exclusive)."""
    out: dict[str, Decimal] = {}
    for row in rows:
        r = dict(zip(XERO, row))
        sign = -1 if r["Type"] == "ACCRECCREDIT" else 1
        out[r["InvoiceNumber"]] = out.get(r["InvoiceNumber"], Decimal(0)) + sign * Decimal(r["LineAmount"])
    return out


def assert_identity(out: Path) -> pd.DataFrame:
    s = summary(out)
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined + s.rows_merged + s.rows_skipped).all()
    return s


def panel(out: Path) -> pd.DataFrame:
    build_panel(out, "2025Q2", params().office_hours, lapse_quarters=params().lapse_quarters, deadline_grace_days=params().deadline_grace_days, anonymize=False)
    return pd.read_parquet(out / PANEL_FILE)


def test_xero_invoices_net_of_tax_grouped_and_paid_without_date(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    time_entries(raw)
    write_csv(raw, "export.csv", [XERO, *XERO_ROWS])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["GBP", "1.0"]])
    run_ingest(raw, out, params(reporting_currency="GBP"))
    inv = read(out, "invoices").set_index("invoice_id")
    # one invoice per invoice number, net of tax: Total - TaxTotal, equal to the sum of its lines
    lines = net_of_lines(XERO_ROWS[:4])
    assert sorted(inv.index) == ["CN-001", "INV-001", "INV-002"]
    for number, net in lines.items():
        assert Decimal(str(inv.loc[number, "amount"])) == net
    assert inv["amount"].to_dict() == {"CN-001": -100.0, "INV-001": 1250.0, "INV-002": 333.33}
    assert inv["paid_in_full"].to_dict() == {"CN-001": True, "INV-001": True, "INV-002": False}
    assert inv["paid_date"].isna().all()
    assert inv.loc["INV-001", "client_id"] == "Acme Ltd"
    s = assert_identity(out)
    line = s[s.file == "export.csv"].iloc[0]
    assert (line.format, line.rows_read, line.rows_accepted, line.rows_merged, line.rows_skipped) == \
        ("xero", 7, 3, 1, 3)
    assert line.skipped_because == ("bill: a purchase, not a sales invoice: 1; draft invoice, not "
                                    "approved (no revenue): 1; voided or deleted invoice (no revenue): 1")
    assert quarantine(out).empty
    # the panel: a paid invoice without a date is collected when due and never late; the
    # unpaid one is late at the period end (28 Feb to 30 Jun: 122 days)
    p = panel(out).set_index(["client_id", "quarter"])
    acme, beta = p.loc[("Acme Ltd", "2025Q1")], p.loc[("Beta GmbH", "2025Q1")]
    assert acme.revenue_billed == 1150.0 and acme.revenue_collected == 1150.0
    assert acme.invoices_due == 0 and acme.invoices_paid_late == 0 and pd.isna(acme.days_late_mean)
    assert beta.invoices_due == 1 and beta.invoices_paid_late == 1 and beta.days_late_mean == 122
    assert beta.overdue_unpaid_amount == 333.33 and beta.revenue_collected == 0


def test_xero_lines_that_disagree_set_their_invoice_aside(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    time_entries(raw)
    bad = [xero_line("Acme Ltd", "INV-009", "15/01/2025", "14/02/2025", "120.00", "20.00", "0", "120.00",
                     "One", 1, "50.00", "50.00", "10.00"),
           xero_line("Acme Ltd", "INV-009", "15/01/2025", "28/02/2025", "120.00", "20.00", "0", "120.00",
                     "Two", 1, "50.00", "50.00", "10.00")]
    write_csv(raw, "export.csv", [XERO, *XERO_ROWS[:3], *bad])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["GBP", "1.0"]])
    run_ingest(raw, out, params(reporting_currency="GBP"))
    assert sorted(read(out, "invoices")["invoice_id"]) == ["INV-001", "INV-002"]
    q = quarantine(out)
    assert q[["row", "column"]].values.tolist() == [[5, "invoice_id"], [6, "due_date"]]
    assert q.reason.tolist() == ["row 6 of the same invoice_id is set aside",
                                 "due_date differs from row 5 of the same invoice_id (2025-02-14); "
                                 "its lines must agree"]
    line = assert_identity(out).set_index("file").loc["export.csv"]
    assert (line.rows_read, line.rows_accepted, line.rows_quarantined, line.rows_merged) == (5, 2, 2, 1)


QB_REPORT = [
    ["Craig's Design and Landscaping Services", "", "", "", "", "", "", ""],
    ["Invoice List", "", "", "", "", "", "", ""],
    ["January 1 - June 30, 2025", "", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "", ""],
    QUICKBOOKS,
    ["", "01/15/2025", "Invoice", "1001", "Acme Ltd", "02/14/2025", "1,200.00", "0.00"],
    ["", "01/20/2025", "Invoice", "1002", "Beta GmbH", "02/19/2025", "500.00", "500.00"],
    ["", "02/03/2025", "Credit Memo", "1003", "Acme Ltd", "02/03/2025", "-50.00", "0.00"],
    ["TOTAL", "", "", "", "", "", "$1,650.00", "$500.00"],
    ["", "", "", "", "", "", "", ""],
    ["Accrual basis Monday, July 7, 2025 10:41 AM GMT-07:00", "", "", "", "", "", "", ""],
]


def test_quickbooks_invoice_list_report(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    time_entries(raw)
    write_csv(raw, "Invoice List.csv", QB_REPORT)
    run_ingest(raw, out, params(reporting_currency="USD"))
    inv = read(out, "invoices").set_index("invoice_id")
    assert inv["amount"].to_dict() == {"1001": 1200.0, "1002": 500.0, "1003": -50.0}
    # the report's own TOTAL line: 1,200 + 500 - 50
    assert Decimal(str(inv["amount"].sum())) == Decimal("1650.00")
    assert inv["paid_in_full"].to_dict() == {"1001": True, "1002": False, "1003": True}
    assert [str(d) for d in inv["due_date"]] == ["2025-02-14", "2025-02-19", "2025-02-03"]
    line = assert_identity(out).set_index("file").loc["Invoice List.csv"]
    assert (line.format, line.rows_read, line.rows_accepted, line.rows_skipped) == ("quickbooks", 5, 3, 2)
    assert line.skipped_because == ("report heading or footer line (no date, number or customer): 1; "
                                    "report total line: 1")
    p = panel(out).set_index(["client_id", "quarter"])
    assert p.loc[("Acme Ltd", "2025Q1")].invoices_due == 0  # both paid, dates unknown
    assert p.loc[("Beta GmbH", "2025Q1")].invoices_paid_late == 1


def test_quickbooks_amount_that_is_no_number_is_quarantined(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    time_entries(raw)
    report = [r[:] for r in QB_REPORT]
    report[6][6] = "five hundred"
    write_csv(raw, "Invoice List.csv", report)
    run_ingest(raw, out, params(reporting_currency="USD"))
    assert sorted(read(out, "invoices")["invoice_id"]) == ["1001", "1003"]
    assert quarantine(out)[["row", "column", "value"]].values.tolist() == [[7, "amount", "five hundred"]]
    line = assert_identity(out).set_index("file").loc["Invoice List.csv"]
    assert (line.rows_read, line.rows_accepted, line.rows_quarantined) == (5, 2, 1)


def ticket(number, org, kind, priority, status, score, created, solved="", tags="") -> list[object]:
    row = dict.fromkeys(ZENDESK, "")
    row.update({"Id": number, "Requester": f"user{number}", "Subject": f"Ticket {number}",
                "Tags": tags, "Status": status, "Priority": priority, "Via": "Mail",
                "Ticket type": kind, "Created at": created, "Updated at": solved or created,
                "Organization": org, "Solved at": solved, "Satisfaction Score": score})
    return [row[h] for h in ZENDESK]


ZENDESK_ROWS = [
    ticket(101, "Acme Ltd", "incident", "High", "Closed", "Good", "2025-03-04 10:15:00", "2025-03-05 09:00:00"),
    ticket(102, "Acme Ltd", "question", "Normal", "Open", "Offered", "2025-03-06 11:00:00"),
    ticket(103, "Beta GmbH", "task", "Low", "Pending", "Bad", "2025-04-01 23:30:00", "2025-04-03 08:00:00"),
    ticket(104, "Beta GmbH", "problem", "Urgent", "Solved", "Unoffered", "2025-05-10 09:00:00",
           "2025-05-11 09:00:00", tags="vip change_request"),
]


def test_zendesk_tickets_to_requests_and_ratings_to_surveys(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    time_entries(raw)
    write_csv(raw, "tickets.csv", [ZENDESK, *ZENDESK_ROWS])
    run_ingest(raw, out, params())
    req = read(out, "requests").set_index("request_id")
    assert req["request_type"].to_dict() == {"101": "incident", "102": "question", "103": "support",
                                             "104": "change_request"}
    assert req["client_id"].to_dict() == {"101": "Acme Ltd", "102": "Acme Ltd", "103": "Beta GmbH",
                                          "104": "Beta GmbH"}
    assert req["urgency"].tolist() == ["high", "normal", "low", "urgent"]
    assert req["followed_up"].tolist() == [True, False, True, True]
    sv = read(out, "surveys").set_index("survey_id")
    assert sv["score"].to_dict() == {"101": 5.0, "103": 1.0}
    assert (sv["survey_type"] == "csat").all()
    assert [str(d) for d in sv["survey_date"]] == ["2025-03-05", "2025-04-03"]
    s = assert_identity(out).set_index(["file", "table"])
    assert (s.loc[("tickets.csv", "requests"), ["rows_read", "rows_accepted"]].tolist() == [4, 4])
    surveys = s.loc[("tickets.csv", "surveys")]
    assert (surveys.rows_read, surveys.rows_accepted, surveys.rows_skipped) == (4, 2, 2)
    assert surveys.skipped_because == "ticket not rated (offered, unoffered or no score): 2"
    assert quarantine(out).empty


def test_zendesk_ticket_without_organisation_is_quarantined(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    time_entries(raw)
    write_csv(raw, "tickets.csv", [ZENDESK, *ZENDESK_ROWS,
                                   ticket(105, "", "question", "Normal", "Open", "Good", "2025-03-07 10:00:00")])
    run_ingest(raw, out, params())
    assert "105" not in set(read(out, "requests")["request_id"])
    assert "105" not in set(read(out, "surveys")["survey_id"])
    q = quarantine(out)
    assert q[["table", "row", "column", "reason"]].values.tolist() == [
        ["requests", 6, "client_id", "client_id is empty"], ["surveys", 6, "client_id", "client_id is empty"]]
    s = assert_identity(out).set_index(["file", "table"])
    assert s.loc[("tickets.csv", "requests"), "rows_quarantined"] == 1


# --- a firm on every new export, through the whole chain ------------------------------
def quickbooks_invoice_list(monthly: dict[str, float]) -> list[list[object]]:
    """An Invoice List report from January 2024 to September 2025: each customer invoiced
    monthly (a little more each month), a credit memo each year, the last two months open
    and one invoice part paid; title lines above, the TOTAL line and the basis below."""
    lines, number = [], 5001
    money = lambda amount: f"{amount:,.2f}"  # noqa: E731
    for month in range(21):
        for k, (customer, base) in enumerate(sorted(monthly.items())):
            issued = dt.date(2024 + month // 12, month % 12 + 1, 14 + k)
            amount = Decimal(str(base)) + month * Decimal("12.35")
            open_balance = amount if month >= 19 else (Decimal("100.00") if (month, k) == (10, 0) else Decimal(0))
            lines.append(["", issued.strftime("%m/%d/%Y"), "Invoice", str(number), customer,
                          (issued + dt.timedelta(days=30)).strftime("%m/%d/%Y"), money(amount), money(open_balance)])
            number += 1
        if month in (5, 17):
            customer = sorted(monthly)[month % len(monthly)]
            issued = dt.date(2024 + month // 12, month % 12 + 1, 25)
            lines.append(["", issued.strftime("%m/%d/%Y"), "Credit Memo", str(number), customer,
                          issued.strftime("%m/%d/%Y"), money(Decimal("-240.50")), "0.00"])
            number += 1
    total = sum(Decimal(line[6].replace(",", "")) for line in lines)
    owed = sum(Decimal(line[7].replace(",", "")) for line in lines)
    blank = [""] * len(QUICKBOOKS)
    return [["Northwind Dental Group", *blank[1:]], ["Invoice List", *blank[1:]],
            ["January 2024 - September 2025", *blank[1:]], blank, QUICKBOOKS, *lines,
            ["TOTAL", "", "", "", "", "", f"${total:,.2f}", f"${owed:,.2f}"], blank,
            ["Accrual basis Wednesday, October 1, 2025 09:12 AM GMT-07:00", *blank[1:]]]


HARVEST_FIRM = {"Acme Ltd": 120.0, "Beta GmbH": 90.0}  # Xero's and Zendesk's clients too
CLOCKIFY_FIRM = {"Northwind Studio": 110.0, "Orion Labs": 95.0}
KIMAI_FIRM = {"Rhein Logistik AG": 85.0, "Bäckerei Möller GmbH": 70.0}
PRODUCTIVE_FIRM = ["Pixel Forge", "Harbor Health"]
QUICKBOOKS_FIRM = {"Maple Dental": 2400.0, "Cedar Law LLP": 1850.0}
# Kimai prices and costs its own entries; the people file prices Productive.io's billed
# minutes (bill rates) and costs Clockify's hours, which their exports leave without.
PEOPLE = [["person", "role", "cost_rate", "bill_rate"], ["Kate Ford", "designer", 48, 110],
          ["Liam Park", "developer", 52, 100], ["Ivy Chen", "developer", 60, 130], ["Omar Diaz", "manager", 50, 115]]
GBP_RATE, EUR_RATE = Decimal("1.25"), Decimal("1.085")
FILES = {"harvest": "harvest_time_report.csv",
         "clockify": "Clockify_Time_Report_Detailed_01_01_2024-09_30_2025.csv",
         "kimai": "kimai_export_2024-2025.csv", "productive": "productive_time_entries.csv",
         "xero": "export.csv", "quickbooks": "Invoice List.csv", "zendesk": "tickets.csv"}
PAGES = ["index", "ingest", "pnl", "toxicity", "segments", "spiral", "leadership", "clients"]


def to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), ROUND_HALF_UP)


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def h_mm_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def time_export_totals(raw: Path) -> dict[str, tuple[set[str], int, Decimal, Decimal]]:
    """Per time export, from the file as written: its clients, entries, hours, and billable
    money in the reporting currency (an amount converted, or billed hours priced, per entry
    to the cent)."""
    bill_rates = {row[0]: Decimal(str(row[3])) for row in PEOPLE[1:]}
    harvest = rows_of(raw / FILES["harvest"])
    clockify = rows_of(raw / FILES["clockify"])
    kimai = rows_of(raw / FILES["kimai"])
    productive = rows_of(raw / FILES["productive"])
    return {
        "harvest": ({r["Client"] for r in harvest}, len(harvest), sum(Decimal(r["Hours"]) for r in harvest),
                    sum(Decimal(r["Billable Amount"]) for r in harvest if r["Billable?"] == "Yes")),
        "clockify": ({r["Client"] for r in clockify}, len(clockify),
                     sum(Decimal(r["Duration (decimal)"]) for r in clockify),
                     sum(Decimal(r["Billable Amount (USD)"]) for r in clockify if r["Billable"] == "Yes")),
        "kimai": ({r["Customer"] for r in kimai}, len(kimai),
                  sum(Decimal(h_mm_minutes(r["Duration"])) for r in kimai) / 60,
                  sum(to_cent(Decimal(r["Price"]) * EUR_RATE) for r in kimai if r["Billable"] == "1")),
        "productive": ({r["Company"] for r in productive}, len(productive),
                       sum(Decimal(r["Time (minutes)"]) for r in productive) / 60,
                       sum(to_cent(Decimal(r["Billable time (minutes)"]) * bill_rates[r["Person"]] / 60)
                           for r in productive)),
    }


def write_every_new_export(raw: Path) -> None:
    """A firm whose data/raw/ holds an export of every tool: Harvest, Clockify, Kimai (in euros)
    and Productive.io time, Xero (in pounds) and QuickBooks Online invoices, Zendesk tickets.
    tests/test_e2e_hostile.py runs the chain on it (beside its hostile names: one chain run
    serves both) and checks it with check_every_new_export."""
    from e2e_support import (write_clockify_export, write_harvest_export, write_kimai_export,
                             write_productive_export)

    write_harvest_export(raw / FILES["harvest"], HARVEST_FIRM, 400, seed=7)
    write_clockify_export(raw / FILES["clockify"], CLOCKIFY_FIRM, ["Kate Ford", "Liam Park"], 300, seed=11)
    write_kimai_export(raw / FILES["kimai"], KIMAI_FIRM, ["Jonas Weber", "Lena Wolf"], 250, seed=13,
                       currency="EUR", internal_rate=45.0)
    write_productive_export(raw / FILES["productive"], PRODUCTIVE_FIRM, ["Ivy Chen", "Omar Diaz"], 300,
                            seed=17)
    write_csv(raw, FILES["xero"], [XERO, *XERO_ROWS])
    write_csv(raw, FILES["quickbooks"], quickbooks_invoice_list(QUICKBOOKS_FIRM))
    write_csv(raw, FILES["zendesk"], [ZENDESK, *ZENDESK_ROWS])
    write_csv(raw, "people.csv", PEOPLE)
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["GBP", str(GBP_RATE)], ["EUR", str(EUR_RATE)]])


def check_every_new_export(raw: Path, processed: Path, reports: Path) -> None:
    """Each export of write_every_new_export read into its table, tied to its own totals, and
    the chain published; other files (the hostile firm's Harvest export) may sit beside them."""
    from bs4 import BeautifulSoup

    # reporting_currency auto: the dollars outweigh Kimai's euros and Xero's pounds
    assert json.loads((processed / "manifest.json").read_text(encoding="utf-8"))["reporting_currency"] == "USD"

    s = pd.read_parquet(processed / "ingest_summary.parquet")
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined + s.rows_merged + s.rows_skipped).all()
    s = s[s.file.isin([*FILES.values(), "people.csv", "fx_rates.csv"])]
    assert sorted(zip(s.file, s.table, s.format)) == sorted([
        (FILES["harvest"], "time_entries", "harvest"), (FILES["clockify"], "time_entries", "clockify"),
        (FILES["kimai"], "time_entries", "kimai"), (FILES["productive"], "time_entries", "productive"),
        (FILES["xero"], "invoices", "xero"), (FILES["quickbooks"], "invoices", "quickbooks"),
        (FILES["zendesk"], "requests", "zendesk"), (FILES["zendesk"], "surveys", "zendesk"),
        ("people.csv", "people", "canonical"), ("fx_rates.csv", "fx_rates", "canonical")])
    assert s.rows_quarantined.sum() == 0
    lines = s.set_index(["file", "table"])

    te = pd.read_parquet(processed / "time_entries.parquet")
    totals = time_export_totals(raw)
    assert set().union(*(clients for clients, *_ in totals.values())) <= set(te.client_id)
    for export, (clients, entries, hours, billable) in totals.items():
        mine = te[te.client_id.isin(clients)]
        assert lines.loc[(FILES[export], "time_entries"), "rows_accepted"] == entries == len(mine), export
        assert abs(mine.hours.sum() - float(hours)) < 1e-6, export
        assert round(mine.billable_amount.sum(), 2) == float(billable), export
    assert (te[te.client_id.isin(KIMAI_FIRM)].currency == "EUR").all()  # converted, its currency kept

    inv = pd.read_parquet(processed / "invoices.parquet").set_index("invoice_id")
    # Xero: each invoice net of tax (its lines' sum), converted once per invoice from pounds
    xero = {number: to_cent(net * GBP_RATE) for number, net in net_of_lines(XERO_ROWS[:4]).items()}
    assert inv.loc[sorted(xero), "amount"].to_dict() == {"CN-001": -125.0, "INV-001": 1562.5, "INV-002": 416.66}
    assert {k: Decimal(str(v)) for k, v in inv.loc[sorted(xero), "amount"].items()} == xero
    assert (lines.loc[(FILES["xero"], "invoices"), ["rows_read", "rows_accepted", "rows_merged", "rows_skipped"]]
            .tolist() == [7, 3, 1, 3])
    # QuickBooks: every invoice and credit memo, their sum the report's TOTAL line
    report = quickbooks_invoice_list(QUICKBOOKS_FIRM)
    listed = [line for line in report if line[2] in ("Invoice", "Credit Memo")]
    total = next(line for line in report if line[0] == "TOTAL")
    qb = inv[inv.client_id.isin(QUICKBOOKS_FIRM)]
    assert sorted(qb.index) == sorted(line[3] for line in listed)
    assert Decimal(str(round(qb.amount.sum(), 2))) == Decimal(total[6].lstrip("$").replace(",", ""))
    assert qb.paid_in_full.to_dict() == {line[3]: line[7] == "0.00" for line in listed}
    assert (lines.loc[(FILES["quickbooks"], "invoices"), ["rows_read", "rows_accepted", "rows_skipped"]]
            .tolist() == [len(listed) + 2, len(listed), 2])

    assert {f"{page}.html" for page in PAGES} <= {p.name for p in reports.glob("*.html")}
    ingest_page = BeautifulSoup((reports / "ingest.html").read_text(encoding="utf-8"), "html.parser").get_text()
    for label in ("Harvest", "Clockify", "Kimai", "Productive.io", "Xero", "QuickBooks Online", "Zendesk"):
        assert label in ingest_page, label

    pnl = pd.read_parquet(processed / "pnl_clients.parquet")
    every_client = {*HARVEST_FIRM, *CLOCKIFY_FIRM, *KIMAI_FIRM, *PRODUCTIVE_FIRM, *QUICKBOOKS_FIRM}
    assert every_client <= set(pnl.client_name), every_client - set(pnl.client_name)
