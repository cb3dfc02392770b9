"""Lifetime value: the sBG model against Fader & Hardie's published fits, DERL, LTV identities,
renewal cohorts from contracts and from panel activity, and the per-client LTV table."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clientlens.analysis import ltv, pnl
from clientlens.parameters import load

PARAMS = load()
LAPSE = 2  # the lapse rule the hand-made activity panel below assumes

# Fader & Hardie (2007), "How to project customer retention", survivors per 1000, years 0-12;
# the model is fitted to years 0-7, years 8-12 are the holdout it projects.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
PUBLISHED = {"regular": (REGULAR, 0.704, 1.182), "high end": (HIGH_END, 0.668, 3.806)}


def sig3(x: float) -> str:
    return f"{x:.3g}"


def survival_by_hand(t: int, a: float, b: float) -> float:
    """S(t) = B(a, b+t)/B(a, b) = prod_{i<t} (b+i)/(a+b+i)."""
    s = 1.0
    for i in range(t):
        s *= (b + i) / (a + b + i)
    return s


# --------------------------------------------------------------------------- sBG reference fits

@pytest.mark.parametrize("segment", list(PUBLISHED))
def test_sbg_fit_matches_the_paper(segment):
    data, alpha, beta = PUBLISHED[segment]
    fit = ltv.fit_sbg(data[:8])
    assert sig3(fit["alpha"]) == sig3(alpha)
    assert sig3(fit["beta"]) == sig3(beta)
    assert abs(fit["alpha"] - alpha) < 5e-4 and abs(fit["beta"] - beta) < 5e-4
    assert fit["converged"] and fit["n_units"] == 1000 and fit["n_periods"] == 7
    assert fit["n_churned"] == 1000 - data[7]


@pytest.mark.parametrize("segment", list(PUBLISHED))
def test_sbg_projected_survivors(segment):
    data, alpha, beta = PUBLISHED[segment]
    fit = ltv.fit_sbg(data[:8])
    projected = ltv.sbg_projected_survivors(fit["alpha"], fit["beta"], periods=12)
    for t in range(13):
        by_hand = 1000 * survival_by_hand(t, alpha, beta)  # the paper's parameters
        assert sig3(projected[t]) == sig3(by_hand), t
    # the holdout years 8-12 are tracked within 5% (the paper's own finding)
    for t in range(8, 13):
        assert abs(projected[t] / data[t] - 1) < 0.05, t
    # retention rises with tenure: r(t) = (b+t-1)/(a+b+t-1)
    r = ltv.sbg_retention_rate(np.arange(1, 8), alpha, beta)
    assert r[0] == pytest.approx(beta / (alpha + beta))
    assert np.all(np.diff(r) > 0)


def test_sbg_fit_on_cohorts_with_unobserved_tails():
    # two cohorts of the same population, one observed for fewer periods: NULL tails
    table = pd.DataFrame([REGULAR[:8], REGULAR[:5] + [np.nan] * 3], columns=range(8))
    fit = ltv.fit_sbg(table)
    assert fit["n_units"] == 2000 and fit["n_periods"] == 7
    assert abs(fit["alpha"] - 0.704) < 0.1 and abs(fit["beta"] - 1.182) < 0.2
    with pytest.raises(ValueError):
        ltv.fit_sbg([100, 120, 90])  # survivors cannot increase


def test_sbg_without_churn_says_so():
    fit = ltv.fit_sbg([50, 50, 50, 50])
    assert not fit["converged"] and "no churn" in fit["message"]
    assert fit["retention_1"] > 0.99


# --------------------------------------------------------------------------- DEL and DERL

@pytest.mark.parametrize("alpha,beta", [(0.704, 1.182), (0.668, 3.806), (2.0, 20.0),
                                        (0.5, 8000.0), (3000.0, 9000.0)])
@pytest.mark.parametrize("d", [0.1, 0.024])
def test_derl_equals_the_discounted_series(alpha, beta, d):
    t = np.arange(0, 20000)
    for renewals in (0, 1, 4, 10):
        n = renewals + 1
        # sum_{t>=n} S(t)/S(n-1) / (1+d)^(t-n), summed to convergence
        tt = t + n
        # S(t)/S(n-1) is the product of the retention rates r(n), ..., r(t)
        r = (beta + tt - 1) / (alpha + beta + tt - 1)
        series = float(np.sum(np.cumprod(r) * (1 / (1 + d)) ** (tt - n)))
        assert ltv.sbg_derl(alpha, beta, d, renewals) == pytest.approx(series, rel=1e-9)
        # with the current period counted now, every renewal is one period further away
        assert ltv.sbg_derl(alpha, beta, d, renewals, include_current=True) == pytest.approx(
            1 + series / (1 + d), rel=1e-9)
    # DEL of a new client: sum_{t>=0} S(t)/(1+d)^t
    surv = np.concatenate([[1.0], np.cumprod((beta + t[1:] - 1) / (alpha + beta + t[1:] - 1))])
    assert ltv.sbg_del(alpha, beta, d) == pytest.approx(float(np.sum(surv * (1 / (1 + d)) ** t)),
                                                        rel=1e-9)


# --------------------------------------------------------------------------- LTV identities

@pytest.mark.parametrize("m,r,d", [(100.0, 0.8, 0.1), (2500.0, 0.95, 0.024), (-40.0, 0.6, 0.3)])
def test_two_state_closed_form_equals_the_series(m, r, d):
    closed = ltv.ltv_two_state(m, r, d)
    assert closed == pytest.approx(m * (1 + d) / (1 + d - r))
    # summing margin x r^t / (1+d)^t until the terms vanish
    total, term, t = 0.0, m, 0
    while abs(term) > 1e-12 * max(1.0, abs(total)):
        total += term
        t += 1
        term = m * (r / (1 + d)) ** t
    assert closed == pytest.approx(total, rel=1e-9)
    # the general helpers give the same value
    chain = ltv.ltv_markov([m, 0.0], [[r, 1 - r], [0.0, 1.0]], d)
    assert chain[0] == pytest.approx(closed, rel=1e-12) and chain[1] == 0
    survival = r ** np.arange(5000)
    assert ltv.discounted_value(m, survival, d) == pytest.approx(closed, rel=1e-9)


def test_sbg_with_homogeneous_clients_is_the_two_state_chain():
    # a Beta(alpha, beta) concentrated at churn 1 - r: every client has retention r
    r, d, k = 0.85, 0.1, 1e7
    assert ltv.sbg_del((1 - r) * k, r * k, d) == pytest.approx(
        ltv.ltv_two_state(1.0, r, d), rel=1e-5)


def test_markov_three_states_by_hand():
    # states: healthy (margin 10), at risk (margin 2), churned; d = 0
    # V_h = 10 + .5 V_h + .5 V_r ; V_r = 2 + .5 V_r  -> V_r = 4, V_h = 24
    p = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    v = ltv.ltv_markov([10.0, 2.0, 0.0], p, discount=0.0)
    assert v == pytest.approx([24.0, 4.0, 0.0])


def test_period_discount_rate():
    assert ltv.period_discount_rate(0.1, 4) == pytest.approx(0.1)
    assert ltv.period_discount_rate(0.1, 1) == pytest.approx(1.1 ** 0.25 - 1)


# --------------------------------------------------------------------------- renewal history

@pytest.fixture
def contracts() -> pd.DataFrame:
    rows = [
        # X: yearly, renewed twice, the last one still running
        ("K1", "X", "2023-01-01", "2023-12-31", None),
        ("K2", "X", "2024-01-01", "2024-12-31", "K1"),
        ("K3", "X", "2025-01-01", "2025-12-31", "K2"),
        # Y: one year, never renewed
        ("L1", "Y", "2023-01-15", "2023-12-31", None),
        # Z: renewed once, ended in January 2025
        ("M1", "Z", "2023-02-01", "2024-01-31", None),
        ("M2", "Z", "2024-02-01", "2025-01-31", "M1"),
        # W: started in 2024Q2, renewed, open-ended
        ("N1", "W", "2024-04-01", "2025-03-31", None),
        ("N2", "W", "2025-04-01", None, "N1"),
    ]
    return pd.DataFrame(rows, columns=["contract_id", "client_id", "start_date", "end_date",
                                       "renewal_of"]).assign(contract_type="retainer", value=1.0)


def test_renewal_cohorts_by_hand(contracts):
    assert ltv.renewal_period_quarters(contracts) == 4  # renewals start a year apart
    table = ltv.renewal_cohorts(contracts, as_of="2025Q2")
    # 2023Q1 (X, Y, Z), observed (2025Q2 - 2023Q1) // 4 = 2 periods:
    #   start 3; after 1 year X and Z; after 2 years X only (Z's last contract has ended)
    # 2024Q2 (W), observed 1 period: renewed
    assert list(table.index) == ["2023Q1", "2024Q2"]
    assert table.loc["2023Q1"].tolist() == [3, 2, 1]
    assert table.loc["2024Q2"].tolist()[:2] == [1, 1] and math.isnan(table.loc["2024Q2", 2])
    fit = ltv.fit_sbg(table)
    assert fit["n_units"] == 4 and fit["n_churned"] == 2


def activity_panel() -> pd.DataFrame:
    q = {"2025Q1": 8100, "2025Q2": 8101, "2025Q3": 8102, "2025Q4": 8103}

    def r(client, quarter, active, exited=False, margin_revenue=100.0):
        return {"client_id": client, "client_name": client, "quarter": quarter,
                "quarter_index": q[quarter], "is_active": active, "exited": exited,
                "revenue": margin_revenue if active else 0.0, "delivery_cost": 0.0}
    return pd.DataFrame([
        *[r("P1", x, True) for x in q],                                   # always active
        r("P2", "2025Q1", True), r("P2", "2025Q2", True),                 # then silent: lapsed
        r("P2", "2025Q3", False), r("P2", "2025Q4", False),
        r("P3", "2025Q1", True), r("P3", "2025Q2", False),                # a gap, then back
        r("P3", "2025Q3", False), r("P3", "2025Q4", True),
        r("P4", "2025Q2", True), r("P4", "2025Q3", True, exited=True),   # left in Q3
    ])


def test_panel_survival_cohorts_by_hand():
    table = ltv.panel_survival_cohorts(activity_panel(), lapse_quarters=LAPSE)
    # cohort 2025Q1 = P1, P2, P3: P2 is alive at ages 0-1 only
    assert table.loc["2025Q1"].tolist() == [3, 3, 2, 2]
    # cohort 2025Q2 = P4: alive in Q2 and Q3 (its exit quarter), gone in Q4
    assert table.loc["2025Q2"].tolist()[:3] == [1, 1, 0] and math.isnan(table.loc["2025Q2", 3])


def test_retention_model_says_which_source(contracts):
    panel = activity_panel()
    from_panel = ltv.retention_model(panel, lapse_quarters=LAPSE)
    assert from_panel.source == ltv.SOURCE_PANEL and from_panel.period_quarters == 1
    assert from_panel.summary()["source"] == ltv.SOURCE_PANEL
    from_contracts = ltv.retention_model(panel, contracts, lapse_quarters=LAPSE)
    assert from_contracts.source == ltv.SOURCE_CONTRACTS
    assert from_contracts.period_quarters == 4
    assert from_contracts.client_renewals["X"] == 2 and from_contracts.client_renewals["Y"] == 0
    empty = ltv.retention_model(panel, contracts.iloc[0:0], lapse_quarters=LAPSE)
    assert empty.source == ltv.SOURCE_PANEL
    # leaving the first cohort (possibly left-truncated) out of the fit: 2024Q2 only, no churn
    later = ltv.retention_model(panel, contracts, lapse_quarters=LAPSE, skip_first_cohort=True)
    assert later.fit["n_units"] == 1 and "2023Q1" in later.note
    assert len(later.survivors) == 2


# --------------------------------------------------------------------------- client LTV

def test_client_ltv_by_hand():
    a, b, year_d = 1.0, 3.0, 0.1
    model = ltv.RetentionModel(source="hand", period_quarters=1,
                               fit=pd.Series({"alpha": a, "beta": b}),
                               survivors=pd.DataFrame(),
                               client_renewals=pd.Series({"A": 2.0, "B": 0.0}))
    client_pnl = pd.DataFrame({
        "client_id": ["A", "B", "C", "D"], "client_name": ["A", "B", "C", "D"],
        "status": ["active", "active", "exited", "active"],
        "margin": [1000.0, -50.0, 300.0, np.nan],
        "margin_per_quarter_last4": [100.0, -20.0, 10.0, np.nan],
        "tenure_quarters": [3, 1, 6, 5],
    })
    out = ltv.client_ltv(client_pnl, model, year_d).set_index("client_id")
    d = 1.1 ** 0.25 - 1
    # A has made 2 renewals (n = 3): sum_{t>=3} S(t)/S(2) / (1+d)^(t-3)
    derl_a, ratio = 0.0, 1.0
    for t in range(3, 3000):
        ratio *= (b + t - 1) / (a + b + t - 1)  # S(t)/S(2)
        derl_a += ratio / (1 + d) ** (t - 3)
    assert out.loc["A", "expected_periods"] == pytest.approx(derl_a, rel=1e-8)
    assert out.loc["A", "retention_next"] == pytest.approx((b + 2) / (a + b + 2))
    assert out.loc["A", "ltv_projected"] == pytest.approx(100 * derl_a, rel=1e-8)
    assert out.loc["A", "ltv_total"] == pytest.approx(1000 + 100 * derl_a, rel=1e-8)
    # B loses money: projected LTV is negative if nothing changes
    assert out.loc["B", "ltv_projected"] < 0
    # C has gone: nothing more to come
    assert out.loc["C", "ltv_projected"] == 0 and out.loc["C", "ltv_total"] == 300
    # D's margin is not measured: its LTV stays NULL
    assert math.isnan(out.loc["D", "ltv_projected"]) and math.isnan(out.loc["D", "ltv_total"])
    # D had no renewal history: tenure 5 quarters -> 4 renewals
    assert out.loc["D", "renewals"] == 4
    assert (out["retention_source"] == "hand").all()
    # a two-year horizon counts the next 8 quarters only
    capped = ltv.client_ltv(client_pnl, model, year_d, horizon_years=2).set_index("client_id")
    derl_8, ratio = 0.0, 1.0
    for t in range(3, 11):
        ratio *= (b + t - 1) / (a + b + t - 1)
        derl_8 += ratio / (1 + d) ** (t - 3)
    assert capped.loc["A", "expected_periods"] == pytest.approx(derl_8, rel=1e-10)


def test_client_ltv_discounts_a_yearly_renewal_period_at_the_yearly_rate():
    """Contracts renewed once a year: a period is four quarters, so its margin is four quarters'
    and each renewal is a year away, discounted at the yearly rate (1.1, not 1.1 ** 0.25)."""
    a, b, year_d = 1.0, 3.0, 0.1
    model = ltv.RetentionModel(source="hand", period_quarters=4, fit=pd.Series({"alpha": a, "beta": b}),
                               survivors=pd.DataFrame(), client_renewals=pd.Series({"A": 1.0}))
    client_pnl = pd.DataFrame({"client_id": ["A", "B"], "client_name": ["A", "B"], "status": ["active", "active"],
                               "margin": [0.0, 0.0], "margin_per_quarter_last4": [100.0, 100.0],
                               "tenure_quarters": [8, 9]})
    out = ltv.client_ltv(client_pnl, model, year_d).set_index("client_id")
    # A has made 1 renewal (n = 2): sum_{t>=2} S(t)/S(1) / 1.1^(t-2), each period a year of margin
    derl, ratio = 0.0, 1.0
    for t in range(2, 3000):
        ratio *= (b + t - 1) / (a + b + t - 1)
        derl += ratio / 1.1 ** (t - 2)
    assert out.loc["A", "margin_per_period"] == 400.0
    assert out.loc["A", "expected_periods"] == pytest.approx(derl, rel=1e-8)
    assert out.loc["A", "ltv_projected"] == pytest.approx(400.0 * derl, rel=1e-8)
    # B has no renewal history: 9 quarters are 3 periods begun, so 2 renewals made
    assert out.loc["B", "renewals"] == 2
    # a two-year horizon is two yearly periods
    capped = ltv.client_ltv(client_pnl, model, year_d, horizon_years=2).set_index("client_id")
    two = (b + 1) / (a + b + 1) * (1 + (b + 2) / (a + b + 2) / 1.1)
    assert capped.loc["A", "expected_periods"] == pytest.approx(two, rel=1e-10)


def test_ltv_end_to_end_from_panel():
    rng = np.random.default_rng(5)
    rows = []
    for c in range(120):
        first = 8096 + int(rng.integers(0, 8))
        life = int(rng.geometric(0.15))
        for qi in range(first, 8104):
            active = qi < first + life
            rows.append({"client_id": f"c{c}", "client_name": f"${c}", "quarter_index": qi,
                         "quarter": f"{qi // 4}Q{qi % 4 + 1}", "is_active": active,
                         "revenue": 100.0 * active, "delivery_cost": 60.0 * active})
    panel = pd.DataFrame(rows)
    cp = pnl.client_pnl(panel, 0.1, overhead_base=PARAMS.overhead_base,
                        lapse_quarters=PARAMS.lapse_quarters)
    model = ltv.retention_model(panel, lapse_quarters=PARAMS.lapse_quarters)
    assert model.fit["converged"]
    out = ltv.client_ltv(cp, model, 0.1)
    assert len(out) == 120
    alive = out["status"] == "active"
    assert (out.loc[alive, "ltv_projected"] > 0).all()
    assert (out.loc[~alive, "ltv_projected"] == 0).all()
    # survivors become more loyal: retention_next rises with renewals made
    by_age = out[alive].groupby("renewals")["retention_next"].first()
    assert by_age.is_monotonic_increasing
