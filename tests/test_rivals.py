"""Issue #27: seasons, each client's trend, the rolling backtest against simple rivals, and ranges
calibrated on its errors, checked against planted truth and hand computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spiral_fixtures import TRUE_P

from clientlens.analysis import forecast as fc
from clientlens.analysis import markov as mk
from clientlens.analysis import rivals
from clientlens.analysis import spiral as sp
from clientlens.analysis.seasons import season_factors
from clientlens.parameters import load

PARAMS = load()
CFG = rivals.settings(PARAMS)
PLANTED_SEASON = np.array([0.75, 1.0, 0.85, 1.4])  # quarter of the year 1..4


def base_panel(seed: int, clients: int = 300) -> pd.DataFrame:
    return mk.simulate_panel(TRUE_P, n_clients=clients, n_quarters=12, seed=seed, staggered=False,
                             start_probs=[0.7, 0.1, 0.1, 0.1, 0.0])


def with_client(panel: pd.DataFrame, client_id: str, revenue: list[float]) -> pd.DataFrame:
    """A client in support every quarter of the panel, billing `revenue` (one per quarter)."""
    quarters = sorted(panel["quarter_index"].unique())
    template = panel.iloc[[0] * len(quarters)].copy()
    template["client_id"], template["client_name"] = client_id, client_id
    template["quarter_index"] = quarters
    template["quarter"] = [sp.quarter_label(q) for q in quarters]
    template["exited"], template["exit_reason"], template["is_active"] = False, np.nan, True
    template["revenue"] = template["billable_value"] = revenue
    template["hours"] = np.asarray(revenue) / 100
    for kind in ("feature", "ux", "stability", "other"):
        template[f"value_{kind}"] = 0.0
    template["value_support"] = revenue
    return pd.concat([panel, template], ignore_index=True)


@pytest.fixture(scope="module")
def falling():
    flat = [700_000.0] * 12
    fall = [700_000.0] * 8 + [600_000.0, 500_000.0, 430_000.0, 370_000.0]
    panel = with_client(with_client(base_panel(3), "flat", flat), "falling", fall)
    return sp.client_states(panel, churn_after_quarters=CFG.churn_after_quarters)


def test_a_client_falling_for_four_quarters_is_forecast_to_keep_falling(falling):
    ahead = rivals.chain_expectation(falling, 4, None, CFG.trend).pivot(index="client_id", columns="horizon",
                                                                         values="chain")
    whole_history = rivals.chain_expectation(falling, 4, None, None).pivot(index="client_id", columns="horizon",
                                                                            values="chain")
    share = ahead.loc["falling"] / ahead.loc["flat"]
    # same phase, same chain: the falling client is forecast below the flat one, ever further below
    assert (share < 0.75).all() and share.is_monotonic_decreasing, share
    # and below what its whole history says (the issue: 635k a quarter from a client billing 370k)
    assert (ahead.loc["falling"] < whole_history.loc["falling"]).all()
    # the flat client's forecast does not move with the trend
    assert ahead.loc["flat"].to_numpy() == pytest.approx(whole_history.loc["flat"].to_numpy(), rel=0.1)


def test_a_falling_clients_lifetime_value_falls_with_it(falling):
    chain = mk.fit_chain(falling)
    rev = mk.state_revenue(falling, chain)
    value = lambda scales: mk.client_clv(falling, chain, rev, scales, yearly_discount_rate=0.1).set_index(  # noqa: E731
        "client_id")["future_value"]
    trended, whole = value(rivals.trend_scales(falling, CFG)), value(None)
    assert trended["falling"] < 0.7 * trended["flat"]
    assert trended["falling"] < whole["falling"]
    assert trended["flat"] == pytest.approx(whole["flat"], rel=0.1)


def seasonal_states(seasons: bool):
    panel = base_panel(5, clients=400)
    factor = PLANTED_SEASON[panel["quarter_index"].to_numpy() % 4] if seasons else 1.0
    for col in ("revenue", "billable_value"):
        panel[col] = panel[col] * factor
    return sp.client_states(panel, churn_after_quarters=CFG.churn_after_quarters)


@pytest.fixture(scope="module")
def seasonal():
    return seasonal_states(True)


def test_the_seasons_are_found_in_the_firms_own_history(seasonal):
    history = fc.portfolio_history(seasonal).set_index("quarter_index")["revenue"]
    found = season_factors(history, min_quarters=8, shrink_years=0.0)["factor"].to_numpy()
    assert found == pytest.approx(PLANTED_SEASON / PLANTED_SEASON.mean(), abs=0.06)
    # shorter than two years: no seasons; shrinkage pulls toward 1
    assert (season_factors(history.iloc[:7], min_quarters=8, shrink_years=0.25)["factor"] == 1).all()
    shrunk = season_factors(history, min_quarters=8, shrink_years=1.0)["factor"].to_numpy()
    assert np.all(np.abs(shrunk - 1) < np.abs(found - 1))


def test_the_forecast_carries_the_season(seasonal):
    """The same firm with and without the planted seasons: the forecast of each quarter differs by
    that quarter's planted factor."""
    with_seasons = rivals.method_forecasts(seasonal, CFG)[1].set_index("quarter_index")["chain"]
    without = rivals.method_forecasts(seasonal_states(False), CFG)[1].set_index("quarter_index")["chain"]
    planted = PLANTED_SEASON[with_seasons.index.to_numpy() % 4] / PLANTED_SEASON.mean()
    assert (with_seasons / without).to_numpy() == pytest.approx(planted, rel=0.12)


