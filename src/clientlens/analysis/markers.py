"""Toxicity and risk markers: one registry, one computation.

Every marker of DOMAIN.md's markers table is a `Marker` record: its name, the
words a report uses for it (English and Russian), a written definition, unit,
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

Config (config/params.yaml, section `toxicity`):
- a flat threshold key per marker (`late_days: 30`): the level at which the
  marker counts in full;
- `baseline.<marker>`: the level at which it counts nothing (a normal client);
- `weights.<marker>`: its weight in the composite score.
Between baseline and threshold a marker's severity rises linearly from 0 to 1.
Whether higher or lower values are worse is the marker's own property
(`higher_is_worse`); the config must put baseline on the good side.

Functions here never read files: pass the parameters dict in. `DEFAULTS` holds
the defaults used by this module's own tests and proposed for params.yaml.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from clientlens.parameters import ConfigError

# ---------------------------------------------------------------------------
# defaults (the single home of default values; shaped like config/params.yaml)
# ---------------------------------------------------------------------------
DEFAULTS: dict[str, Any] = {
    "toxicity": {
        "window_quarters": 4,        # trailing window for a client's current state
        "trend_base_quarters": 4,    # quarters before the window that trends compare with
        "min_events": 3,             # fewer events than this in the window: the share is not judged
        "reason_min_severity": 0.5,  # a marker at least this severe is named as a reason
        "max_reasons": 3,            # reasons listed per client
        # thresholds: the level at which a marker counts in full
        "estimate_no_order_share": 0.6,
        "presale_cost_share": 0.2,
        "team_score": 2.5,
        "escalations_per_quarter": 1.0,
        "shelved_share": 0.3,
        "late_days": 30,
        "after_hours_share": 0.2,
        "contradicting_share": 0.2,
        "approval_days": 30,
        "budget_cut_share": 0.5,
        "orders_drop_share": 0.5,
        "requests_drop_share": 0.5,
        "contact_changes_per_year": 2,
        "nps": 6,
        "csat": 3,
        "missed_deadline_share": 0.3,
        "gross_margin": 0.0,
        "non_billable_share": 0.4,
        # the level at which a marker counts nothing (a normal client)
        "baseline": {
            "estimate_no_order": 0.3,
            "presale_cost_share": 0.05,
            "team_score": 3.75,
            "escalations": 0.0,
            "shelved_share": 0.05,
            "late_payment": 5,
            "urgent_after_hours": 0.05,
            "contradicting": 0.05,
            "approval_days": 10,
            "budget_cut": 0.1,
            "falling_orders": 0.1,
            "falling_requests": 0.1,
            "contact_churn": 0,
            "nps": 8,
            "csat": 4,
            "missed_deadlines": 0.1,
            "gross_margin": 0.25,
            "non_billable_share": 0.15,
        },
        # weights in the composite score (renormalised over the measured markers)
        "weights": {
            "estimate_no_order": 1.5,
            "presale_cost_share": 1.0,
            "team_score": 1.5,
            "escalations": 1.0,
            "shelved_share": 1.0,
            "late_payment": 2.0,
            "urgent_after_hours": 2.0,
            "contradicting": 1.5,
            "approval_days": 1.5,
            "budget_cut": 0.5,
            "falling_orders": 0.5,
            "falling_requests": 0.5,
            "contact_churn": 0.5,
            "nps": 0.75,
            "csat": 0.75,
            "missed_deadlines": 0.75,
            "gross_margin": 1.0,
            "non_billable_share": 0.5,
        },
    },
    "toxicity_red": 30,
    "communicator_max_quarters": 8,
    "segments": {
        "profitable_margin_pct": 0.10,     # margin_pct at or above this is profitable
        "communicator_driven_share": 0.4,  # relationship markers' share of the score that blames the communicator
        "dormant_quarters": 2,             # this many quarters in a row without activity: "Gone quiet"
    },
    "early_warning": {
        "recent_quarters": 2,        # the window a warning looks at
        "base_quarters": 4,          # compared with this many quarters before it
        "min_base_quarters": 2,      # quarters of history a trend needs
        "orders_drop": 0.3,          # billable hours per quarter fell by this share
        "requests_drop": 0.3,        # requests per quarter fell by this share
        "min_base_requests": 4,      # requests in the base window a request trend needs
        "late_days_rise": 10,        # mean days late rose by this many days
        "survey_recent_quarters": 4, # the latest survey answer counts this long
        "nps_drop": 2.0,             # latest NPS answer this far below the earlier ones
        "csat_drop": 0.75,           # the same on CSAT's 1-5 scale
        "contact_changes": 1,        # client contact changes within recent_quarters
        "revenue_quarters": 4,       # revenue at risk: revenue over this many quarters
        "lookback_quarters": 4,      # backtest: a warning counts this many quarters before a stop
        "fire_at": 1.0,              # a client is warned when its firing signals' weights reach this
        "weights": {                 # 0.5 each: two signals together warn, one alone does not
            "falling_orders": 0.5,
            "falling_requests": 0.5,
            "rising_payment_delays": 0.5,
            "falling_nps": 0.5,
            "falling_csat": 0.5,
            "contact_change": 0.5,
        },
    },
}


def default_params() -> dict[str, Any]:
    """A deep copy of DEFAULTS (tests of this module change it freely)."""
    return copy.deepcopy(DEFAULTS)


# ---------------------------------------------------------------------------
# quarters and the quarter x client grid
# ---------------------------------------------------------------------------
def quarter_index_of(quarter: str) -> int:
    text = str(quarter)
    if len(text) != 6 or text[4] != "Q" or text[5] not in "1234":
        raise ValueError(f"{quarter!r} is not a quarter like 2025Q4")
    return int(text[:4]) * 4 + int(text[5]) - 1


def quarter_label(index: int) -> str:
    index = int(index)
    return f"{index // 4}Q{index % 4 + 1}"


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
def _ratio(g: QuarterGrid, num: str, den: str, window: int, min_den: float,
           num_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """sum(num)/sum(den) over the window where both are known; NaN below min_den."""
    N = g.w(num) if num_values is None else num_values
    D = g.w(den)
    both = ~np.isnan(N) & ~np.isnan(D)
    n_sum, _ = window_sum(np.where(both, N, np.nan), window)
    d_sum, _ = window_sum(np.where(both, D, np.nan), window)
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
Compute = Callable[[QuarterGrid, int, Mapping[str, Any]], tuple[np.ndarray, np.ndarray | None]]


def _estimate_no_order(g, w, tp):
    return _ratio(g, "estimates_without_order", "estimate_requests", w, tp["min_events"])


def _presale_cost_share(g, w, tp):
    value, _ = _ratio(g, "cost_presale", "delivery_cost", w, 1e-9)
    return value, None


def _team_score(g, w, tp):
    return _mean(g, "team_score_mean", w), None


def _escalations(g, w, tp):
    return _mean(g, "escalations", w), None


def _shelved_share(g, w, tp):
    return _ratio(g, "shelved_count", "delivered_count", w, tp["min_events"])


def _late_payment(g, w, tp):
    weighted = g.w("days_late_mean") * g.w("invoices_due")
    value, _ = _ratio(g, "days_late_mean", "invoices_due", w, 1, num_values=weighted)
    return value, None


def _urgent_after_hours(g, w, tp):
    return _ratio(g, "urgent_after_hours_requests", "requests_total", w, tp["min_events"])


def _contradicting(g, w, tp):
    value, count = _ratio(g, "contradicting_requests", "change_requests", w, tp["min_events"])
    return np.minimum(value, 1.0), count


def _approval_days(g, w, tp):
    return _mean(g, "approval_days_mean", w), None


def _budget_cut(g, w, tp):
    """Contract value signed over the last year (or window) against the year before it.

    Both years must have a signing: a client that signed nothing lately is "fewer
    orders", not a budget cut, and a year-long window smooths the spiral's small
    support contracts against large feature ones.
    """
    S = g.w("contract_value_signed")
    span = max(int(w), int(tp["trend_base_quarters"]))
    recent, _ = window_sum(S, span)
    before, _ = window_sum(S, span, shift=span)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - recent / before
    return np.where((recent > 0) & (before > 0), value, np.nan), None


def _falling(col: str, counts_events: bool = False) -> Compute:
    def compute(g, w, tp):
        min_sum = float(tp["min_events"]) if counts_events else 0.0
        return trend_drop(g.w(col), int(w), int(tp["trend_base_quarters"]), 2, min_sum), None
    return compute


def _contact_churn(g, w, tp):
    s, _ = window_sum(g.w("client_contact_changed"), max(int(w), 4))
    return s, None


def _nps(g, w, tp):
    return _mean(g, "nps_mean", w), None


def _csat(g, w, tp):
    return _mean(g, "csat_mean", w), None


def _missed_deadlines(g, w, tp):
    return _ratio(g, "missed_deadlines", "delivered_count", w, tp["min_events"])


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
    label_ru: str
    definition: str               # written definition (English)
    definition_ru: str
    unit: str
    source: str                   # source table(s) that measure it
    columns: tuple[str, ...]      # panel columns read
    threshold_key: str            # toxicity.<threshold_key>: level counted in full
    higher_is_worse: bool
    compute: Compute
    reason_en: str                # {v}: value, {a}: aux count, {period}, {b}: base quarters
    reason_ru: str
    fmt: str = "pct"              # how {v} is written: pct, int, num1
    relationship: bool = False    # a marker a communicator change can move
    aux_fmt: str = "int"

    @property
    def weight_key(self) -> str:
        return self.name

    @property
    def baseline_key(self) -> str:
        return self.name

    def label(self, lang: str = "en") -> str:
        return self.label_ru if lang == "ru" else self.label_en


MARKERS: tuple[Marker, ...] = (
    Marker("estimate_no_order", "estimate shopping",
           "Estimates without order", "Оценки без заказа",
           "Share of the client's estimate requests in the window that never became an order.",
           "Доля запросов на оценку за период, которые так и не стали заказом.",
           "share of estimate requests", "requests", ("estimate_requests", "estimates_without_order"),
           "estimate_no_order_share", True, _estimate_no_order,
           "{v} of estimate requests never became an order",
           "{v} запросов на оценку не стали заказом"),
    Marker("presale_cost_share", "estimate shopping",
           "Unpaid presale cost", "Неоплаченный пресейл",
           "Cost of non-billable presale and estimate hours as a share of the whole delivery cost "
           "of the client: time spent without money.",
           "Стоимость неоплачиваемых часов пресейла и оценок в доле всех затрат на клиента.",
           "share of delivery cost", "time_entries", ("cost_presale", "delivery_cost"),
           "presale_cost_share", True, _presale_cost_share,
           "{v} of the cost to serve is unpaid presale and estimates",
           "{v} затрат на клиента — неоплаченные пресейл и оценки"),
    Marker("team_score", "team rejection",
           "Team rating", "Оценка команды",
           "Mean rating our team gives working with the client (1 = nobody wants to, 5 = a pleasure).",
           "Средняя оценка, которую команда даёт работе с клиентом (1 — никто не хочет, 5 — в радость).",
           "points, 1-5", "team_feedback", ("team_score_mean",),
           "team_score", False, _team_score,
           "the team rates working with the client {v} of 5",
           "команда оценивает работу с клиентом на {v} из 5", fmt="num1", relationship=True),
    Marker("escalations", "team rejection",
           "Escalations", "Эскалации",
           "Escalations or conflicts with the client's PM per quarter, from team feedback.",
           "Эскалации и конфликты с менеджером клиента в среднем за квартал (отзывы команды).",
           "escalations per quarter", "team_feedback", ("escalations",),
           "escalations_per_quarter", True, _escalations,
           "{v} escalations per quarter", "эскалаций в квартал: {v}", fmt="num1",
           relationship=True),
    Marker("shelved_share", "work shelved",
           "Work shelved", "Работа «в стол»",
           "Share of deliverables delivered in the window that were shelved, never launched.",
           "Доля сданных за период работ, которые так и не запустили («в стол»).",
           "share of deliverables", "deliverables", ("delivered_count", "shelved_count"),
           "shelved_share", True, _shelved_share,
           "{v} of delivered work was shelved, never launched",
           "{v} сданных работ ушло «в стол»"),
    Marker("late_payment", "late payment",
           "Late payment", "Просрочка оплаты",
           "Mean days invoices were paid after their due date, over invoices due in the window "
           "(an unpaid overdue invoice counts to the period end).",
           "Среднее число дней оплаты после срока по счетам со сроком в периоде.",
           "days", "invoices", ("days_late_mean", "invoices_due"),
           "late_days", True, _late_payment,
           "pays {v} days late on average", "платит в среднем на {v} дн. позже срока", fmt="int"),
    Marker("urgent_after_hours", "disrespect",
           "Urgent after hours", "Срочное в нерабочее время",
           "Share of the client's requests that were high or urgent and raised after hours "
           "(\"right now\" on a Friday night).",
           "Доля запросов клиента с высоким или срочным приоритетом, поданных в нерабочее время.",
           "share of requests", "requests", ("urgent_after_hours_requests", "requests_total"),
           "after_hours_share", True, _urgent_after_hours,
           "{v} of requests are urgent and raised after hours",
           "{v} запросов — срочные и в нерабочее время", relationship=True),
    Marker("contradicting", "disrespect",
           "Contradicting requests", "Противоречивые правки",
           "Share of change requests that revert or contradict an earlier request.",
           "Доля запросов на изменения, которые отменяют или противоречат более ранним.",
           "share of change requests", "requests", ("contradicting_requests", "change_requests"),
           "contradicting_share", True, _contradicting,
           "{a} contradicting change request{s} {period} ({v} of change requests)",
           "противоречащих правок {period}: {a} ({v} запросов на изменения)", relationship=True),
    Marker("approval_days", "long approvals",
           "Approval time", "Срок согласования",
           "Mean days the client took to approve our proposals and estimates.",
           "Среднее число дней, за которое клиент согласует наши предложения и оценки.",
           "days", "requests", ("approval_days_mean",),
           "approval_days", True, _approval_days,
           "approvals take {v} days on average", "согласование занимает в среднем {v} дн.",
           fmt="int", relationship=True),
    Marker("budget_cut", "budget cuts",
           "Budget cut", "Сокращение бюджета",
           "How much less contract value was signed in the last four quarters than in the four "
           "before them (0.5 = half; negative = more); judged only when both years have a "
           "signing.",
           "Насколько меньше стоимость договоров, подписанных за последние четыре квартала, чем "
           "за четыре предыдущих (0,5 — вдвое меньше); только если в оба года были подписания.",
           "share of the previous year's signed value", "contracts", ("contract_value_signed",),
           "budget_cut_share", True, _budget_cut,
           "signed {v} less contract value than the year before",
           "договоров подписано на {v} меньше, чем годом ранее"),
    Marker("falling_orders", "fewer orders",
           "Falling orders", "Меньше заказов",
           "Drop in billable hours (work the client orders) per quarter in the window against the "
           "quarters before it (0.4 = 40% fewer; negative = growth).",
           "Падение оплачиваемых часов (заказанной работы) в квартал за период против предыдущих "
           "кварталов (0,4 — на 40% меньше).",
           "share drop", "time_entries", ("billable_hours",),
           "orders_drop_share", True, _falling("billable_hours"),
           "billable work down {v} on the previous {b} quarters",
           "оплачиваемой работы на {v} меньше, чем за предыдущие {b} кв."),
    Marker("falling_requests", "fewer orders",
           "Falling requests", "Меньше запросов",
           "Drop in requests per quarter in the window against the quarters before it.",
           "Падение числа запросов в квартал за период против предыдущих кварталов.",
           "share drop", "requests", ("requests_total",),
           "requests_drop_share", True, _falling("requests_total", counts_events=True),
           "requests down {v} on the previous {b} quarters",
           "запросов на {v} меньше, чем за предыдущие {b} кв."),
    Marker("contact_churn", "client contact churn",
           "Contact churn", "Смена контактов",
           "Changes of the client's main contact over the last four quarters (three managers in "
           "a year = two changes).",
           "Смены основного контактного лица клиента за последние четыре квартала.",
           "changes per year", "contacts", ("client_contact_changed",),
           "contact_changes_per_year", True, _contact_churn,
           "the client's contact changed {v} time{s} in a year",
           "смен контактного лица клиента за год: {v}", fmt="int"),
    Marker("nps", "satisfaction",
           "NPS", "NPS",
           "Mean NPS answer (0-10) in the window.",
           "Средний ответ NPS (0-10) за период.",
           "points, 0-10", "surveys", ("nps_mean",),
           "nps", False, _nps,
           "NPS answers average {v} of 10", "средняя оценка NPS {v} из 10", fmt="num1",
           relationship=True),
    Marker("csat", "satisfaction",
           "CSAT", "CSAT",
           "Mean CSAT answer (1-5) in the window.",
           "Средний ответ CSAT (1-5) за период.",
           "points, 1-5", "surveys", ("csat_mean",),
           "csat", False, _csat,
           "CSAT averages {v} of 5", "средняя оценка CSAT {v} из 5", fmt="num1", relationship=True),
    Marker("missed_deadlines", "promises kept",
           "Missed deadlines", "Сорванные сроки",
           "Share of deliverables delivered after the date we promised.",
           "Доля работ, сданных позже обещанного срока.",
           "share of deliverables", "deliverables", ("missed_deadlines", "delivered_count"),
           "missed_deadline_share", True, _missed_deadlines,
           "{v} of deliverables missed the promised date",
           "{v} работ сдано позже обещанного срока"),
    Marker("gross_margin", "economic marker",
           "Gross margin", "Валовая маржа",
           "(revenue - delivery cost) / revenue over the window; -100% when there is cost and no "
           "revenue. Consumes team time, brings no money.",
           "(выручка - затраты на исполнение) / выручка за период; -100%, если затраты есть, а "
           "выручки нет.",
           "share of revenue", "time_entries (+ invoices)", ("revenue", "delivery_cost"),
           "gross_margin", False, _gross_margin,
           "gross margin is only {v}", "валовая маржа всего {v}"),
    Marker("non_billable_share", "economic marker",
           "Non-billable hours", "Неоплачиваемые часы",
           "Share of the team's hours on the client that are not billed.",
           "Доля часов команды на клиента, которые не оплачиваются.",
           "share of hours", "time_entries", ("billable_hours", "hours"),
           "non_billable_share", True, _non_billable_share,
           "{v} of the team's hours are not billed", "{v} часов команды не оплачиваются"),
)

MARKER_BY_NAME: dict[str, Marker] = {m.name: m for m in MARKERS}
MARKER_NAMES: tuple[str, ...] = tuple(MARKER_BY_NAME)

IDENTITY = ("client_id", "client_name", "quarter", "quarter_index")


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
def toxicity_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The `toxicity` section, checked: every key a marker needs must be there.

    An incomplete section is an error that names the missing keys (copy them
    from markers.DEFAULTS); nothing is filled in silently.
    """
    if "toxicity" not in params or not isinstance(params["toxicity"], Mapping):
        raise ConfigError("config/params.yaml has no `toxicity:` section")
    tp = dict(params["toxicity"])
    missing = []
    for key in ("window_quarters", "trend_base_quarters", "min_events", "reason_min_severity",
                "max_reasons"):
        if key not in tp:
            missing.append(f"toxicity.{key}")
    for sub in ("weights", "baseline"):
        if not isinstance(tp.get(sub), Mapping):
            missing.append(f"toxicity.{sub}")
            tp[sub] = {}
    for m in MARKERS:
        if m.threshold_key not in tp:
            missing.append(f"toxicity.{m.threshold_key}")
        if m.name not in tp["weights"]:
            missing.append(f"toxicity.weights.{m.name}")
        if m.name not in tp["baseline"]:
            missing.append(f"toxicity.baseline.{m.name}")
    if missing:
        raise ConfigError("config/params.yaml lacks " + ", ".join(missing)
                          + " (see the proposed `toxicity:` section in clientlens.analysis.markers.DEFAULTS)")
    for m in MARKERS:
        t, b = float(tp[m.threshold_key]), float(tp["baseline"][m.name])
        if (t < b) if m.higher_is_worse else (t > b):
            side = "above" if m.higher_is_worse else "below"
            raise ConfigError(f"toxicity.{m.threshold_key}={t:g} must be {side} "
                              f"toxicity.baseline.{m.name}={b:g}: higher values of {m.name} are "
                              f"{'worse' if m.higher_is_worse else 'better'}")
        if float(tp["weights"][m.name]) < 0:
            raise ConfigError(f"toxicity.weights.{m.name} is negative; use 0 to switch it off")
    return tp


