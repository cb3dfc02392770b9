"""Toxicity and risk markers: one registry, one computation.

Every marker of DOMAIN.md's markers table is a `Marker` record: its name, the
words a report uses for it (English; locale/ru.yaml translates), a written definition, unit,
the panel columns and source table it reads, the config keys of its threshold,
baseline and weight, and the function that computes it. Documentation tables,
the composite score (toxicity.py) and the plain-words reasons all read this one
registry, so they cannot drift apart.

Values are computed from the client-quarter panel (panel_columns.py), per client
and quarter, over a backward-looking window of `window` quarters ending at that
quarter (window=1: the quarter itself; window=4: the client's current state over
the last year). A marker is NaN when its source table was not supplied ("not
measured") or when the window holds too little to judge (e.g. fewer than
`toxicity.min_events` estimate requests); NaN markers take no part in the score.

Parameters (config/params.yaml, `toxicity.markers.<marker>`): `threshold`, the level at which
the marker counts in full; `baseline`, the level at which it counts nothing (a normal client);
`weight`, its weight in the composite score. Between baseline and threshold a marker's
severity rises linearly from 0 to 1. Whether higher or lower values are worse is the marker's
own property (`higher_is_worse`); clientlens.parameters checks that the baseline sits on the
good side.

Functions here never read files: pass the parameters in (clientlens.parameters.Params).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from clientlens.i18n import tr, tr_context, tr_plural
from clientlens.parameters import Params, ToxicityParams
from clientlens.quarters import quarter_index_of, quarter_label  # noqa: F401 - imported from here too


# ---------------------------------------------------------------------------
# quarters and the quarter x client grid
# ---------------------------------------------------------------------------
def panel_quarter_index(panel: pd.DataFrame) -> np.ndarray:
    """quarter_index of each panel row (from `quarter` when the column is absent)."""
    if "quarter_index" in panel.columns and panel["quarter_index"].notna().all():
        return panel["quarter_index"].to_numpy(dtype="int64")
    if "quarter" not in panel.columns:
        raise ValueError("the panel needs a `quarter` (as 2025Q3) or `quarter_index` column")
    return np.array([quarter_index_of(q) for q in panel["quarter"]], dtype="int64")


def numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A panel column as float64 (bool -> 0/1, NULL -> NaN); all NaN when absent."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    s = frame[column]
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        s = s.map(lambda x: x if not isinstance(x, str) else
                  {"true": 1.0, "false": 0.0}.get(x.strip().lower(), x))
        s = pd.to_numeric(s, errors="coerce")
    return pd.Series(s).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


def window_sum(W: np.ndarray, window: int, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of non-NaN cells over rows t-shift-window+1 .. t-shift of W.

    W is quarters x clients. Cells with no non-NaN value in the window are NaN.
    Only earlier rows are read, so nothing looks ahead.
    """
    nq = W.shape[0]
    valid = ~np.isnan(W)
    X = np.where(valid, W, 0.0)
    total = np.zeros_like(X)
    count = np.zeros(W.shape)
    for k in range(shift, shift + max(int(window), 1)):
        if k >= nq:
            break
        if k == 0:
            total += X
            count += valid
        else:
            total[k:] += X[:nq - k]
            count[k:] += valid[:nq - k]
    total[count == 0] = np.nan
    return total, count


