"""What revenue the spiral brings next: Monte Carlo forecast, an honest backtest, a scenario.

- `monte_carlo_forecast`: per client and for the portfolio, the next `horizon` quarters. Each run
  draws a transition matrix from the chain's posterior (parameter uncertainty), walks every live
  client from its state at the period end, and draws each quarter's revenue as
  client scale x state mean x a residual resampled from history for that state. Seeded: the same
  inputs and seed give the same numbers. Only clients live at the period end are forecast; new
  clients are not (the forecast is for the existing book). With `seasons`
  (seasons.season_factors) and `trend` (Trend: `client_levels`, `scale_path`) a client's scale
  is its recent level and direction, times the season of the quarter forecast.
  The rolling backtest against simple rivals and the published headline are in `rivals`.
- `backtest`: fit on history up to `holdout` quarters before the end, forecast those quarters,
  and score against what happened and against a naive baseline (each client's last revenue
  carried forward), for the portfolio and per client: MAE, MAPE, WAPE and interval coverage.
  The numbers are returned whatever they say.
- `scenario_avoid_mistake`: portfolio revenue if one mistake were avoided (see its docstring for
  the assumption, which is also returned as text).
"""
from __future__ import annotations

import os
import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from clientlens.analysis.markov import (
    client_scales,
    fit_chain,
    start_states,
    state_revenue,
    transition_matrix,
)
from clientlens.analysis.spiral import (
    CHURNED,
    DORMANT,
    MISTAKE_LABELS,
    MISTAKES,
    _quarter_index,
    _revenue,
    client_states,
    mistake_events,
    mistakes_by_client,
    phase_label,
    phase_transitions,
    quarter_label,
)
from clientlens.analysis.seasons import factor_of
from clientlens.i18n import N_, tr

SIMULATION_THREADS = min(2, os.cpu_count() or 1)  # a laptop's cores; the results never depend on it


class Forecast(NamedTuple):
    clients: pd.DataFrame
    portfolio: pd.DataFrame


class Backtest(NamedTuple):
    summary: pd.DataFrame
    portfolio: pd.DataFrame
    clients: pd.DataFrame


class Scenario(NamedTuple):
    portfolio: pd.DataFrame
    parameters: pd.DataFrame
    assumption: str


def _pct(level: float) -> int:
    return int(round(level * 100))


def portfolio_history(states: pd.DataFrame) -> pd.DataFrame:
    """Portfolio revenue per quarter: quarter, quarter_index, revenue, live_clients, churned_clients."""
    g = states.groupby("quarter_index")
    out = pd.DataFrame({"revenue": g["revenue"].sum(),
                        "live_clients": g["state"].apply(lambda s: int((s != CHURNED).sum())),
                        "churned_clients": g["state"].apply(lambda s: int((s == CHURNED).sum()))})
    out = out.reset_index()
    out.insert(0, "quarter", out["quarter_index"].map(quarter_label))
    return out


# --- the simulation engine ------------------------------------------------------------------

def _residual_pools(states: pd.DataFrame, names: Sequence[str], mu: np.ndarray,
                    scales: pd.DataFrame, seasons: pd.DataFrame | None = None) -> list[np.ndarray]:
    """Per state, revenue / (client's own ratio x state mean x season) over history: the
    within-client, within-state noise (mean about 1). Clients seen for one quarter only are left out."""
    sc = scales.set_index("client_id")
    ratio = sc["ratio"].where(sc["quarters"] >= 2)
    pools = []
    for i, n in enumerate(names):
        if n == CHURNED or mu[i] <= 0:
            pools.append(np.zeros(1))
            continue
        rows = states[states["state"] == n]
        r = rows["client_id"].map(ratio).to_numpy(dtype=float) * factor_of(seasons, rows["quarter_index"])
        with np.errstate(invalid="ignore", divide="ignore"):
            e = rows["revenue"].to_numpy(dtype=float) / (r * mu[i])
        e = e[np.isfinite(e)]
        pools.append(np.clip(e, 0, None) if len(e) else np.ones(1))
    return pools


def _adjust(P: np.ndarray, names: Sequence[str], reroute: Mapping[str, tuple[Sequence[str], str]] | None,
            churn_factor: float = 1.0) -> np.ndarray:
    """Reroute moves (from -> sources becomes from -> target) and scale churn probabilities."""
    P = P.copy()
    idx = {n: i for i, n in enumerate(names)}
    c = idx[CHURNED]
    for frm, (sources, target) in (reroute or {}).items():
        if frm not in idx or target not in idx:
            continue
        moved = sum(P[idx[frm], idx[s]] for s in sources if s in idx)
        for s in sources:
            if s in idx:
                P[idx[frm], idx[s]] = 0.0
        P[idx[frm], idx[target]] += moved
    if churn_factor != 1.0:
        for i, n in enumerate(names):
            if n == CHURNED:
                continue
            old = P[i, c]
            new = min(1.0, old * churn_factor)
            rest = 1.0 - old
            if rest > 0:
                P[i] = np.where(np.arange(len(names)) == c, new, P[i] * (1.0 - new) / rest)
            else:
                P[i, c] = new
    return P


