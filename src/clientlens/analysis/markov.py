"""A Markov chain over the spiral phases, estimated from history, and the lifetime value it implies.

States: feature, ux, stability, support, dormant (only when the data has quarters without spiral
work) and churned (absorbing). Input is `spiral.client_states`; every function returns a table.

- `fit_chain`: transition counts -> maximum-likelihood probabilities, with credible intervals
  (at level `ci`, when given) from the Dirichlet posterior of each row (prior `prior` per cell;
  Jeffreys-like 0.5 by default).
  The marginal of a Dirichlet is a Beta, so the interval for p_ij is the Beta(a_ij, a_i - a_ij)
  quantiles: exact, no sampling.
- `state_revenue`: mean revenue per client-quarter in each state (churned = 0), and
  `client_scales`: each client's size relative to the state means (shrunk to 1 for short
  histories), so a forecast for a large client is not the portfolio average.
- `state_clv` / `client_clv`: Pfeifer and Carraway (2000):
      V = sum_{t>=0} ((1+d)^-1 P)^t R = (I - (1+d)^-1 P)^-1 R
  with d the *quarterly* discount rate ((1 + yearly)^(1/4) - 1). V counts the current quarter
  (t = 0); `future_value` starts with the next quarter. With margin = 1 the value is revenue;
  pass a margin rate (scalar or per state) for profit.
- `simulate_panel`: a synthetic client-quarter panel from a known chain, for tests and examples.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import betaincinv

from clientlens.analysis.spiral import CHURNED, DORMANT, PHASES, phase_transitions, quarter_label

CHAIN_COLUMNS = ["from_state", "to_state", "count", "from_total", "p", "p_low", "p_high", "alpha",
                 "ci_level"]


def chain_state_names(states: pd.DataFrame, include_dormant: bool | str = "auto",
                      pairs: pd.DataFrame | None = None) -> list[str]:
    """The chain's states in order: the phases, dormant, churned.

    Dormant is in the chain when asked for, or ("auto") when the data shows clients moving out of
    a dormant quarter; a silence only at the period end is too early to model.
    """
    if include_dormant == "auto":
        if pairs is None:
            pairs = phase_transitions(states) if len(states) else pd.DataFrame(columns=["from_state"])
        include_dormant = bool((pairs["from_state"] == DORMANT).any())
    return list(PHASES) + ([DORMANT] if include_dormant else []) + [CHURNED]


def fit_chain(states: pd.DataFrame, *, prior: float = 0.5, ci: float | None = None,
              include_dormant: bool | str = "auto", clients: Sequence[str] | None = None) -> pd.DataFrame:
    """Transition probabilities with credible intervals, one row per (from_state, to_state).

    Columns: from_state, to_state, count (observed moves), from_total (moves out of from_state),
    p (maximum likelihood; the prior mean when from_total is 0), p_low / p_high (equal-tailed `ci`
    interval of the Dirichlet(count + prior) posterior; NaN without `ci`, for fits that only
    simulate), alpha (posterior parameter), ci_level.
    The churned row is absorbing (p = 1 to churned). `clients` restricts the fit to those clients.
    When dormant is not in the chain (see `chain_state_names`), moves into or out of dormant
    quarters are dropped.
    """
    pairs = phase_transitions(states)
    names = chain_state_names(states, include_dormant, pairs)
    if clients is not None:
        pairs = pairs[pairs["client_id"].isin(set(map(str, clients)))]
    pairs = pairs[pairs["from_state"].isin(names) & pairs["to_state"].isin(names)]
    transient = [n for n in names if n != CHURNED]
    counts = (pd.crosstab(pairs["from_state"], pairs["to_state"])
              .reindex(index=transient, columns=names, fill_value=0).to_numpy(dtype=float))
    alpha = counts + prior
    totals = counts.sum(axis=1, keepdims=True)
    a0 = alpha.sum(axis=1, keepdims=True)
    p = np.where(totals > 0, counts / np.where(totals > 0, totals, 1), alpha / a0)
    if ci is None:
        p_low = p_high = np.full_like(alpha, np.nan)
    else:
        lo_q, hi_q = (1 - ci) / 2, 1 - (1 - ci) / 2
        p_low = betaincinv(alpha, a0 - alpha, lo_q)  # Beta quantiles: the Dirichlet's marginals
        p_high = betaincinv(alpha, a0 - alpha, hi_q)
    ci_level = np.nan if ci is None else ci
    rows = []
    for i, f in enumerate(transient):
        for j, t in enumerate(names):
            rows.append((f, t, counts[i, j], totals[i, 0], p[i, j], p_low[i, j], p_high[i, j],
                         alpha[i, j], ci_level))
    for t in names:
        one = 1.0 if t == CHURNED else 0.0
        rows.append((CHURNED, t, 0.0, 0.0, one, one, one, np.nan, ci_level))
    out = pd.DataFrame(rows, columns=CHAIN_COLUMNS)
    out["count"] = out["count"].astype(int)
    out["from_total"] = out["from_total"].astype(int)
    return out


def transition_matrix(chain: pd.DataFrame, value: str = "p") -> pd.DataFrame:
    """The square matrix (from_state rows, to_state columns) of one column of `fit_chain`."""
    order = list(dict.fromkeys(chain["to_state"]))
    return chain.pivot(index="from_state", columns="to_state", values=value).reindex(
        index=order, columns=order)


def state_revenue(states: pd.DataFrame, chain: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean revenue per client-quarter in each chain state.

    Columns: state, quarters, clients, revenue_mean, revenue_median, revenue_sd, revenue_total.
    Churned is 0 by definition (invoices arriving after the last work are not the chain's). With
    `chain`, the states follow its order; dormant quarters not in the chain are left out.
    """
    names = list(dict.fromkeys(chain["to_state"])) if chain is not None else chain_state_names(states)
    live = states[states["state"] != CHURNED]
    g = live.groupby("state")["revenue"]
    out = pd.DataFrame({"quarters": g.size(), "clients": live.groupby("state")["client_id"].nunique(),
                        "revenue_mean": g.mean(), "revenue_median": g.median(),
                        "revenue_sd": g.std(), "revenue_total": g.sum()}).reindex(names)
    out.loc[CHURNED, ["revenue_mean", "revenue_median", "revenue_sd", "revenue_total"]] = 0.0
    out.loc[CHURNED, "quarters"] = int((states["state"] == CHURNED).sum())
    out.loc[CHURNED, "clients"] = states.loc[states["state"] == CHURNED, "client_id"].nunique()
    out[["quarters", "clients"]] = out[["quarters", "clients"]].fillna(0).astype(int)
    out[["revenue_mean", "revenue_median", "revenue_total"]] = \
        out[["revenue_mean", "revenue_median", "revenue_total"]].fillna(0.0)
    return out.rename_axis("state").reset_index()


