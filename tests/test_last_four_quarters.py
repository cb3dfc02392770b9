"""The "last four quarters" figures of a small firm computed by hand, to the cent.

Every client bills in the fifth quarter back as well (and one bills only then), with amounts that
differ quarter by quarter, so a window of five quarters, or of three, or one ending a quarter
early, gives other numbers than these. The figures checked are the ones the leadership page's
first row shows and the lists it links to: the P&L's last-four-quarter columns, the headline,
the list of every client it adds up, the top 20%'s share, the clients at risk and their revenue,
and the early warnings' revenue at risk.
"""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from clientlens.analysis import early_warning as ew
from clientlens.analysis import leadership, pnl
from clientlens.intake.panel import PANEL_FILE, build_panel
from clientlens.parameters import load

P = load()
PERIOD_END = "2025Q4"
QUARTERS = ["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4"]  # the last four: 2025Q1-Q4
MID = {q: dt.date(int(q[:4]), 3 * int(q[5]) - 1, 15) for q in QUARTERS}

# (client, quarter) -> (invoice amount, cost of the quarter's work)
BILLED = {
    ("K", "2024Q3"): (7000.07, 3000.00), ("K", "2024Q4"): (6100.61, 2900.00),
    ("K", "2025Q1"): (5200.52, 2000.25), ("K", "2025Q2"): (5300.53, 2100.00),
    ("K", "2025Q3"): (5400.54, 2200.00), ("K", "2025Q4"): (5500.55, 2300.75),
    ("M", "2024Q3"): (900.09, 100.00), ("M", "2024Q4"): (800.08, 200.00),
    ("M", "2025Q1"): (1000.01, 1500.00), ("M", "2025Q2"): (1100.11, 1400.00),
    ("M", "2025Q3"): (1200.12, 1300.00), ("M", "2025Q4"): (1300.13, 1250.50),
    ("Q", "2024Q4"): (4444.44, 1000.00),  # only the fifth quarter back
    ("T", "2025Q2"): (3000.03, 500.00), ("T", "2025Q3"): (3100.31, 400.00),
    ("T", "2025Q4"): (3200.32, 600.00), ("T", "2024Q3"): (9999.99, 1.00),
}
LAST4 = QUARTERS[2:]


def expected(client: str, quarters=LAST4) -> tuple[float, float]:
    revenue = sum(BILLED[(c, q)][0] for c, q in BILLED if c == client and q in quarters)
    cost = sum(BILLED[(c, q)][1] for c, q in BILLED if c == client and q in quarters)
    return round(revenue, 2), round(revenue - cost, 2)


def write(processed, name, rows):
    pd.DataFrame(rows).to_parquet(processed / f"{name}.parquet", index=False)


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("last4")
    write(folder, "clients", [{"client_id": c, "client_name": f"Client {c}", "exit_date": None, "exit_reason": None}
                              for c in ("K", "M", "Q", "T")])
    write(folder, "time_entries", [
        {"entry_id": f"e{i}", "client_id": c, "date": MID[q], "hours": 10.0, "billable": True,
         "billable_amount": amount, "cost_amount": cost, "work_type": "feature", "rework": False,
         "after_hours": False, "person": "ann"} for i, ((c, q), (amount, cost)) in enumerate(sorted(BILLED.items()))])
    write(folder, "invoices", [
        {"invoice_id": f"i{i}", "client_id": c, "issue_date": MID[q], "due_date": MID[q] + dt.timedelta(days=30),
         "paid_date": MID[q] + dt.timedelta(days=20), "amount": amount}
        for i, ((c, q), (amount, _cost)) in enumerate(sorted(BILLED.items()))])
    (folder / "manifest.json").write_text(json.dumps({"data_max_date": "2026-01-01"}))
    build_panel(folder, PERIOD_END, P.office_hours, lapse_quarters=P.lapse_quarters,
                deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = pd.read_parquet(folder / PANEL_FILE)
    clients = pnl.client_pnl(panel, 0.0, overhead_base=P.overhead_base, lapse_quarters=P.lapse_quarters,
                             period_end=PERIOD_END)
    return panel, clients


def test_the_pnl_last_four_quarters_by_hand(firm):
    _panel, clients = firm
    by = clients.set_index("client_id")
    for client in ("K", "M", "T"):
        revenue, margin = expected(client)
        assert round(by.loc[client, "revenue_last4"], 2) == revenue, client
        assert round(by.loc[client, "margin_last4"], 2) == margin, client
    assert not by.loc["Q", "revenue_last4"] > 0  # billed only in the fifth quarter back


def test_the_headline_and_the_list_it_adds_up(firm):
    _panel, clients = firm
    segments = clients.assign(segment="core", revenue=clients["revenue_last4"])
    head = leadership.headline(clients, segments, segments.iloc[0:0].assign(revenue_at_risk=[]), None, level=80)
    revenue = round(sum(expected(c)[0] for c in ("K", "M", "T")), 2)
    margin = round(sum(expected(c)[1] for c in ("K", "M", "T")), 2)
    assert round(head.revenue_last4, 2) == revenue
    assert round(head.margin_last4, 2) == margin
    assert head.margin_pct_last4 == pytest.approx(margin / revenue)
    every = leadership.last_four_quarters_list(clients)
    assert round(every["revenue"].sum(), 2) == revenue and round(every["margin"].sum(), 2) == margin
    # the top 20% of three clients with a margin is one client: K, the most profitable
    assert list(every.loc[every["top_20"], "client_id"]) == ["K"]
    assert head.top20_profit_share == pytest.approx(expected("K")[1] / margin)
    caption = leadership.every_client_caption(every, "EUR")
    assert f"revenue {revenue:,.0f} EUR" in caption


def test_clients_at_risk_count_and_revenue_are_the_list(firm):
    _panel, clients = firm
    segments = clients.assign(segment=["difficult", "toxic_unprofitable", "gone_quiet", "core"],
                              revenue=clients["revenue_last4"])
    warnings = pd.DataFrame({"client_id": ["T"], "client_name": ["Client T"],
                             "revenue_at_risk": [clients.set_index("client_id").loc["T", "revenue_last4"]]})
    head = leadership.headline(clients, segments, warnings, None, level=80)
    listed = leadership.at_risk_list(leadership.at_risk_clients(segments, warnings),
                                     pd.DataFrame(columns=["client_id", "action"]))
    assert head.clients_at_risk == len(listed) == 4
    assert round(head.revenue_at_risk, 2) == round(listed["revenue"].sum(), 2) == round(
        sum(expected(c)[0] for c in ("K", "M", "T")), 2)


def test_the_early_warnings_revenue_at_risk_is_the_last_four_quarters(firm):
    panel, _clients = firm
    signals = ew.warning_signals(panel, P)
    now = signals.loc[signals["quarter"] == PERIOD_END].set_index("client_id")["revenue_at_risk"]
    for client in ("K", "M", "T"):
        assert round(now[client], 2) == expected(client)[0], client
