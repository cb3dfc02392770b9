"""The chain's forecast against simple rivals: a rolling backtest, calibrated ranges, the headline.

- `method_forecasts`: at one cut-off, the expected revenue of every client live then (existing
  clients, no new business) by each method, for the quarters after it:
  chain         the Markov chain's expectation: each client's phase moves by the chain, its revenue
                is the phase's mean x its recent level and direction (forecast.Trend) x the season
                (seasons.season_factors); exact, no simulation, so a backtest costs one fit per
                cut-off, not cut-offs x runs x clients;
  naive         each client's revenue in the cut-off quarter;
  seasonal_naive  each client's revenue in the same quarter a year before (its cut-off revenue
                when it was not a client then);
  ets           portfolio only: Holt-Winters exponential smoothing (statsmodels; damped additive
                trend, multiplicative seasons once there are two years) of the firm's revenue,
                times the cohort's share of the cut-off quarter's revenue;
  combination   portfolio only: the mean of chain, seasonal naive and ets.
- `rolling_backtest`: the same at several cut-offs (rolling origin, Tashman 2000): each cut-off
  sees only rows up to it; scored on what the cohort then billed.
- `relative_range` / `apply_range`: ranges calibrated on the backtest's relative errors
  (actual / forecast - 1, divided by sqrt(horizon) so that every horizon's errors pool): their
  empirical quantiles (split conformal) when there are enough errors in each tail (clients), a
  Student-t prediction interval of the same errors when there are few (a portfolio's ten or so).
- `published_forecast`: the headline: the method with the lowest weighted error over the rolling
  backtest, its ranges calibrated on its own backtest errors, their coverage on the backtest, the
  last quarter's actual and the same quarter a year before.
"""
from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from clientlens.analysis.forecast import (
    NoBacktest,
    Trend,
    _errors,
    _pct,
    _prepare,
    portfolio_history,
)
from clientlens.analysis.markov import fit_chain, transition_matrix
from clientlens.analysis.seasons import season_factors
from clientlens.analysis.spiral import CHURNED, _quarter_index, _revenue, client_states, quarter_label
from clientlens.i18n import N_

METHODS = ("chain", "naive", "seasonal_naive", "ets", "combination")
CLIENT_METHODS = ("chain", "naive", "seasonal_naive")
SCOPE = N_("existing clients, no new business")
METHOD_LABELS = {"chain": N_("the chain, with seasons and each client's trend"), "naive": N_("naive"),
                 "seasonal_naive": N_("seasonal naive: the same quarter a year before"),
                 "ets": N_("exponential smoothing (Holt-Winters)"),
                 "combination": N_("mean of chain, seasonal naive and smoothing")}


class Settings(NamedTuple):
    """What a forecast needs from config/params.yaml (`settings(params)`)."""
    horizon: int
    levels: tuple[float, ...]
    churn_after_quarters: int
    season_min_quarters: int
    season_shrink_years: float
    trend: Trend
    cutoffs: int
    min_quarters: int


def settings(params: Any) -> Settings:
    s = params.spiral
    return Settings(horizon=int(params.forecast_quarters), levels=tuple(s.interval_levels),
                    churn_after_quarters=int(s.churn_after_quarters),
                    season_min_quarters=int(s.season_min_quarters), season_shrink_years=float(s.season_shrink_years),
                    trend=Trend(s.level_weight, s.trend_weight, s.trend_damping),
                    cutoffs=int(s.backtest_cutoffs), min_quarters=int(s.backtest_min_quarters))


class RollingBacktest(NamedTuple):
    summary: pd.DataFrame
    portfolio: pd.DataFrame
    clients: pd.DataFrame
    ranges: dict


