"""Every payment counted: invoices paid after a client's exit quarter are collected revenue.

The panel ends a client's rows at its exit quarter; what it is paid (or billed) after that is
folded into that last row, so collected revenue ties to the invoices paid by the period end
and receivables at the period end are the invoices still unpaid, while revenue, activity and
the number of rows stay where they were.
"""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from clientlens.analysis import pnl
from clientlens.intake.panel import PANEL_FILE, build_panel
from clientlens.parameters import load

P = load()
D = dt.date
PERIOD_END = "2025Q4"
LAST_DAY = D(2025, 12, 31)


def write(processed, name, rows):
    pd.DataFrame(rows).to_parquet(processed / f"{name}.parquet", index=False)


def invoice(invoice_id, client, issued, paid, amount):
    return {"invoice_id": invoice_id, "client_id": client, "issue_date": issued,
            "due_date": issued + dt.timedelta(days=30), "paid_date": paid, "amount": amount}


# X exits on 2025-05-20 (2025Q2); S stays. Amounts have cents so a lost or doubled one shows.
INVOICES = [
    invoice("x1", "X", D(2025, 1, 31), D(2025, 3, 1), 1000.01),    # paid before the exit
    invoice("x2", "X", D(2025, 6, 30), D(2025, 11, 14), 2500.25),  # issued at exit, paid in Q4
    invoice("x3", "X", D(2025, 6, 30), LAST_DAY, 300.30),          # paid on the period's last day
    invoice("x4", "X", D(2025, 6, 30), LAST_DAY + dt.timedelta(days=1), 44.44),  # paid the day after
    invoice("x5", "X", D(2025, 6, 30), None, 55.55),               # never paid
    invoice("x6", "X", D(2025, 8, 31), D(2025, 10, 2), 700.07),    # billed in arrears after the exit
    invoice("s1", "S", D(2025, 3, 31), D(2025, 4, 30), 800.08),
    invoice("s2", "S", D(2025, 12, 15), LAST_DAY, 120.12),         # paid on the last day
    invoice("s3", "S", D(2025, 12, 15), LAST_DAY + dt.timedelta(days=1), 90.09),  # the day after
]


@pytest.fixture
def firm(tmp_path):
    write(tmp_path, "clients", [
        {"client_id": "X", "client_name": "Exited", "exit_date": D(2025, 5, 20), "exit_reason": "churn"},
        {"client_id": "S", "client_name": "Staying", "exit_date": None, "exit_reason": None}])
    entries = [("X", D(2025, 1, 10)), ("X", D(2025, 4, 10)), ("S", D(2025, 1, 10)), ("S", D(2025, 12, 1))]
    write(tmp_path, "time_entries", [
        {"entry_id": f"e{i}", "client_id": c, "date": d, "hours": 10.0, "billable": True,
         "billable_amount": 1000.0, "cost_amount": 400.0, "work_type": "feature", "rework": False,
         "after_hours": False, "person": "ann"} for i, (c, d) in enumerate(entries)])
    write(tmp_path, "invoices", INVOICES)
    (tmp_path / "manifest.json").write_text(json.dumps({"data_max_date": "2026-01-01"}))
    return tmp_path


