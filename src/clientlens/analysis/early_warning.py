"""Early warnings: clients drifting away, ranked by the revenue at risk.

Signals, each judged per client and quarter from that quarter and earlier only
(parameters in the config's `early_warning:` section):
- falling_orders: billable hours per quarter over the last `recent_quarters`
  fell by `orders_drop` or more against the `base_quarters` before them;
- falling_requests: the same on requests (the base window needs
  `min_base_requests` requests);
- rising_payment_delays: mean days late over the recent window rose by
  `late_days_rise` days or more against the base window;
- falling_nps / falling_csat: the latest survey answer (within
  `survey_recent_quarters`) is `nps_drop` (`csat_drop`) or more below the mean
  of the answers in the `base_quarters` before it;
- contact_change: the client's main contact changed `contact_changes` times or
  more within the recent window.
A signal needs its source table; without it the signal never fires.

A client is warned when the weights (`early_warning.weights`) of its firing
signals add up to `fire_at` or more. By default every signal weighs 0.5 and
fire_at is 1: two signals together warn, one alone does not (each signal alone
fires for 2-15% of healthy client-quarters on the demo company; two together for
about 11%, with every silent churner still warned ahead). Set a weight to 1 to let
that signal warn alone.

`early_warnings(panel, as_of_quarter, params)` drops every row after
as_of_quarter before computing anything, so it can be replayed quarter by
quarter (backtest) with no look-ahead. `warning_lead_times` and
`warning_backtest` replay it against known stops.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from clientlens.analysis import activity
from clientlens.analysis.markers import (
    QuarterGrid,
    format_value,
    numeric,
    panel_quarter_index,
    plural_s,
    quarter_index_of,
    quarter_label,
    trend_drop,
    window_sum,
)
from clientlens.i18n import tr, tr_context
from clientlens.parameters import EarlyWarningParams, Params


@dataclass(frozen=True)
class Signal:
    name: str
    label_en: str
    definition: str
    source: str
    reason_en: str  # {v}: the signal's value
    fmt: str

    def label(self, lang: str = "en") -> str:
        # a marker is also called "Falling orders", and the two read differently in Russian
        return tr_context("early warning", self.label_en, lang)


SIGNALS: tuple[Signal, ...] = (
    Signal("falling_orders", "Falling orders",
           "Billable hours per quarter in the recent window against the base window before it.",
           "time_entries", "billable work down {v}", "pct"),
    Signal("falling_requests", "Falling requests",
           "Requests per quarter in the recent window against the base window before it.",
           "requests", "requests down {v}", "pct"),
    Signal("rising_payment_delays", "Rising payment delays",
           "Mean days paid late in the recent window minus the base window.",
           "invoices", "pays {v} days later than before", "int"),
    Signal("falling_nps", "Falling NPS",
           "Latest NPS answer below the mean of the answers before it, in points of 10.",
           "surveys", "NPS down {v} points", "num1"),
    Signal("falling_csat", "Falling CSAT",
           "Latest CSAT answer below the mean of the answers before it, in points of 5.",
           "surveys", "CSAT down {v} points", "num1"),
    Signal("contact_change", "Contact changed",
           "Changes of the client's main contact in the recent window.",
           "contacts", "the client's contact changed {v} time{s} recently", "int"),
)
SIGNAL_BY_NAME = {s.name: s for s in SIGNALS}

def _latest_answer_drop(X: np.ndarray, base: int, recent: int) -> np.ndarray:
    """Mean of the answers in `base` quarters before the latest answer, minus that answer.

    The latest answer counts for `recent` quarters after it was given.
    """
    b_sum, b_n = window_sum(X, base, shift=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop_at = b_sum / b_n - X
    out = np.full(X.shape, np.nan)
    last_val = np.full(X.shape[1], np.nan)
    last_t = np.full(X.shape[1], -10**6)
    for t in range(X.shape[0]):
        has = ~np.isnan(X[t])
        last_val = np.where(has, drop_at[t], last_val)
        last_t = np.where(has, t, last_t)
        out[t] = np.where((t - last_t) < recent, last_val, np.nan)
    return out


def _signal_values(g: QuarterGrid, ep: EarlyWarningParams) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (fires, value), quarter x client matrices; only earlier rows are read."""
    R, B = ep.recent_quarters, ep.base_quarters
    mbq = ep.min_base_quarters
    present = ~np.isnan(g.wide(np.ones(len(g.frame))))
    out = {}
    v = trend_drop(g.w("billable_hours"), R, B, mbq)
    out["falling_orders"] = (v >= ep.orders_drop, v)
    v = trend_drop(g.w("requests_total"), R, B, mbq, ep.min_base_requests)
    out["falling_requests"] = (v >= ep.requests_drop, v)
    D, N = g.w("days_late_mean"), g.w("invoices_due")
    both = ~np.isnan(D) & ~np.isnan(N)
    DN = np.where(both, D * N, np.nan)
    NN = np.where(both, N, np.nan)
    r_dn, _ = window_sum(DN, R)
    r_n, _ = window_sum(NN, R)
    b_dn, _ = window_sum(DN, B, shift=R)
    b_n, _ = window_sum(NN, B, shift=R)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where((r_n > 0) & (b_n > 0), r_dn / r_n - b_dn / b_n, np.nan)
    out["rising_payment_delays"] = (v >= ep.late_days_rise, v)
    srq = ep.survey_recent_quarters
    v = _latest_answer_drop(g.w("nps_mean"), B, srq)
    out["falling_nps"] = (v >= ep.nps_drop, v)
    v = _latest_answer_drop(g.w("csat_mean"), B, srq)
    out["falling_csat"] = (v >= ep.csat_drop, v)
    v, _ = window_sum(g.w("client_contact_changed"), R)
    out["contact_change"] = (v >= ep.contact_changes, v)
    return {k: (np.where(np.isnan(val), False, fire) & present, val)
            for k, (fire, val) in out.items()}