class QuarterGrid:
    """The panel laid out as quarter x client matrices for backward-looking windows.

    Quarters a client has no row for are NaN, so windows skip them.
    """

    def __init__(self, panel: pd.DataFrame):
        if "client_id" not in panel.columns:
            raise ValueError("the panel needs a client_id column")
        self.frame = panel.reset_index(drop=True)
        self.qi = panel_quarter_index(self.frame)
        codes, uniques = pd.factorize(self.frame["client_id"])
        self.clients = uniques
        self.q0 = int(self.qi.min()) if len(self.qi) else 0
        self.nq = int(self.qi.max() - self.q0 + 1) if len(self.qi) else 0
        self.nc = len(uniques)
        self.r = self.qi - self.q0
        self.c = codes
        if len(self.frame):
            key = self.c.astype("int64") * max(self.nq, 1) + self.r
            if len(np.unique(key)) != len(key):
                dup = self.frame.loc[pd.Series(key).duplicated(keep=False), ["client_id"]]
                raise ValueError("the panel has more than one row for a client and quarter "
                                 f"(first: {dup.iloc[0, 0]!r}); rebuild it with one row each")
        self._cache: dict[str, np.ndarray] = {}

    def col(self, name: str) -> np.ndarray:
        return numeric(self.frame, name)

    def wide(self, values: np.ndarray) -> np.ndarray:
        W = np.full((self.nq, self.nc), np.nan)
        W[self.r, self.c] = values
        return W

    def w(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self.wide(self.col(name))
        return self._cache[name]

    def rows(self, W: np.ndarray) -> np.ndarray:
        return W[self.r, self.c]

    def measured(self, name: str) -> bool:
        return bool(np.isfinite(self.col(name)).any())


# ---------------------------------------------------------------------------
# computing helpers (wide in, wide out)
# ---------------------------------------------------------------------------
def _known_sums(g: QuarterGrid, num: str, den: str, window: int,
                num_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Window sums of num and den over the quarters where both are known."""
    N = g.w(num) if num_values is None else num_values
    D = g.w(den)
    both = ~np.isnan(N) & ~np.isnan(D)
    n_sum, _ = window_sum(np.where(both, N, np.nan), window)
    d_sum, _ = window_sum(np.where(both, D, np.nan), window)
    return n_sum, d_sum


def _ratio(g: QuarterGrid, num: str, den: str, window: int, min_den: float,
           num_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """sum(num)/sum(den) over the window where both are known; NaN below min_den."""
    n_sum, d_sum = _known_sums(g, num, den, window, num_values)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = n_sum / d_sum
    value[~(d_sum >= max(min_den, 1e-12))] = np.nan
    return value, n_sum


def _mean(g: QuarterGrid, col: str, window: int) -> np.ndarray:
    s, n = window_sum(g.w(col), window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / n


def trend_drop(W: np.ndarray, recent: int, base: int, min_base_quarters: int,
               min_base_sum: float = 0.0) -> np.ndarray:
    """1 - (mean over the recent window) / (mean over the `base` quarters before it).

    0.4 = 40% less per quarter than before; negative = growth. NaN with fewer than
    min_base_quarters quarters (or a base sum below min_base_sum) to compare with.
    """
    r_sum, r_n = window_sum(W, recent)
    b_sum, b_n = window_sum(W, base, shift=recent)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - (r_sum / r_n) / (b_sum / b_n)
    ok = (r_n >= 1) & (b_n >= min_base_quarters) & (b_sum > 0) & (b_sum >= min_base_sum)
    return np.where(ok, value, np.nan)


# Each compute function: (grid, window, toxicity params) -> (values, aux) as
# wide matrices; aux (a count a reason quotes) may be None.
Compute = Callable[[QuarterGrid, int, ToxicityParams], tuple[np.ndarray, np.ndarray | None]]


def firm_loss_rate(g: QuarterGrid) -> np.ndarray:
    """Per quarter row: the share of every client's closed deals lost up to that quarter (the
    firm's own loss rate so far, so nothing looks ahead); NaN before any deal closed."""
    closed = np.nancumsum(np.nansum(g.w("deals_closed"), axis=1))
    lost = np.nancumsum(np.nansum(g.w("deals_lost"), axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(closed > 0, lost / np.where(closed > 0, closed, 1), np.nan)




def _estimate_no_order(g, w, tp):
    """Estimate requests that never became an order, and deals short of an order, over the
    estimate requests and closed deals of the window; each source counts where it is measured,
    so a firm with only a CRM, or only a request log, is judged too.

    Deals are judged against the firm's own win rate, for firms lose most of what they propose,
    to existing clients too (an upsell the client did not need, a renewal priced too high): an
    ordinary client losing as often as everyone else is no shopper. The deals counted as never
    becoming an order are the client's shortfall of wins against the firm's: closed deals x (1 -
    the client's win share / the firm's win share so far), none for a client winning as often as
    the firm or more, every one for a client that won nothing. And only over at least
    `toxicity.min_events` closed deals in the window: at a firm that wins a deal in four, a
    client losing its two is chance. Counting every lost deal would name ordinary clients (their
    losses alone outweigh the estimates they order); counting only losses above the firm's loss
    rate would never name a shopper from its deals, capped at the firm's win share.
    `toxicity.min_events` applies again to the estimate requests and deals counted together."""
    req_num, req_den = _known_sums(g, "estimates_without_order", "estimate_requests", w)
    lost, closed = _known_sums(g, "deals_lost", "deals_closed", w)
    judged = closed >= max(tp.min_events, 1)
    firm_wins = 1.0 - firm_loss_rate(g)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        short = closed * (1.0 - (closed - lost) / closed / firm_wins)
    # a firm that won nothing leaves no client short of it
    short = np.where(judged, np.where(firm_wins > 0, np.clip(short, 0.0, closed), 0.0), np.nan)
    closed = np.where(judged, closed, np.nan)
    num = np.where(np.isnan(req_num) & np.isnan(short), np.nan,
                   np.nan_to_num(req_num) + np.nan_to_num(short))
    den = np.where(np.isnan(req_den) & np.isnan(closed), np.nan,
                   np.nan_to_num(req_den) + np.nan_to_num(closed))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = num / den
    value[~(den >= max(tp.min_events, 1e-12))] = np.nan
    return value, num


def _presale_cost_share(g, w, tp):
    value, _ = _ratio(g, "cost_presale", "delivery_cost", w, 1e-9)
    return value, None


def _team_score(g, w, tp):
    return _mean(g, "team_score_mean", w), None


def _escalations(g, w, tp):
    return _mean(g, "escalations", w), None


def _shelved_share(g, w, tp):
    return _ratio(g, "shelved_count", "delivered_count", w, tp.min_events)


def _late_payment(g, w, tp):
    weighted = g.w("days_late_mean") * g.w("invoices_due")
    value, _ = _ratio(g, "days_late_mean", "invoices_due", w, 1, num_values=weighted)
    return value, None


def _urgent_after_hours(g, w, tp):
    return _ratio(g, "urgent_after_hours_requests", "requests_total", w, tp.min_events)


def _contradicting(g, w, tp):
    value, count = _ratio(g, "contradicting_requests", "change_requests", w, tp.min_events)
    return np.minimum(value, 1.0), count


def _approval_days(g, w, tp):
    return _mean(g, "approval_days_mean", w), None


def _budget_cut(g, w, tp):
    """Retainer and support value signed over the last year (or window) against the year before.

    Like with like: a recurring fee is compared with a recurring fee. Project contracts are
    left out, since their value follows the size of each project (one large build, then small
    ones) and swings year to year at a healthy client; less project work shows as falling
    orders. Both years must have a signing: a client that signed nothing lately is "fewer
    orders", not a budget cut.
    """
    S = g.w("recurring_value_signed")
    span = max(int(w), int(tp.trend_base_quarters))
    recent, _ = window_sum(S, span)
    before, _ = window_sum(S, span, shift=span)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - recent / before
    return np.where((recent > 0) & (before > 0), value, np.nan), None


def _falling(col: str, counts_events: bool = False) -> Compute:
    def compute(g, w, tp):
        min_sum = float(tp.min_events) if counts_events else 0.0
        return trend_drop(g.w(col), int(w), int(tp.trend_base_quarters), 2, min_sum), None
    return compute


def _falling_orders(g, w, tp):
    """Billable hours, or all hours for a client whose exports never say which are billable
    (hours-only exports): the work it orders either way."""
    billable, hours = g.w("billable_hours"), g.w("hours")
    unknown = np.isnan(billable).all(axis=0)
    return trend_drop(np.where(unknown[None, :], hours, billable), int(w), int(tp.trend_base_quarters), 2), None


def _contact_churn(g, w, tp):
    s, _ = window_sum(g.w("client_contact_changed"), max(int(w), 4))
    return s, None


def _answer_mean(g: QuarterGrid, mean_col: str, answers_col: str, window: int,
                 min_answers: int) -> np.ndarray:
    """Mean of every answer in the window (each quarter's mean weighted by its answers, so one
    quarter's single answer does not weigh as much as another's ten); NaN on fewer than
    min_answers answers, since one answer of 6 from a client whose others are 8 is chance."""
    if not g.measured(answers_col):  # a panel from before answers were counted
        return _mean(g, mean_col, window)
    value, _ = _ratio(g, mean_col, answers_col, window, min_answers,
                      num_values=g.w(mean_col) * g.w(answers_col))
    return value


def _nps(g, w, tp):
    return _answer_mean(g, "nps_mean", "nps_answers", w, tp.min_answers), None


def _csat(g, w, tp):
    return _answer_mean(g, "csat_mean", "csat_answers", w, tp.min_answers), None


def _missed_deadlines(g, w, tp):
    return _ratio(g, "missed_deadlines", "delivered_count", w, tp.min_events)


def _gross_margin(g, w, tp):
    R, C = g.w("revenue"), g.w("delivery_cost")
    both = ~np.isnan(R) & ~np.isnan(C)
    r, _ = window_sum(np.where(both, R, np.nan), w)
    c, _ = window_sum(np.where(both, C, np.nan), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(r > 0, (r - c) / r, np.where(c > 0, -1.0, np.nan))
    return np.clip(value, -1.0, 1.0), None


def _non_billable_share(g, w, tp):
    value, _ = _ratio(g, "billable_hours", "hours", w, 1e-9)
    return 1.0 - value, None


# ---------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Marker:
    name: str                     # key; also the key under toxicity.weights / toxicity.baseline
    group: str                    # the DOMAIN.md marker row it measures
    label_en: str
    definition: str               # written definition (English)
    unit: str
    source: str                   # source table(s) that measure it
    columns: tuple[str, ...]      # panel columns read
    higher_is_worse: bool
    compute: Compute
    reason_en: str                # {v}: value, {a}: aux count, {period}, {b}: base quarters
    fmt: str = "pct"              # how {v} is written: pct, int, num1
    relationship: bool = False    # a marker a communicator change can move
    aux_fmt: str = "int"
    # A marker read from more than one source: it is measured when the columns of any one of
    # these groups are (empty: when all of `columns` are).
    either_columns: tuple[tuple[str, ...], ...] = ()
    # A share of events whose aux is the count of bad ones: fewer than toxicity.min_bad_events of
    # them count nothing, whatever the share (one contradicting request of five is no pattern).
    event_share: bool = False

    def label(self, lang: str = "en") -> str:
        return tr(self.label_en, lang)


MARKERS: tuple[Marker, ...] = (
    Marker("estimate_no_order", "estimate shopping",
           "Estimates without order",
           "Share of the client's estimate requests and closed deals in the window that never became "
           "an order; deals count by how far the client's win rate falls short of the firm's, once "
           "enough of them closed.",
           "share of estimate requests and deals", "requests, deals",
           ("estimate_requests", "estimates_without_order", "deals_closed", "deals_lost"),
           True, _estimate_no_order,
           "{v} of estimate requests and deals never became an order",
           either_columns=(("estimate_requests", "estimates_without_order"), ("deals_closed", "deals_lost")), event_share=True),
    Marker("presale_cost_share", "estimate shopping",
           "Unpaid presale cost",
           "Cost of non-billable presale and estimate hours as a share of the whole delivery cost "
           "of the client: time spent without money.",
           "share of delivery cost", "time_entries", ("cost_presale", "delivery_cost"),
           True, _presale_cost_share,
           "{v} of the cost to serve is unpaid presale and estimates"),
    Marker("team_score", "team rejection",
           "Team rating",
           "Mean rating our team gives working with the client (1 = nobody wants to, 5 = a pleasure).",
           "points, 1-5", "team_feedback", ("team_score_mean",),
           False, _team_score,
           "the team rates working with the client {v} of 5", fmt="num1", relationship=True),
    Marker("escalations", "team rejection",
           "Escalations",
           "Escalations or conflicts with the client's PM per quarter, from team feedback.",
           "escalations per quarter", "team_feedback", ("escalations",),
           True, _escalations,
           "{v} escalations per quarter", fmt="num1",
           relationship=True),
    Marker("shelved_share", "work shelved",
           "Work shelved",
           "Share of deliverables delivered in the window that were shelved, never launched.",
           "share of deliverables", "deliverables", ("delivered_count", "shelved_count"),
           True, _shelved_share,
           "{v} of delivered work was shelved, never launched", event_share=True),
    Marker("late_payment", "late payment",
           "Late payment",
           "Mean days invoices were paid after their due date, over invoices due in the window "
           "(an unpaid overdue invoice counts to the period end).",
           "days", "invoices", ("days_late_mean", "invoices_due"),
           True, _late_payment,
           "pays {v} days late on average", fmt="int"),
    Marker("urgent_after_hours", "disrespect",
           "Urgent after hours",
           "Share of the client's requests that were high or urgent and raised after hours "
           "(\"right now\" on a Friday night).",
           "share of requests", "requests", ("urgent_after_hours_requests", "requests_total"),
           True, _urgent_after_hours,
           "{v} of requests are urgent and raised after hours", relationship=True, event_share=True),
    Marker("contradicting", "disrespect",
           "Contradicting requests",
           "Share of change requests that revert or contradict an earlier request.",
           "share of change requests", "requests", ("contradicting_requests", "change_requests"),
           True, _contradicting,
           "{a} contradicting change request{s} {period} ({v} of change requests)", relationship=True,
           event_share=True),
    Marker("approval_days", "long approvals",
           "Approval time",
           "Mean days the client took to approve our proposals and estimates.",
           "days", "requests", ("approval_days_mean",),
           True, _approval_days,
           "approvals take {v} days on average",
           fmt="int", relationship=True),
    Marker("budget_cut", "budget cuts",
           "Budget cut",
           "How much less retainer and support value was signed in the last four quarters than in "
           "the four before them (0.5 = half; negative = more); judged only when both years have "
           "such a signing. Project contracts swing with the size of each project and are left out.",
           "share of the previous year's signed value", "contracts", ("recurring_value_signed",),
           True, _budget_cut,
           "signed {v} less retainer and support value than the year before"),
    Marker("falling_orders", "fewer orders",
           "Falling orders",
           "Drop in billable hours (work the client orders) per quarter in the window against the "
           "quarters before it (0.4 = 40% fewer; negative = growth); all hours where the export does "
           "not say which are billable.",
           "share drop", "time_entries", ("hours",),
           True, _falling_orders,
           "billable work down {v} on the previous {b} quarters"),
    Marker("falling_requests", "fewer orders",
           "Falling requests",
           "Drop in requests per quarter in the window against the quarters before it.",
           "share drop", "requests", ("requests_total",),
           True, _falling("requests_total", counts_events=True),
           "requests down {v} on the previous {b} quarters"),
    Marker("contact_churn", "client contact churn",
           "Contact churn",
           "Changes of the client's main contact over the last four quarters (three managers in "
           "a year = two changes).",
           "changes per year", "contacts", ("client_contact_changed",),
           True, _contact_churn,
           "the client's contact changed {v} time{s} in a year", fmt="int"),
    Marker("nps", "satisfaction",
           "NPS",
           "Mean of the NPS answers (0-10) in the window; too few answers are not judged.",
           "points, 0-10", "surveys", ("nps_mean",),
           False, _nps,
           "NPS answers average {v} of 10", fmt="num1",
           relationship=True),
    Marker("csat", "satisfaction",
           "CSAT",
           "Mean of the CSAT answers (1-5) in the window; too few answers are not judged.",
           "points, 1-5", "surveys", ("csat_mean",),
           False, _csat,
           "CSAT averages {v} of 5", fmt="num1", relationship=True),
    Marker("missed_deadlines", "promises kept",
           "Missed deadlines",
           "Share of deliverables delivered after the date we promised, beyond the days of grace "
           "allowed.",
           "share of deliverables", "deliverables", ("missed_deadlines", "delivered_count"),
           True, _missed_deadlines,
           "{v} of deliverables missed the promised date", event_share=True),
    Marker("gross_margin", "economic marker",
           "Gross margin",
           "(revenue - delivery cost) / revenue over the window; -100% when there is cost and no "
           "revenue. Consumes team time, brings no money.",
           "share of revenue", "time_entries (+ invoices)", ("revenue", "delivery_cost"),
           False, _gross_margin,
           "gross margin is only {v}"),
    Marker("non_billable_share", "economic marker",
           "Non-billable hours",
           "Share of the team's hours on the client that are not billed.",
           "share of hours", "time_entries", ("billable_hours", "hours"),
           True, _non_billable_share,
           "{v} of the team's hours are not billed"),
)

MARKER_BY_NAME: dict[str, Marker] = {m.name: m for m in MARKERS}
MARKER_NAMES: tuple[str, ...] = tuple(MARKER_BY_NAME)

IDENTITY = ("client_id", "client_name", "quarter", "quarter_index")


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
def marker_docs(params: Params | None = None, lang: str = "en") -> pd.DataFrame:
    """One row per marker: what it means, where it comes from, how it is judged."""
    rows = []
    for m in MARKERS:
        row = {
            "marker": m.name, "label": m.label(lang), "group": m.group,
            "definition": tr(m.definition, lang),
            "unit": m.unit, "source": m.source, "columns": ", ".join(m.columns),
            "worse_when": "higher" if m.higher_is_worse else "lower",
            "parameters": f"toxicity.markers.{m.name}",
        }
        if params is not None:
            row.update(params.toxicity.markers[m.name].model_dump())
        rows.append(row)
    return pd.DataFrame(rows)


def measured_markers(panel: pd.DataFrame) -> dict[str, bool]:
    """Whether each marker's source columns hold any value at all in the panel."""
    out = {}
    for m in MARKERS:
        groups = m.either_columns or (m.columns,)
        out[m.name] = any(all(np.isfinite(numeric(panel, c)).any() for c in group) for group in groups)
    return out


# ---------------------------------------------------------------------------
# computation
# ---------------------------------------------------------------------------
def _identity(frame: pd.DataFrame, qi: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({"client_id": frame["client_id"].to_numpy()})
    out["client_name"] = (frame["client_name"].to_numpy() if "client_name" in frame.columns
                          else out["client_id"].astype(str).to_numpy())
    out["quarter"] = [quarter_label(q) for q in qi]
    out["quarter_index"] = qi
    return out


def compute_markers(panel: pd.DataFrame, params: Params, window: int,
                    as_of: str | None = None) -> pd.DataFrame:
    """Every marker for every client-quarter, over `window` quarters ending there.

    Returns client_id, client_name, quarter, quarter_index, one column per marker
    (named as in MARKERS; NaN = not measured or too little to judge) and
    `aux_<marker>` for the counts reasons quote (contradicting requests...).
    Rows after `as_of` (a quarter like 2025Q4) are dropped before computing.
    """
    tp = params.toxicity
    if as_of is not None:
        panel = panel.loc[panel_quarter_index(panel) <= quarter_index_of(as_of)]
    g = QuarterGrid(panel)
    out = _identity(g.frame, g.qi)
    window = max(int(window), 1)
    for m in MARKERS:
        if g.nq == 0:
            out[m.name] = np.nan
            continue
        value, aux = m.compute(g, window, tp)
        out[m.name] = g.rows(value)
        if aux is not None:
            out[f"aux_{m.name}"] = g.rows(aux)
    out.attrs["window"] = window
    return out


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------
def format_value(value: float, fmt: str, lang: str = "en") -> str:
    if value is None or not np.isfinite(value):
        return tr("n/a", lang)
    if fmt == "pct":
        text = f"{value:.0%}"
    elif fmt == "int":
        text = f"{value:.0f}"
    else:
        text = f"{value:.1f}"
    if text.startswith("-0") and not any(ch in "123456789" for ch in text):
        text = text[1:]
    return text.replace(".", ",") if lang == "ru" else text


def period_words(window: int, lang: str = "en") -> str:
    if window <= 1:
        return tr_context("when", "this quarter", lang)
    return tr_plural("in the last {window} quarters", window, lang, window=window)


def reason_text(marker: Marker, value: float, aux: float | None = None, *, window: int,
                lang: str = "en", base_quarters: int) -> str:
    """The plain-words reason for one marker value, e.g. 'pays 38 days late on average'."""
    template = tr(marker.reason_en, lang)
    counted = aux if "{a}" in template else value
    return template.format(
        v=format_value(value, marker.fmt, lang),
        a=format_value(aux if aux is not None else np.nan, marker.aux_fmt, lang),
        s=plural_s(counted), period=period_words(window, lang), b=base_quarters)


def plural_s(count: float | None) -> str:
    """English plural ending: '' for exactly one, else 's'."""
    try:
        return "" if count is not None and round(float(count)) == 1 else "s"
    except (TypeError, ValueError):
        return "s"
