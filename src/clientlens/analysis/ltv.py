"""Lifetime value: profit to date plus the discounted profit still to come.

Retention follows the shifted-beta-geometric (sBG) model of Fader & Hardie (2007), "How to
project customer retention", Journal of Interactive Marketing 21(1): each client renews at the
end of every period with its own probability 1 - theta, and theta varies across clients as
Beta(alpha, beta). Heterogeneity makes the survivors ever more loyal, so retention rises with
tenure:

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)      churn in period t (t >= 1)
    S(t)     = B(alpha, beta + t) / B(alpha, beta)              alive after t renewals
    r(t)     = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)

The value still to come uses the discounted expected residual lifetime of Fader & Hardie
(2010), "Customer-base valuation in a contractual setting: the perils of ignoring
heterogeneity", Marketing Science 29(1): for a client that has made n - 1 renewals (is at the
end of its n-th period, about to decide the n-th renewal), with discount rate d per period,

    DERL = sum_{t >= n} S(t) / S(n-1) / (1+d)^(t-n)
         = (beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1/(1+d))

so the next period's margin counts undiscounted if the client renews. Then

    ltv_projected = margin per period x DERL        ltv_total = margin to date + ltv_projected

Renewal history comes from contracts (renewal_of chains, the contractual setting the model
was built for). When no contracts table was supplied it falls back to quarterly activity
survival from the panel (a client is alive n quarters after its first activity while it still
has activity later on); the fitted model says which source it used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, hyp2f1

from clientlens.analysis import activity
from clientlens.analysis.pnl import _period_end_index, _prepare_panel, _quarter_label
from clientlens.i18n import N_
from clientlens.quarters import quarter_index_of

__all__ = [
    "sbg_survival", "sbg_churn_probability", "sbg_retention_rate", "sbg_projected_survivors",
    "fit_sbg", "sbg_del", "sbg_derl", "discounted_value", "ltv_two_state", "ltv_markov",
    "period_discount_rate", "renewal_period_quarters", "renewal_cohorts",
    "panel_survival_cohorts", "RetentionModel", "retention_model", "client_ltv",
    "SOURCE_CONTRACTS", "SOURCE_PANEL",
]

SOURCE_CONTRACTS = N_("contracts: renewal chains")
SOURCE_PANEL = N_("panel: quarterly activity survival (no contracts table)")


# --------------------------------------------------------------------------- the sBG model

def sbg_survival(t: Any, alpha: float, beta: float) -> np.ndarray:
    """S(t) = P(still a client after t renewal periods) = B(alpha, beta+t) / B(alpha, beta)."""
    t = np.asarray(t, dtype="float64")
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def sbg_churn_probability(t: Any, alpha: float, beta: float) -> np.ndarray:
    """P(T = t): the client churns at the end of period t (t >= 1)."""
    t = np.asarray(t, dtype="float64")
    return np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))


def sbg_retention_rate(t: Any, alpha: float, beta: float) -> np.ndarray:
    """r(t) = S(t)/S(t-1) = (beta+t-1)/(alpha+beta+t-1): renewal probability at period t."""
    t = np.asarray(t, dtype="float64")
    return (beta + t - 1) / (alpha + beta + t - 1)


def sbg_projected_survivors(alpha: float, beta: float, periods: int, n0: float = 1000.0) -> pd.Series:
    """Expected survivors of a cohort of n0 after 0..periods renewal periods."""
    t = np.arange(periods + 1)
    return pd.Series(n0 * sbg_survival(t, alpha, beta), index=pd.Index(t, name="period"),
                     name="survivors")


def _survivor_rows(survivors: Any) -> list[np.ndarray]:
    """Cohort rows of alive counts (period 0 first), NULL tails (not yet observed) removed."""
    if isinstance(survivors, pd.DataFrame):
        rows = [r.to_numpy(dtype="float64") for _, r in survivors.iterrows()]
    else:
        arr = np.asarray(survivors, dtype="float64")
        rows = [arr] if arr.ndim == 1 else list(arr)
    out = []
    for r in rows:
        observed = ~np.isnan(r)
        if not observed.any():
            continue
        last = int(np.flatnonzero(observed)[-1])
        r = r[: last + 1]
        if np.isnan(r).any():
            raise ValueError("a survivors row has a gap: only trailing periods may be NULL "
                             "(not yet observed)")
        if np.any(np.diff(r) > 1e-9) or np.any(r < 0):
            raise ValueError(f"survivors must not increase over time: {r.tolist()}")
        out.append(r)
    return out


def fit_sbg(survivors: Any) -> pd.Series:
    """Maximum-likelihood fit of the sBG model to survivor counts.

    ``survivors``: one cohort as a sequence (alive at period 0, 1, ..., e.g. 1000, 631, 468...),
    or a table with one row per cohort and one column per period (0, 1, 2, ...), NULL where a
    cohort has not been observed that long (see renewal_cohorts / panel_survival_cohorts).
    Each cohort contributes (n_{t-1} - n_t) log P(T = t) for every observed period t and
    n_last log S(last) for those still alive (right-censored), as in Fader & Hardie (2007).

    Returns alpha, beta, loglik, n_units (cohort sizes summed), n_churned, n_periods
    (longest observed history), retention_1 (first-period renewal probability
    beta/(alpha+beta)), mean_churn (alpha/(alpha+beta)), converged, message. With no churn
    observed the model cannot be identified: alpha and beta then sit at the bound (retention
    near 1), converged is False and message says so. When churn does not fall with tenure the
    fit reaches the constant-retention (geometric) limit, alpha + beta = 1e6; message says so.
    """
    rows = _survivor_rows(survivors)
    if not rows or sum(r[0] for r in rows) <= 0:
        raise ValueError("no survivors to fit: need at least one cohort with members and one "
                         "observed renewal period")
    horizon = max(len(r) for r in rows) - 1
    if horizon < 1:
        raise ValueError("the survivors cover period 0 only: need at least one renewal period")
    died = np.zeros(horizon + 1)   # died[t]: churned at the end of period t
    alive = np.zeros(horizon + 1)  # alive[t]: still alive when observation stops after t periods
    for r in rows:
        k = len(r) - 1
        died[1: k + 1] += r[:-1] - r[1:]
        alive[k] += r[-1]
    t = np.arange(horizon + 1, dtype="float64")
    d_idx = np.flatnonzero(died > 0)
    a_idx = np.flatnonzero(alive > 0)

    # parameters: x = (logit of the mean churn a/(a+b), log of the precision a+b); the
    # precision's upper bound is the constant-retention (geometric) limit
    mu_lim, phi_lo, phi_hi = 18.0, math.log(1e-3), math.log(1e6)
    bounds = [(-mu_lim, mu_lim), (phi_lo, phi_hi)]

    def ab(x: np.ndarray) -> tuple[float, float]:
        mu = 1.0 / (1.0 + math.exp(-x[0]))
        phi = math.exp(x[1])
        return mu * phi, (1.0 - mu) * phi

    td, ta = t[d_idx], t[a_idx]
    nd, na = died[d_idx], alive[a_idx]
    n_all = nd.sum() + na.sum()

    def nll(x: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the log-likelihood and its gradient in x (d betaln / d a = psi(a) - psi(a+b))."""
        a, b = ab(x)
        ll = (np.sum(nd * betaln(a + 1, b + td - 1)) + np.sum(na * betaln(a, b + ta))
              - n_all * betaln(a, b))
        psi_ab = digamma(a + b)
        da = (np.sum(nd * (digamma(a + 1) - digamma(a + b + td)))
              + np.sum(na * (digamma(a) - digamma(a + b + ta))) - n_all * (digamma(a) - psi_ab))
        db = (np.sum(nd * (digamma(b + td - 1) - digamma(a + b + td)))
              + np.sum(na * (digamma(b + ta) - digamma(a + b + ta)))
              - n_all * (digamma(b) - psi_ab))
        mu = a / (a + b)
        dmu = (a + b) * mu * (1.0 - mu)
        grad = np.array([da * dmu - db * dmu, da * a + db * b])
        return -float(ll), -grad

    n_units = float(sum(r[0] for r in rows))
    n_churned = float(died.sum())
    first = min(max(died[1] / n_units, 1e-6), 1 - 1e-6)
    best = None
    for start in ((math.log(first / (1 - first)), 0.0), (math.log(first / (1 - first)), 3.0)):
        res = minimize(nll, np.array(start), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
        if best is None or res.fun < best.fun:
            best = res
    x = np.array(best.x, dtype="float64")
    a, b = ab(x)
    if n_churned == 0:
        message, converged = N_("no churn observed: retention cannot be estimated (taken as ~1)"), False
    elif x[1] > phi_hi - 1e-3:
        message, converged = N_("no heterogeneity found: retention is constant over tenure "
                                 "(the geometric limit of the model)"), True
    elif x[1] < phi_lo + 1e-3 or abs(x[0]) > mu_lim - 1e-3:
        message, converged = N_("a parameter hit its bound: the history barely identifies the model"), False
    else:
        message, converged = N_("ok"), True
    return pd.Series({
        "alpha": a, "beta": b, "loglik": -nll(x)[0], "n_units": n_units,
        "n_churned": n_churned, "n_periods": int(horizon), "retention_1": b / (a + b),
        "mean_churn": a / (a + b), "converged": converged, "message": message,
    }, dtype=object)


def sbg_del(alpha: float, beta: float, discount: float) -> float:
    """Discounted expected lifetime of a new client, in periods, the first one undiscounted:
    sum_{t>=0} S(t)/(1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d))."""
    return sbg_derl(alpha, beta, discount, renewals=0, include_current=True)


def sbg_derl(alpha: float, beta: float, discount: float, renewals: int | float = 0,
             include_current: bool = False, horizon: int | None = None) -> float:
    """Discounted expected residual lifetime (Fader & Hardie 2010), in periods.

    For a client that has made ``renewals`` (= n - 1) renewals and stands at the end of period
    n, before its next renewal decision: sum_{t >= n} S(t)/S(n-1) / (1+d)^(t-n)
    = (beta+n-1)/(alpha+beta+n-1) x 2F1(1, beta+n; alpha+beta+n; 1/(1+d)).
    ``include_current=True`` counts the current period as well (worth 1, now), so that every
    renewal lies one period further away: 1 + DERL/(1+d) = 2F1(1, beta+n-1; alpha+beta+n-1;
    1/(1+d)); with renewals=0 that is the discounted expected
    lifetime of a new client (sbg_del). ``horizon`` counts at most that many periods (the
    closed form is the infinite sum).
    """
    if discount <= 0:
        raise ValueError(f"discount={discount!r}: the series converges only for a rate > 0")
    n = float(renewals) + 1.0
    z = 1.0 / (1.0 + discount)
    first = n - 1 if include_current else n  # the first period counted, worth 1 now
    value = np.nan
    if horizon is None and alpha + beta + n < 1e4:  # scipy's 2F1 is exact here; it fails for huge parameters
        value = hyp2f1(1.0, beta + first, alpha + beta + first, z)
        if not include_current:
            value *= (beta + n - 1) / (alpha + beta + n - 1)
    if not np.isfinite(value):  # sum the series: S(t)/S(n-1) is a product of retention rates
        terms = int(min(5e6, math.ceil(-42.0 / math.log(z)) + 2))
        if horizon is not None:
            terms = max(0, int(horizon) - (1 if include_current else 0))
        t = np.arange(n, n + terms)
        log_s = np.cumsum(np.log(beta + t - 1) - np.log(alpha + beta + t - 1))
        value = float(np.sum(np.exp(log_s + (t - n) * math.log(z))))
        if include_current:
            value = 1.0 + z * value
    return float(value)


def period_discount_rate(discount_rate: float, period_quarters: float) -> float:
    """The yearly discount rate converted to a period of ``period_quarters`` quarters."""
    return (1.0 + float(discount_rate)) ** (float(period_quarters) / 4.0) - 1.0


# --------------------------------------------------------------------------- LTV identities

def discounted_value(margin: float | Sequence[float], survival: Sequence[float],
                     discount: float) -> float:
    """sum_t margin_t x survival_t / (1+d)^t, t = 0, 1, ... (t = 0 undiscounted).

    The general series: survival_t is the probability the client is still there in period t
    (survival_0 = 1 for a client alive now), margin_t the margin it brings then.
    """
    s = np.asarray(survival, dtype="float64")
    m = np.broadcast_to(np.asarray(margin, dtype="float64"), s.shape)
    return float(np.sum(m * s * (1.0 / (1.0 + discount)) ** np.arange(len(s))))


def ltv_markov(margins: Sequence[float], transition: Any, discount: float) -> np.ndarray:
    """Value of a client starting in each state of a Markov chain, per period margins.

    V = sum_t (P / (1+d))^t m = (I - P/(1+d))^-1 m, with m the margin earned in each state
    this period (undiscounted) and P[i, j] the probability of moving from state i to j.
    """
    m = np.asarray(margins, dtype="float64")
    p = np.asarray(transition, dtype="float64")
    if p.shape != (len(m), len(m)):
        raise ValueError(f"transition must be {len(m)}x{len(m)}, got {p.shape}")
    if np.any(p < -1e-12) or not np.allclose(p.sum(axis=1), 1.0):
        raise ValueError("every row of the transition matrix must be probabilities summing to 1")
    # an absorbing state that earns nothing (churned) is worth 0; leaving it out keeps the
    # system solvable without discounting
    dead = np.isclose(np.diag(p), 1.0) & (m == 0)
    keep = ~dead
    value = np.zeros(len(m))
    a = np.eye(keep.sum()) - p[np.ix_(keep, keep)] / (1.0 + discount)
    try:
        value[keep] = np.linalg.solve(a, m[keep])
    except np.linalg.LinAlgError:
        raise ValueError("the value does not converge: a state that earns money is never left "
                         "and there is no discounting") from None
    return value


def ltv_two_state(margin: float, retention: float, discount: float) -> float:
    """Two states (alive, churned), constant retention r, discount d per period:
    margin x sum_t (r/(1+d))^t = margin x (1+d)/(1+d-r) (this period's margin included)."""
    if not 0 <= retention <= 1:
        raise ValueError(f"retention={retention!r}: a probability in [0, 1]")
    if discount <= -1 or (retention == 1 and discount <= 0):
        raise ValueError("the series diverges: need a positive discount rate when retention is 1")
    return float(margin) * (1.0 + discount) / (1.0 + discount - retention)


# --------------------------------------------------------------------------- renewal history

def _as_of_date(as_of: Any, fallback: pd.Timestamp) -> pd.Timestamp:
    if as_of is None:
        return fallback
    if isinstance(as_of, str) and "Q" in as_of.upper():
        idx = quarter_index_of(as_of.upper())
        nxt = idx + 1
        return pd.Timestamp(nxt // 4, 3 * (nxt % 4) + 1, 1) - pd.Timedelta(days=1)
    return pd.Timestamp(as_of)


def _contracts(contracts: pd.DataFrame) -> pd.DataFrame:
    for col in ("contract_id", "client_id", "start_date"):
        if col not in contracts.columns:
            raise ValueError(f"contracts table has no {col} column (see docs/data-contract.md)")
    c = pd.DataFrame({
        "contract_id": contracts["contract_id"].astype(str),
        "client_id": contracts["client_id"].astype(str),
        "start_date": pd.to_datetime(contracts["start_date"]),
        "end_date": pd.to_datetime(contracts["end_date"]) if "end_date" in contracts
        else pd.NaT,
        "renewal_of": contracts["renewal_of"].astype(object) if "renewal_of" in contracts
        else None,
    })
    c["renewal_of"] = c["renewal_of"].map(lambda v: None if v is None or pd.isna(v) or
                                          str(v).strip() == "" else str(v))
    return c.drop_duplicates("contract_id").reset_index(drop=True)


def _chains(contracts: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per renewal chain: root, client, cohort quarter, renewals made, alive now."""
    return _chains_of(_contracts(contracts), as_of)


def _chains_of(c: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """_chains() of a table _contracts() has already read."""
    c = c[c["start_date"] <= as_of]
    contract_ids = c["contract_id"].tolist()  # plain lists: iterating Arrow-backed columns is slow
    parent = dict(zip(contract_ids, c["renewal_of"].tolist()))
    ids = set(parent)
    root_of: dict[str, str] = {}
    depth: dict[str, int] = {}
    for cid in contract_ids:
        path: list[str] = []
        seen: set[str] = set()
        node = cid
        while True:
            if node in root_of:  # joins a chain already resolved
                root, d = root_of[node], depth[node]
                break
            path.append(node)
            seen.add(node)
            par = parent[node]
            if par is None or par not in ids or par in seen:  # a root (or a broken cycle)
                path.pop()
                root, d = node, 0
                root_of[node], depth[node] = node, 0
                break
            node = par
        for n in reversed(path):
            d += 1
            root_of[n], depth[n] = root, d
    c["root"] = c["contract_id"].map(root_of)
    c["depth"] = c["contract_id"].map(depth)
    c["running"] = c["end_date"].isna() | (c["end_date"] >= as_of)
    g = c.groupby("root")
    chains = pd.DataFrame({
        "client_id": g["client_id"].first(),
        "start": g["start_date"].min(),
        "renewals": g["depth"].max(),
        "alive": g["running"].any(),
    })
    chains["cohort"] = chains["start"].map(lambda d: f"{d.year}Q{(d.month - 1) // 3 + 1}")
    return chains.reset_index()


def renewal_period_quarters(contracts: pd.DataFrame) -> int:
    """Length of a renewal period in quarters: the median gap between the start of a contract
    and the start of its renewal; without renewals, the median contract length; else 4."""
    return _period_quarters_of(_contracts(contracts))


def _period_quarters_of(c: pd.DataFrame) -> int:
    """renewal_period_quarters() of a table _contracts() has already read."""
    starts = dict(zip(c["contract_id"].tolist(), c["start_date"]))
    renewal_gap = (c["start_date"] - c["renewal_of"].map(starts)).dt.days.dropna()
    gaps = renewal_gap[renewal_gap > 0].tolist()
    if not gaps:
        gaps = [g.days + 1 for g in (c["end_date"] - c["start_date"]).dropna() if g.days > 0]
    if not gaps:
        return 4
    return max(1, int(round(float(np.median(gaps)) / (365.25 / 4))))


def renewal_cohorts(contracts: pd.DataFrame, as_of: Any = None,
                    period_quarters: int | None = None) -> pd.DataFrame:
    """Survivors table from contract renewal chains.

    A chain starts with a contract that renews nothing (renewal_of empty or unknown) and
    follows renewal_of links; its cohort is the quarter the chain started. After k renewal
    periods (each ``period_quarters`` long, see renewal_period_quarters) the chain counts as
    alive when it has made at least k renewals, or when a contract of it is still running at
    ``as_of`` (date, or quarter as 2025Q4 meaning its last day; default the latest start date).
    A cohort is observed for floor(quarters from its start to as_of / period_quarters) periods;
    later columns are NULL.

    Returns one row per cohort (index ``cohort``), columns 0, 1, 2, ... = chains alive after
    that many renewal periods (column 0 = chains started).
    """
    return _cohorts_of(_contracts(contracts), as_of, period_quarters)


def _cohorts_of(c: pd.DataFrame, as_of: Any = None, period_quarters: int | None = None) -> pd.DataFrame:
    """renewal_cohorts() of a table _contracts() has already read."""
    if not len(c):
        raise ValueError("the contracts table is empty: no renewal history to fit")
    as_of_ts = _as_of_date(as_of, c["start_date"].max())
    pq = period_quarters or _period_quarters_of(c)
    chains = _chains_of(c, as_of_ts)
    if chains.empty:
        raise ValueError(f"no contract starts on or before {as_of_ts.date()}: no renewal history")
    end_q = quarter_index_of(f"{as_of_ts.year}Q{(as_of_ts.month - 1) // 3 + 1}")
    rows = {}
    for cohort, grp in chains.groupby("cohort", sort=True):
        observed = (end_q - quarter_index_of(cohort)) // pq
        counts = [float(((grp["renewals"] >= k) | grp["alive"]).sum()) for k in range(observed + 1)]
        rows[cohort] = counts
    width = max(len(v) for v in rows.values())
    table = pd.DataFrame({k: v + [np.nan] * (width - len(v)) for k, v in rows.items()}).T
    table.index.name = "cohort"
    table.columns = list(range(width))
    return table


def _panel_lives(panel: pd.DataFrame, period_end: Any = None, *, lapse_quarters: int) -> pd.DataFrame:
    """Per client: first active quarter, quarters it is known alive, whether churn is seen."""
    p = _prepare_panel(panel, period_end)
    end = _period_end_index(p, period_end)
    active = p[p["is_active"]]
    g = active.groupby("client_id")
    # alive to its last quarter with work or an invoice: an open contract alone is not activity
    # (analysis.activity); a client with neither yet is quiet from its first quarter
    last_worked = p[activity.worked(p)].groupby("client_id")["quarter_index"].max()
    lives = pd.DataFrame({"first": g["quarter_index"].min()})
    lives["last"] = last_worked.reindex(lives.index).fillna(lives["first"] - 1).astype("int64")
    exit_q = p[p["exited"]].groupby("client_id")["quarter_index"].min()
    lives["exit"] = exit_q.reindex(lives.index)
    # churned: recorded exit before the period end, or no activity in the last lapse_quarters
    exited = lives["exit"].notna() & (lives["exit"] < end)
    lapsed = lives["exit"].isna() & (lives["last"] <= end - lapse_quarters)
    lives["churned"] = exited | lapsed
    last_alive = np.where(exited, lives["exit"], np.where(lapsed, np.maximum(lives["last"], lives["first"]), end))
    lives["age_alive"] = (last_alive - lives["first"]).astype("int64")  # alive at ages 0..this
    lives["observed"] = (end - lives["first"]).astype("int64")
    lives["end"] = end
    return lives


def panel_survival_cohorts(panel: pd.DataFrame, period_end: Any = None, *,
                           lapse_quarters: int) -> pd.DataFrame:
    """Survivors table from quarterly activity, for when no contracts table was supplied.

    Cohort = quarter of the client's first activity. A client is alive n quarters later
    while it has not ended: it ends after its exit quarter (clients.exit_date) or, without a
    recorded exit, after its last active quarter when it has had no activity in the last
    ``lapse_quarters`` quarters of the period (otherwise it counts as alive to the period end).
    Columns 0, 1, 2, ... = clients alive that many quarters after first activity; NULL beyond
    the period end.
    """
    lives = _panel_lives(panel, period_end, lapse_quarters=lapse_quarters)
    if not len(lives):
        raise ValueError("the panel has no active client-quarters: no survival history to fit")
    rows = {}
    for first, grp in lives.groupby("first", sort=True):
        observed = int(grp["observed"].iloc[0])
        rows[_quarter_label(first)] = [float((grp["age_alive"] >= k).sum())
                                       for k in range(observed + 1)]
    width = max(len(v) for v in rows.values())
    table = pd.DataFrame({k: v + [np.nan] * (width - len(v)) for k, v in rows.items()}).T
    table.index.name = "cohort"
    table.columns = list(range(width))
    return table


# --------------------------------------------------------------------------- the model in use

@dataclass
class RetentionModel:
    """A fitted retention model and where its history came from.

    source: SOURCE_CONTRACTS or SOURCE_PANEL; period_quarters: length of one renewal period;
    fit: the fit_sbg() result; survivors: the table it was fitted to; client_renewals:
    renewals each client has made so far (periods completed - 1), from the same source;
    note: how the history was read (lapse rule, cohorts left out).
    """
    source: str
    period_quarters: int
    fit: pd.Series
    survivors: pd.DataFrame
    client_renewals: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    note: str = ""

    @property
    def alpha(self) -> float:
        return float(self.fit["alpha"])

    @property
    def beta(self) -> float:
        return float(self.fit["beta"])

    def summary(self) -> pd.Series:
        """source, period_quarters and the fit, for a report table."""
        return pd.concat([pd.Series({"source": self.source,
                                     "period_quarters": self.period_quarters,
                                     "cohorts": len(self.survivors), "note": self.note},
                                    dtype=object), self.fit])


def retention_model(panel: pd.DataFrame, contracts: pd.DataFrame | None = None, *,
                    lapse_quarters: int, period_end: Any = None,
                    skip_first_cohort: bool = False) -> RetentionModel:
    """Fit the sBG model to renewal history: contracts when supplied, else panel activity.

    With a ``contracts`` table holding contracts by the period end, the units are renewal
    chains (renewal_cohorts) and a period is the typical renewal interval; otherwise the units
    are clients and a period is a quarter (panel_survival_cohorts). ``period_end`` (as 2025Q4) defaults to the panel's last
    quarter. The returned model's ``source`` says which history was used.

    Left truncation: clients already with the firm when the data begin all look "new" in the
    first cohort. Under heterogeneity they are more loyal than a true new cohort, which flattens
    the fitted retention curve. ``skip_first_cohort=True`` leaves the earliest cohort out of the
    fit (it stays in ``survivors`` for display); it is off by default because the first cohort
    is often most of the history.
    """
    p = _prepare_panel(panel, period_end)
    end = _period_end_index(p, period_end)
    notes = []
    as_of = _quarter_label(end) if end is not None else None
    c = (_contracts(contracts) if contracts is not None and len(contracts) and as_of is not None
         else None)  # read once, used by every step below
    if c is not None and not _chains_of(c, _as_of_date(as_of, pd.Timestamp.max)).empty:
        pq = _period_quarters_of(c)
        survivors = _cohorts_of(c, as_of=as_of, period_quarters=pq)
        chains = _chains_of(c, _as_of_date(as_of, pd.Timestamp.max))
        # a client's renewals: its longest running chain, else its longest chain
        chains = chains.sort_values(["alive", "renewals"], ascending=False)
        renewals = chains.groupby("client_id")["renewals"].first().astype("float64")
        source = SOURCE_CONTRACTS
        notes.append(f"units: renewal chains; one period = {pq} quarter(s); a chain with a "
                     "contract running at the period end counts as alive")
    else:
        if contracts is not None and len(contracts):
            notes.append("the contracts table has no contract by the period end")
        pq = 1
        survivors = panel_survival_cohorts(panel, period_end, lapse_quarters=lapse_quarters)
        lives = _panel_lives(panel, period_end, lapse_quarters=lapse_quarters)
        renewals = lives["age_alive"].astype("float64")  # quarters since the first activity
        source = SOURCE_PANEL
        notes.append(f"units: clients; one period = 1 quarter; a client without a recorded exit "
                     f"has churned after {lapse_quarters} quarters without activity")
    fitted = survivors
    if skip_first_cohort and len(survivors) > 1:
        fitted = survivors.iloc[1:]
        notes.append(f"cohort {survivors.index[0]} left out of the fit (left truncation)")
    model = RetentionModel(source, pq, fit_sbg(fitted), survivors, renewals, "; ".join(notes))
    return model


LTV_COLUMNS = [
    "client_id", "client_name", "status", "margin_to_date", "margin_per_quarter",
    "margin_per_period", "period_quarters", "renewals", "retention_next", "expected_periods",
    "ltv_projected", "ltv_total", "retention_source", "retention_note",
]


def client_ltv(client_pnl: pd.DataFrame, model: RetentionModel, discount_rate: float, *,
               horizon_years: float | None = None) -> pd.DataFrame:
    """Lifetime value per client: profit to date plus discounted projected profit.

    margin_to_date: lifetime margin from client_pnl (undiscounted). margin_per_quarter: the
    run rate, client_pnl's margin_per_quarter_last4; margin_per_period = that x
    period_quarters. renewals: renewals made so far (from the model's source; without one,
    tenure_quarters / period_quarters - 1). retention_next: sBG probability of the next renewal
    given those already made, (beta+n-1)/(alpha+beta+n-1). expected_periods: DERL at the
    yearly ``discount_rate`` converted to the period (0 for exited or lapsed clients).
    ltv_projected = margin_per_period x expected_periods (negative when the client loses
    money: "if nothing changes"; NULL when the run rate is not measured); ltv_total =
    margin_to_date + ltv_projected. retention_source names the renewal history used and
    retention_note repeats the fit's message (e.g. "no churn observed", when the projection is
    the discounted perpetuity and deserves a horizon). ``horizon_years`` caps the projection
    (default: none, the model's infinite discounted sum).
    """
    for col in ("client_id", "margin", "status", "margin_per_quarter_last4", "tenure_quarters"):
        if col not in client_pnl.columns:
            raise ValueError(f"expected the client_pnl() table; it has no {col} column")
    a, b, pq = model.alpha, model.beta, int(model.period_quarters)
    d = period_discount_rate(discount_rate, pq)
    t = client_pnl
    out = pd.DataFrame({
        "client_id": t["client_id"].astype(str),
        "client_name": t["client_name"] if "client_name" in t else t["client_id"],
        "status": t["status"],
        "margin_to_date": pd.to_numeric(t["margin"]).astype("float64"),
        "margin_per_quarter": pd.to_numeric(t["margin_per_quarter_last4"]).astype("float64"),
    })
    out["margin_per_period"] = out["margin_per_quarter"] * pq
    out["period_quarters"] = pq
    fallback = np.maximum(np.ceil(pd.to_numeric(t["tenure_quarters"]).to_numpy() / pq) - 1, 0)
    known = out["client_id"].map(model.client_renewals)
    out["renewals"] = known.fillna(pd.Series(fallback, index=out.index)).astype("float64")
    alive = out["status"].eq("active")
    n = out["renewals"] + 1
    out["retention_next"] = np.where(alive, (b + n - 1) / (a + b + n - 1), 0.0)
    horizon = None if horizon_years is None else max(0, int(round(horizon_years * 4 / pq)))
    derl = {r: sbg_derl(a, b, d, r, horizon=horizon) for r in out.loc[alive, "renewals"].unique()}
    out["expected_periods"] = np.where(alive, out["renewals"].map(derl), 0.0).astype("float64")
    out["ltv_projected"] = out["margin_per_period"] * out["expected_periods"]
    out.loc[~alive & out["margin_to_date"].notna(), "ltv_projected"] = 0.0
    out["ltv_total"] = out["margin_to_date"] + out["ltv_projected"]
    out["retention_source"] = model.source
    out["retention_note"] = str(model.fit.get("message", ""))
    return out[LTV_COLUMNS].reset_index(drop=True)