def _streak_start(F: np.ndarray) -> np.ndarray:
    """Row index where the current run of True started (-1 where False)."""
    start = np.full(F.shape, -1)
    run = np.full(F.shape[1], -1)
    for t in range(F.shape[0]):
        run = np.where(F[t], np.where(run >= 0, run, t), -1)
        start[t] = run
    return start


def warning_signals(panel: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Every client-quarter with each signal judged from that quarter and earlier.

    Columns: client_id, client_name, quarter, quarter_index, revenue_at_risk
    (revenue over the last early_warning.revenue_quarters), exited, n_signals,
    strength (sum of the firing signals' weights), any_warning (strength >=
    fire_at, and some activity within revenue_quarters: a client silent for that long
    has gone, it is not at risk), first_fired (the quarter the oldest still-firing signal started,
    when warned), and per signal s: s (fires), s_value, s_since (quarter its current
    run started, None when not firing).
    """
    ep = params.early_warning
    g = QuarterGrid(panel)
    f = g.frame
    out = pd.DataFrame({"client_id": f["client_id"].to_numpy()})
    out["client_name"] = (f["client_name"].to_numpy() if "client_name" in f.columns
                          else out["client_id"].astype(str).to_numpy())
    out["quarter"] = [quarter_label(q) for q in g.qi]
    out["quarter_index"] = g.qi
    if g.nq == 0:
        return out
    rev, _ = window_sum(g.w("revenue"), ep.revenue_quarters)
    out["revenue_at_risk"] = np.nan_to_num(g.rows(rev))
    out["exited"] = numeric(f, "exited") > 0
    sig = _signal_values(g, ep)
    n = np.zeros(len(out), dtype=int)
    strength = np.zeros(len(out))
    first = np.full(len(out), np.iinfo(np.int64).max)
    for s in SIGNALS:
        fire, val = sig[s.name]
        start = g.rows(_streak_start(fire))
        fires = g.rows(fire).astype(bool)
        out[s.name] = fires
        out[f"{s.name}_value"] = g.rows(val)
        out[f"{s.name}_since"] = [quarter_label(g.q0 + st) if st >= 0 else None for st in start]
        n += fires
        strength += fires * ep.weights[s.name]
        first = np.where(fires, np.minimum(first, g.q0 + start), first)
    warn = strength >= ep.fire_at - 1e-9
    if "is_active" in f.columns:  # silent for a whole revenue window: gone, not at risk
        # silent: no work and no invoice, whatever contract is open (analysis.activity)
        act, _ = window_sum(g.wide(activity.worked(f).astype(float)), ep.revenue_quarters)
        warn &= g.rows(np.nan_to_num(act)) > 0
    out["n_signals"] = n
    out["strength"] = strength
    out["any_warning"] = warn
    out["first_fired"] = [quarter_label(q) if a else None for q, a in zip(first, warn)]
    lead = ["client_id", "client_name", "quarter", "quarter_index", "revenue_at_risk", "exited",
            "n_signals", "strength", "any_warning", "first_fired"]
    return out[lead + [c for c in out.columns if c not in lead]]


def _reasons(row: pd.Series, lang: str) -> str:
    parts = []
    for s in SIGNALS:
        if row[s.name]:
            since = row[f"{s.name}_since"]
            text = tr(s.reason_en, lang).format(
                v=format_value(row[f"{s.name}_value"], s.fmt, lang),
                s=plural_s(row[f"{s.name}_value"]))
            text += " " + tr("(since {since})", lang, since=since)
            parts.append(text)
    return "; ".join(parts)


def early_warnings(panel: pd.DataFrame, as_of_quarter: str, params: Params,
                   lang: str = "en") -> pd.DataFrame:
    """The clients with a warning firing at as_of_quarter, by revenue at risk (largest first).

    Uses only panel rows up to as_of_quarter. Clients that exited at or before
    as_of_quarter are left out (they are no longer at risk, they are gone).
    Columns: rank, the warning_signals() columns for that quarter, `signals`
    (labels of the firing signals) and `reasons` (plain words, with the quarter
    each warning first fired).
    """
    if lang not in ("en", "ru"):
        raise ValueError(f"lang={lang!r}: use en or ru")
    qa = quarter_index_of(as_of_quarter)
    past = panel.loc[panel_quarter_index(panel) <= qa]
    sig = warning_signals(past, params)
    if sig.empty or "any_warning" not in sig:
        return sig.assign(rank=pd.Series(dtype=int), signals="", reasons="")
    exited_ids = set(sig.loc[sig["exited"], "client_id"])
    now = sig.loc[(sig["quarter_index"] == qa) & sig["any_warning"]
                  & ~sig["client_id"].isin(exited_ids)].copy()
    now = now.sort_values(["revenue_at_risk", "strength"], ascending=[False, False])
    now["signals"] = [", ".join(s.label(lang) for s in SIGNALS if row[s.name])
                      for _, row in now.iterrows()]
    now["reasons"] = [_reasons(row, lang) for _, row in now.iterrows()]
    now.insert(0, "rank", np.arange(1, len(now) + 1))
    return now.reset_index(drop=True)


def _stops(churn_quarters: Mapping[Any, str] | pd.Series | pd.DataFrame) -> dict[Any, int]:
    if isinstance(churn_quarters, pd.DataFrame):
        churn_quarters = churn_quarters.set_index("client_id")["quarter"]
    items = churn_quarters.items()
    return {k: quarter_index_of(str(v)) for k, v in items if v is not None and pd.notna(v)}


def warning_lead_times(panel: pd.DataFrame, churn_quarters: Mapping[Any, str] | pd.Series,
                       params: Params) -> pd.DataFrame:
    """For each client that stopped: how many quarters before the stop its first warning fired.

    churn_quarters: client_id -> the quarter the client stopped (its exit quarter,
    as 2025Q3). Only warnings in the early_warning.lookback_quarters quarters up
    to the stop count. Every warning is judged from data up to its own quarter
    (the same as replaying early_warnings quarter by quarter).
    Columns: client_id, client_name, stop_quarter, first_warning_quarter,
    lead_quarters (stop - first warning; NaN when never warned), warned_ahead
    (lead >= 1), signals (those firing at the first warning).
    """
    return _lead_times(warning_signals(panel, params), _stops(churn_quarters),
                       params.early_warning.lookback_quarters)


def _lead_times(sig: pd.DataFrame, stops: dict[Any, int], lookback: int) -> pd.DataFrame:
    """warning_lead_times() on signals already computed: one pass over the table, not one per client."""
    columns = ["client_id", "client_name", "stop_quarter", "first_warning_quarter", "lead_quarters",
               "warned_ahead", "signals"]
    names: dict[Any, Any] = {}
    first: dict[Any, tuple[str, int, str]] = {}
    if len(sig):
        first_rows = sig.drop_duplicates("client_id")
        names = dict(zip(first_rows["client_id"], first_rows["client_name"]))
        stop = sig["client_id"].map(stops).astype("float64")
        qi = sig["quarter_index"]
        w = sig.loc[sig["any_warning"] & (qi >= stop - lookback) & (qi <= stop)]
        w = w.sort_values("quarter_index", kind="stable").drop_duplicates("client_id")
        fired = [",".join(x.name for x, f in zip(SIGNALS, row) if f)
                 for row in zip(*(w[x.name] for x in SIGNALS))]
        first = {cid: (q, int(i), f) for cid, q, i, f in
                 zip(w["client_id"], w["quarter"], w["quarter_index"], fired)}
    rows = []
    for cid, s in stops.items():
        rec = {"client_id": cid, "client_name": names.get(cid), "stop_quarter": quarter_label(s),
               "first_warning_quarter": None, "lead_quarters": np.nan, "warned_ahead": False,
               "signals": ""}
        if cid in first:
            quarter, index, fired_then = first[cid]
            rec["first_warning_quarter"] = quarter
            rec["lead_quarters"] = s - index
            rec["warned_ahead"] = rec["lead_quarters"] >= 1
            rec["signals"] = fired_then
        rows.append(rec)
    return pd.DataFrame(rows, columns=columns)


def warning_backtest(panel: pd.DataFrame, churn_quarters: Mapping[Any, str] | pd.Series,
                     params: Params) -> dict[str, Any]:
    """Recall and precision of the warnings against known stops.

    recall: share of stopped clients warned at least one quarter before the stop
    (within lookback_quarters). precision (clients): of the clients warned at a
    quarter q with q + lookback_quarters still inside the data and before their
    own stop, the share that stopped within 1..lookback_quarters quarters after a
    warning. precision (alerts): the same share over warned client-quarters.
    alert_rate: share of client-quarters (before any stop) with a warning.
    """
    ep = params.early_warning
    lookback = ep.lookback_quarters
    stops = _stops(churn_quarters)
    sig = warning_signals(panel, params)
    lt = _lead_times(sig, stops, lookback)
    last = int(sig["quarter_index"].max()) if len(sig) else 0
    # astype: with no stops at all, map() would keep the ids' text dtype
    stop_at = sig["client_id"].map(stops).astype("float64")
    live = stop_at.isna() | (sig["quarter_index"] < stop_at)
    live &= ~sig["exited"]
    evaluable = live & (sig["quarter_index"] + lookback <= last)
    alerts = sig.loc[evaluable & sig["any_warning"]]
    gap = alerts["client_id"].map(stops).astype("float64") - alerts["quarter_index"]
    hit = (gap >= 1) & (gap <= lookback)
    by_client = hit.groupby(alerts["client_id"]).any()
    return {
        "stopped_clients": int(len(lt)),
        "warned_ahead": int(lt["warned_ahead"].sum()),
        "recall": float(lt["warned_ahead"].mean()) if len(lt) else float("nan"),
        "median_lead_quarters": float(lt["lead_quarters"].median()) if len(lt) else float("nan"),
        "warned_clients": int(len(by_client)),
        "warned_clients_that_stopped": int(by_client.sum()),
        "precision_clients": float(by_client.mean()) if len(by_client) else float("nan"),
        "alerts": int(len(alerts)),
        "precision_alerts": float(hit.mean()) if len(alerts) else float("nan"),
        "alert_rate": float(sig.loc[live, "any_warning"].mean()) if live.any() else float("nan"),
        "lookback_quarters": lookback,
    }


def observed_stops(panel: pd.DataFrame, lapse_quarters: int,
                   include_insourcing: bool = False) -> pd.Series:
    """client_id -> the quarter a client stopped, as the data show it (no planted truth).

    An exit recorded in clients.exit_date stops the client in its exit quarter; a client
    without work or an invoice in its last `lapse_quarters` quarters stopped the quarter after its
    last one with either. In-sourcing exits are healthy endings, not losses, and are left out unless
    asked for. Used to replay the warnings against what actually happened.
    """
    p = panel.sort_values(["client_id", "quarter_index"], kind="stable")
    last_quarter = int(p["quarter_index"].max()) if len(p) else 0
    exits = p.loc[p["exited"].fillna(False).astype(bool)].drop_duplicates("client_id")
    kept = exits if include_insourcing else exits.loc[~exits["exit_reason"].eq("insourcing").fillna(False)
                                                      .astype(bool)]
    stops = dict(zip(kept["client_id"], kept["quarter"]))
    # the last quarter with work or an invoice: an open contract alone is not activity (analysis.activity)
    rest = p.loc[~p["client_id"].isin(exits["client_id"]).to_numpy() & activity.worked(p)]
    last_active = rest.groupby("client_id", sort=False)["quarter_index"].max()
    lapsed = last_active[last_quarter - last_active >= lapse_quarters]
    stops.update((cid, quarter_label(int(q) + 1)) for cid, q in lapsed.items())
    order = pd.unique(p["client_id"])  # every client in the panel's order, as before
    return pd.Series({cid: stops[cid] for cid in order if cid in stops}, name="stop_quarter", dtype="object")
