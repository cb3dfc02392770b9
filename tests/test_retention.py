"""Retention by cohort (analysis.retention): revenue movements on the rolling year, NRR and GRR,
logo retention by acquisition cohort, and their charts. Every expected figure below is worked out
by hand from the small panels built here."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from clientlens.analysis import activity, retention
from clientlens.analysis.ltv import sbg_survival
from clientlens.publishing.plots import retention_plots
from clientlens.quarters import quarter_index_of, quarter_label

matplotlib.use("Agg")

QUARTERS = [quarter_label(quarter_index_of("2022Q1") + i) for i in range(12)]  # 2022Q1 .. 2024Q4


def panel_of(revenue: dict[str, dict[str, float]], hours: dict[str, dict[str, float]] | None = None,
             exits: dict[str, str] | None = None) -> pd.DataFrame:
    """A panel with a row per client and quarter named in `revenue` or `hours` (other quarters
    have no row), is_active = worked, exited at the quarter `exits` names."""
    hours, exits = hours or {}, exits or {}
    rows = []
    for client in sorted(set(revenue) | set(hours)):
        quarters = sorted(set(revenue.get(client, {})) | set(hours.get(client, {})), key=quarter_index_of)
        for q in quarters:
            r, h = revenue.get(client, {}).get(q, 0.0), hours.get(client, {}).get(q, 0.0)
            rows.append({"client_id": client, "client_name": client, "quarter": q,
                         "quarter_index": quarter_index_of(q), "revenue": r, "hours": h,
                         "is_active": bool(r or h), "exited": exits.get(client) == q})
    return pd.DataFrame(rows)


def every(quarters: list[str], amount: float) -> dict[str, float]:
    return {q: amount for q in quarters}


# Six clients over three years, one of each kind of movement:
#   A steady; B doubles from 2023; C halves from 2023; D stops after 2022 (contraction as its
#   quarters roll off, then churn); E is new in 2023Q2; F bills in 2022Q1 only, then once in 2023Q3
#   (churn a year after 2022Q1, back in 2023Q3).
MOVERS = panel_of({
    "A": every(QUARTERS, 100.0),
    "B": {**every(QUARTERS[:4], 100.0), **every(QUARTERS[4:], 200.0)},
    "C": {**every(QUARTERS[:4], 100.0), **every(QUARTERS[4:], 50.0)},
    "D": {**every(QUARTERS[:4], 100.0), **every(QUARTERS[4:], 0.0)},
    "E": every(QUARTERS[5:], 80.0),
    "F": {"2022Q1": 100.0, "2023Q3": 100.0, "2024Q4": 0.0},
})


def cents(series: pd.Series) -> pd.Series:
    return (series * 100).round().astype("int64")


def test_movements_start_when_two_rolling_years_are_whole():
    m = retention.revenue_movements(MOVERS, "2024Q4")
    # the first rolling year ends 2022Q4; the first movement compares it with the year to 2023Q1
    assert m["period"].tolist() == QUARTERS[4:]
    assert m.iloc[0]["revenue_before"] == 4 * 400 + 100  # A-D 400 each, F 100


def test_quarter_movements_by_hand():
    m = retention.revenue_movements(MOVERS, "2024Q4").set_index("period")
    # year to 2023Q1 against year to 2022Q4: B +100, C -50, D -100, F's only quarter rolls off
    assert m.loc["2023Q1", list(retention.MOVEMENTS)].tolist() == [0, 100, 150, 100, 0]
    # to 2023Q2: E's first revenue is new; B +100, C -50, D -100
    assert m.loc["2023Q2", list(retention.MOVEMENTS)].tolist() == [80, 100, 150, 0, 0]
    # to 2023Q3: F back after a year without revenue; E +80, B +100; C -50, D -100
    assert m.loc["2023Q3", list(retention.MOVEMENTS)].tolist() == [0, 180, 150, 0, 100]
    # to 2023Q4: D's last 2022 quarter rolls off: churn, not contraction
    assert m.loc["2023Q4", ["contraction", "churn"]].tolist() == [50, 100]
    # the year to 2024Q3 no longer holds F's 2023Q3 (its 2024Q4 row of zero revenue is no revenue)
    assert m.loc["2024Q3", "churn"] == 100 and m.loc["2024Q4", "churn"] == 0


def test_year_movements_by_hand():
    y = retention.revenue_movements(MOVERS, "2024Q4", step_quarters=retention.YEAR_QUARTERS).set_index("period")
    assert y.index.tolist() == ["2023Q4", "2024Q4"]
    # 2023 against 2022: B +400, C -200, D churns 400, E new 240; F billed 100 both years: no movement
    assert y.loc["2023Q4", list(retention.MOVEMENTS)].tolist() == [240, 400, 200, 400, 0]
    assert y.loc["2023Q4", ["revenue_before", "revenue", "clients_before", "clients"]].tolist() == [1700, 1740, 5, 5]


@pytest.mark.parametrize("step", [1, 4])
def test_every_period_ties_out_to_the_cent(step):
    """revenue = revenue before + new + expansion - contraction - churn + reactivation, on amounts
    with cents, gaps, zero rows and a credit that takes a client's year below zero."""
    rng = np.random.default_rng(7)
    revenue: dict[str, dict[str, float]] = {}
    for c in range(40):
        start = int(rng.integers(0, 10))
        revenue[f"K{c:02d}"] = {q: float(round(rng.uniform(0, 5000), 2)) if rng.random() > 0.35 else 0.0
                                for q in QUARTERS[start:]}
    revenue["K00"]["2023Q2"] = -20000.01  # a credit note larger than the year's invoices
    m = retention.revenue_movements(panel_of(revenue), "2024Q4", step_quarters=step)
    assert len(m) > 0
    moved = (cents(m["new"]) + cents(m["expansion"]) - cents(m["contraction"]) - cents(m["churn"])
             + cents(m["reactivation"]))
    assert (cents(m["revenue"]) == cents(m["revenue_before"]) + moved).all()
    assert (cents(m["net_change"]) == moved).all()
    assert (m[list(retention.MOVEMENTS)] >= 0).all().all()
    # the rolling year's revenue is the invoices' own sum, in decimal cents
    by_quarter = {q: sum(Decimal(str(v.get(q, 0.0))) for v in revenue.values()) for q in QUARTERS}
    for _, row in m.iterrows():
        i = QUARTERS.index(row["period"])
        year = sum(by_quarter[q] for q in QUARTERS[i - 3: i + 1])
        assert int((year * 100).quantize(Decimal(1), ROUND_HALF_UP)) == round(row["revenue"] * 100)


