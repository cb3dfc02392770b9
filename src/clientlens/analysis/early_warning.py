"""Early warnings: clients drifting away, ranked by the revenue at risk.

Signals, each judged per client and quarter from that quarter and earlier only
(parameters in the config's `early_warning:` section):
- falling_orders: billable hours per quarter over the last `recent_quarters`
  fell by `orders_drop` or more against the `base_quarters` before them;
- falling_requests: the same on requests (`requests_drop`; the base window
  needs `min_base_requests` requests);
- rising_payment_delays: mean days late over the recent window rose by
  `late_days_rise` days or more against the base window;
- falling_nps / falling_csat: the latest survey answer (within
  `survey_recent_quarters`) is `nps_drop` (`csat_drop`) or more below the mean
  of the answers in the `base_quarters` before it;
- contact_change: the client's main contact changed `contact_changes` times or
  more within the last `contact_quarters` (one change a year is ordinary).
A signal needs its source table; without it the signal never fires.

The spiral explains some falls. A client in the support phase orders less than
one building new functionality: that is the spiral, not a client leaving. How much
less differs from firm to firm, so the firm's own history says it: for each phase
(the quarter's dominant kind of work, spiral.phase_split, read from that quarter's
own row), the usual fall is the `phase_fall_quantile` quantile of the falls in
orders (requests) over every client-quarter in that phase so far, known once
`phase_min_quarters` of them are. A fall no larger than its phase's usual fall does
not fire (`explained_by_phase` marks where the phase explained a fall away); a
larger one does. Before the usual fall is known, the drop thresholds alone decide.

A client is warned when the weights (`early_warning.weights`) of its firing
signals add up to `fire_at` or more. By default every signal weighs 0.5 and
fire_at is 1: two signals together warn, one alone does not. Set a weight to 1
to let that signal warn alone.

`early_warnings(panel, as_of_quarter, params)` drops every row after
as_of_quarter before computing anything, so it can be replayed quarter by
quarter (backtest) with no look-ahead; `warning_history` gives that replay for
every quarter at once. `warning_lead_times` and `warning_backtest` judge the
history against known stops; `backtest_table` says the backtest in plain words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from clientlens.analysis import activity, spiral
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
from clientlens.i18n import tr, tr_context, tr_plural
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
           "Changes of the client's main contact in the last contact_quarters quarters.",
           "contacts", "the client's contact changed {v} time{s} recently", "int"),
)
SIGNAL_BY_NAME = {s.name: s for s in SIGNALS}
PHASE_EXPLAINS = ("falling_orders", "falling_requests")  # the falls a spiral phase can explain
# a value computed as 1 - 55/100 must count as the 0.45 written in the config
_TOLERANCE = 1e-9

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


def _usual_fall(V: np.ndarray, in_phase: np.ndarray, quantile: float, min_quarters: int) -> np.ndarray:
    """Per quarter: the `quantile` of the falls V over every client-quarter of one phase up to
    that quarter; NaN until `min_quarters` of them are known."""
    known = in_phase & ~np.isnan(V)
    seen = np.cumsum(known.sum(axis=1))
    out = np.full(V.shape[0], np.nan)
    for t in np.flatnonzero(seen >= max(min_quarters, 1)):
        out[t] = np.quantile(V[:t + 1][known[:t + 1]], quantile)
    return out


def _phase_usual_falls(g: QuarterGrid, phase: pd.Series, V: np.ndarray, ep: EarlyWarningParams) -> np.ndarray:
    """Quarter x client: the usual fall (_usual_fall) of the phase the client is in that quarter.

    phase: each panel row's dominant phase (spiral.phase_split)."""
    usual = np.full(V.shape, np.nan)
    for p in spiral.PHASES:
        in_phase = np.nan_to_num(g.wide(phase.eq(p).to_numpy(dtype=float))) > 0
        by_quarter = _usual_fall(V, in_phase, ep.phase_fall_quantile, ep.phase_min_quarters)
        usual = np.where(in_phase, by_quarter[:, None], usual)
    return usual


