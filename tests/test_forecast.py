"""Monte Carlo forecast, backtest against the naive baseline, and the avoid-a-mistake scenario."""
from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from spiral_fixtures import TRUE_P

from clientlens.analysis import forecast as fc
from clientlens.analysis import markov as mk
from clientlens.analysis import spiral as sp
from clientlens.parameters import load

matplotlib.use("Agg")

PARAMS = load()
CHURN = PARAMS.spiral.churn_after_quarters
# The tests read four quarters ahead and the 80% and 95% columns by name.
HORIZON, LEVELS = 4, (0.8, 0.95)
SCENARIO = dict(horizon=PARAMS.forecast_quarters, level=PARAMS.spiral.interval_levels[0],
                churn_after_quarters=CHURN, mistake_params=sp.mistake_thresholds(PARAMS))


@pytest.fixture(scope="module")
def panel():
    return mk.simulate_panel(TRUE_P, n_clients=800, n_quarters=12, seed=11, staggered=True,
                             start_probs=[0.7, 0.1, 0.1, 0.1, 0.0])


@pytest.fixture(scope="module")
def states(panel):
    return sp.client_states(panel, churn_after_quarters=CHURN)


def test_same_seed_same_numbers(states):
    same = dict(horizon=PARAMS.forecast_quarters, levels=PARAMS.spiral.interval_levels, runs=300)
    a = fc.monte_carlo_forecast(states, seed=5, **same)
    b = fc.monte_carlo_forecast(states, seed=5, **same)
    c = fc.monte_carlo_forecast(states, seed=6, **same)
    pd.testing.assert_frame_equal(a.portfolio, b.portfolio)
    pd.testing.assert_frame_equal(a.clients, b.clients)
    assert not np.allclose(a.portfolio["revenue_mean"], c.portfolio["revenue_mean"])


def test_forecast_tables(states):
    f = fc.monte_carlo_forecast(states, horizon=HORIZON, runs=400, seed=1, levels=LEVELS)
    end = states["quarter_index"].max()
    p = f.portfolio
    assert list(p["quarter_index"]) == [end + 1, end + 2, end + 3, end + 4]
    assert list(p["quarter"]) == [sp.quarter_label(q) for q in p["quarter_index"]]
    assert (p["revenue_lo_95"] <= p["revenue_lo_80"]).all() and (p["revenue_lo_80"] <= p["revenue_mean"]).all()
    assert (p["revenue_mean"] <= p["revenue_hi_80"]).all() and (p["revenue_hi_80"] <= p["revenue_hi_95"]).all()
    assert p["live_clients_mean"].is_monotonic_decreasing  # churn is absorbing
    c = f.clients
    live = mk.start_states(states)
    assert set(c["client_id"]) == set(live.loc[live.state != "churned", "client_id"])
    probs = c[[col for col in c.columns if col.startswith("p_")]].sum(axis=1)
    assert np.allclose(probs, 1)
    # the portfolio is the sum of its clients
    assert np.allclose(c.groupby("horizon")["revenue_mean"].sum().to_numpy(), p["revenue_mean"].to_numpy())


def test_a_clients_range_over_the_horizon_covers_80_percent_of_its_futures(states):
    """The per-client range over the four quarters holds about 80% of independent futures.

    Each one-run forecast is one draw of every client's future (its own chain parameters and
    revenue noise), so its four quarters' sum is a draw of the total the range describes. The
    sum of the quarters' own 80% ranges is wider than that: it held some 93% of them.
    """
    chain = mk.fit_chain(states)
    rev = mk.state_revenue(states, chain)
    scales = mk.client_scales(states, rev)
    f = fc.monte_carlo_forecast(states, chain, rev, scales, horizon=HORIZON, runs=2000, seed=1, levels=LEVELS)
    ranges = f.clients.groupby("client_id")[["horizon_revenue_lo_80", "horizon_revenue_hi_80"]].first()
    draws = pd.concat([fc.monte_carlo_forecast(states, chain, rev, scales, horizon=HORIZON, runs=1,
                                               seed=1000 + k, levels=LEVELS).clients
                       .groupby("client_id")["revenue_mean"].sum() for k in range(120)], axis=1).loc[ranges.index]
    inside = draws.ge(ranges["horizon_revenue_lo_80"], axis=0) & draws.le(ranges["horizon_revenue_hi_80"], axis=0)
    assert 0.77 <= inside.to_numpy().mean() <= 0.88
    quarters = f.clients.groupby("client_id")[["revenue_lo_80", "revenue_hi_80"]].sum().loc[ranges.index]
    assert (ranges["horizon_revenue_lo_80"] >= quarters["revenue_lo_80"] - 1e-9).mean() > 0.95