def client_scales(states: pd.DataFrame, state_rev: pd.DataFrame,
                  shrink_quarters: float | str = "auto") -> pd.DataFrame:
    """Each client's revenue relative to what its states earn on average.

    ratio = sum(revenue) / sum(state mean revenue) over the client's non-churned quarters;
    scale = (n * ratio + k) / (n + k), so a client seen for few quarters stays near the portfolio
    average. k = `shrink_quarters`; "auto" estimates it empirical-Bayes style as within-client
    over between-client variance of log(revenue / state mean) (clipped to 0.25..20 quarters).
    Columns: client_id, quarters, ratio, scale, shrink_quarters.
    """
    mu = state_rev.set_index("state")["revenue_mean"]
    live = states[(states["state"] != CHURNED) & states["state"].isin(mu.index)]
    expected = live["state"].map(mu).astype(float)
    use = live.assign(expected=expected)[expected > 0]
    g = use.groupby("client_id")
    n = g.size()
    ratio = (g["revenue"].sum() / g["expected"].sum()).clip(lower=0)
    if shrink_quarters == "auto":
        shrink_quarters = _auto_shrink(use)
    k = float(shrink_quarters)
    out = pd.DataFrame({"quarters": n, "ratio": ratio})
    out["scale"] = (out["quarters"] * out["ratio"] + k) / (out["quarters"] + k)
    everyone = pd.Index(states["client_id"].unique(), name="client_id")
    out = out.reindex(everyone)
    out["quarters"] = out["quarters"].fillna(0).astype(int)
    out["scale"] = out["scale"].fillna(1.0)
    out["shrink_quarters"] = k
    return out.rename_axis("client_id").reset_index()


def _auto_shrink(use: pd.DataFrame) -> float:
    pos = use[use["revenue"] > 0]
    if pos.empty:
        return 2.0
    d = np.log(pos["revenue"].to_numpy(dtype=float) / pos["expected"].to_numpy(dtype=float))
    frame = pd.DataFrame({"c": pos["client_id"].to_numpy(), "d": d})
    g = frame.groupby("c")["d"]
    n = g.size()
    multi = n[n >= 2].index
    if len(multi) < 3:
        return 2.0
    within = float(g.var(ddof=1)[multi].mean())
    means = g.mean()
    between = float(means.var(ddof=1) - (within / n).mean())
    if not np.isfinite(within) or not np.isfinite(between) or between <= 0:
        return 20.0
    return float(np.clip(within / between, 0.25, 20.0))


# --- lifetime value -------------------------------------------------------------------------