def _signal_values(g: QuarterGrid, phase: pd.Series, ep: EarlyWarningParams
                   ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray], np.ndarray]:
    """(name -> (fires, value), name -> usual fall of the phase, explained_by_phase), quarter x
    client matrices.

    Only earlier rows are read (and, for the usual falls, every client's rows up to the quarter).
    explained_by_phase: a fall in orders or requests reached its threshold, but is no larger
    than the usual fall of the phase the client is in.
    """
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
    v, _ = window_sum(g.w("client_contact_changed"), ep.contact_quarters)
    out["contact_change"] = (v >= ep.contact_changes, v)
    out = {k: (np.where(np.isnan(val), False, fire) & present, val) for k, (fire, val) in out.items()}
    usual_falls = {}
    explained = np.zeros(present.shape, dtype=bool)
    for name in PHASE_EXPLAINS:
        fire, val = out[name]
        usual_falls[name] = usual = _phase_usual_falls(g, phase, val, ep)
        with np.errstate(invalid="ignore"):
            spiral_fall = fire & (val <= usual + _TOLERANCE)
        explained |= spiral_fall
        out[name] = (fire & ~spiral_fall, val)
    return out, usual_falls, explained & present


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
    (revenue over the last early_warning.revenue_quarters), exited, phase (the quarter's
    dominant kind of work, spiral.phase_split), explained_by_phase (a fall in orders or requests
    no larger than the usual fall of that phase, so it did not fire), n_signals, strength (sum
    of the firing signals' weights), any_warning (strength >= fire_at, and not gone
    quiet: a client without work or an invoice for lapse_quarters has gone, it is not at risk),
    first_fired (the quarter the oldest still-firing signal started, when warned), and per
    signal s: s (fires), s_value, s_since (quarter its current run started, None when not firing),
    and for falling orders and requests s_usual (the usual fall of the quarter's phase, NaN while
    not known).
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
    # not measured (no invoice nor billable amount in the window) stays NaN, never 0
    out["revenue_at_risk"] = g.rows(rev)
    out["exited"] = numeric(f, "exited") > 0
    out["worked"] = activity.worked(f)
    phase = spiral.phase_split(f)["phase"]
    out["phase"] = phase.to_numpy()
    sig, usual_falls, explained = _signal_values(g, phase, ep)
    out["explained_by_phase"] = g.rows(explained).astype(bool)
    n = np.zeros(len(out), dtype=int)
    strength = np.zeros(len(out))
    first = np.full(len(out), np.iinfo(np.int64).max)
    for s in SIGNALS:
        fire, val = sig[s.name]
        start = g.rows(_streak_start(fire))
        fires = g.rows(fire).astype(bool)
        out[s.name] = fires
        out[f"{s.name}_value"] = g.rows(val)
        out[f"{s.name}_since"] = _labels_or_none([g.q0 + st if st >= 0 else None for st in start])
        if s.name in usual_falls:
            out[f"{s.name}_usual"] = g.rows(usual_falls[s.name])
        n += fires
        strength += fires * ep.weights[s.name]
        first = np.where(fires, np.minimum(first, g.q0 + start), first)
    warn = strength >= ep.fire_at - _TOLERANCE
    # a client gone quiet (lapse_quarters without work or an invoice, whatever contract is
    # open: analysis.activity) has gone; it is not at risk
    warn &= ~activity.gone_quiet(activity.quarters_quiet(f), params.lapse_quarters)
    out["n_signals"] = n
    out["strength"] = strength
    out["any_warning"] = warn
    out["first_fired"] = _labels_or_none([q if a else None for q, a in zip(first, warn)])
    lead = ["client_id", "client_name", "quarter", "quarter_index", "revenue_at_risk", "exited", "worked", "phase",
            "explained_by_phase", "n_signals", "strength", "any_warning", "first_fired"]
    return out[lead + [c for c in out.columns if c not in lead]]