def test_mean_matches_the_chain_expectation(states):
    chain = mk.fit_chain(states)
    rev = mk.state_revenue(states, chain)
    scales = mk.client_scales(states, rev)
    f = fc.monte_carlo_forecast(states, chain, rev, scales, horizon=HORIZON, runs=1500, seed=2, levels=LEVELS,
                                parameter_uncertainty=False, revenue_noise=False)
    P = mk.transition_matrix(chain).to_numpy()
    names = list(mk.transition_matrix(chain).index)
    mu = rev.set_index("state")["revenue_mean"].reindex(names).to_numpy()
    live = mk.start_states(states, names)
    live = live[live.state != "churned"]
    scale = live["client_id"].map(scales.set_index("client_id")["scale"]).to_numpy()
    dist = np.zeros((len(live), len(names)))
    dist[np.arange(len(live)), live["state"].map({n: i for i, n in enumerate(names)})] = 1
    for h in range(4):
        dist = dist @ P
        expected = float((scale[:, None] * dist * mu).sum())
        assert f.portfolio["revenue_mean"].iloc[h] == pytest.approx(expected, rel=0.015)


def test_backtest_beats_naive_on_a_simulated_chain(panel):
    bt = fc.backtest(panel, holdout=HORIZON, runs=500, seed=3, levels=LEVELS, churn_after_quarters=CHURN)
    s = bt.summary.set_index(["level", "model"])
    for level in ("portfolio", "client"):
        assert s.loc[(level, "markov"), "wape"] < s.loc[(level, "naive"), "wape"], level
        assert s.loc[(level, "markov"), "mae"] < s.loc[(level, "naive"), "mae"], level
        assert s.loc[(level, "markov"), "wape_skill"] > 0
    assert s.loc[("portfolio", "markov"), "wape"] < 0.1
    # intervals: roughly as wide as they claim for clients, and the portfolio actuals inside the 95% fan
    assert 0.65 <= s.loc[("client", "markov"), "coverage_80"] <= 0.95
    assert s.loc[("portfolio", "markov"), "coverage_95"] >= 0.75
    end = panel["quarter_index"].max()
    assert s.loc[("portfolio", "markov"), "cutoff"] == sp.quarter_label(end - 4)
    assert list(bt.portfolio["horizon"]) == [1, 2, 3, 4]
    assert np.allclose(bt.clients.groupby("quarter_index")["actual"].sum().to_numpy(), bt.portfolio["actual"])


def test_backtest_sees_no_future(panel):
    """A client that exits during the holdout is live at the cutoff, and its revenue after the exit is 0."""
    end = panel["quarter_index"].max()
    exits = panel[panel["exited"] & (panel["quarter_index"] > end - 4)]
    assert len(exits)
    bt = fc.backtest(panel, holdout=HORIZON, runs=200, seed=3, levels=LEVELS, churn_after_quarters=CHURN)
    cid = exits["client_id"].iloc[0]
    rows = bt.clients[bt.clients.client_id == cid]
    assert len(rows) == 4
    assert (rows.loc[rows.quarter_index >= exits["quarter_index"].iloc[0], "actual"] == 0).all()


def test_backtest_without_enough_history_says_so(panel):
    with pytest.raises(ValueError, match="no history up to"):
        fc.backtest(panel, holdout=40, runs=10, seed=PARAMS.seed, levels=LEVELS, churn_after_quarters=CHURN)