def quarterly_discount_rate(yearly: float) -> float:
    """The quarterly rate equivalent to a yearly one: (1 + yearly)^(1/4) - 1."""
    return (1.0 + float(yearly)) ** 0.25 - 1.0


def clv_closed_form(P: np.ndarray, R: np.ndarray, d: float) -> np.ndarray:
    """V = (I - (1+d)^-1 P)^-1 R, the expected discounted value from each state (d per period)."""
    P = np.asarray(P, dtype=float)
    return np.linalg.solve(np.eye(len(P)) - P / (1.0 + d), np.asarray(R, dtype=float))


def clv_finite_sum(P: np.ndarray, R: np.ndarray, d: float, periods: int) -> np.ndarray:
    """sum_{t=0}^{periods-1} ((1+d)^-1 P)^t R: the closed form truncated after `periods` periods."""
    M = np.asarray(P, dtype=float) / (1.0 + d)
    term = np.asarray(R, dtype=float).copy()
    total = np.zeros_like(term)
    for _ in range(int(periods)):
        total += term
        term = M @ term
    return total


def _margins(names: Sequence[str], margin: float | Mapping[str, float]) -> np.ndarray:
    if isinstance(margin, Mapping):
        return np.array([float(margin.get(n, 1.0)) for n in names])
    return np.full(len(names), float(margin))


def state_clv(chain: pd.DataFrame, state_rev: pd.DataFrame, yearly_discount_rate: float,
              margin: float | Mapping[str, float] = 1.0) -> pd.DataFrame:
    """Lifetime value from each state.

    Columns: state, revenue_per_quarter, margin, value_per_quarter (R = revenue x margin),
    clv (V, this quarter included), future_value (V - R: from the next quarter on),
    expected_quarters (expected quarters before churn, this one included; inf if never churning),
    discount_rate_quarterly.
    """
    P = transition_matrix(chain).to_numpy()
    names = list(transition_matrix(chain).index)
    revenue = state_rev.set_index("state")["revenue_mean"].reindex(names).fillna(0.0).to_numpy()
    m = _margins(names, margin)
    R = revenue * m
    R[names.index(CHURNED)] = 0.0
    d = quarterly_discount_rate(yearly_discount_rate)
    V = clv_closed_form(P, R, d)
    transient = [i for i, n in enumerate(names) if n != CHURNED]
    Q = P[np.ix_(transient, transient)]
    try:
        life = np.linalg.solve(np.eye(len(Q)) - Q, np.ones(len(Q)))
    except np.linalg.LinAlgError:
        life = np.full(len(Q), np.inf)
    expected = np.zeros(len(names))
    expected[transient] = life
    return pd.DataFrame({"state": names, "revenue_per_quarter": revenue, "margin": m,
                         "value_per_quarter": R, "clv": V, "future_value": V - R,
                         "expected_quarters": expected, "discount_rate_quarterly": d})


def client_clv(states: pd.DataFrame, chain: pd.DataFrame, state_rev: pd.DataFrame,
               scales: pd.DataFrame | None = None, *, yearly_discount_rate: float,
               margin: float | Mapping[str, float] = 1.0) -> pd.DataFrame:
    """Lifetime value of each client from its state at the period end, scaled to its size.

    Columns: client_id, client_name, quarter, state, scale, clv, future_value, expected_quarters.
    An exited client is churned (value 0).
    """
    sv = state_clv(chain, state_rev, yearly_discount_rate, margin).set_index("state")
    last = start_states(states, list(sv.index))
    if scales is None:
        scales = client_scales(states, state_rev)
    scale = scales.set_index("client_id")["scale"]
    out = last.copy()
    out["scale"] = out["client_id"].map(scale).fillna(1.0).to_numpy()
    for col in ("clv", "future_value"):
        out[col] = out["state"].map(sv[col]).to_numpy() * out["scale"]
    out["expected_quarters"] = out["state"].map(sv["expected_quarters"]).to_numpy()
    return out