def _labels_or_none(indices: list[int | None]) -> pd.Series:
    """Quarter labels, None where there is none; object dtype whatever the mix, so that one
    quarter's list and the whole history hold the same values (None, not NaN)."""
    return pd.Series([quarter_label(i) if i is not None else None for i in indices], dtype=object)


def _gone(sig: pd.DataFrame) -> pd.Series:
    """Per row: the client exited at or before this quarter (no longer at risk, gone)."""
    exit_q = sig.loc[sig["exited"]].groupby("client_id")["quarter_index"].min()
    return (sig["quarter_index"] >= sig["client_id"].map(exit_q).astype("float64")).fillna(False)


def _warned(sig: pd.DataFrame) -> pd.Series:
    """Per row: the client is on that quarter's warning list (early_warnings as of that quarter)."""
    return sig["any_warning"] & ~_gone(sig)


def _ranked(warned: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The warning rows of one or more quarters, ranked within each quarter, with their words."""
    now = warned.sort_values(["quarter_index", "revenue_at_risk", "strength"], ascending=[True, False, False],
                             kind="stable")
    now = now.assign(
        signals=[", ".join(s.label(lang) for s in SIGNALS if row[s.name]) for _, row in now.iterrows()],
        reasons=[_reasons(row, lang) for _, row in now.iterrows()])
    now.insert(0, "rank", now.groupby("quarter_index").cumcount().to_numpy() + 1)
    return now.reset_index(drop=True)


def _reasons(row: pd.Series, lang: str) -> str:
    parts = []
    for s in SIGNALS:
        if row[s.name]:
            since = row[f"{s.name}_since"]
            text = tr(s.reason_en, lang).format(
                v=format_value(row[f"{s.name}_value"], s.fmt, lang),
                s=plural_s(row[f"{s.name}_value"]))
            text += " " + tr("(since {since})", lang, since=quarter_label(since, lang))
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
    _check_lang(lang)
    qa = quarter_index_of(as_of_quarter)
    past = panel.loc[panel_quarter_index(panel) <= qa]
    sig = warning_signals(past, params)
    if sig.empty or "any_warning" not in sig:
        return sig.assign(rank=pd.Series(dtype=int), signals="", reasons="")
    return _ranked(sig.loc[(sig["quarter_index"] == qa) & _warned(sig)], lang)


def warning_history(panel: pd.DataFrame, params: Params, lang: str = "en") -> pd.DataFrame:
    """Every quarter's warning list: early_warnings() as of each quarter of the panel, stacked.

    Each row is judged from the data up to its own quarter, so adding later quarters never
    changes an earlier quarter's list. Columns: those of early_warnings(), one block per
    quarter in quarter order, ranked within the quarter.
    """
    _check_lang(lang)
    sig = warning_signals(panel, params)
    if sig.empty or "any_warning" not in sig:
        return sig.assign(rank=pd.Series(dtype=int), signals="", reasons="")
    return _ranked(sig.loc[_warned(sig)], lang)


def _check_lang(lang: str) -> None:
    if lang not in ("en", "ru"):
        raise ValueError(f"lang={lang!r}: use en or ru")


def _stops(churn_quarters: Mapping[Any, str] | pd.Series | pd.DataFrame) -> dict[Any, int]:
    if isinstance(churn_quarters, pd.DataFrame):
        churn_quarters = churn_quarters.set_index("client_id")["quarter"]
    items = churn_quarters.items()
    return {k: quarter_index_of(str(v)) for k, v in items if v is not None and pd.notna(v)}


def warning_lead_times(panel: pd.DataFrame, churn_quarters: Mapping[Any, str] | pd.Series,
                       params: Params) -> pd.DataFrame:
    """For each client that stopped: how many quarters before the stop its first warning fired.

    churn_quarters: client_id -> the quarter the client stopped (its exit quarter, or its
    first quarter without activity, as 2025Q3). Only warnings in the
    early_warning.lookback_quarters quarters up to the stop count, and only those on the
    quarter's warning list (warning_history). Every warning is judged from data up to its own
    quarter (the same as replaying early_warnings quarter by quarter).
    Columns: client_id, client_name, stop_quarter, last_active_quarter (the last quarter with
    work or an invoice up to the stop; the quarter before the stop when there is none),
    first_warning_quarter, lead_quarters (stop - first warning; NaN when never warned),
    warned_ahead (lead >= 1), warned_full_quarter_ahead (warned at least one whole quarter
    before the last active quarter), signals (those firing at the first warning).
    """
    return _lead_times(warning_signals(panel, params), _stops(churn_quarters),
                       params.early_warning.lookback_quarters)


def _lead_times(sig: pd.DataFrame, stops: dict[Any, int], lookback: int) -> pd.DataFrame:
    """warning_lead_times() on signals already computed: one pass over the table, not one per client."""
    columns = ["client_id", "client_name", "stop_quarter", "last_active_quarter", "first_warning_quarter",
               "lead_quarters", "warned_ahead", "warned_full_quarter_ahead", "signals"]
    names: dict[Any, Any] = {}
    first: dict[Any, tuple[str, int, str]] = {}
    last_active: dict[Any, int] = {}
    if len(sig):
        first_rows = sig.drop_duplicates("client_id")
        names = dict(zip(first_rows["client_id"], first_rows["client_name"]))
        stop = sig["client_id"].map(stops).astype("float64")
        qi = sig["quarter_index"]
        w = sig.loc[_warned(sig) & (qi >= stop - lookback) & (qi <= stop)]
        w = w.sort_values("quarter_index", kind="stable").drop_duplicates("client_id")
        fired = [",".join(x.name for x, f in zip(SIGNALS, row) if f)
                 for row in zip(*(w[x.name] for x in SIGNALS))]
        first = {cid: (q, int(i), f) for cid, q, i, f in
                 zip(w["client_id"], w["quarter"], w["quarter_index"], fired)}
        active = sig.loc[sig["worked"] & (qi <= stop)]
        last_active = active.groupby("client_id")["quarter_index"].max().astype(int).to_dict()
    rows = []
    for cid, s in stops.items():
        active_until = last_active.get(cid, s - 1)
        rec = {"client_id": cid, "client_name": names.get(cid), "stop_quarter": quarter_label(s),
               "last_active_quarter": quarter_label(active_until), "first_warning_quarter": None,
               "lead_quarters": np.nan, "warned_ahead": False, "warned_full_quarter_ahead": False,
               "signals": ""}
        if cid in first:
            quarter, index, fired_then = first[cid]
            rec["first_warning_quarter"] = quarter
            rec["lead_quarters"] = s - index
            rec["warned_ahead"] = rec["lead_quarters"] >= 1
            rec["warned_full_quarter_ahead"] = active_until - index >= 1
            rec["signals"] = fired_then
        rows.append(rec)
    return pd.DataFrame(rows, columns=columns)


def warning_backtest(panel: pd.DataFrame, churn_quarters: Mapping[Any, str] | pd.Series,
                     params: Params, insourced: Mapping[Any, str] | pd.Series | None = None
                     ) -> dict[str, Any]:
    """Recall and precision of the warning history (warning_history) against known stops.

    recall_full_quarter: share of stopped clients warned at least one whole quarter before
    their last active quarter; recall: share warned at least one quarter before the stop
    (both within lookback_quarters of the stop). median_lead_quarters: quarters from the first
    warning to the stop, over the clients warned. precision (clients): of the clients warned at
    a quarter q with q + lookback_quarters still inside the data and before their own stop, the
    share that stopped within 1..lookback_quarters quarters after a warning. precision
    (alerts): the same share over warned client-quarters. alert_rate: share of client-quarters
    (before any stop) with a warning.
    insourced: client_id -> quarter of an exit to in-sourcing. Such a client did leave, but not
    as a loss: a warning in the lookback_quarters up to that exit counts neither as right nor
    as wrong, and is left out of both precisions (`alerts_before_insourcing` says how many).
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
    if len(sig):
        live &= ~_gone(sig)
    evaluable = live & (sig["quarter_index"] + lookback <= last)
    warned = _warned(sig) if len(sig) else pd.Series(False, index=sig.index)
    left_at = sig["client_id"].map(_stops(insourced if insourced is not None else {})).astype("float64")
    before_insourcing = (left_at - sig["quarter_index"]).between(0, lookback)
    alerts = sig.loc[evaluable & warned & ~before_insourcing]
    gap = alerts["client_id"].map(stops).astype("float64") - alerts["quarter_index"]
    hit = (gap >= 1) & (gap <= lookback)
    by_client = hit.groupby(alerts["client_id"]).any()
    warned_leads = lt["lead_quarters"].dropna()
    return {
        "stopped_clients": int(len(lt)),
        "warned_full_quarter_ahead": int(lt["warned_full_quarter_ahead"].sum()),
        "recall_full_quarter": float(lt["warned_full_quarter_ahead"].mean()) if len(lt) else float("nan"),
        "warned_ahead": int(lt["warned_ahead"].sum()),
        "recall": float(lt["warned_ahead"].mean()) if len(lt) else float("nan"),
        "median_lead_quarters": float(warned_leads.median()) if len(warned_leads) else float("nan"),
        "warned_clients": int(len(by_client)),
        "warned_clients_that_stopped": int(by_client.sum()),
        "precision_clients": float(by_client.mean()) if len(by_client) else float("nan"),
        "alerts": int(len(alerts)),
        "alerts_that_stopped": int(hit.sum()),
        "precision_alerts": float(hit.mean()) if len(alerts) else float("nan"),
        "alerts_before_insourcing": int((evaluable & warned & before_insourcing).sum()),
        "alert_rate": float(warned[live].mean()) if live.any() else float("nan"),
        "lookback_quarters": lookback,
    }


def backtest_table(quality: Mapping[str, Any], lang: str = "en") -> pd.DataFrame:
    """warning_backtest() in plain words: one row per measure, columns `measure` and `value`."""
    _check_lang(lang)

    def share(part: int, whole: int, rate: float) -> str:
        return tr("{part} of {whole} ({share})", lang, part=part, whole=whole,
                  share=format_value(rate, "pct", lang))

    lookback = quality["lookback_quarters"]
    stopped = quality["stopped_clients"]
    rows = [
        (tr("Clients that stopped, as the data show", lang), str(stopped)),
        (tr("Warned at least a full quarter before their last active quarter", lang),
         share(quality["warned_full_quarter_ahead"], stopped, quality["recall_full_quarter"])),
        (tr("Warned at least a quarter before they stopped", lang),
         share(quality["warned_ahead"], stopped, quality["recall"])),
        (tr("Median lead: quarters from the first warning to the stop", lang),
         format_value(quality["median_lead_quarters"], "int", lang)),
        (tr_plural("Warned clients that stopped within {n} quarters of a warning (client precision)",
                   lookback, lang, n=lookback),
         share(quality["warned_clients_that_stopped"], quality["warned_clients"], quality["precision_clients"])),
        (tr_plural("Warnings followed by a stop within {n} quarters (alert precision)", lookback, lang,
                   n=lookback),
         share(quality["alerts_that_stopped"], quality["alerts"], quality["precision_alerts"])),
        (tr("Client-quarters with a warning", lang), format_value(quality["alert_rate"], "pct", lang)),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


def insourcing_exits(panel: pd.DataFrame) -> pd.Series:
    """client_id -> the quarter of an exit recorded as in-sourcing (a healthy ending, not a loss)."""
    if "exit_reason" not in panel.columns:
        return pd.Series(dtype="object", name="exit_quarter")
    exits = panel.loc[panel["exited"].fillna(False).astype(bool) & panel["exit_reason"].eq("insourcing")
                      .fillna(False).astype(bool)]
    exits = exits.sort_values("quarter_index", kind="stable").drop_duplicates("client_id")
    return pd.Series(dict(zip(exits["client_id"], exits["quarter"])), name="exit_quarter", dtype="object")


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