def _simulate(start: np.ndarray, group: np.ndarray, scale: np.ndarray, matrices: np.ndarray,
              mu: np.ndarray, pools: list[np.ndarray], horizon: int, runs: int,
              rng: np.random.Generator, chunk_size: int, noise: bool):
    """Yield (client slice, revenue[runs, clients, horizon], states[runs, clients, horizon]).

    scale: (clients, horizon), each client's size in each future quarter (its level, direction
    and the season). matrices: (M, G, S, S) with M = 1 (same matrix every run) or M = runs (one draw per run);
    group: each client's group index into G. Random numbers are drawn in a fixed order that does
    not depend on the matrices, so two calls with the same seed share them (common random numbers).

    Chunks of `chunk_size` clients are simulated on SIMULATION_THREADS threads (numpy releases
    the GIL): each chunk's random numbers are drawn here first, in the order a one-chunk-at-a-time
    loop would draw them, and chunks are yielded in order, so the numbers never depend on threads.
    """
    cum = np.cumsum(matrices, axis=-1)
    cum[..., -1] = 1.0
    S = matrices.shape[-1]
    G = matrices.shape[1]
    per_run = matrices.shape[0] > 1
    run_idx = np.arange(runs)[:, None] if per_run else np.zeros((runs, 1), dtype=int)
    # column k of every cumulative row, flat: row (m, g, s) is at (m * G + g) * S + s. The last
    # column is 1.0 and u < 1 never passes it, so it is left out.
    cum_cols = [np.ascontiguousarray(cum[..., k]).ravel() for k in range(S - 1)]
    # all residual pools in one array: one gather per step instead of one pass per state
    pool_len = np.array([len(p) for p in pools])
    offset = np.r_[0, np.cumsum(pool_len)[:-1]]
    allpool = np.concatenate(pools)

    def chunk(sl: slice, draws: list[tuple[np.ndarray, np.ndarray]]):
        c = sl.stop - sl.start
        s = np.broadcast_to(start[sl], (runs, c)).copy()
        g = np.broadcast_to(group[sl], (runs, c))
        rev = np.zeros((runs, c, horizon))
        st = np.zeros((runs, c, horizon), dtype=np.int16)
        for h, (u, v) in enumerate(draws):
            # the next state: how many cumulative probabilities of the row u passes, counted one
            # column at a time (a gather of whole rows and a sum over them is three times slower)
            row = (run_idx * G + g) * S + s
            nxt = np.zeros((runs, c), dtype=np.int64)
            for col in cum_cols:
                nxt += u >= col[row]
            s = np.minimum(nxt, S - 1)
            st[:, :, h] = s
            if noise:
                n_pool = pool_len[s]
                k = np.minimum((v * n_pool).astype(np.int64), n_pool - 1)
                e = allpool[offset[s] + k]
            else:
                e = 1.0
            rev[:, :, h] = scale[sl, h][None, :] * mu[s] * e
        return sl, rev, st

    with ThreadPoolExecutor(max_workers=SIMULATION_THREADS) as pool:
        pending: deque = deque()
        for lo in range(0, len(start), chunk_size):
            sl = slice(lo, min(lo + chunk_size, len(start)))
            c = sl.stop - sl.start
            draws = [(rng.random((runs, c)), rng.random((runs, c))) for _h in range(horizon)]
            pending.append(pool.submit(chunk, sl, draws))
            if len(pending) > SIMULATION_THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _quantiles_over_runs(values: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """np.quantile(values, qs, axis=0), the same numbers, faster: each client-quarter's runs are
    sorted once in contiguous memory (np.quantile would select along a strided axis)."""
    runs = values.shape[0]
    flat = np.sort(np.ascontiguousarray(values.reshape(runs, -1).T), axis=1)
    return np.quantile(flat, qs, axis=1).reshape((len(qs),) + values.shape[1:])


class Trend(NamedTuple):
    """Holt's damped trend (Gardner and McKenzie, 1985) on a client's revenue relative to its
    phase: level_weight (alpha) and trend_weight (beta) of each new quarter, damping (phi) of the
    direction per quarter ahead."""
    level_weight: float
    trend_weight: float
    damping: float


def client_levels(states: pd.DataFrame, mu: pd.Series, scales: pd.DataFrame, trend: Trend,
                  seasons: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each client's recent size and direction, relative to what its phase earns.

    y = revenue / (state mean x season) in every quarter the client is live in a state that
    earns; Holt's damped trend runs over y quarter by quarter (a quarter without y moves the level
    along its direction). Columns: client_id, level, slope, quarters (live quarters behind the
    shrinkage), shrink_quarters.
    """
    live = states[(states["state"] != CHURNED)]
    m = live["state"].map(mu).astype(float).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        y = live["revenue"].to_numpy(dtype=float) / (m * factor_of(seasons, live["quarter_index"]))
    y = np.where(m > 0, y, np.nan)
    wide = (pd.DataFrame({"client_id": live["client_id"].to_numpy(), "quarter_index": live["quarter_index"].to_numpy(),
                          "y": y})
            .pivot(index="client_id", columns="quarter_index", values="y"))
    quarters = range(int(states["quarter_index"].min()), int(states["quarter_index"].max()) + 1)
    wide = wide.reindex(columns=quarters)
    Y = wide.to_numpy(dtype=float)
    a, b, phi = trend.level_weight, trend.trend_weight, trend.damping
    level = np.full(len(Y), np.nan)
    slope = np.zeros(len(Y))
    for k in range(Y.shape[1]):
        obs = Y[:, k]
        seen = np.isfinite(obs)
        started = np.isfinite(level)
        first = seen & ~started
        step = seen & started
        ahead = level + phi * slope
        new_level = a * obs + (1 - a) * ahead
        slope = np.where(step, b * (new_level - level) + (1 - b) * phi * slope,
                         np.where(started & ~seen, phi * slope, slope))
        level = np.where(first, obs, np.where(step, new_level, np.where(started, ahead, level)))
    out = pd.DataFrame({"level": level, "slope": slope}, index=wide.index)
    sc = scales.set_index("client_id")
    out["quarters"] = sc["quarters"].reindex(out.index).fillna(0).astype(int)
    out["shrink_quarters"] = sc["shrink_quarters"].reindex(out.index)
    return out.rename_axis("client_id").reset_index()


def scale_path(levels: pd.DataFrame, horizon: int | None, damping: float) -> pd.DataFrame:
    """Each client's size h quarters ahead, shrunk toward 1 as client_scales does:
    (n x max(0, level + slope x (phi + ... + phi^h)) + k) / (n + k). horizon None: the long run,
    phi / (1 - phi) steps of direction (what a lifetime value sees). Index client_id, columns 1..h
    (or 'long_run')."""
    if horizon is None:
        steps = {"long_run": damping / (1 - damping) if damping < 1 else np.inf}
    else:
        steps = {h: sum(damping ** i for i in range(1, h + 1)) for h in range(1, horizon + 1)}
    lv = levels.set_index("client_id")
    n, k = lv["quarters"].to_numpy(dtype=float), lv["shrink_quarters"].fillna(0).to_numpy(dtype=float)
    out = {}
    for h, s in steps.items():
        raw = np.clip(lv["level"].to_numpy() + lv["slope"].to_numpy() * s, 0, None)
        shrunk = np.where(np.isfinite(raw), (n * np.nan_to_num(raw) + k) / np.where(n + k > 0, n + k, 1), 1.0)
        out[h] = np.where(n + k > 0, shrunk, 1.0)
    return pd.DataFrame(out, index=lv.index)


def _prepare(states: pd.DataFrame, chain: pd.DataFrame | None, state_rev: pd.DataFrame | None,
             scales: pd.DataFrame | None, prior: float, horizon: int,
             seasons: pd.DataFrame | None = None, trend: Trend | None = None):
    """The chain, its states, state means, every live client's size in each future quarter
    (clients x horizon: level and direction with `trend`, else the whole-history scale; times the
    season of that quarter), the live clients and the residual pools."""
    chain = chain if chain is not None else fit_chain(states, prior=prior)
    names = list(transition_matrix(chain).index)
    state_rev = state_rev if state_rev is not None else state_revenue(states, chain)
    mu = state_rev.set_index("state")["revenue_mean"].reindex(names).fillna(0.0).to_numpy(dtype=float).copy()
    mu[names.index(CHURNED)] = 0.0
    scales = scales if scales is not None else client_scales(states, state_rev)
    start = start_states(states, names)
    live = start[start["state"] != CHURNED].reset_index(drop=True)
    end = int(states["quarter_index"].max()) if len(states) else 0
    season_ahead = factor_of(seasons, [end + h for h in range(1, horizon + 1)])
    if trend is not None:
        path = scale_path(client_levels(states, pd.Series(mu, index=names), scales, trend, seasons),
                          horizon, trend.damping)
        size = path.reindex(live["client_id"]).fillna(1.0).to_numpy(dtype=float)
    else:
        scale = scales.set_index("client_id")["scale"]
        size = np.repeat(live["client_id"].map(scale).fillna(1.0).to_numpy(dtype=float)[:, None], horizon, axis=1)
    size = size * season_ahead[None, :]
    pools = _residual_pools(states[states["state"] != CHURNED], names, mu, scales, seasons)
    return chain, names, mu, size, live, pools


def _posterior_draws(chain: pd.DataFrame, names: Sequence[str], runs: int,
                     rng: np.random.Generator) -> np.ndarray:
    alpha = transition_matrix(chain, "alpha").to_numpy()
    S = len(names)
    draws = np.zeros((runs, S, S))
    c = names.index(CHURNED)
    for i in range(S):
        if i == c:
            draws[:, i, c] = 1.0
            continue
        g = rng.gamma(np.nan_to_num(alpha[i], nan=0.0) + 1e-12, size=(runs, S))
        draws[:, i] = g / g.sum(axis=1, keepdims=True)
    return draws


def monte_carlo_forecast(states: pd.DataFrame, chain: pd.DataFrame | None = None,
                         state_rev: pd.DataFrame | None = None, scales: pd.DataFrame | None = None, *,
                         horizon: int, runs: int, seed: int, levels: Sequence[float],
                         parameter_uncertainty: bool = True, revenue_noise: bool = True,
                         prior: float = 0.5, chunk_size: int = 256, seasons: pd.DataFrame | None = None,
                         trend: Trend | None = None) -> Forecast:
    """Monte Carlo forecast of revenue for the next `horizon` quarters.

    Forecast.clients (one row per live client and future quarter): client_id, client_name,
    start_state, quarter, quarter_index, horizon, revenue_mean, revenue_p50, revenue_lo_XX /
    revenue_hi_XX per level (XX = 80, 95), horizon_revenue_lo_XX / horizon_revenue_hi_XX (the
    range of the client's revenue summed over all `horizon` quarters, the same on each of its
    rows), p_<state> (probability of each state that quarter).
    Forecast.portfolio (one row per future quarter): quarter, quarter_index, horizon,
    revenue_mean, revenue_p50, revenue_lo_XX / revenue_hi_XX, live_clients_mean,
    churned_clients_mean (of the clients live at the start).
    `seasons` (seasons.season_factors) and `trend` (Trend) carry the firm's seasons and each
    client's recent level and direction into the revenue; without them a client's size is its
    whole-history scale.
    """
    rng = np.random.default_rng(seed)
    chain, names, mu, sc, live, pools = _prepare(states, chain, state_rev, scales, prior, horizon, seasons, trend)
    idx = {n: i for i, n in enumerate(names)}
    start = live["state"].map(idx).to_numpy(dtype=int)
    P = transition_matrix(chain).to_numpy()
    matrices = (_posterior_draws(chain, names, runs, rng)[:, None] if parameter_uncertainty
                else P[None, None])
    end = int(states["quarter_index"].max())
    qs = [end + h for h in range(1, horizon + 1)]
    total = np.zeros((runs, horizon))
    live_n = np.zeros((runs, horizon))
    client_frames = []
    c_idx = idx[CHURNED]
    for sl, rev, st in _simulate(start, np.zeros(len(start), dtype=int), sc, matrices, mu, pools,
                                 horizon, runs, rng, chunk_size, revenue_noise):
        total += rev.sum(axis=1)
        live_n += (st != c_idx).sum(axis=1)
        c = sl.stop - sl.start
        block = {
            "client_id": np.repeat(live["client_id"].to_numpy()[sl], horizon),
            "client_name": np.repeat(live["client_name"].to_numpy()[sl], horizon),
            "start_state": np.repeat(live["state"].to_numpy()[sl], horizon),
            "quarter_index": np.tile(qs, c), "horizon": np.tile(np.arange(1, horizon + 1), c),
            "revenue_mean": rev.mean(axis=0).ravel(),
        }
        qs_wanted = [0.5] + [q for lv in levels for q in ((1 - lv) / 2, 1 - (1 - lv) / 2)]
        qv = _quantiles_over_runs(rev, qs_wanted)
        block["revenue_p50"] = qv[0].ravel()
        for i, lv in enumerate(levels):
            block[f"revenue_lo_{_pct(lv)}"] = qv[1 + 2 * i].ravel()
            block[f"revenue_hi_{_pct(lv)}"] = qv[2 + 2 * i].ravel()
        # The range of each client's revenue over the whole horizon: quantiles of the runs' sums,
        # not a sum of the quarters' quantiles, which is wider (a bad quarter is rarely followed
        # only by bad ones, and rarely by none).
        horizon_q = _quantiles_over_runs(rev.sum(axis=2), qs_wanted[1:])
        for i, lv in enumerate(levels):
            block[f"horizon_revenue_lo_{_pct(lv)}"] = np.repeat(horizon_q[2 * i], horizon)
            block[f"horizon_revenue_hi_{_pct(lv)}"] = np.repeat(horizon_q[2 * i + 1], horizon)
        for k, n in enumerate(names):
            block[f"p_{n}"] = (st == k).mean(axis=0).ravel()
        client_frames.append(pd.DataFrame(block))
    if client_frames:
        clients = pd.concat(client_frames, ignore_index=True)
    else:
        clients = pd.DataFrame(columns=["client_id", "client_name", "start_state", "quarter_index",
                                        "horizon", "revenue_mean", "revenue_p50"])
    clients.insert(3, "quarter", clients["quarter_index"].map(quarter_label))
    port = {"quarter": [quarter_label(q) for q in qs], "quarter_index": qs,
            "horizon": list(range(1, horizon + 1)), "revenue_mean": total.mean(axis=0),
            "revenue_p50": np.quantile(total, 0.5, axis=0)}
    for lv in levels:
        q = np.quantile(total, [(1 - lv) / 2, 1 - (1 - lv) / 2], axis=0)
        port[f"revenue_lo_{_pct(lv)}"] = q[0]
        port[f"revenue_hi_{_pct(lv)}"] = q[1]
    port["live_clients_mean"] = live_n.mean(axis=0)
    port["churned_clients_mean"] = len(live) - live_n.mean(axis=0)
    return Forecast(clients, pd.DataFrame(port))


# --- backtest --------------------------------------------------------------------------------

def _errors(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    err = np.abs(forecast - actual)
    pos = actual > 0
    return {"mae": float(err.mean()) if len(err) else np.nan,
            "mape": float((err[pos] / actual[pos]).mean()) if pos.any() else np.nan,
            "wape": float(err.sum() / np.abs(actual).sum()) if np.abs(actual).sum() > 0 else np.nan}


def _naive_quantiles(states: pd.DataFrame, horizon: int, levels: Sequence[float]):
    """Empirical quantiles of h-step changes in training history, for the naive intervals.

    Client: (revenue[t+h] - revenue[t]) / client's mean revenue in quarters with work, over
    clients live at t. Portfolio: ratio of the live cohort's revenue at t+h to its revenue at t.
    Returns dicts {(h, level): (lo, hi)} for clients and for the portfolio.
    """
    wide = states.pivot(index="client_id", columns="quarter_index", values="revenue")
    live = states.pivot(index="client_id", columns="quarter_index", values="state")
    R = wide.to_numpy(dtype=float)
    present = live.notna().to_numpy()
    alive = present & (live.to_numpy() != CHURNED)
    R = np.where(present, np.nan_to_num(R), 0.0)
    worked = states[states["work"]].groupby("client_id")["revenue"].mean().reindex(wide.index)
    mean_c = worked.fillna(0).to_numpy()
    client_q, port_q = {}, {}
    for h in range(1, horizon + 1):
        if R.shape[1] <= h:
            for lv in levels:
                client_q[(h, lv)] = port_q[(h, lv)] = (np.nan, np.nan)
            continue
        a = alive[:, :-h] & (mean_c[:, None] > 0)
        d = ((R[:, h:] - R[:, :-h]) / np.where(mean_c > 0, mean_c, 1)[:, None])[a]
        num = (R[:, h:] * alive[:, :-h]).sum(axis=0)
        den = (R[:, :-h] * alive[:, :-h]).sum(axis=0)
        ratio = num[den > 0] / den[den > 0]
        for lv in levels:
            qs = [(1 - lv) / 2, 1 - (1 - lv) / 2]
            client_q[(h, lv)] = tuple(np.quantile(d, qs)) if len(d) else (np.nan, np.nan)
            port_q[(h, lv)] = tuple(np.quantile(ratio, qs)) if len(ratio) >= 2 else (np.nan, np.nan)
    return client_q, port_q, pd.Series(mean_c, index=wide.index)


def backtest(panel: pd.DataFrame, *, holdout: int, runs: int, seed: int, levels: Sequence[float],
             churn_after_quarters: int, revenue_col: str = "revenue", prior: float = 0.5,
             parameter_uncertainty: bool = True, period_end: str | int | None = None) -> Backtest:
    """Fit on history up to `holdout` quarters before the end, forecast them, score both models.

    The cutoff sees only rows up to it (states, churn and exits are recomputed from the truncated
    panel: nothing from the holdout leaks in). Scored on the cohort live at the cutoff; revenue
    from clients outside it (new ones, or invoices of churned ones) is reported, not forecast.

    Backtest.summary: level ('portfolio' | 'client'), model ('markov' | 'naive'), cutoff,
    quarters, n, mae, mape (over non-zero actuals), wape, coverage_XX (share of actuals inside the
    XX% interval), wape_skill (1 - wape / naive wape).
    Backtest.portfolio: quarter, quarter_index, horizon, actual, markov, markov_lo_XX,
    markov_hi_XX, naive, naive_lo_XX, naive_hi_XX, revenue_outside_cohort.
    Backtest.clients: client_id, client_name, quarter, quarter_index, horizon, actual, markov,
    markov_lo_XX, markov_hi_XX, naive, naive_lo_XX, naive_hi_XX.
    """
    panel = panel.reset_index(drop=True)
    qi = _quarter_index(panel)
    if period_end is None:
        end = int(qi.max())
    elif isinstance(period_end, str):
        end = int(period_end[:4]) * 4 + int(period_end[-1]) - 1
    else:
        end = int(period_end)
    cutoff = end - holdout
    train = panel[qi <= cutoff]
    if train.empty:
        raise NoBacktest(N_("there is no history up to {quarter}, where the check would start"),
                         quarter=quarter_label(cutoff))
    states = client_states(train, period_end=cutoff, churn_after_quarters=churn_after_quarters,
                           revenue_col=revenue_col)
    chain = fit_chain(states, prior=prior)
    fc = monte_carlo_forecast(states, chain, horizon=holdout, runs=runs, seed=seed, levels=levels,
                              parameter_uncertainty=parameter_uncertainty, prior=prior)
    live = start_states(states, list(transition_matrix(chain).index))
    cohort = live.loc[live["state"] != CHURNED, ["client_id", "client_name"]]
    qs = list(range(cutoff + 1, end + 1))

    actual_all = pd.DataFrame({"client_id": panel["client_id"].astype(str), "quarter_index": qi,
                               "actual": _revenue(panel, revenue_col).to_numpy()})
    actual_all = actual_all[actual_all["quarter_index"].isin(qs)]
    grid = cohort.merge(pd.DataFrame({"quarter_index": qs}), how="cross")
    grid["horizon"] = grid["quarter_index"] - cutoff
    grid = grid.merge(actual_all, on=["client_id", "quarter_index"], how="left")
    grid["actual"] = grid["actual"].fillna(0.0)
    keep = {"revenue_mean": "markov"}
    for lv in levels:
        keep[f"revenue_lo_{_pct(lv)}"] = f"markov_lo_{_pct(lv)}"
        keep[f"revenue_hi_{_pct(lv)}"] = f"markov_hi_{_pct(lv)}"
    grid = grid.merge(fc.clients[["client_id", "quarter_index"] + list(keep)].rename(columns=keep),
                      on=["client_id", "quarter_index"], how="left")
    last_rev = states[states["quarter_index"] == cutoff].set_index("client_id")["revenue"]
    grid["naive"] = grid["client_id"].map(last_rev).fillna(0.0)
    client_q, port_q, mean_c = _naive_quantiles(states, holdout, levels)
    for lv in levels:
        lo = grid["horizon"].map({h: client_q[(h, lv)][0] for h in range(1, holdout + 1)})
        hi = grid["horizon"].map({h: client_q[(h, lv)][1] for h in range(1, holdout + 1)})
        m = grid["client_id"].map(mean_c).fillna(0.0)
        grid[f"naive_lo_{_pct(lv)}"] = (grid["naive"] + lo * m).clip(lower=0)
        grid[f"naive_hi_{_pct(lv)}"] = (grid["naive"] + hi * m).clip(lower=0)
    grid.insert(2, "quarter", grid["quarter_index"].map(quarter_label))

    cohort_ids = set(cohort["client_id"])
    outside = actual_all[~actual_all["client_id"].isin(cohort_ids)].groupby("quarter_index")["actual"].sum()
    port = grid.groupby("quarter_index")[["actual", "naive"]].sum().reindex(qs, fill_value=0.0)
    pf = fc.portfolio.set_index("quarter_index")
    port["markov"] = pf["revenue_mean"].reindex(qs).fillna(0.0)
    naive_total = float(last_rev.reindex(list(cohort_ids)).fillna(0).sum())
    for lv in levels:
        port[f"markov_lo_{_pct(lv)}"] = pf[f"revenue_lo_{_pct(lv)}"].reindex(qs).fillna(0.0)
        port[f"markov_hi_{_pct(lv)}"] = pf[f"revenue_hi_{_pct(lv)}"].reindex(qs).fillna(0.0)
        port[f"naive_lo_{_pct(lv)}"] = [naive_total * port_q[(q - cutoff, lv)][0] for q in qs]
        port[f"naive_hi_{_pct(lv)}"] = [naive_total * port_q[(q - cutoff, lv)][1] for q in qs]
    port["revenue_outside_cohort"] = outside.reindex(qs).fillna(0.0)
    port = port.reset_index()
    port.insert(0, "quarter", port["quarter_index"].map(quarter_label))
    port.insert(2, "horizon", port["quarter_index"] - cutoff)
    order = ["quarter", "quarter_index", "horizon", "actual", "markov"] + \
        [f"markov_{b}_{_pct(lv)}" for lv in levels for b in ("lo", "hi")] + ["naive"] + \
        [f"naive_{b}_{_pct(lv)}" for lv in levels for b in ("lo", "hi")] + ["revenue_outside_cohort"]
    port = port[order]
    corder = ["client_id", "client_name", "quarter", "quarter_index", "horizon", "actual", "markov"] + \
        [f"markov_{b}_{_pct(lv)}" for lv in levels for b in ("lo", "hi")] + ["naive"] + \
        [f"naive_{b}_{_pct(lv)}" for lv in levels for b in ("lo", "hi")]
    grid = grid[corder].sort_values(["client_id", "quarter_index"]).reset_index(drop=True)

    rows = []
    for level_name, frame in (("portfolio", port), ("client", grid)):
        a = frame["actual"].to_numpy(dtype=float)
        for model in ("markov", "naive"):
            f = frame[model].to_numpy(dtype=float)
            row = {"level": level_name, "model": model, "cutoff": quarter_label(cutoff),
                   "quarters": f"{quarter_label(qs[0])}–{quarter_label(qs[-1])}", "n": len(a),
                   **_errors(a, f)}
            for lv in levels:
                lo = frame[f"{model}_lo_{_pct(lv)}"].to_numpy(dtype=float)
                hi = frame[f"{model}_hi_{_pct(lv)}"].to_numpy(dtype=float)
                ok = np.isfinite(lo) & np.isfinite(hi)
                row[f"coverage_{_pct(lv)}"] = (float(((a >= lo) & (a <= hi))[ok].mean())
                                               if ok.any() else np.nan)
            rows.append(row)
    summary = pd.DataFrame(rows)
    naive_wape = summary[summary["model"] == "naive"].set_index("level")["wape"]
    summary["wape_skill"] = 1 - summary["wape"] / summary["level"].map(naive_wape)
    return Backtest(summary, port, grid)


# --- scenario --------------------------------------------------------------------------------

# How avoiding each sequence mistake changes the flow: {from_state: (moves to reroute, new target)}.
REROUTES: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "no_stabilisation": {"ux": (("feature", "support"), "stability")},
    "feature_without_ux": {"feature": (("stability", "support"), "ux")},
    "ux_without_feature": {"stability": (("ux",), "feature"), "support": (("ux",), "feature"),
                           DORMANT: (("ux",), "feature")},
}


def churn_hazards(states: pd.DataFrame, by_client: pd.DataFrame, mistake: str,
                  pairs: pd.DataFrame | None = None) -> dict[str, float]:
    """Churn per client-quarter for clients who made `mistake` (counted from its first detection
    on) and for measured clients who did not; and over everyone. `pairs`: phase_transitions(states)
    when the caller already has it."""
    pairs = phase_transitions(states) if pairs is None else pairs
    m = by_client[by_client["mistake"] == mistake]
    det = m[m["status"] == "detected"]
    first = det.set_index("client_id")["first_quarter"].map(
        lambda q: int(q[:4]) * 4 + int(q[-1]) - 1)
    clear = set(m.loc[m["status"] == "clear", "client_id"])
    churned = pairs["to_state"] == CHURNED
    with_mask = pairs["client_id"].map(first).le(pairs["quarter_index"]).fillna(False).astype(bool)
    with_mask &= pairs["client_id"].isin(first.index)
    clear_mask = pairs["client_id"].isin(clear)

    def rate(mask: pd.Series) -> float:
        return float(churned[mask].mean()) if mask.any() else np.nan

    return {"with": rate(with_mask), "without": rate(clear_mask), "all": rate(pd.Series(True, index=pairs.index)),
            "exposure_with": int(with_mask.sum()), "exposure_without": int(clear_mask.sum()),
            "clients_with": int(len(first)), "clients_without": int(len(clear)),
            "clients_not_measured": int((m["status"] == "not_measured").sum())}


def scenario_avoid_mistake(panel: pd.DataFrame, mistake: str, *, horizon: int, runs: int, seed: int,
                           level: float, churn_after_quarters: int,
                           states: pd.DataFrame | None = None, by_client: pd.DataFrame | None = None,
                           mistake_params: Mapping | None = None, revenue_col: str = "revenue",
                           prior: float = 0.5, lang: str = "en", seasons: pd.DataFrame | None = None,
                           trend: Trend | None = None) -> Scenario:
    """Portfolio revenue for the next `horizon` quarters if `mistake` were avoided from now on.

    `by_client` (spiral.mistakes_by_client) says who made the mistake; without it the mistakes
    are detected here, with `mistake_params` (spiral.mistake_thresholds(params)).

    Assumption (returned as `assumption`): (1) the flow is rerouted for everyone: a sequence mistake's
    moves go where the spiral says (`REROUTES`; e.g. for no_stabilisation, ux -> feature and
    ux -> support become ux -> stability); other mistakes reroute nothing. (2) Clients who made the
    mistake churn, per quarter, at the rate observed for measured clients who did not
    (the churn difference is read as caused by the mistake: an upper bound, since such clients
    may differ in other ways). Baseline and scenario use the same chain with churn scaled per group
    (made the mistake / did not / not measured) to its observed rate, the same seed and the same
    random numbers, so the difference is the scenario's, not Monte Carlo noise. When clients who
    made the mistake churn no more than the others, churn is left unchanged.

    `seasons` and `trend`: as for monte_carlo_forecast, so the baseline is the published chain's.

    Scenario.portfolio: quarter, quarter_index, horizon, baseline_mean, scenario_mean,
    difference_mean, difference_lo_XX, difference_hi_XX (XX = level).
    Scenario.parameters: name, value, note.
    """
    if mistake not in MISTAKES:
        raise ValueError(f"unknown mistake {mistake!r}; use one of {', '.join(MISTAKES)}")
    if by_client is None and mistake_params is None:
        raise ValueError("give by_client (spiral.mistakes_by_client) or mistake_params "
                         "(spiral.mistake_thresholds(params)) to detect the mistakes")
    if states is None:
        states = client_states(panel, churn_after_quarters=churn_after_quarters, revenue_col=revenue_col)
    if by_client is None:
        events = mistake_events(panel, states, **dict(mistake_params))
        by_client = mistakes_by_client(panel, events)
    chain, names, mu, sc, live, pools = _prepare(states, None, None, None, prior, horizon, seasons, trend)
    P = transition_matrix(chain).to_numpy()
    hz = churn_hazards(states, by_client, mistake)
    m = by_client[by_client["mistake"] == mistake].set_index("client_id")["status"]
    group = live["client_id"].map(m).map({"detected": 0, "clear": 1}).fillna(2).to_numpy(dtype=int)
    base_all = hz["all"]
    f_with = hz["with"] / base_all if np.isfinite(hz["with"]) and base_all > 0 else 1.0
    f_without = hz["without"] / base_all if np.isfinite(hz["without"]) and base_all > 0 else 1.0
    reduce = np.isfinite(hz["with"]) and np.isfinite(hz["without"]) and hz["with"] > hz["without"]
    reroute = REROUTES.get(mistake, {})
    base_m = np.stack([_adjust(P, names, None, f_with), _adjust(P, names, None, f_without), P])[None]
    scen_m = np.stack([_adjust(P, names, reroute, f_without if reduce else f_with),
                       _adjust(P, names, reroute, f_without), _adjust(P, names, reroute, 1.0)])[None]
    idx = {n: i for i, n in enumerate(names)}
    start = live["state"].map(idx).to_numpy(dtype=int)

    def run(matrices: np.ndarray) -> np.ndarray:
        r = np.random.default_rng(seed)  # the same random numbers for baseline and scenario
        total = np.zeros((runs, horizon))
        for _, rev, _ in _simulate(start, group, sc, matrices, mu, pools, horizon, runs, r, 256, True):
            total += rev.sum(axis=1)
        return total

    base, scen = run(base_m), run(scen_m)
    diff = scen - base
    end = int(states["quarter_index"].max())
    qs = [end + h for h in range(1, horizon + 1)]
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    port = pd.DataFrame({"quarter": [quarter_label(q) for q in qs], "quarter_index": qs,
                         "horizon": range(1, horizon + 1), "baseline_mean": base.mean(axis=0),
                         "scenario_mean": scen.mean(axis=0), "difference_mean": diff.mean(axis=0),
                         f"difference_lo_{_pct(level)}": np.quantile(diff, lo_q, axis=0),
                         f"difference_hi_{_pct(level)}": np.quantile(diff, hi_q, axis=0)})
    moves = "; ".join(f"{f} -> {'/'.join(src)} becomes {f} -> {t}" for f, (src, t) in reroute.items()
                      if f in names) or "none (not a sequence mistake)"
    label = MISTAKE_LABELS[mistake]
    assumption = _scenario_assumption(lang, tr(label, lang), quarter_label(end + 1, lang), reroute, names, hz,
                                      reduce)
    params = pd.DataFrame([
        ("mistake", mistake, label),
        ("clients_detected", hz["clients_with"], "clients who made the mistake"),
        ("clients_clear", hz["clients_without"], "measured clients who did not"),
        ("clients_not_measured", hz["clients_not_measured"], "left at the portfolio churn rate"),
        ("churn_with", hz["with"], f"churn per quarter after the mistake ({hz['exposure_with']} client-quarters)"),
        ("churn_without", hz["without"], f"churn per quarter without it ({hz['exposure_without']} client-quarters)"),
        ("churn_all", hz["all"], "portfolio churn per quarter"),
        ("churn_reduced", bool(reduce), "scenario lowers churn of clients who made the mistake"),
        ("rerouted", moves, "applies to every client"),
        ("revenue_difference_total", float(diff.sum(axis=1).mean()),
         f"scenario minus baseline over {horizon} quarters"),
    ], columns=["name", "value", "note"])
    return Scenario(port, params, assumption)


def _scenario_assumption(lang: str, label: str, start: str, reroute: Mapping, names: Sequence[str],
                         hz: Mapping[str, Any], reduce: bool) -> str:
    """The scenario's assumptions in words, in `lang`."""
    def phase(state: str) -> str:
        return phase_label(state, lang)

    def pct(x: float) -> str:
        return f"{x:.1%}".replace(".", ",") if lang == "ru" else f"{x:.1%}"

    moves = "; ".join(tr("{phase} -> {before} becomes {phase} -> {after}", lang, phase=phase(f),
                         before="/".join(phase(s) for s in src), after=phase(t))
                      for f, (src, t) in reroute.items() if f in names) or tr("none (not a sequence mistake)", lang)
    churn = (tr("clients who made it churn {with_} a quarter after it vs {without} for those who did not; in the "
                "scenario they churn at {without}. The observed churn difference is taken as caused by the mistake "
                "(an upper bound: these clients may differ in other ways).", lang,
                with_=pct(hz["with"]), without=pct(hz["without"]))
             if reduce else tr("no excess churn observed for clients who made it: churn unchanged.", lang))
    return tr("Scenario \u201c{label}\u201d avoided from {start} on. Moves between phases that change: {moves}. Churn: {churn} "
              "New clients are not forecast.", lang, label=label, start=start, moves=moves, churn=churn)


def mistake_churn_uplift(states: pd.DataFrame, by_client: pd.DataFrame) -> pd.DataFrame:
    """Per mistake: quarterly churn of clients who made it against those who did not.

    Columns: mistake, churn_with, churn_without, uplift (with - without, floored at 0: a
    mistake whose makers churn no more than the rest adds no risk; NaN, not measured, when
    either churn is: no client made the mistake, or every one did). What a mistake costs a
    client is then valued as its revenue times the added churn over a year.
    """
    rows = []
    pairs = phase_transitions(states)
    for mistake in MISTAKES:
        h = churn_hazards(states, by_client, mistake, pairs)
        with_, without = h["with"], h["without"]
        uplift = max(0.0, with_ - without) if np.isfinite(with_) and np.isfinite(without) else np.nan
        rows.append({"mistake": mistake, "churn_with": with_, "churn_without": without, "uplift": uplift})
    return pd.DataFrame(rows)


class NoBacktest(ValueError):
    """Too little history to backtest; the message is a catalogue text, so it can be shown in any language."""

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(template.format(**values))
        self.template, self.values = template, values

    def text(self, lang: str = "en") -> str:
        # the values keep quarter codes (the English message above); the reader gets the quarter's name
        return tr(self.template, lang, **{k: quarter_label(v, lang) if k == "quarter" else v
                                          for k, v in self.values.items()})


def backtest_if_possible(panel: pd.DataFrame, lang: str = "en", **kwargs: Any) -> tuple[Backtest | None, str]:
    """(backtest, "") or (None, why not, in `lang`): a short history cannot hold out `holdout`
    quarters, and the report should say so rather than stop the whole chain; nor can revenue
    that was not measured."""
    if not revenue_measured(panel):
        return None, tr("revenue is not measured", lang)
    try:
        return backtest(panel, **kwargs), ""
    except NoBacktest as error:
        return None, error.text(lang)
    except ValueError as error:
        return None, str(error)


# Money columns of the spiral's tables: a forecast, a backtest, a scenario or a value in money
# is not made from revenue that was not measured.
_MONEY_COLUMN = re.compile(r"revenue|clv|value|difference|baseline_mean|scenario_mean|forecast")


def revenue_measured(panel: pd.DataFrame) -> bool:
    """Whether every client-quarter's revenue is measured: only then is a forecast of revenue
    made (a quarter not measured would enter it as no revenue)."""
    return "revenue" in panel.columns and bool(pd.to_numeric(panel["revenue"], errors="coerce").notna().all())


def without_revenue(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every money column (revenue, value, difference...) not measured (NULL)."""
    out = table.copy()
    for column in out.columns:
        if _MONEY_COLUMN.search(str(column)) and pd.api.types.is_numeric_dtype(out[column]):
            out[column] = np.nan
    return out