def test_nrr_and_grr_by_hand():
    r = retention.revenue_retention(MOVERS, "2024Q4").set_index("period")
    assert r.index.tolist() == QUARTERS[7:]  # the year before must be whole: from the year to 2023Q4
    row = r.loc["2023Q4"]
    # the year to 2022Q4: A-D 400 each, F 100 (E not yet a client); the year to 2023Q4: A 400, B 800,
    # C 200, D 0, F 100; capped: 400 + 400 + 200 + 0 + 100
    assert row[["clients_year_before", "clients_retained"]].tolist() == [5, 4]
    assert row[["revenue_year_before", "revenue_retained", "revenue_retained_capped"]].tolist() == [1700, 1500, 1100]
    assert row["nrr"] == pytest.approx(1500 / 1700) and row["grr"] == pytest.approx(1100 / 1700)
    yearly = retention.revenue_retention(MOVERS, "2024Q4", step_quarters=4)
    assert yearly["period"].tolist() == ["2023Q4", "2024Q4"]


def test_nrr_and_grr_agree_with_the_year_movements():
    """NRR = (before + expansion - contraction - churn) / before; GRR without the expansion."""
    y = retention.revenue_movements(MOVERS, "2024Q4", step_quarters=4).set_index("period")
    r = retention.revenue_retention(MOVERS, "2024Q4", step_quarters=4).set_index("period")
    for period in r.index:
        before = r.loc[period, "revenue_year_before"]
        losses = y.loc[period, "contraction"] + y.loc[period, "churn"]
        assert r.loc[period, "nrr"] == pytest.approx((before + y.loc[period, "expansion"] - losses) / before)
        assert r.loc[period, "grr"] == pytest.approx((before - losses) / before)


# Cohorts, lapse_quarters = 2, period end 2022Q4:
#   P works every quarter; Q skips 2022Q2 (quiet one quarter: still active); R skips 2022Q2 and
#   2022Q3 (quiet exactly lapse_quarters: gone quiet in 2022Q3), back in 2022Q4; S is won in 2022Q2
#   and exits in 2022Q3; T logs presale hours in 2022Q1, is first billed in 2022Q2 (its cohort),
#   then nothing; U logs hours but is never billed (in no cohort).
COHORTS = panel_of(
    revenue={"P": every(QUARTERS[:4], 10.0), "Q": {"2022Q1": 10.0, "2022Q2": 0.0, "2022Q3": 10.0, "2022Q4": 10.0},
             "R": {"2022Q1": 10.0, "2022Q2": 0.0, "2022Q3": 0.0, "2022Q4": 10.0},
             "S": {"2022Q2": 10.0, "2022Q3": 5.0}, "T": {"2022Q1": 0.0, "2022Q2": 10.0, "2022Q3": 0.0, "2022Q4": 0.0}},
    hours={"T": {"2022Q1": 3.0}, "U": {"2022Q1": 5.0, "2022Q2": 5.0}},
    exits={"S": "2022Q3"})