def marker_docs(params: Mapping[str, Any] | None = None, lang: str = "en") -> pd.DataFrame:
    """One row per marker: what it means, where it comes from, how it is judged."""
    tp = toxicity_params(params) if params is not None else None
    rows = []
    for m in MARKERS:
        row = {
            "marker": m.name, "label": m.label(lang), "group": m.group,
            "definition": m.definition_ru if lang == "ru" else m.definition,
            "unit": m.unit, "source": m.source, "columns": ", ".join(m.columns),
            "worse_when": "higher" if m.higher_is_worse else "lower",
            "threshold_key": f"toxicity.{m.threshold_key}",
            "weight_key": f"toxicity.weights.{m.weight_key}",
            "baseline_key": f"toxicity.baseline.{m.baseline_key}",
        }
        if tp is not None:
            row.update(threshold=tp[m.threshold_key], baseline=tp["baseline"][m.name],
                       weight=tp["weights"][m.name])
        rows.append(row)
    return pd.DataFrame(rows)


def measured_markers(panel: pd.DataFrame) -> dict[str, bool]:
    """Whether each marker's source columns hold any value at all in the panel."""
    out = {}
    for m in MARKERS:
        out[m.name] = all(np.isfinite(numeric(panel, c)).any() for c in m.columns)
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