def _two_groups(bad_churn: float, good_churn: float = 0.05, equal_revenue: bool = True):
    good = np.array([[0.30, 0.50, 0.10, 0.05, 0.05], [0.02, 0.30, 0.60, 0.03, 0.05],
                     [0.05, 0.05, 0.30, 0.55, 0.05], [0.45, 0.05, 0.05, 0.40, 0.05], [0, 0, 0, 0, 1.0]])
    good[:4, 4] = good_churn
    good[:4, 3] += (0.05 - good_churn)
    keep = 1 - bad_churn
    bad = np.array([[0.30, 0.50, 0.10, 0.10], [0.45, 0.20, 0.00, 0.35], [0.05, 0.05, 0.30, 0.60],
                    [0.45, 0.05, 0.05, 0.45]])
    bad = np.c_[bad / bad.sum(axis=1, keepdims=True) * keep, np.full(4, bad_churn)]
    bad = np.r_[bad, [[0, 0, 0, 0, 1.0]]]
    rev = {p: 50_000 for p in sp.PHASES} if equal_revenue else None
    a = mk.simulate_panel(good, n_clients=500, n_quarters=10, seed=21, revenue_by_state=rev)
    b = mk.simulate_panel(bad, n_clients=300, n_quarters=10, seed=22, revenue_by_state=rev)
    b["client_id"] = "bad-" + b["client_id"]
    return pd.concat([a, b], ignore_index=True)


def test_scenario_avoiding_a_costly_mistake_raises_revenue():
    panel = _two_groups(bad_churn=0.25)
    s = fc.scenario_avoid_mistake(panel, "no_stabilisation", runs=300, seed=4, **SCENARIO)
    par = s.parameters.set_index("name")["value"]
    assert par["churn_with"] > par["churn_without"] and bool(par["churn_reduced"])
    assert (s.portfolio["difference_mean"] > 0).all()
    assert (s.portfolio["scenario_mean"] > s.portfolio["baseline_mean"]).all()
    assert s.portfolio["difference_mean"].is_monotonic_increasing  # kept clients add up
    assert "UX -> functionality/support becomes UX -> stability" in s.assumption
    assert "upper bound" in s.assumption


def test_scenario_for_a_non_sequence_mistake_moves_churn_only():
    panel = _two_groups(bad_churn=0.20)
    panel["communicator_role"] = np.where(panel["client_id"].str.startswith("bad"), "technical", "account_manager")
    s = fc.scenario_avoid_mistake(panel, "technical_communicator", runs=200, seed=4, **SCENARIO)
    par = s.parameters.set_index("name")["value"]
    assert par["rerouted"].startswith("none")
    assert par["clients_detected"] == panel.loc[panel.client_id.str.startswith("bad"), "client_id"].nunique()
    assert par["churn_with"] == pytest.approx(0.20, abs=0.03) and par["churn_without"] == pytest.approx(0.05, abs=0.02)
    assert (s.portfolio["difference_mean"] > 0).all()


def test_scenario_without_excess_churn_changes_nothing():
    panel = _two_groups(bad_churn=0.01)  # the "mistake" clients churn less than the others
    panel["communicator_role"] = np.where(panel["client_id"].str.startswith("bad"), "technical", "account_manager")
    s = fc.scenario_avoid_mistake(panel, "technical_communicator", runs=200, seed=4, **SCENARIO)
    par = s.parameters.set_index("name")["value"]
    assert not bool(par["churn_reduced"]) and "churn unchanged" in s.assumption
    # the same random numbers and nothing to change: the scenario is the baseline, exactly
    assert np.allclose(s.portfolio["difference_mean"], 0)


def test_scenario_rejects_unknown_mistakes(panel):
    with pytest.raises(ValueError, match="unknown mistake"):
        fc.scenario_avoid_mistake(panel, "being_late", runs=10, seed=PARAMS.seed, **SCENARIO)


def test_scenario_needs_the_mistakes_or_their_thresholds(panel):
    with pytest.raises(ValueError, match="mistake_params"):
        fc.scenario_avoid_mistake(panel, "no_stabilisation", runs=10, seed=PARAMS.seed,
                                  **{**SCENARIO, "mistake_params": None})


def test_portfolio_history_and_fan_chart(states, panel):
    from matplotlib.figure import Figure

    from clientlens.publishing.plots.spiral_plots import forecast_fan_chart

    hist = fc.portfolio_history(states)
    assert hist["revenue"].sum() == pytest.approx(panel["revenue"].sum())
    assert (hist["live_clients"] + hist["churned_clients"]).is_monotonic_increasing
    levels = PARAMS.spiral.interval_levels
    f = fc.monte_carlo_forecast(states, horizon=PARAMS.forecast_quarters, runs=200, seed=1, levels=levels)
    bt = fc.backtest(panel, holdout=PARAMS.spiral.backtest_quarters, runs=200, seed=1, levels=levels,
                     churn_after_quarters=CHURN)
    fig = forecast_fan_chart(hist, f.portfolio, bt.portfolio, levels=levels)
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")