def chain_expectation(states: pd.DataFrame, horizon: int, seasons: pd.DataFrame | None, trend: Trend | None,
                      prior: float = 0.5) -> pd.DataFrame:
    """Expected revenue of each live client h = 1..horizon quarters ahead, in closed form:
    size x season x (start state x P^h) . (state mean x mean residual), with P the chain's
    posterior mean. Columns: client_id, client_name, horizon, chain."""
    chain = fit_chain(states, prior=prior)
    chain, names, mu, size, live, pools = _prepare(states, chain, None, None, prior, horizon, seasons, trend)
    alpha = transition_matrix(chain, "alpha").to_numpy(dtype=float)
    P = np.nan_to_num(alpha) + 0.0
    c = names.index(CHURNED)
    P[c] = 0.0
    P[c, c] = 1.0
    P = P / P.sum(axis=1, keepdims=True)
    earn = mu * np.array([float(np.mean(p)) for p in pools])
    pi = np.zeros((len(live), len(names)))
    pi[np.arange(len(live)), live["state"].map({n: i for i, n in enumerate(names)}).to_numpy(dtype=int)] = 1.0
    rows = []
    for h in range(1, horizon + 1):
        pi = pi @ P
        rows.append(pd.DataFrame({"client_id": live["client_id"].to_numpy(),
                                  "client_name": live["client_name"].to_numpy(),
                                  "horizon": h, "chain": (pi @ earn) * size[:, h - 1]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["client_id", "client_name", "horizon", "chain"])


def ets_forecast(history: pd.Series, steps: int, season_min_quarters: int) -> np.ndarray:
    """Holt-Winters forecast of a quarterly series (statsmodels ExponentialSmoothing, damped
    additive trend, multiplicative seasons with `season_min_quarters` of history or more,
    parameters by maximum likelihood). NaN when the history is under a year or the fit fails."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = history.sort_index().to_numpy(dtype=float)
    if len(y) < 4 or not np.all(np.isfinite(y)) or (y <= 0).any():
        return np.full(steps, np.nan)
    seasonal = "mul" if len(y) >= max(season_min_quarters, 8) else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal=seasonal,
                                       seasonal_periods=4 if seasonal else None,
                                       initialization_method="estimated").fit()
            out = np.asarray(fit.forecast(steps), dtype=float)
    except (ValueError, np.linalg.LinAlgError):
        return np.full(steps, np.nan)
    return np.where(np.isfinite(out), np.clip(out, 0, None), np.nan)


def firm_seasons(states: pd.DataFrame, cfg: Settings) -> pd.DataFrame:
    """The firm's seasonal factors (seasons.season_factors) from its revenue in `states`."""
    history = portfolio_history(states).set_index("quarter_index")["revenue"]
    return season_factors(history, min_quarters=cfg.season_min_quarters, shrink_years=cfg.season_shrink_years)


def method_forecasts(states: pd.DataFrame, cfg: Settings, prior: float = 0.5):
    """(clients, portfolio, seasons) forecast from `states` (client_states up to a cut-off) for
    the next cfg.horizon quarters. clients: client_id, client_name, quarter_index, horizon, chain,
    naive, seasonal_naive; portfolio: quarter_index, horizon and every method of METHODS."""
    end = int(states["quarter_index"].max())
    history = portfolio_history(states).set_index("quarter_index")["revenue"]
    seasons = firm_seasons(states, cfg)
    clients = chain_expectation(states, cfg.horizon, seasons, cfg.trend, prior)
    clients["quarter_index"] = end + clients["horizon"]
    revenue = states.pivot(index="client_id", columns="quarter_index", values="revenue")
    last = revenue[end] if end in revenue.columns else pd.Series(dtype=float)
    clients["naive"] = clients["client_id"].map(last).fillna(0.0).to_numpy()
    year_before = np.full(len(clients), np.nan)
    for h in range(1, cfg.horizon + 1):
        q = end + h - 4
        rows = (clients["horizon"] == h).to_numpy()
        if q in revenue.columns and q <= end:
            year_before[rows] = clients.loc[rows, "client_id"].map(revenue[q]).to_numpy(dtype=float)
    clients["seasonal_naive"] = np.where(np.isfinite(year_before), year_before, clients["naive"])
    port = clients.groupby("horizon")[list(CLIENT_METHODS)].sum().reindex(range(1, cfg.horizon + 1), fill_value=0.0)
    cohort_now = float(clients.loc[clients["horizon"] == 1, "naive"].sum())
    share = cohort_now / float(history.get(end, np.nan)) if history.get(end, 0) > 0 else np.nan
    port["ets"] = ets_forecast(history, cfg.horizon, cfg.season_min_quarters) * share
    port["combination"] = port[["chain", "seasonal_naive", "ets"]].mean(axis=1, skipna=True)
    port = port.reset_index()
    port.insert(0, "quarter_index", end + port["horizon"])
    return clients, port, seasons


def _cutoffs(quarters: Sequence[int], end: int, cfg: Settings) -> list[int]:
    """The last cfg.cutoffs quarters before `end` with cfg.min_quarters of history behind them
    (a year, for the seasonal naive, when the history is too short for that)."""
    first = int(min(quarters))
    for need in (cfg.min_quarters, 4):
        cuts = [c for c in range(end - cfg.cutoffs, end) if c - first + 1 >= need]
        if cuts:
            return cuts
    return []


def rolling_backtest(panel: pd.DataFrame, cfg: Settings, *, period_end: str | int | None = None,
                     revenue_col: str = "revenue", prior: float = 0.5) -> RollingBacktest:
    """Forecast from each cut-off with what was known then, score against what the cohort billed.

    RollingBacktest.portfolio: cutoff, quarter, quarter_index, horizon, actual, one column per
    method. .clients: cutoff, client_id, client_name, quarter, quarter_index, horizon, actual,
    chain, naive, seasonal_naive. .summary: level, model, cutoffs, n, mae, mape, wape, wape_skill
    (1 - wape / naive's), coverage_XX (share of actuals inside the calibrated XX% range),
    coverage_XX_held_out (the same, each cut-off judged by a range calibrated without it).
    .ranges: {(level, model): {level: (q_lo, q_hi)}}, the calibration.
    """
    panel = panel.reset_index(drop=True)
    qi = _quarter_index(panel)
    end = int(qi.max()) if period_end is None else (
        int(period_end[:4]) * 4 + int(period_end[-1]) - 1 if isinstance(period_end, str) else int(period_end))
    cuts = _cutoffs(qi.unique(), end, cfg)
    if not cuts:
        raise NoBacktest(N_("it needs a year of history before the first quarter it checks; quarters in the data: {n}"),
                         n=int(qi.nunique()))
    actual_all = pd.DataFrame({"client_id": panel["client_id"].astype(str), "quarter_index": qi,
                               "actual": _revenue(panel, revenue_col).to_numpy()})
    actual_all = actual_all.groupby(["client_id", "quarter_index"], as_index=False)["actual"].sum()
    ports, clients = [], []
    for cut in cuts:
        train = panel[qi <= cut]
        states = client_states(train, period_end=cut, churn_after_quarters=cfg.churn_after_quarters,
                               revenue_col=revenue_col)
        cl, port, _ = method_forecasts(states, cfg, prior)
        cl = cl[cl["quarter_index"] <= end].merge(actual_all, on=["client_id", "quarter_index"], how="left")
        cl["actual"] = cl["actual"].fillna(0.0)
        cl.insert(0, "cutoff", quarter_label(cut))
        port = port[port["quarter_index"] <= end].copy()
        port["actual"] = port["quarter_index"].map(cl.groupby("quarter_index")["actual"].sum()).fillna(0.0)
        port.insert(0, "cutoff", quarter_label(cut))
        ports.append(port)
        clients.append(cl)
    port = pd.concat(ports, ignore_index=True)
    port.insert(1, "quarter", port["quarter_index"].map(quarter_label))
    port = port[["cutoff", "quarter", "quarter_index", "horizon", "actual", *METHODS]]
    grid = pd.concat(clients, ignore_index=True)
    grid.insert(3, "quarter", grid["quarter_index"].map(quarter_label))
    grid = grid[["cutoff", "client_id", "client_name", "quarter", "quarter_index", "horizon", "actual",
                 *CLIENT_METHODS]]
    rows, ranges = [], {}
    for level_name, frame, methods in (("portfolio", port, METHODS), ("client", grid, CLIENT_METHODS)):
        a, h = frame["actual"].to_numpy(dtype=float), frame["horizon"].to_numpy(dtype=int)
        for model in methods:
            f = frame[model].to_numpy(dtype=float)
            ok = np.isfinite(f)
            if not ok.any():
                continue
            q = relative_range(a[ok], f[ok], h[ok], cfg.levels)
            ranges[(level_name, model)] = q
            row = {"level": level_name, "model": model, "cutoffs": len(cuts), "n": int(ok.sum()),
                   **_errors(a[ok], f[ok])}
            cut = frame["cutoff"].to_numpy()[ok]
            for lv in cfg.levels:
                lo, hi = apply_range(f[ok], h[ok], q[lv])
                row[f"coverage_{_pct(lv)}"] = float(((a[ok] >= lo) & (a[ok] <= hi)).mean())
                row[f"coverage_{_pct(lv)}_held_out"] = _held_out_coverage(a[ok], f[ok], h[ok], cut, lv)
            rows.append(row)
    summary = pd.DataFrame(rows)
    naive_wape = summary[summary["model"] == "naive"].set_index("level")["wape"]
    summary["wape_skill"] = 1 - summary["wape"] / summary["level"].map(naive_wape)
    return RollingBacktest(summary, port, grid, ranges)


def _held_out_coverage(actual: np.ndarray, forecast: np.ndarray, horizon: np.ndarray, cutoff: np.ndarray,
                       level: float) -> float:
    """Coverage of the level range when each cut-off's outcomes are judged by a range calibrated
    on the other cut-offs' errors only (leave one cut-off out): what the range holds on outcomes
    it has not seen. NaN with a single cut-off."""
    inside = []
    for c in np.unique(cutoff):
        mine = cutoff == c
        q = relative_range(actual[~mine], forecast[~mine], horizon[~mine], [level])[level]
        if not np.all(np.isfinite(q)):
            continue
        lo, hi = apply_range(forecast[mine], horizon[mine], q)
        inside.extend(((actual[mine] >= lo) & (actual[mine] <= hi)).tolist())
    return float(np.mean(inside)) if inside else np.nan


# Beyond this many errors in each tail an empirical quantile is read off the data; with fewer it
# is the sample's extreme or near it, and a range built from it holds far less than it claims on
# outcomes it has not seen (leave-one-cut-off-out, 10 portfolio outcomes: 50-70% for "80%").
MIN_TAIL_ERRORS = 5


def relative_range(actual: np.ndarray, forecast: np.ndarray, horizon: np.ndarray,
                   levels: Sequence[float]) -> dict[float, tuple[float, float]]:
    """Per level, the (lo, hi) range of r = (actual / forecast - 1) / sqrt(horizon) over the
    forecasts above 0. With MIN_TAIL_ERRORS or more errors beyond each end: the empirical
    equal-tailed quantiles (split conformal). With fewer: the Student-t prediction interval of
    the same errors, mean -+ t(n-1, (1+level)/2) x sd x sqrt(1 + 1/n). NaN with fewer than two."""
    a, f, h = (np.asarray(x, dtype=float) for x in (actual, forecast, horizon))
    use = f > 0
    r = (a[use] / f[use] - 1.0) / np.sqrt(h[use])
    n = len(r)
    out = {}
    for lv in levels:
        tail = (1 - lv) / 2
        if n < 2:
            out[lv] = (np.nan, np.nan)
        elif n * tail >= MIN_TAIL_ERRORS:
            out[lv] = (float(np.quantile(r, tail)), float(np.quantile(r, 1 - tail)))
        else:
            half = float(student_t.ppf(1 - tail, n - 1) * r.std(ddof=1) * np.sqrt(1 + 1 / n))
            out[lv] = (float(r.mean()) - half, float(r.mean()) + half)
    return out


def apply_range(forecast, horizon, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """forecast x (1 + sqrt(horizon) x q), the low end floored at 0."""
    f, h = np.asarray(forecast, dtype=float), np.sqrt(np.asarray(horizon, dtype=float))
    return np.clip(f * (1 + h * q[0]), 0, None), f * (1 + h * q[1])


def best_method(summary: pd.DataFrame) -> str:
    """The portfolio method with the lowest weighted error over the rolling backtest (ties: the
    earlier in METHODS)."""
    port = summary[(summary["level"] == "portfolio") & summary["wape"].notna()].set_index("model")["wape"]
    return min(port.index, key=lambda m: (port[m], METHODS.index(m)))


def published_forecast(states: pd.DataFrame, check: RollingBacktest | None, cfg: Settings,
                       prior: float = 0.5) -> pd.DataFrame:
    """The headline forecast of the existing clients' revenue for the next cfg.horizon quarters.

    Columns: quarter, quarter_index, horizon, method (the backtest's winner; the chain without a
    backtest), revenue_mean, revenue_lo_XX / revenue_hi_XX (calibrated on the method's backtest
    errors; NaN without a backtest), coverage_XX (their coverage over the backtest),
    coverage_XX_held_out (each cut-off judged by a range calibrated without it), backtest_n
    (outcomes behind them), scope, last_quarter, last_quarter_revenue (every client's),
    year_before_quarter, year_before_revenue (the same quarter a year before, when in the
    history), and each method's forecast, revenue_<method> (chain, naive, seasonal_naive, ets,
    combination).
    """
    _, port, _ = method_forecasts(states, cfg, prior)
    method = best_method(check.summary) if check is not None else "chain"
    out = port.copy()
    out.insert(0, "quarter", out["quarter_index"].map(quarter_label))
    out.insert(3, "method", method)
    out.insert(4, "revenue_mean", out[method])
    summary = check.summary.set_index(["level", "model"]) if check is not None else None
    for lv in cfg.levels:
        q = check.ranges.get(("portfolio", method)) if check is not None else None
        lo, hi = apply_range(out["revenue_mean"], out["horizon"], q[lv] if q else (np.nan, np.nan))
        out[f"revenue_lo_{_pct(lv)}"], out[f"revenue_hi_{_pct(lv)}"] = lo, hi
        for column in (f"coverage_{_pct(lv)}", f"coverage_{_pct(lv)}_held_out"):
            out[column] = summary.loc[("portfolio", method), column] if summary is not None else np.nan
    out["backtest_n"] = int(summary.loc[("portfolio", method), "n"]) if summary is not None else 0
    out["scope"] = SCOPE
    history = portfolio_history(states).set_index("quarter_index")["revenue"]
    end = int(states["quarter_index"].max())
    out["last_quarter"] = quarter_label(end)
    out["last_quarter_revenue"] = float(history.get(end, np.nan))
    out["year_before_quarter"] = (out["quarter_index"] - 4).map(quarter_label)
    out["year_before_revenue"] = (out["quarter_index"] - 4).map(history).astype(float)
    return out.rename(columns={m: f"revenue_{m}" for m in METHODS})


def backtest_if_possible(panel: pd.DataFrame, cfg: Settings, lang: str = "en",
                         **kwargs: Any) -> tuple[RollingBacktest | None, str]:
    """(rolling backtest, "") or (None, why not, in `lang`): too short a history, or revenue not
    measured, is said in the report rather than stopping the chain."""
    from clientlens.analysis.forecast import revenue_measured
    from clientlens.i18n import tr

    if not revenue_measured(panel):
        return None, tr("revenue is not measured", lang)
    try:
        return rolling_backtest(panel, cfg, **kwargs), ""
    except NoBacktest as error:
        return None, error.text(lang)


def trend_scales(states: pd.DataFrame, cfg: Settings, prior: float = 0.5) -> pd.DataFrame:
    """Each client's long-run size (its recent level, its direction run out with damping, shrunk
    as client_scales shrinks), in markov.client_clv's `scales` form: client_id, scale. A falling
    client's lifetime value then falls with it."""
    from clientlens.analysis.forecast import client_levels, scale_path
    from clientlens.analysis.markov import client_scales, state_revenue

    seasons = firm_seasons(states, cfg)
    chain = fit_chain(states, prior=prior)
    rev = state_revenue(states, chain)
    mu = rev.set_index("state")["revenue_mean"]
    levels = client_levels(states, mu, client_scales(states, rev), cfg.trend, seasons)
    path = scale_path(levels, None, cfg.trend.damping)
    return pd.DataFrame({"client_id": path.index, "scale": path["long_run"].to_numpy()})
