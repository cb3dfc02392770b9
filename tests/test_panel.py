"""The client-quarter panel on tables small enough to check by hand."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from clientlens.intake.panel import PANEL_FILE, auto_period_end, build_panel
from clientlens.intake.panel_columns import PANEL_COLUMNS
from clientlens.parameters import load

P = load()

D = dt.date


def write(processed, name, rows):
    pd.DataFrame(rows).to_parquet(processed / f"{name}.parquet", index=False)


@pytest.fixture
def time_only(tmp_path):
    """Two clients, time entries only: the minimum input."""
    write(tmp_path, "clients", [{"client_id": "A", "client_name": "Acme", "exit_date": None, "exit_reason": None},
                                {"client_id": "B", "client_name": "Beta", "exit_date": None, "exit_reason": None}])
    entries = [
        # client, date, hours, billable, bill amount, cost, work type, rework, after hours, person
        ("A", D(2025, 1, 10), 10.0, True, 1000.0, 400.0, "feature", False, False, "ann"),
        ("A", D(2025, 2, 11), 2.0, False, 0.0, 80.0, "communication", False, True, "ann"),
        ("A", D(2025, 3, 12), 3.0, False, 0.0, 120.0, "feature", True, False, "bob"),
        ("A", D(2025, 3, 13), 1.5, False, 0.0, 60.0, "presale", False, False, "bob"),
        ("A", D(2025, 3, 14), 4.0, False, 0.0, 160.0, "ux", False, False, "bob"),
        ("A", D(2025, 7, 1), 5.0, True, 600.0, 200.0, "ux", False, False, "ann"),
        ("B", D(2025, 4, 2), 8.0, True, 800.0, 320.0, "stability", False, None, "cid"),
    ]
    write(tmp_path, "time_entries", [
        {"entry_id": f"e{i}", "client_id": c, "date": d, "hours": h, "billable": b, "billable_amount": ba,
         "cost_amount": ca, "work_type": w, "rework": r, "after_hours": ah, "person": p}
        for i, (c, d, h, b, ba, ca, w, r, ah, p) in enumerate(entries)])
    (tmp_path / "manifest.json").write_text(json.dumps({"data_max_date": "2025-09-30"}))
    return tmp_path


def load(processed):
    return pd.read_parquet(processed / PANEL_FILE).set_index(["client_id", "quarter"])


def test_time_only_panel_by_hand(time_only):
    meta = build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    assert list(pd.read_parquet(time_only / PANEL_FILE).columns) == list(PANEL_COLUMNS)
    assert meta["period_end"] == "2025Q3"
    # A: 2025Q1..Q3 (Q2 has no activity but stays in the panel), B: 2025Q2..Q3
    assert list(panel.loc["A"].index) == ["2025Q1", "2025Q2", "2025Q3"]
    assert list(panel.loc["B"].index) == ["2025Q2", "2025Q3"]
    a1 = panel.loc[("A", "2025Q1")]
    assert a1.hours == pytest.approx(20.5)
    assert a1.billable_hours == pytest.approx(10)
    assert a1.revenue == pytest.approx(1000)  # no invoices: revenue is billable value
    assert a1.delivery_cost == pytest.approx(400 + 80 + 120 + 60 + 160)
    assert a1.cost_billable == pytest.approx(400)
    assert a1.cost_communication == pytest.approx(80)
    assert a1.cost_rework == pytest.approx(120)
    assert a1.cost_presale == pytest.approx(60)
    assert a1.cost_unbilled_scope == pytest.approx(160)
    # the split is a split: categories add up to the delivery cost
    assert a1.cost_billable + a1.cost_communication + a1.cost_rework + a1.cost_presale + \
        a1.cost_unbilled_scope == pytest.approx(a1.delivery_cost)
    assert a1.after_hours_hours == pytest.approx(2)
    assert a1.people_count == 2
    assert a1.value_feature == pytest.approx(1000) and a1.value_ux == 0
    assert a1.hours_ux == pytest.approx(4) and a1.hours_presale == pytest.approx(1.5)
    assert not panel.loc[("A", "2025Q2")].is_active and panel.loc[("A", "2025Q3")].is_active
    # B's only entry has no after-hours information: not measured, not zero
    assert pd.isna(panel.loc[("B", "2025Q2")].after_hours_hours)
    # tables that were not supplied are not measured
    for col in ("revenue_billed", "days_late_mean", "requests_total", "nps_mean", "our_communicator",
                "active_contracts", "shelved_count", "team_score_mean"):
        assert panel[col].isna().all(), col


def test_revenue_reconciles_to_raw_to_the_cent(time_only):
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = pd.read_parquet(time_only / PANEL_FILE)
    raw = pd.read_parquet(time_only / "time_entries.parquet")
    assert round(panel.revenue.sum(), 2) == round(raw.loc[raw.billable, "billable_amount"].sum(), 2)
    assert round(panel.delivery_cost.sum(), 2) == round(raw.cost_amount.sum(), 2)


def test_invoices_requests_contacts(time_only):
    write(time_only, "invoices", [
        # issued Q1, due Q1, paid 20 days late in Q2
        {"invoice_id": "i1", "client_id": "A", "issue_date": D(2025, 1, 31), "due_date": D(2025, 3, 2),
         "paid_date": D(2025, 3, 22), "amount": 1000.0},
        # issued Q3, due Q3 (Sep 1), unpaid at period end (Sep 30): 29 days overdue
        {"invoice_id": "i2", "client_id": "A", "issue_date": D(2025, 7, 31), "due_date": D(2025, 9, 1),
         "paid_date": None, "amount": 600.0},
        {"invoice_id": "i3", "client_id": "B", "issue_date": D(2025, 4, 30), "due_date": D(2025, 5, 30),
         "paid_date": D(2025, 5, 20), "amount": 800.0},
    ])
    write(time_only, "requests", [
        # Friday 21:30, urgent: after hours
        {"request_id": "r1", "client_id": "A", "request_type": "change_request",
         "created_at": dt.datetime(2025, 1, 17, 21, 30), "urgency": "urgent", "approval_lead_days": 40.0,
         "became_order": None, "contradicts_earlier": True, "planned": False, "accepted": True,
         "followed_up": None},
        {"request_id": "r2", "client_id": "A", "request_type": "estimate_request",
         "created_at": dt.datetime(2025, 2, 3, 10, 0), "urgency": "normal", "approval_lead_days": 20.0,
         "became_order": False, "contradicts_earlier": False, "planned": None, "accepted": None,
         "followed_up": None},
        {"request_id": "r3", "client_id": "A", "request_type": "support",
         "created_at": dt.datetime(2025, 2, 10, 11, 0), "urgency": "high", "approval_lead_days": None,
         "became_order": None, "contradicts_earlier": False, "planned": None, "accepted": None,
         "followed_up": False},
    ])
    write(time_only, "contacts", [
        {"client_id": "A", "quarter": q, "client_contact": cc, "our_communicator": oc,
         "communicator_role": "account_manager"}
        for q, cc, oc in [("2025Q1", "Kim", "Max"), ("2025Q2", "Lee", "Max"), ("2025Q3", "Lee", "Max")]])
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    a1, a3 = panel.loc[("A", "2025Q1")], panel.loc[("A", "2025Q3")]
    assert a1.revenue == pytest.approx(1000) and a1.revenue_billed == pytest.approx(1000)
    assert a1.revenue_collected == pytest.approx(1000)  # paid Mar 22, inside Q1
    assert a1.invoices_due == 1 and a1.invoices_paid_late == 1 and a1.days_late_mean == pytest.approx(20)
    assert a3.days_late_mean == pytest.approx(29) and a3.overdue_unpaid_amount == pytest.approx(600)
    assert panel.loc[("B", "2025Q2")].days_late_mean == 0
    assert a1.requests_total == 3 and a1.change_requests == 1 and a1.estimate_requests == 1
    assert a1.urgent_after_hours_requests == 1  # r3 is high, but on a Monday at 11:00
    assert a1.contradicting_requests == 1 and a1.unplanned_accepted == 1
    assert a1.estimates_without_order == 1 and a1.support_without_followup == 1
    assert a1.approval_days_mean == pytest.approx(30)
    assert panel.loc[("A", "2025Q2")].requests_total == 0  # measured, none raised
    assert list(panel.loc["A"].client_contact_changed) == [False, True, False]
    assert list(panel.loc["A"].communicator_tenure_quarters) == [1, 2, 3]
    assert pd.isna(panel.loc[("B", "2025Q2")].our_communicator)


def test_exit_ends_the_clients_rows(time_only):
    clients = pd.read_parquet(time_only / "clients.parquet")
    clients.loc[clients.client_id == "A", ["exit_date", "exit_reason"]] = [D(2025, 5, 15), "insourcing"]
    clients.to_parquet(time_only / "clients.parquet", index=False)
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    assert list(panel.loc["A"].index) == ["2025Q1", "2025Q2"]
    assert panel.loc[("A", "2025Q2")].exited and panel.loc[("A", "2025Q2")].exit_reason == "insourcing"


def test_period_end_cuts_later_data(time_only):
    build_panel(time_only, "2025Q2", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    assert panel.index.get_level_values("quarter").max() == "2025Q2"


@pytest.mark.parametrize("max_date, expected", [
    (D(2025, 9, 30), "2025Q3"), (D(2025, 9, 29), "2025Q2"), (D(2025, 10, 1), "2025Q3"), (D(2026, 1, 1), "2025Q4")])
def test_auto_period_end_is_last_complete_quarter(max_date, expected):
    assert auto_period_end(max_date) == expected


def test_panel_is_deterministic(time_only):
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    first = (time_only / PANEL_FILE).read_bytes()
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    assert (time_only / PANEL_FILE).read_bytes() == first


def test_list_value_needs_the_people_table(time_only):
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    assert pd.read_parquet(time_only / PANEL_FILE).list_value.isna().all()
    write(time_only, "people", [{"person": "ann", "role": "dev", "cost_rate": 40.0, "bill_rate": 150.0},
                                {"person": "bob", "role": "dev", "cost_rate": 40.0, "bill_rate": 100.0}])
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    # A 2025Q1: ann 10 + 2 hours at 150, bob 3 + 1.5 + 4 hours at 100; cid has no list rate
    assert panel.loc[("A", "2025Q1"), "list_value"] == pytest.approx(12 * 150 + 8.5 * 100)
    assert pd.isna(panel.loc[("B", "2025Q2"), "list_value"])  # nobody on it has a list rate: not measured


def _stale_contract_firm(processed):
    """A: works in 2025Q1 only, under an open-ended contract. B: works every quarter, no
    contract. C: an open-ended contract, work in 2025Q1 and an invoice alone in 2025Q3.
    D: an open-ended contract signed in 2025Q4, no work yet."""
    write(processed, "clients", [{"client_id": c, "client_name": c, "exit_date": None, "exit_reason": None}
                                 for c in "ABCD"])
    work = [("A", D(2025, 1, 10)), ("C", D(2025, 1, 10))] + [("B", D(2025, m, 5)) for m in (1, 4, 7, 10)] \
        + [("B", D(2026, m, 5)) for m in (1, 4)]
    write(processed, "time_entries", [
        {"entry_id": f"e{i}", "client_id": c, "date": d, "hours": 5.0, "billable": True, "billable_amount": 500.0,
         "cost_amount": 200.0, "work_type": "feature", "rework": False, "after_hours": False, "person": "ann"}
        for i, (c, d) in enumerate(work)])
    contracts = pd.DataFrame([
        {"contract_id": f"k{c}", "client_id": c, "start_date": start, "end_date": None, "value": 1000.0,
         "contract_type": "retainer", "currency": "USD", "renewal_of": None}
        for c, start in (("A", D(2025, 1, 1)), ("C", D(2025, 1, 1)), ("D", D(2025, 10, 1)))])
    contracts["end_date"] = pd.to_datetime(contracts["end_date"]).dt.date  # open-ended: a NULL date
    contracts.to_parquet(processed / "contracts.parquet", index=False)
    write(processed, "invoices", [
        {"invoice_id": "i1", "client_id": "C", "contract_id": "kC", "issue_date": D(2025, 8, 1),
         "due_date": D(2025, 9, 1), "paid_date": D(2025, 8, 20), "amount": 500.0, "currency": "USD"}])
    (processed / "manifest.json").write_text(json.dumps({"data_max_date": "2026-06-30"}))


@pytest.mark.parametrize("lapse", [1, 2, 3])
def test_an_open_contract_without_work_or_invoice_lapses(tmp_path, lapse):
    _stale_contract_firm(tmp_path)
    build_panel(tmp_path, "2026Q2", P.office_hours, lapse_quarters=lapse, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(tmp_path)
    a = panel.loc["A"].is_active
    # A worked in 2025Q1; the k-th quiet quarter after it is active only while k < lapse_quarters
    quarters = ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    assert list(a.index) == quarters and bool(a["2025Q1"])
    for k, quarter in enumerate(quarters[1:], start=1):
        assert bool(a[quarter]) == (k < lapse), (quarter, k, lapse)
    assert panel.loc["A"].active_contracts.eq(1).all()  # the contract is still open throughout
    # work is activity whatever the contracts
    assert panel.loc["B"].is_active.all()
    # an invoice alone is activity and restarts the count
    c = panel.loc["C"].is_active
    assert bool(c["2025Q3"]) and bool(c["2025Q4"]) == (1 < lapse) and bool(c["2026Q1"]) == (2 < lapse)
    # a contract signed with no work yet is active until it too has been quiet lapse_quarters
    d = panel.loc["D"].is_active
    assert [bool(d[q]) for q in ("2025Q4", "2026Q1", "2026Q2")] == [1 < lapse, 2 < lapse, 3 < lapse]


def test_the_lapse_uses_the_parameter(tmp_path):
    """The configured lapse_quarters: one quiet quarter short of it is active, at it is not."""
    _stale_contract_firm(tmp_path)
    build_panel(tmp_path, "2026Q2", P.office_hours, lapse_quarters=P.lapse_quarters, deadline_grace_days=P.deadline_grace_days, anonymize=False)
    a = load(tmp_path).loc["A"].is_active
    quarter_index = a.index.map(lambda q: int(q[:4]) * 4 + int(q[-1]) - 1)
    quiet = quarter_index - (2025 * 4)
    assert (a.to_numpy() == (quiet < P.lapse_quarters)).all()
    assert 1 <= P.lapse_quarters <= 5  # the firm above runs five quarters past A's last work


def test_a_lapse_below_one_quarter_is_refused(tmp_path):
    _stale_contract_firm(tmp_path)
    with pytest.raises(ValueError, match="lapse_quarters"):
        build_panel(tmp_path, "2026Q2", P.office_hours, lapse_quarters=0, deadline_grace_days=P.deadline_grace_days, anonymize=False)


def _deliveries_and_answers(processed):
    """A's deliverables land 0, grace, grace+1 and 30 days after their promised dates; its
    surveys give two NPS answers and one CSAT answer in 2025Q1."""
    write(processed, "clients", [{"client_id": "A", "client_name": "A", "exit_date": None, "exit_reason": None}])
    write(processed, "time_entries", [
        {"entry_id": "e1", "client_id": "A", "date": D(2025, 1, 10), "hours": 5.0, "billable": True,
         "billable_amount": 500.0, "cost_amount": 200.0, "work_type": "feature", "rework": False,
         "after_hours": False, "person": "ann"}])
    promised = D(2025, 1, 6)
    late_by = (0, P.deadline_grace_days, P.deadline_grace_days + 1, 30)
    write(processed, "deliverables", [
        {"deliverable_id": f"d{i}", "client_id": "A", "name": f"d{i}", "work_type": "feature",
         "promised_date": promised, "delivered_date": promised + dt.timedelta(days=days),
         "status": "launched", "launched_date": None, "billed_extra": False}
        for i, days in enumerate(late_by)])
    write(processed, "surveys", [
        {"survey_id": f"s{i}", "client_id": "A", "survey_date": D(2025, 2, 1), "survey_type": kind,
         "score": score, "respondent": "x"}
        for i, (kind, score) in enumerate((("nps", 9.0), ("nps", 5.0), ("csat", 4.0)))])
    (processed / "manifest.json").write_text(json.dumps({"data_max_date": "2025-03-31"}))


@pytest.mark.parametrize("grace", [0, None, 40])
def test_a_deadline_is_missed_past_the_grace_days(tmp_path, grace):
    """At grace days late a deliverable kept its promise; one day more missed it."""
    grace = P.deadline_grace_days if grace is None else grace
    _deliveries_and_answers(tmp_path)
    build_panel(tmp_path, "2025Q1", P.office_hours, lapse_quarters=P.lapse_quarters,
                deadline_grace_days=grace, anonymize=False)
    row = load(tmp_path).loc["A"].iloc[0]
    late_by = (0, P.deadline_grace_days, P.deadline_grace_days + 1, 30)
    assert row.delivered_count == 4
    assert row.missed_deadlines == sum(days > grace for days in late_by)
    assert (row.nps_answers, row.csat_answers, row.survey_responses) == (2, 1, 3)


def _deal(deal_id, client, prospect, outcome, created, closed):
    return {"deal_id": deal_id, "client_id": client, "prospect": prospect, "deal_name": deal_id,
            "stage": "Proposal", "stage_order": 2, "amount": 1000.0, "currency": "USD",
            "created_date": created, "expected_close_date": None, "closed_date": closed, "outcome": outcome,
            "lost_reason": None}


def test_deals_closed_and_lost_per_client_quarter(time_only):
    write(time_only, "deals", [
        _deal("d1", "A", None, "won", D(2025, 1, 5), D(2025, 2, 1)),
        _deal("d2", "A", None, "lost", D(2025, 1, 5), D(2025, 3, 31)),   # Q1 by its closed date
        _deal("d3", "A", None, "lost", D(2025, 3, 5), D(2025, 4, 1)),    # opened Q1, closed Q2
        _deal("d4", None, "  beta ", "lost", D(2025, 4, 5), D(2025, 5, 1)),  # a prospect named as B
        _deal("d5", None, "Newco", "lost", D(2025, 4, 5), D(2025, 5, 1)),  # a prospect: no client's
        _deal("d6", "A", None, "open", D(2025, 7, 5), None),            # still open: not closed
        _deal("d7", "B", None, "won", D(2025, 9, 1), D(2025, 10, 2)),   # after the period end
    ])
    build_panel(time_only, "2025Q3", P.office_hours, lapse_quarters=P.lapse_quarters,
                deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    got = {k: (int(r.deals_closed), int(r.deals_lost)) for k, r in panel.iterrows()}
    assert got[("A", "2025Q1")] == (2, 1) and got[("A", "2025Q2")] == (1, 1)
    assert got[("A", "2025Q3")] == (0, 0)  # measured: nothing closed
    assert got[("B", "2025Q2")] == (1, 1)
    assert sum(c for c, _ in got.values()) == 4  # Newco's, the open one and the late one are in no row
    assert PANEL_COLUMNS["deals_closed"] and PANEL_COLUMNS["deals_lost"]


def test_deal_columns_are_not_measured_without_a_deals_table(time_only):
    build_panel(time_only, "auto", P.office_hours, lapse_quarters=P.lapse_quarters,
                deadline_grace_days=P.deadline_grace_days, anonymize=False)
    panel = load(time_only)
    assert panel["deals_closed"].isna().all() and panel["deals_lost"].isna().all()