def panel_of(processed):
    build_panel(processed, PERIOD_END, P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    return pd.read_parquet(processed / PANEL_FILE)


def in_period(column):
    return [i for i in INVOICES if i[column] is not None and i[column] <= LAST_DAY]


def test_collected_ties_to_the_invoices_paid_by_period_end(firm):
    panel = panel_of(firm)
    paid = in_period("paid_date")
    assert round(panel.revenue_collected.sum(), 2) == round(sum(i["amount"] for i in paid), 2)
    for client in ("X", "S"):
        mine = panel[panel.client_id == client]
        assert round(mine.revenue_collected.sum(), 2) == round(
            sum(i["amount"] for i in paid if i["client_id"] == client), 2)
    # the boundaries: paid on the period's last day counts, paid the day after does not
    x_last = panel[(panel.client_id == "X")].iloc[-1]
    assert x_last.quarter == "2025Q2"
    assert round(x_last.revenue_collected, 2) == round(2500.25 + 300.30 + 700.07, 2)
    s4 = panel[(panel.client_id == "S") & (panel.quarter == "2025Q4")].iloc[0]
    assert round(s4.revenue_collected, 2) == 120.12


def test_receivables_at_period_end_are_the_unpaid_invoices(firm):
    clients = pnl.client_pnl(panel_of(firm), P.overhead_rate, overhead_base=P.overhead_base,
                             lapse_quarters=P.lapse_quarters, period_end=PERIOD_END)
    receivables = clients.set_index("client_id").receivables
    for client in ("X", "S"):
        unpaid = [i["amount"] for i in in_period("issue_date") if i["client_id"] == client
                  and (i["paid_date"] is None or i["paid_date"] > LAST_DAY)]
        assert round(receivables[client], 2) == round(sum(unpaid), 2)
    assert round(receivables["X"], 2) == round(44.44 + 55.55, 2)  # paid after the period: still owed
    assert round(receivables["S"], 2) == 90.09
    quarters = pnl.client_quarter_pnl(panel_of(firm), P.overhead_rate, overhead_base=P.overhead_base,
                                      period_end=PERIOD_END)
    x_last = quarters[quarters.client_id == "X"].iloc[-1]
    assert round(x_last.receivables, 2) == round(44.44 + 55.55, 2)


def test_revenue_rows_and_activity_stay_where_they_were(firm):
    panel = panel_of(firm)
    x = panel[panel.client_id == "X"].set_index("quarter")
    assert list(x.index) == ["2025Q1", "2025Q2"]  # no rows after the exit
    assert x.loc["2025Q2", "exited"]
    # revenue is recognised by issue date: the invoice issued after the exit is not revenue of Q2
    assert round(x.loc["2025Q2", "revenue"], 2) == round(2500.25 + 300.30 + 44.44 + 55.55, 2)
    assert round(x.loc["2025Q2", "revenue_billed"], 2) == round(2500.25 + 300.30 + 44.44 + 55.55 + 700.07, 2)
    assert round(x.loc["2025Q1", "revenue_collected"], 2) == 1000.01
    s = panel[panel.client_id == "S"].set_index("quarter")
    assert list(s.index) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert list(s.is_active) == [True, False, False, True]  # a payment is not activity
    assert round(s.revenue.sum(), 2) == round(800.08 + 120.12 + 90.09, 2)
    assert round(s.revenue_billed.sum(), 2) == round(s.revenue.sum(), 2)


def test_an_exit_quarter_with_only_later_billing_is_not_active(firm):
    """A client billed only after its exit: the exit row collects and bills, but is not active."""
    clients = pd.read_parquet(firm / "clients.parquet")
    clients.loc[clients.client_id == "X", "exit_date"] = D(2025, 8, 5)  # exit in Q3, no work in Q3
    clients.to_parquet(firm / "clients.parquet", index=False)
    invoices = [i for i in INVOICES if i["invoice_id"] != "x6"]
    invoices.append(invoice("x6", "X", D(2025, 10, 31), D(2025, 11, 30), 700.07))
    write(firm, "invoices", invoices)
    panel = panel_of(firm)
    x3 = panel[(panel.client_id == "X") & (panel.quarter == "2025Q3")].iloc[0]
    assert not x3.is_active and x3.revenue == 0
    assert round(x3.revenue_billed, 2) == 700.07
    assert round(x3.revenue_collected, 2) == round(2500.25 + 300.30 + 700.07, 2)


def test_an_invoice_paid_in_full_without_a_date_after_the_exit_is_collected(firm):
    """An export that says "paid" without a date: collected when due, after the exit too."""
    undated = dict(invoice("x7", "X", D(2025, 6, 30), None, 66.66), paid_in_full=True)
    write(firm, "invoices", [dict(i, paid_in_full=None) for i in INVOICES] + [undated])
    panel = panel_of(firm)
    x_last = panel[panel.client_id == "X"].iloc[-1]
    assert round(x_last.revenue_collected, 2) == round(2500.25 + 300.30 + 700.07 + 66.66, 2)
