"""The Markov chain over spiral phases: estimation, intervals, revenue per state, lifetime value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spiral_fixtures import TRUE_P

from clientlens.analysis import markov as mk
from clientlens.analysis import spiral as sp
from clientlens.parameters import load

PARAMS = load()
CHURN = PARAMS.spiral.churn_after_quarters
NAMES = ["feature", "ux", "stability", "support", "churned"]


@pytest.fixture(scope="module")
def simulated():
    panel = mk.simulate_panel(TRUE_P, n_clients=2000, n_quarters=12, seed=2,
                              start_probs=[0.4, 0.2, 0.2, 0.2, 0.0])
    states = sp.client_states(panel, churn_after_quarters=CHURN)
    return panel, states


def test_states_recover_the_planted_phases(simulated):
    panel, states = simulated
    merged = states.merge(panel[["client_id", "quarter_index", "true_state"]], on=["client_id", "quarter_index"])
    assert (merged["state"] == merged["true_state"]).all()


def test_fit_recovers_known_matrix(simulated):
    _, states = simulated
    chain = mk.fit_chain(states)
    P = mk.transition_matrix(chain)
    assert list(P.index) == NAMES  # no dormant quarters in this data: no dormant state
    assert np.abs(P.to_numpy() - TRUE_P).max() < 0.03
    assert np.allclose(P.sum(axis=1), 1)
    # counts are the observed moves; the MLE is count / row total
    row = chain[chain.from_state == "feature"]
    assert row["count"].sum() == row["from_total"].iloc[0]
    assert np.allclose(row["p"], row["count"] / row["from_total"])


def test_intervals_contain_the_truth(simulated):
    _, states = simulated
    chain = mk.fit_chain(states, ci=0.95)
    lo = mk.transition_matrix(chain, "p_low").to_numpy()[:4]
    hi = mk.transition_matrix(chain, "p_high").to_numpy()[:4]
    inside = (lo <= TRUE_P[:4]) & (TRUE_P[:4] <= hi)
    assert inside.mean() >= 0.85  # one draw of 20 cells; calibration is checked over many draws below
    assert (hi - lo).max() < 0.05  # thousands of moves per row: narrow
    assert (lo <= mk.transition_matrix(chain).to_numpy()[:4]).all()
    assert (chain["ci_level"] == 0.95).all()


def test_a_chain_fitted_without_a_level_has_no_intervals(simulated):
    _, states = simulated
    bare = mk.fit_chain(states)
    fitted = mk.fit_chain(states, ci=PARAMS.spiral.transition_ci)
    assert bare[["p_low", "p_high", "ci_level"]].iloc[:-len(NAMES)].isna().all().all()
    pd.testing.assert_frame_equal(bare.drop(columns=["p_low", "p_high", "ci_level"]),
                                  fitted.drop(columns=["p_low", "p_high", "ci_level"]))


def test_interval_coverage_over_repeated_small_samples():
    """With few clients the intervals are wide, and still cover the truth about as often as promised."""
    hits, total = 0, 0
    for seed in range(20):
        panel = mk.simulate_panel(TRUE_P, n_clients=40, n_quarters=6, seed=100 + seed)
        chain = mk.fit_chain(sp.client_states(panel, churn_after_quarters=CHURN), ci=0.9)
        lo = mk.transition_matrix(chain, "p_low").to_numpy()[:4]
        hi = mk.transition_matrix(chain, "p_high").to_numpy()[:4]
        hits += int(((lo <= TRUE_P[:4]) & (TRUE_P[:4] <= hi)).sum())
        total += lo.size
    assert 0.8 <= hits / total <= 0.99


def test_dormant_state_appears_only_when_the_data_has_it():
    rows = []
    for cid, phases in (("a", ["feature", None, "ux"]), ("b", ["feature", "ux", "stability"])):
        for i, p in enumerate(phases):
            rows.append({"client_id": cid, "quarter_index": 8096 + i, "hours": 1.0 if p else 0.0,
                         "billable_value": 10.0 if p else 0.0, "revenue": 10.0 if p else 0.0,
                         **{f"value_{q}": (10.0 if q == p else 0.0) for q in sp.PHASES}})
    states = sp.client_states(pd.DataFrame(rows), churn_after_quarters=CHURN)
    chain = mk.fit_chain(states)
    assert "dormant" in set(chain.from_state)
    P = mk.transition_matrix(chain)
    assert P.loc["dormant", "ux"] == 1.0 and P.loc["feature", "dormant"] == 0.5
    no_dormant = mk.fit_chain(states, include_dormant=False)
    assert "dormant" not in set(no_dormant.to_state)
    assert mk.transition_matrix(no_dormant).loc["feature", "ux"] == 1.0  # the move via dormant is dropped


def test_unobserved_row_falls_back_to_the_prior():
    rows = [{"client_id": "a", "quarter_index": 8096 + i, "hours": 1.0, "billable_value": 1.0,
             "revenue": 1.0, **{f"value_{q}": (1.0 if q == "feature" else 0.0) for q in sp.PHASES}}
            for i in range(3)]
    chain = mk.fit_chain(sp.client_states(pd.DataFrame(rows), churn_after_quarters=CHURN))
    P = mk.transition_matrix(chain)
    assert P.loc["support"].to_numpy() == pytest.approx(np.full(5, 0.2))  # never seen: uniform prior mean
    assert P.loc["feature", "feature"] == 1.0


def test_state_revenue_and_scales(simulated):
    _, states = simulated
    chain = mk.fit_chain(states)
    rev = mk.state_revenue(states, chain).set_index("state")
    assert list(rev.index) == NAMES
    assert rev.loc["churned", "revenue_mean"] == 0
    # the simulation bills 100k/60k/45k/25k x a lognormal size with mean exp(0.6^2/2)
    size = np.exp(0.6 ** 2 / 2)
    for s, r in (("feature", 100_000), ("ux", 60_000), ("stability", 45_000), ("support", 25_000)):
        assert rev.loc[s, "revenue_mean"] == pytest.approx(r * size, rel=0.08)
    scales = mk.client_scales(states, rev.reset_index())
    assert scales["scale"].gt(0).all() and len(scales) == states["client_id"].nunique()
    assert 0.25 <= scales["shrink_quarters"].iloc[0] <= 20


def test_client_scales_by_hand():
    states = pd.DataFrame({
        "client_id": ["a", "a", "b", "c"], "state": ["feature", "ux", "feature", "churned"],
        "revenue": [200.0, 100.0, 50.0, 0.0]})
    rev = pd.DataFrame({"state": ["feature", "ux", "churned"], "revenue_mean": [100.0, 50.0, 0.0]})
    s = mk.client_scales(states, rev, shrink_quarters=2).set_index("client_id")
    assert s.loc["a", "ratio"] == pytest.approx(2.0)
    assert s.loc["a", "scale"] == pytest.approx((2 * 2.0 + 2) / 4)
    assert s.loc["b", "scale"] == pytest.approx((1 * 0.5 + 2) / 3)
    assert s.loc["c", "scale"] == 1.0 and s.loc["c", "quarters"] == 0


def test_quarterly_discount_rate():
    d = mk.quarterly_discount_rate(0.10)
    assert (1 + d) ** 4 == pytest.approx(1.10)
    assert d == pytest.approx(0.024114, abs=1e-6)


def test_clv_closed_form_equals_the_limit_of_the_finite_sum():
    d = mk.quarterly_discount_rate(0.10)
    R = np.array([100.0, 60.0, 45.0, 25.0, 0.0])
    closed = mk.clv_closed_form(TRUE_P, R, d)
    sums = [mk.clv_finite_sum(TRUE_P, R, d, T) for T in (1, 10, 50, 400)]
    assert sums[0] == pytest.approx(R)
    gaps = [np.abs(s - closed).max() for s in sums]
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]  # converges monotonically
    assert gaps[-1] < 1e-8
    assert closed[-1] == 0  # churned is worth nothing


@pytest.mark.parametrize("margin,r,d", [(100.0, 0.8, 0.1), (250.0, 0.95, 0.024), (1.0, 0.0, 0.05)])
def test_clv_two_states_reduces_to_the_textbook_formula(margin, r, d):
    P = np.array([[r, 1 - r], [0.0, 1.0]])
    V = mk.clv_closed_form(P, np.array([margin, 0.0]), d)
    assert V[0] == pytest.approx(margin * (1 + d) / (1 + d - r))


def test_state_and_client_clv(simulated):
    _, states = simulated
    chain = mk.fit_chain(states)
    rev = mk.state_revenue(states, chain)
    sv = mk.state_clv(chain, rev, yearly_discount_rate=0.10).set_index("state")
    P = mk.transition_matrix(chain).to_numpy()
    R = rev.set_index("state")["revenue_mean"].to_numpy()
    d = mk.quarterly_discount_rate(0.10)
    assert np.allclose(sv["clv"], mk.clv_closed_form(P, R, d))
    assert np.allclose(sv["future_value"], sv["clv"] - sv["value_per_quarter"])
    # churn is ~10% a quarter everywhere: about 10 quarters expected
    assert sv.loc["feature", "expected_quarters"] == pytest.approx(10, rel=0.1)
    half = mk.state_clv(chain, rev, 0.10, margin=0.5).set_index("state")
    assert np.allclose(half["clv"], sv["clv"] / 2)
    cc = mk.client_clv(states, chain, rev, yearly_discount_rate=0.10)
    live = cc[cc.state != "churned"]
    assert (live["clv"] > 0).all() and (cc.loc[cc.state == "churned", "clv"] == 0).all()
    first = live.iloc[0]
    assert first["clv"] == pytest.approx(sv.loc[first["state"], "clv"] * first["scale"])


def test_start_state_of_an_exited_client_is_churned():
    rows = [{"client_id": "a", "quarter_index": 8096 + i, "hours": 1.0, "billable_value": 1.0, "revenue": 1.0,
             "exited": i == 1, **{f"value_{q}": (1.0 if q == "ux" else 0.0) for q in sp.PHASES}}
            for i in range(2)]
    rows.append({"client_id": "b", "quarter_index": 8096, "hours": 1.0, "billable_value": 1.0, "revenue": 1.0,
                 "exited": False, **{f"value_{q}": (1.0 if q == "ux" else 0.0) for q in sp.PHASES}})
    st = sp.client_states(pd.DataFrame(rows), churn_after_quarters=2)  # one silent quarter is not churn
    start = mk.start_states(st).set_index("client_id")["state"]
    assert start["a"] == "churned"
    assert start["b"] == "dormant"  # one silent quarter at the end
    assert mk.start_states(st, NAMES).set_index("client_id")["state"]["b"] == "ux"  # no dormant in the chain