def test_the_range_is_the_level_asked_for_by_hand():
    """101 relative errors 0.00, 0.01, ..., 1.00 at horizon 1: the 80% range runs from the 10th
    to the 90th percentile, 0.10 to 0.90 (a 90% range would be 0.05 to 0.95)."""
    errors = np.arange(101) / 100
    forecast = np.full(101, 1000.0)
    q = rivals.relative_range(forecast * (1 + errors), forecast, np.ones(101), [0.8, 0.95])
    assert q[0.8] == pytest.approx((0.10, 0.90))
    # the 95% range has 2.5 errors in each tail, too few to read a quantile off: a t interval
    half = 1.98397 * np.std(errors, ddof=1) * np.sqrt(1 + 1 / 101)  # t(100, 0.975), from a table
    assert q[0.95] == pytest.approx((0.5 - half, 0.5 + half), rel=1e-4)
    # four quarters ahead the errors scale by sqrt(4) = 2: 1000 x (1 + 2 x 0.10), 1000 x (1 + 2 x 0.90)
    lo, hi = rivals.apply_range([1000.0], [4], q[0.8])
    assert (lo[0], hi[0]) == pytest.approx((1200.0, 2800.0))
    # errors taken at horizon 4 are divided by 2 before they pool
    q4 = rivals.relative_range(forecast * (1 + errors), forecast, np.full(101, 4), [0.8])
    assert q4[0.8] == pytest.approx((0.05, 0.45))


def test_a_range_from_few_errors_is_the_t_prediction_interval_by_hand():
    """Ten errors: mean 0.045, sd 0.0302765; t(9, 0.9) = 1.383029 from a table; the 80% range is
    mean -+ 1.383029 x sd x sqrt(1 + 1/10). (A 90% one would take t(9, 0.95) = 1.833113.)"""
    errors = np.arange(10) / 100
    q = rivals.relative_range(1 + errors, np.ones(10), np.ones(10), [0.8])[0.8]
    half = 1.383029 * 0.0302765 * np.sqrt(1.1)
    assert q == pytest.approx((0.045 - half, 0.045 + half), rel=1e-5)


def test_the_monte_carlo_range_is_the_level_asked_for_by_hand():
    """One client that never leaves its phase, billing 1..12 thousand over 12 quarters: every
    simulated quarter bills one of those, equally likely. P(X <= 1k) = 1/12 < 10% <= P(X <= 2k), so
    the 80% range runs from 2k to 11k; a 90% range, from 1k to 12k."""
    values = np.arange(1.0, 13.0) * 1000
    panel = with_client(base_panel(1, clients=40), "one", list(values))
    states = sp.client_states(panel[panel["client_id"] == "one"], churn_after_quarters=CFG.churn_after_quarters)
    f = fc.monte_carlo_forecast(states, horizon=1, runs=20_000, seed=1, levels=[0.8, 0.95],
                                parameter_uncertainty=False)
    row = f.portfolio.iloc[0]
    assert (row["revenue_lo_80"], row["revenue_hi_80"]) == pytest.approx((2000.0, 11000.0))
    assert (row["revenue_lo_95"], row["revenue_hi_95"]) == pytest.approx((1000.0, 12000.0))


def test_the_backtest_sees_nothing_after_its_cutoff():
    """Ten times the revenue in the last quarter changes what the forecasts are scored against,
    never a forecast made before it."""
    panel = base_panel(7, clients=120)
    end = panel["quarter_index"].max()
    louder = panel.assign(revenue=np.where(panel["quarter_index"] == end, panel["revenue"] * 10, panel["revenue"]))
    cfg = CFG._replace(cutoffs=3)
    a, b = rivals.rolling_backtest(panel, cfg), rivals.rolling_backtest(louder, cfg)
    assert a.portfolio["cutoff"].nunique() == 3
    pd.testing.assert_frame_equal(a.portfolio[list(rivals.METHODS)], b.portfolio[list(rivals.METHODS)])
    last = a.portfolio["quarter_index"] == end
    assert b.portfolio.loc[last, "actual"].to_numpy() == pytest.approx(10 * a.portfolio.loc[last, "actual"].to_numpy())


def test_the_published_forecast_says_what_it_is_and_sits_beside_the_actuals(seasonal):
    published = rivals.published_forecast(seasonal, None, CFG)
    history = fc.portfolio_history(seasonal).set_index("quarter_index")["revenue"]
    end = history.index.max()
    first = published.iloc[0]
    assert first["scope"] == "existing clients, no new business" and first["method"] == "chain"
    assert first["last_quarter"] == sp.quarter_label(end) and first["last_quarter_revenue"] == history[end]
    assert first["year_before_quarter"] == sp.quarter_label(end - 3)
    assert first["year_before_revenue"] == history[end - 3]
    assert first["revenue_mean"] == first["revenue_chain"]
    # no backtest, no calibrated range: not measured rather than a made-up one
    assert np.isnan(first["revenue_lo_80"]) and np.isnan(first["coverage_80"])


def test_a_short_history_says_why_there_is_no_backtest():
    panel = base_panel(9, clients=30)
    short = panel[panel["quarter_index"] < panel["quarter_index"].min() + 4]
    check, why = rivals.backtest_if_possible(short, CFG)
    assert check is None and "a year of history" in why
    assert "год истории" in rivals.backtest_if_possible(short, CFG, "ru")[1]
    # a year and a quarter: one cut-off, the seasonal naive's year behind it
    longer = panel[panel["quarter_index"] < panel["quarter_index"].min() + 5]
    check, why = rivals.backtest_if_possible(longer, CFG)
    assert why == "" and check.summary["cutoffs"].eq(1).all()
    no_money = panel.assign(revenue=np.nan)
    assert rivals.backtest_if_possible(no_money, CFG) == (None, "revenue is not measured")