def start_states(states: pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Each client's state at the period end: client_id, client_name, quarter, state.

    An exited client is churned even when its exit fell in its last quarter with work; a dormant
    client is reported as dormant only when `names` has dormant, else as its last phase.
    """
    s = states.sort_values(["client_id", "quarter_index"])
    last = s.groupby("client_id").tail(1)
    state = last["state"].astype(object).where(~last["client_exited"].astype(bool), CHURNED)
    if names is not None and DORMANT not in names:
        phase = s[s["state"].isin(PHASES)].groupby("client_id")["state"].last()
        fallback = last["client_id"].map(phase).fillna(PHASES[0])
        state = state.where(state != DORMANT, fallback)
    return pd.DataFrame({"client_id": last["client_id"].to_numpy(),
                         "client_name": last["client_name"].to_numpy(),
                         "quarter": last["quarter"].to_numpy(),
                         "state": state.to_numpy(dtype=object)}).reset_index(drop=True)


# --- simulation (tests, examples) -------------------------------------------------------------

def simulate_panel(P: np.ndarray | pd.DataFrame, *, n_clients: int = 2000, n_quarters: int = 12,
                   seed: int, state_names: Sequence[str] = PHASES + (CHURNED,),
                   start_probs: Sequence[float] | None = None,
                   revenue_by_state: Mapping[str, float] | None = None, size_sigma: float = 0.6,
                   noise_sigma: float = 0.15, dominant_share: float = 0.75, first_quarter: str = "2023Q1",
                   staggered: bool = False, exit_recorded: bool = True) -> pd.DataFrame:
    """A client-quarter panel generated by a known chain (the truth is in `true_state`).

    Each client has a lognormal size; a quarter in phase s earns size x revenue_by_state[s] x
    lognormal noise, `dominant_share` of it billed as work type s and the rest spread over the
    other phases. Churned clients have no work; with `exit_recorded` the churn quarter carries
    exited = True and the rows stop there. `staggered` spreads first quarters over the window.
    """
    if isinstance(P, pd.DataFrame):
        state_names = list(P.index)
        P = P.to_numpy()
    P = np.asarray(P, dtype=float)
    names = list(state_names)
    S = len(names)
    rng = np.random.default_rng(seed)
    revenue_by_state = dict(revenue_by_state or {"feature": 100_000, "ux": 60_000, "stability": 45_000,
                                                 "support": 25_000})
    if start_probs is None:
        start_probs = [1.0 if n == "feature" else 0.0 for n in names]
    start_probs = np.asarray(start_probs, dtype=float) / np.sum(start_probs)
    base = int(first_quarter[:4]) * 4 + int(first_quarter[-1]) - 1
    churn = names.index(CHURNED)
    n, T = int(n_clients), int(n_quarters)
    size = np.exp(rng.normal(0, size_sigma, n))
    first = rng.integers(0, max(1, T - 2), n) if staggered else np.zeros(n, dtype=int)
    people = rng.integers(2, 6, n)
    state = np.full((n, T), -1)
    s = np.searchsorted(np.cumsum(start_probs), rng.random(n), side="right").clip(max=S - 1)
    cum = np.cumsum(P, axis=1)
    cum[:, -1] = 1.0
    for t in range(T):
        started = first <= t
        state[started, t] = s[started]
        u = rng.random(n)
        nxt = (u[:, None] >= cum[s]).sum(axis=1).clip(max=S - 1)
        s = np.where(started, nxt, s)
    # one row per client-quarter from its first quarter; rows stop at the churn quarter when recorded
    is_churn = state == churn
    first_churn = np.where(is_churn.any(axis=1), is_churn.argmax(axis=1), T)
    tt = np.arange(T)[None, :]
    keep = (state >= 0) & ((tt <= first_churn[:, None]) if exit_recorded else True)
    ci, ti = np.nonzero(keep)
    st = state[ci, ti]
    mean = np.array([revenue_by_state.get(nm, 0.0) if nm in PHASES else 0.0 for nm in names])
    total = size[ci] * mean[st] * np.exp(rng.normal(0, noise_sigma, len(ci)))
    total[st == churn] = 0.0
    phase_idx = {p: names.index(p) for p in PHASES if p in names}
    weights = rng.dirichlet(np.ones(len(PHASES) - 1), len(ci)) * (1 - dominant_share)
    values = np.zeros((len(ci), len(PHASES)))
    for k, p in enumerate(PHASES):
        if p not in phase_idx:
            continue
        own = st == phase_idx[p]
        values[own, k] = dominant_share
        others = [j for j in range(len(PHASES)) if j != k]
        values[np.ix_(own, others)] = weights[own]
    values *= total[:, None]
    worked = total > 0
    exited = (st == churn) & exit_recorded
    out = pd.DataFrame({
        "client_id": np.char.add("c", np.char.zfill(ci.astype(str), 5)),
        "client_name": np.char.add("Client ", ci.astype(str)),
        "quarter_index": base + ti,
    })
    out["client_id"] = out["client_id"].astype(str)
    out["client_name"] = out["client_name"].astype(str)
    out["quarter"] = out["quarter_index"].map(quarter_label)
    out["true_state"] = np.array(names, dtype=object)[st]
    out["exited"] = exited
    out["exit_reason"] = np.where(exited, "churn", None)
    out["hours"] = total / 100.0
    out["billable_value"] = total
    out["revenue"] = total
    out["people_count"] = np.where(worked, people[ci], 0)
    out["is_active"] = worked
    for k, p in enumerate(PHASES):
        out[f"value_{p}"] = values[:, k]
    out["value_other"] = 0.0
    return out