def test_cohort_table_by_hand():
    long = retention.cohort_retention(COHORTS, "2022Q4", lapse_quarters=2)
    table = retention.cohort_table(long).set_index("cohort")
    assert table.index.tolist() == ["2022Q1", "2022Q2"]
    assert table.loc["2022Q1"].tolist() == [3, 1.0, 1.0, 2 / 3, 1.0]  # P, Q, R: R gone quiet at +2
    q2 = table.loc["2022Q2"]
    assert q2[["clients", 0, 1, 2]].tolist() == [2, 1.0, 0.5, 0.0]  # S exits at +1, T quiet two at +2
    assert np.isnan(q2[3])  # not observed that long


def test_quiet_for_exactly_lapse_quarters_is_not_active_and_one_less_is():
    long = retention.cohort_retention(COHORTS, "2022Q4", lapse_quarters=3)
    table = retention.cohort_table(long).set_index("cohort")
    assert table.loc["2022Q1", 2] == 1.0  # R quiet two quarters: under three, still active
    assert table.loc["2022Q2", 2] == 0.5  # T quiet two: active; S has exited


def test_active_at_the_period_end_is_activitys_meaning():
    long = retention._cohort_long(COHORTS, "2022Q4", 2)
    last = long[long["acquired"] + long["since"] == quarter_index_of("2022Q4")]
    ours = set(last.loc[last["active"], "client_id"])
    theirs = set(activity.active_clients(COHORTS, 2, "2022Q4")) - {"U"}  # U was never billed
    assert ours == theirs == {"P", "Q", "R"}


def test_year_cohorts_and_pooled_curve():
    years = retention.cohort_retention(COHORTS, "2022Q4", lapse_quarters=2, by="year")
    assert years[["cohort", "periods_since", "clients", "active"]].values.tolist() == [["2022", 0, 5, 5]]
    pooled = retention.pooled_retention(retention.cohort_retention(COHORTS, "2022Q4", lapse_quarters=2))
    assert pooled[["clients", "active"]].values.tolist() == [[5, 5], [5, 4], [5, 2], [3, 3]]


def test_model_curve_steps_by_the_models_period():
    model = SimpleNamespace(period_quarters=4, alpha=1.2, beta=3.4)
    curve = retention.model_curve(model, 9)
    assert curve["quarters_since"].tolist() == [0, 4, 8]
    assert curve["share_alive"].tolist() == pytest.approx(sbg_survival([0, 1, 2], 1.2, 3.4).tolist())


def test_short_empty_and_unmeasured_histories():
    one = panel_of({"A": {"2022Q1": 10.0, "2022Q2": 10.0, "2022Q3": 10.0, "2022Q4": 10.0}})
    assert retention.revenue_movements(one, "2022Q4").empty  # a whole year, but nothing to compare it with
    assert retention.revenue_retention(one, "2022Q4").empty
    assert retention.cohort_table(retention.cohort_retention(one, "2022Q4", lapse_quarters=2))["clients"].tolist() == [1]
    empty = one.iloc[0:0]
    assert retention.revenue_movements(empty).empty and retention.revenue_retention(empty).empty
    assert retention.cohort_retention(empty, lapse_quarters=2).empty
    assert retention.cohort_table(retention.cohort_retention(empty, lapse_quarters=2)).empty
    unmeasured = panel_of({"A": every(QUARTERS, 1.0)}).assign(revenue=np.nan)
    assert not retention.revenue_grid(unmeasured).measured
    assert retention.revenue_movements(unmeasured).empty and retention.revenue_retention(unmeasured).empty
    with pytest.raises(ValueError, match="step_quarters"):
        retention.revenue_movements(one, step_quarters=0)


def test_the_period_end_cuts_the_history():
    m = retention.revenue_movements(MOVERS, "2023Q2")
    assert m["period"].tolist() == ["2023Q1", "2023Q2"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_charts_draw_data_and_empty_states(lang):
    m = retention.revenue_movements(MOVERS, "2024Q4")
    fig = retention_plots.plot_revenue_movements(m, "EUR", lang=lang)
    ax = fig.axes[0]
    assert "EUR" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 6  # five kinds and the net change
    cohorts = retention.cohort_retention(COHORTS, "2022Q4", lapse_quarters=2)
    curve = retention.model_curve(SimpleNamespace(period_quarters=1, alpha=1.0, beta=5.0), 3)
    fig = retention_plots.plot_cohort_curves(cohorts, retention.pooled_retention(cohorts), curve, lang=lang)
    assert len(fig.axes[0].lines) == 3  # the 2022 cohort, all clients, the model
    for empty in (retention_plots.plot_revenue_movements(m.iloc[0:0], "EUR", lang=lang),
                  retention_plots.plot_cohort_curves(cohorts.iloc[0:0], cohorts.iloc[0:0], lang=lang)):
        assert not empty.axes[0].axison
