"""Markers: each one on a hand-made panel, with the expected value worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientlens.analysis.markers import (
    MARKER_BY_NAME,
    MARKERS,
    compute_markers,
    marker_docs,
    measured_markers,
    quarter_index_of,
    quarter_label,
    reason_text,
    window_sum,
)
from clientlens.intake.contract import TABLES
from clientlens.intake.panel_columns import COLUMN_SOURCE, PANEL_COLUMNS
from clientlens.parameters import ConfigError, load, read_file, validate

Q0 = quarter_index_of("2024Q1")


def panel(rows_by_client: dict[str, list[dict]], start: int = Q0) -> pd.DataFrame:
    """One client-quarter row per dict, quarters consecutive from `start`."""
    rows = []
    for cid, quarters in rows_by_client.items():
        for k, values in enumerate(quarters):
            qi = start + k
            rows.append({"client_id": cid, "client_name": f"{cid} Ltd", "quarter": quarter_label(qi),
                         "quarter_index": qi, "is_active": True, **values})
    return pd.DataFrame(rows)


def value(frame: pd.DataFrame, client: str, quarter: str, marker: str) -> float:
    row = frame.loc[(frame["client_id"] == client) & (frame["quarter"] == quarter)]
    assert len(row) == 1
    return float(row[marker].iloc[0])


P = load()
BASE = P.toxicity.trend_base_quarters


# --------------------------------------------------------------------------- each marker
def test_late_payment_is_weighted_by_invoices_due():
    p = panel({"A": [{"days_late_mean": 10.0, "invoices_due": 2},
                     {"days_late_mean": 40.0, "invoices_due": 1},
                     {"days_late_mean": np.nan, "invoices_due": 0}]})
    q1 = compute_markers(p, P, window=1)
    assert value(q1, "A", "2024Q1", "late_payment") == pytest.approx(10.0)
    assert value(q1, "A", "2024Q2", "late_payment") == pytest.approx(40.0)
    assert np.isnan(value(q1, "A", "2024Q3", "late_payment"))  # no invoice due: nothing to judge
    w4 = compute_markers(p, P, window=4)
    # (10*2 + 40*1) / 3 invoices = 20 days
    assert value(w4, "A", "2024Q3", "late_payment") == pytest.approx(20.0)


def test_estimate_shopping_share_and_min_events():
    p = panel({"A": [{"estimate_requests": 5, "estimates_without_order": 3},
                     {"estimate_requests": 4, "estimates_without_order": 4}]})
    q1 = compute_markers(p, P, window=1)
    assert P.toxicity.min_events == 5
    assert value(q1, "A", "2024Q1", "estimate_no_order") == pytest.approx(0.6)  # 5 = min_events: judged
    assert np.isnan(value(q1, "A", "2024Q2", "estimate_no_order"))  # 4 < min_events: 4 of 4 is chance
    w4 = compute_markers(p, P, window=4)
    assert value(w4, "A", "2024Q2", "estimate_no_order") == pytest.approx(7 / 9)


def _shopping(rows: dict[str, list[dict]], window: int = 1) -> pd.DataFrame:
    return compute_markers(panel(rows), P, window=window)


def test_estimate_shopping_from_requests_only():
    # no deals table: the deal columns are NULL, the requests alone judge
    m = _shopping({"A": [{"estimate_requests": 6, "estimates_without_order": 3,
                          "deals_closed": None, "deals_lost": None}]})
    assert value(m, "A", "2024Q1", "estimate_no_order") == pytest.approx(3 / 6)
    assert measured_markers(panel({"A": [{"estimate_requests": 6, "estimates_without_order": 3}]}))[
        "estimate_no_order"]


def test_estimate_shopping_from_deals_only_counts_the_shortfall_of_wins_against_the_firms():
    # The firm closed 2 + 8 + 5 = 15 deals and won 1 + 1 + 4 = 6: it wins 40%. B won 1 of 8
    # (12.5%): 8 x (1 - 0.125 / 0.4) = 5.5 deals short of an order, over 8. C won 4 of 5, more
    # than the firm: none short. A closed 2, fewer than min_events: its deals are not judged.
    m = _shopping({"A": [{"deals_closed": 2, "deals_lost": 1}],
                   "B": [{"deals_closed": 8, "deals_lost": 7}],
                   "C": [{"deals_closed": 5, "deals_lost": 1}]})
    assert value(m, "B", "2024Q1", "estimate_no_order") == pytest.approx(5.5 / 8)
    assert value(m, "C", "2024Q1", "estimate_no_order") == pytest.approx(0.0)
    assert np.isnan(value(m, "A", "2024Q1", "estimate_no_order"))
    assert measured_markers(panel({"B": [{"deals_closed": 8, "deals_lost": 7}]}))["estimate_no_order"]


def test_estimate_shopping_from_requests_and_deals():
    # Firm: 4 + 6 = 10 closed, 3 + 1 = 4 won, 40%. A: 5 estimate requests, 2 without order; its
    # 4 closed deals are too few to judge -> 2 / 5. B: 3 requests, all without order; won 1 of 6
    # closed: 6 x (1 - (1/6) / 0.4) = 3.5 short -> (3 + 3.5) / (3 + 6).
    m = _shopping({"A": [{"estimate_requests": 5, "estimates_without_order": 2,
                          "deals_closed": 4, "deals_lost": 1}],
                   "B": [{"estimate_requests": 3, "estimates_without_order": 3,
                          "deals_closed": 6, "deals_lost": 5}]})
    assert value(m, "A", "2024Q1", "estimate_no_order") == pytest.approx(2 / 5)
    assert value(m, "B", "2024Q1", "estimate_no_order") == pytest.approx(6.5 / 9)
    # three requests alone are too few to judge; with the deals the count reaches min_events
    assert np.isnan(value(_shopping({"B": [{"estimate_requests": 3, "estimates_without_order": 3}]}),
                          "B", "2024Q1", "estimate_no_order"))


def test_estimate_shopping_from_neither_is_not_measured():
    p = panel({"A": [{"revenue": 100.0, "estimate_requests": None, "estimates_without_order": None,
                      "deals_closed": None, "deals_lost": None}]})
    assert np.isnan(value(compute_markers(p, P, window=4), "A", "2024Q1", "estimate_no_order"))
    assert not measured_markers(p)["estimate_no_order"]


def test_the_firms_win_rate_looks_no_further_than_the_quarter():
    # Q1: the firm won 2 of 10 (A's). Q2: B wins all its 10. A in Q1 is judged against 20% and
    # won as often: none short. Had Q2 counted, the firm's 12 of 20 would put A 10 x (1 - 0.2 /
    # 0.6) short. In Q2 B won more than the firm: none short either.
    m = _shopping({"A": [{"deals_closed": 10, "deals_lost": 8}, {"deals_closed": 0, "deals_lost": 0}],
                   "B": [{"deals_closed": 0, "deals_lost": 0}, {"deals_closed": 10, "deals_lost": 0}]})
    assert value(m, "A", "2024Q1", "estimate_no_order") == pytest.approx(0.0)
    assert value(m, "B", "2024Q2", "estimate_no_order") == pytest.approx(0.0)


def test_presale_cost_share():
    p = panel({"A": [{"cost_presale": 200.0, "delivery_cost": 1000.0},
                     {"cost_presale": 0.0, "delivery_cost": 1000.0}]})
    assert value(compute_markers(p, P, 1), "A", "2024Q1", "presale_cost_share") == pytest.approx(0.2)
    assert value(compute_markers(p, P, 4), "A", "2024Q2", "presale_cost_share") == pytest.approx(0.1)


def test_team_rejection_score_and_escalations():
    p = panel({"A": [{"team_score_mean": 2.0, "escalations": 2},
                     {"team_score_mean": np.nan, "escalations": 0},
                     {"team_score_mean": 3.0, "escalations": 1}]})
    w4 = compute_markers(p, P, 4)
    assert value(w4, "A", "2024Q3", "team_score") == pytest.approx(2.5)  # mean of 2 and 3
    assert value(w4, "A", "2024Q3", "escalations") == pytest.approx(1.0)  # 3 over 3 quarters


def test_shelved_and_missed_deadline_shares():
    p = panel({"A": [{"delivered_count": 8, "shelved_count": 2, "missed_deadlines": 4},
                     {"delivered_count": 2, "shelved_count": 2, "missed_deadlines": 0}]})
    q1 = compute_markers(p, P, 1)
    assert value(q1, "A", "2024Q1", "shelved_share") == pytest.approx(0.25)
    assert value(q1, "A", "2024Q1", "missed_deadlines") == pytest.approx(0.5)
    assert np.isnan(value(q1, "A", "2024Q2", "shelved_share"))  # 2 deliverables: too few to judge
    w4 = compute_markers(p, P, 4)
    assert value(w4, "A", "2024Q2", "shelved_share") == pytest.approx(0.4)
    assert value(w4, "A", "2024Q2", "missed_deadlines") == pytest.approx(0.4)


def test_disrespect_after_hours_share_and_contradicting_requests():
    p = panel({"A": [{"requests_total": 10, "urgent_after_hours_requests": 4,
                      "change_requests": 10, "contradicting_requests": 3}]})
    q1 = compute_markers(p, P, 1)
    assert value(q1, "A", "2024Q1", "urgent_after_hours") == pytest.approx(0.4)
    assert value(q1, "A", "2024Q1", "contradicting") == pytest.approx(0.3)
    assert value(q1, "A", "2024Q1", "aux_contradicting") == pytest.approx(3)


def test_long_approvals_mean_of_quarters():
    p = panel({"A": [{"approval_days_mean": 20.0}, {"approval_days_mean": 60.0}]})
    assert value(compute_markers(p, P, 4), "A", "2024Q2", "approval_days") == pytest.approx(40.0)


def test_budget_cut_signed_value_year_on_year():
    # recurring signings of 100 (Q1 2024), 100 (Q3 2024), 40 (Q1 2025), then nothing
    rows = [{"recurring_value_signed": v, "contract_value_signed": v}
            for v in (100.0, 0.0, 100.0, 0.0, 40.0, 0, 0, 0, 0)]
    m = compute_markers(panel({"A": rows}), P, 4)
    assert np.isnan(value(m, "A", "2024Q4", "budget_cut"))  # no year before to compare with
    assert value(m, "A", "2025Q1", "budget_cut") == pytest.approx(1 - 140 / 100)  # grew
    assert value(m, "A", "2025Q3", "budget_cut") == pytest.approx(1 - 40 / 200)
    assert value(m, "A", "2025Q4", "budget_cut") == pytest.approx(0.8)
    assert np.isnan(value(m, "A", "2026Q1", "budget_cut"))  # nothing signed lately: not a cut
    q1 = compute_markers(panel({"A": rows}), P, 1)  # a year-long window whatever `window` is
    assert value(q1, "A", "2025Q3", "budget_cut") == pytest.approx(0.8)


def test_budget_cut_compares_recurring_with_recurring():
    """A lumpy project history (a large build, then small projects) beside a steady retainer is
    no cut; the same fall in the retainer is."""
    project = (500.0, 0, 0, 0, 60.0, 0, 0, 0)
    steady = [{"contract_value_signed": p + 100.0, "recurring_value_signed": 100.0} for p in project]
    m = compute_markers(panel({"A": steady}), P, 4)
    assert value(m, "A", "2025Q4", "budget_cut") == pytest.approx(0.0)
    cut = [{"contract_value_signed": 100.0 if i < 4 else 30.0, "recurring_value_signed": 100.0 if i < 4 else 30.0}
           for i in range(8)]
    assert value(compute_markers(panel({"A": cut}), P, 4), "A", "2025Q4", "budget_cut") == pytest.approx(0.7)
    only_projects = [{"contract_value_signed": p, "recurring_value_signed": 0.0} for p in project]
    assert np.isnan(value(compute_markers(panel({"A": only_projects}), P, 4), "A", "2025Q4", "budget_cut"))


def test_survey_means_weigh_every_answer():
    """Four answers of 9 and one of 3 average 7.8, not (9 + 3) / 2."""
    rows = [{"nps_mean": 9.0, "nps_answers": 4, "csat_mean": 5.0, "csat_answers": 1},
            {"nps_mean": 3.0, "nps_answers": 1, "csat_mean": 2.0, "csat_answers": 3}]
    m = compute_markers(panel({"A": rows}), P, 4)
    assert value(m, "A", "2024Q2", "nps") == pytest.approx(7.8)
    assert value(m, "A", "2024Q2", "csat") == pytest.approx(11 / 4)


def test_survey_means_need_enough_answers():
    """Fewer than toxicity.min_answers answers in the window: satisfaction is not judged."""
    few, enough = P.toxicity.min_answers - 1, P.toxicity.min_answers
    rows = [{"nps_mean": 2.0, "nps_answers": few, "csat_mean": 1.0, "csat_answers": enough}]
    m = compute_markers(panel({"A": rows}), P, 4)
    assert np.isnan(value(m, "A", "2024Q1", "nps"))
    assert value(m, "A", "2024Q1", "csat") == pytest.approx(1.0)


def test_falling_orders_and_requests_against_previous_quarters():
    rows = [{"billable_hours": 100.0, "requests_total": 8} for _ in range(4)]
    rows.append({"billable_hours": 40.0, "requests_total": 2})
    p = panel({"A": rows})
    q1 = compute_markers(p, P, 1)
    # this quarter against the mean of the four before: 1 - 40/100
    assert value(q1, "A", quarter_label(Q0 + 4), "falling_orders") == pytest.approx(0.6)
    assert value(q1, "A", quarter_label(Q0 + 4), "falling_requests") == pytest.approx(0.75)
    assert np.isnan(value(q1, "A", "2024Q2", "falling_orders"))  # one quarter of history only
    w2 = compute_markers(p, P, 2)
    # last two (100, 40) against the four before them (only three exist: 100 each)
    assert value(w2, "A", quarter_label(Q0 + 4), "falling_orders") == pytest.approx(1 - 70 / 100)


def test_falling_requests_needs_enough_requests():
    p = panel({"A": [{"requests_total": 1}, {"requests_total": 1}, {"requests_total": 0}]})
    assert np.isnan(value(compute_markers(p, P, 1), "A", "2024Q3", "falling_requests"))


def test_contact_churn_counts_changes_in_the_last_year():
    flags = [False, True, False, True, True, False]
    p = panel({"A": [{"client_contact_changed": f} for f in flags]})
    q1 = compute_markers(p, P, 1)
    assert value(q1, "A", quarter_label(Q0 + 3), "contact_churn") == 2
    assert value(q1, "A", quarter_label(Q0 + 4), "contact_churn") == 3  # T, F, T, T
    assert value(q1, "A", quarter_label(Q0 + 5), "contact_churn") == 2  # F, T, T, F


def test_satisfaction_nps_and_csat():
    p = panel({"A": [{"nps_mean": 9.0, "csat_mean": 4.0}, {"nps_mean": 5.0, "csat_mean": np.nan}]})
    w4 = compute_markers(p, P, 4)
    assert value(w4, "A", "2024Q2", "nps") == pytest.approx(7.0)
    assert value(w4, "A", "2024Q2", "csat") == pytest.approx(4.0)


def test_economic_marker_margin_and_non_billable_share():
    p = panel({"A": [{"revenue": 1000.0, "delivery_cost": 1200.0, "hours": 100.0, "billable_hours": 80.0}],
               "B": [{"revenue": 0.0, "delivery_cost": 500.0, "hours": 10.0, "billable_hours": 0.0}]})
    q1 = compute_markers(p, P, 1)
    assert value(q1, "A", "2024Q1", "gross_margin") == pytest.approx(-0.2)
    assert value(q1, "A", "2024Q1", "non_billable_share") == pytest.approx(0.2)
    assert value(q1, "B", "2024Q1", "gross_margin") == pytest.approx(-1.0)  # cost, no money
    assert value(q1, "B", "2024Q1", "non_billable_share") == pytest.approx(1.0)


# --------------------------------------------------------------------------- not measured
def test_marker_without_source_is_not_measured():
    p = panel({"A": [{"revenue": 100.0, "delivery_cost": 50.0, "hours": 10.0, "billable_hours": 9.0,
                      "days_late_mean": None, "invoices_due": None}]})
    m = compute_markers(p, P, 1)
    assert np.isnan(value(m, "A", "2024Q1", "late_payment"))
    assert np.isnan(value(m, "A", "2024Q1", "nps"))  # the column is absent altogether
    measured = measured_markers(p)
    assert measured["gross_margin"] and not measured["late_payment"] and not measured["nps"]


def test_no_look_ahead_and_as_of():
    rows = [{"billable_hours": 100.0, "days_late_mean": 5.0, "invoices_due": 1} for _ in range(6)]
    p = panel({"A": rows})
    changed = p.copy()
    changed.loc[changed["quarter_index"] > Q0 + 3, ["billable_hours", "days_late_mean"]] = [0.0, 90.0]
    a = compute_markers(p, P, 4)
    b = compute_markers(changed, P, 4)
    upto = a["quarter_index"] <= Q0 + 3
    pd.testing.assert_frame_equal(a.loc[upto], b.loc[upto])
    cut = compute_markers(changed, P, 4, as_of=quarter_label(Q0 + 3))
    assert cut["quarter_index"].max() == Q0 + 3


def test_gap_quarters_are_skipped_not_zero():
    p = panel({"A": [{"days_late_mean": 10.0, "invoices_due": 1}]})
    later = panel({"A": [{"days_late_mean": 30.0, "invoices_due": 1}]}, start=Q0 + 2)
    m = compute_markers(pd.concat([p, later]), P, 4)
    assert value(m, "A", quarter_label(Q0 + 2), "late_payment") == pytest.approx(20.0)


def test_duplicate_rows_are_an_error():
    p = panel({"A": [{"revenue": 1.0}]})
    with pytest.raises(ValueError, match="more than one row"):
        compute_markers(pd.concat([p, p]), P, 1)


def test_window_sum_counts():
    W = np.array([[1.0], [np.nan], [3.0], [4.0]])
    s, n = window_sum(W, 2)
    assert s[0, 0] == 1.0
    assert s[1, 0] == 1.0 and s[2, 0] == 3.0 and s[3, 0] == 7.0
    assert n[:, 0].tolist() == [1, 1, 1, 2]
    s, _ = window_sum(W, 2, shift=1)
    assert np.isnan(s[0, 0]) and s[3, 0] == 3.0


# --------------------------------------------------------------------------- registry & config
def test_registry_is_complete_and_consistent():
    groups = {m.group for m in MARKERS}
    for g in ("estimate shopping", "team rejection", "work shelved", "late payment", "disrespect",
              "long approvals", "budget cuts", "fewer orders", "client contact churn",
              "satisfaction", "promises kept", "economic marker"):
        assert g in groups
    assert set(P.toxicity.markers) == {m.name for m in MARKERS}
    for m in MARKERS:
        assert m.definition and m.unit and m.label_en  # the Russian: tests/test_i18n.py
        for col in m.columns:
            assert col in PANEL_COLUMNS, col
            table = COLUMN_SOURCE.get(col, "time_entries")
            assert table in TABLES
            assert table in m.source or col in ("revenue",), (m.name, col, table)
    docs = marker_docs(P)
    assert len(docs) == len(MARKERS) and docs["threshold"].notna().all()
    late = docs.set_index("marker").loc["late_payment"]
    assert (late.threshold, late.baseline, late.weight) == (30, 5, 2.0)
    assert late.parameters == "toxicity.markers.late_payment"
    assert marker_docs(P, lang="ru")["label"].iloc[0] == "Оценки без заказа"


def test_incomplete_or_contradictory_config_is_an_error():
    raw = read_file()
    del raw["toxicity"]["markers"]["late_payment"]
    with pytest.raises(ConfigError, match="markers: missing late_payment"):
        validate(raw)
    raw = read_file()
    del raw["toxicity"]["markers"]["late_payment"]["weight"]
    with pytest.raises(ConfigError, match=r"toxicity\.markers\.late_payment\.weight: missing"):
        validate(raw)
    raw = read_file()
    raw["toxicity"]["markers"]["lateness"] = {"threshold": 1, "baseline": 0, "weight": 1}
    with pytest.raises(ConfigError, match="markers: unknown lateness"):
        validate(raw)
    # below its baseline of 5 days: higher is worse, so the threshold must be above it
    with pytest.raises(ConfigError, match="late_payment: threshold 2 must be above its baseline 5"):
        load(overrides=["TOXICITY__MARKERS__LATE_PAYMENT__THRESHOLD=2"])
    with pytest.raises(ConfigError, match="nps.weight: Input should be greater than or equal to 0"):
        load(overrides=["TOXICITY__MARKERS__NPS__WEIGHT=-1"])


def test_reason_wording_en_ru():
    m = MARKER_BY_NAME["late_payment"]
    assert reason_text(m, 38.2, window=1, lang="en", base_quarters=BASE) == "pays 38 days late on average"
    assert reason_text(m, 38.2, window=1, lang="ru", base_quarters=BASE) == "платит в среднем на 38 дн. позже срока"
    t = MARKER_BY_NAME["team_score"]
    assert reason_text(t, 2.25, window=1, lang="ru", base_quarters=BASE) == "команда оценивает работу с клиентом на 2,2 из 5"


def test_the_trend_base_is_the_quarters_just_before_the_recent_window():
    """Four quarters at 100 hours, then four at 50: a drop of exactly 50%. A base that overlapped
    the recent window by one quarter would read 1 - 50/87.5 = 43%; one that left a gap, or
    started a quarter early, would read the same 50% only by luck, so the series ramps."""
    from clientlens.analysis.markers import trend_drop

    W = np.array([[100.0], [100.0], [100.0], [100.0], [50.0], [50.0], [50.0], [50.0]])
    assert trend_drop(W, 4, 4, 2)[7, 0] == pytest.approx(0.5)
    ramp = np.array([[10.0], [20.0], [30.0], [40.0], [50.0], [25.0], [25.0], [25.0], [25.0]])
    # recent: quarters 5-8 (25 each); base: quarters 1-4 (20, 30, 40, 50: mean 35)
    assert trend_drop(ramp, 4, 4, 2)[8, 0] == pytest.approx(1 - 25 / 35)
    assert np.isnan(trend_drop(W, 4, 4, 2)[4, 0])  # one quarter of base: fewer than two