def compute_markers(panel: pd.DataFrame, params: Mapping[str, Any], window: int = 1,
                    as_of: str | None = None) -> pd.DataFrame:
    """Every marker for every client-quarter, over `window` quarters ending there.

    Returns client_id, client_name, quarter, quarter_index, one column per marker
    (named as in MARKERS; NaN = not measured or too little to judge) and
    `aux_<marker>` for the counts reasons quote (contradicting requests...).
    Rows after `as_of` (a quarter like 2025Q4) are dropped before computing.
    """
    tp = toxicity_params(params)
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
def ru_plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def format_value(value: float, fmt: str, lang: str = "en") -> str:
    if value is None or not np.isfinite(value):
        return "n/a" if lang != "ru" else "н/д"
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
        return "this quarter" if lang != "ru" else "в этом квартале"
    if lang == "ru":
        return f"за последние {window} {ru_plural(window, 'квартал', 'квартала', 'кварталов')}"
    return f"in the last {window} quarters"


def reason_text(marker: Marker, value: float, aux: float | None = None, window: int = 1,
                lang: str = "en", base_quarters: int = 4) -> str:
    """The plain-words reason for one marker value, e.g. 'pays 38 days late on average'."""
    template = marker.reason_ru if lang == "ru" else marker.reason_en
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
