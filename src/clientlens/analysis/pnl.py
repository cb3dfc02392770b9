"""Client P&L: revenue, the whole cost to serve, margin, the whale curve, ABC and concentration.

Every function here is pure: it takes the client-quarter panel (or a table computed from it)
and returns a new table. Nothing draws; `clientlens.publishing.plots.pnl_plots` draws these tables.

Definitions used throughout
---------------------------
revenue
    The panel's recognised revenue (invoiced amounts when invoices were supplied, else
    billable hours x bill rate).
delivery_cost
    The cost of *all* hours logged for the client (hours x cost rate). It already contains
    every non-billable category, so the categories are a split of delivery cost, never an
    extra cost on top of it::

        delivery_cost = cost_billable              (billable work)
                      + cost_communication         (non-billable communication and approvals)
                      + cost_presale               (non-billable presale and estimates)
                      + cost_rework                (non-billable rework)
                      + cost_unbilled_scope        (other non-billable work: scope done for free)
                      + cost_unsplit               (what the panel did not split; normally 0)

overhead
    ``overhead_rate x delivery_cost`` with ``overhead_base="delivery_cost"``, i.e. overhead is
    allocated in proportion to the delivery cost; ``overhead_base="revenue"`` allocates it in
    proportion to revenue and ``"hours"`` charges ``overhead_rate`` per hour instead.
gross_margin = revenue - delivery_cost
margin = revenue - delivery_cost - overhead   (the client's contribution after overhead)
    ``margin_pct`` is margin / revenue (NULL when revenue <= 0). A client is *loss-making*
    when its lifetime ``margin`` < 0.
effective_rate = revenue / hours (all hours, billable or not): what an hour really earns.
    ``bill_rate`` = billable_value / billable_hours (the rate billable hours are valued at) and
    ``list_rate`` (people.bill_rate, when known) are the rates it is compared with.
receivables and dso
    Receivables at a quarter end = invoices issued to date - invoices paid to date (from the
    panel's revenue_billed and revenue_collected). Days sales outstanding =
    receivables / amount billed in the window x days in the window (a quarter for the
    client-quarter table, the last four quarters for the client table).

NULL means "not measured" and stays NULL: revenue_collected, receivables and dso are NULL when
invoices were not supplied; a ratio is NULL when its denominator is zero or NULL.
Revenue and cost are measured for a client only when they are measured for every hour it
logged: the panel leaves a quarter's revenue NULL when an hour of it has no billable amount or
rate (or comes from an export that says nothing of billing), and its delivery cost NULL when an
hour has no cost. A sum over quarters of revenue, billable value, delivery cost or overhead is
NULL when any of its quarters is, so a client with hours left uncosted never looks cheaper than
it is; margin, margin % and lifetime profit are then NULL ("not measured") too, and
``margin_note`` says why (``hours_without_bill`` / ``hours_without_cost`` count the hours).
Other sums over quarters skip NULL quarters and are NULL only when no quarter was measured.
Reconciliation: the client table's revenue, costs and margin sum to the panel's to the cent,
and the portfolio waterfall ends exactly at the total margin.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from clientlens.analysis import activity
from clientlens.quarters import quarter_index_of, quarter_label

__all__ = [
    "COST_SPLIT",
    "ABC_LOSS",
    "client_quarter_pnl",
    "client_pnl",
    "last_four_quarters",
    "whale_curve",
    "whale_summary",
    "top_share",
    "abc_classes",
    "abc_summary",
    "concentration",
    "portfolio_waterfall",
]

# The split of delivery cost, in waterfall order: (column, label).
COST_SPLIT: tuple[tuple[str, str], ...] = (
    ("cost_billable", "Delivery cost of billable work"),
    ("cost_communication", "Communication and approvals"),
    ("cost_presale", "Presale and estimates"),
    ("cost_rework", "Rework"),
    ("cost_unbilled_scope", "Unbilled scope"),
)
NON_BILLABLE = ("cost_communication", "cost_presale", "cost_rework", "cost_unbilled_scope")
ABC_LOSS = "D (loss)"

_MONEY = ("revenue", "revenue_billed", "revenue_collected", "billable_value", "delivery_cost",
          "cost_billable", "cost_communication", "cost_presale", "cost_rework",
          "cost_unbilled_scope")
_HOURS = ("hours", "billable_hours", "hours_without_bill", "hours_without_cost")
# Sums that are not measured unless every quarter in them is: a partial sum of money would
# make a client look better than it is.
_WHOLE = ("revenue", "billable_value", "delivery_cost", "overhead", "billable_hours")
_OPTIONAL = ("list_value",)  # list value of all hours (hours x people.bill_rate), if the panel has it
_OVERHEAD_BASES = ("delivery_cost", "revenue", "hours")


# --------------------------------------------------------------------------- helpers

def _num(s: pd.Series) -> pd.Series:
    """A float64 copy; pd.NA and unparseable values become NaN (NULL), never 0."""
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, NULL where den is zero, negative or NULL."""
    num = pd.Series(num, dtype="float64")
    den = pd.Series(den, dtype="float64")
    return (num / den.where(den > 0)).astype("float64")


def _nansum_min1(df: pd.DataFrame) -> pd.Series:
    return df.sum(axis=1, min_count=1)


def _sums(g, columns: Iterable[str]) -> pd.DataFrame:
    """Per-group sums: NULL when no row is measured, and, for the _WHOLE columns, when any is not."""
    columns = list(columns)
    out = g[columns].sum(min_count=1)
    whole = [c for c in columns if c in _WHOLE]
    if whole:
        complete = g[whole].count().eq(g.size(), axis=0)
        out[whole] = out[whole].where(complete)
    return out


def _quarter_label(index: int | float | None) -> str | None:
    """2025Q3, or None where there is no quarter (a NaN index)."""
    if index is None or (isinstance(index, float) and math.isnan(index)):
        return None
    return quarter_label(index)


def _days_in_quarter(index: pd.Series) -> pd.Series:
    def days(i: int) -> int:
        y, q = divmod(int(i), 4)
        start = dt.date(y, 3 * q + 1, 1)
        end = dt.date(y + (q == 3), (3 * q + 3) % 12 + 1, 1)
        return (end - start).days
    return index.map(days).astype("float64")


def _bool(s: pd.Series) -> pd.Series:
    """Booleans with NULL read as False (used for flags like is_active and exited)."""
    if s.dtype == object or str(s.dtype) in ("str", "string"):
        s = s.map(lambda v: str(v).strip().lower() in ("1", "true", "t", "yes", "y")
                  if v is not None and not (isinstance(v, float) and math.isnan(v)) else False)
    return s.fillna(False).astype(bool)


def _prepare_panel(panel: pd.DataFrame, period_end: str | int | None = None) -> pd.DataFrame:
    """Typed copy of the columns this module reads; absent columns become NULL."""
    if "client_id" not in panel.columns:
        raise ValueError("the panel has no client_id column: build it with the panel stage first")
    if "quarter_index" not in panel.columns and "quarter" not in panel.columns:
        raise ValueError("the panel needs a quarter or quarter_index column")
    for col in ("revenue", "delivery_cost"):
        if col not in panel.columns:
            raise ValueError(f"the panel has no {col} column; the P&L cannot be computed without it")
    out = pd.DataFrame(index=panel.index)
    out["client_id"] = panel["client_id"].astype(str)
    out["client_name"] = (panel["client_name"].astype(object) if "client_name" in panel.columns
                          else out["client_id"].astype(object))
    out["client_name"] = out["client_name"].where(out["client_name"].notna(), out["client_id"])
    if "quarter_index" in panel.columns:
        out["quarter_index"] = pd.to_numeric(panel["quarter_index"]).astype("int64")
    else:
        out["quarter_index"] = panel["quarter"].map(quarter_index_of).astype("int64")
    out["quarter"] = (panel["quarter"].astype(str) if "quarter" in panel.columns
                      else out["quarter_index"].map(_quarter_label))
    out["is_active"] = _bool(panel["is_active"]) if "is_active" in panel.columns else True
    out["exited"] = _bool(panel["exited"]) if "exited" in panel.columns else False
    for col in _MONEY + _HOURS + _OPTIONAL:
        out[col] = _num(panel[col]) if col in panel.columns else np.nan
    if period_end is not None:
        end = period_end if isinstance(period_end, (int, np.integer)) else quarter_index_of(period_end)
        out = out[out["quarter_index"] <= end]
    return out.sort_values(["client_id", "quarter_index"], kind="stable").reset_index(drop=True)


def _period_end_index(p: pd.DataFrame, period_end: str | int | None) -> int | None:
    if period_end is not None:
        return period_end if isinstance(period_end, (int, np.integer)) else quarter_index_of(period_end)
    return int(p["quarter_index"].max()) if len(p) else None


def _overhead(p: pd.DataFrame, overhead_rate: float, overhead_base: str) -> pd.Series:
    if overhead_base not in _OVERHEAD_BASES:
        raise ValueError(f"overhead_base={overhead_base!r}: use one of {', '.join(_OVERHEAD_BASES)}")
    if overhead_rate is None or not np.isfinite(float(overhead_rate)) or float(overhead_rate) < 0:
        raise ValueError(f"overhead_rate={overhead_rate!r}: give a share >= 0, e.g. 0.12")
    return float(overhead_rate) * p[overhead_base]


def _add_derived(t: pd.DataFrame) -> pd.DataFrame:
    """Ratios and margins from summed columns (same formulas for quarters and for clients)."""
    parts = t[[c for c, _ in COST_SPLIT]]
    t["cost_non_billable"] = _nansum_min1(t[list(NON_BILLABLE)])
    # what the split does not cover (0 when the panel splits all of delivery cost)
    t["cost_unsplit"] = t["delivery_cost"] - parts.sum(axis=1, min_count=0)
    t["total_cost"] = t["delivery_cost"] + t["overhead"]
    t["gross_margin"] = t["revenue"] - t["delivery_cost"]
    t["margin"] = t["revenue"] - t["delivery_cost"] - t["overhead"]
    t["gross_margin_pct"] = _ratio(t["gross_margin"], t["revenue"])
    t["margin_pct"] = _ratio(t["margin"], t["revenue"])
    t["effective_rate"] = _ratio(t["revenue"], t["hours"])
    t["bill_rate"] = _ratio(t["billable_value"], t["billable_hours"])
    t["non_billable_share"] = _ratio(t["cost_non_billable"], t["delivery_cost"])
    return t


# --------------------------------------------------------------------------- P&L tables

QUARTER_COLUMNS = [
    "client_id", "client_name", "quarter", "quarter_index", "is_active",
    "revenue", "revenue_billed", "revenue_collected", "billable_value", "hours", "billable_hours",
    "hours_without_bill", "hours_without_cost", "delivery_cost", "cost_billable", "cost_communication", "cost_presale", "cost_rework",
    "cost_unbilled_scope", "cost_non_billable", "cost_unsplit", "overhead", "total_cost",
    "gross_margin", "gross_margin_pct", "margin", "margin_pct", "effective_rate", "bill_rate",
    "non_billable_share", "receivables", "dso",
]


def client_quarter_pnl(panel: pd.DataFrame, overhead_rate: float, *, overhead_base: str,
                       period_end: str | int | None = None) -> pd.DataFrame:
    """P&L of every client-quarter of the panel.

    Columns: client_id, client_name, quarter, quarter_index, is_active, revenue,
    revenue_billed, revenue_collected, billable_value, hours, billable_hours, delivery_cost,
    cost_billable, cost_communication, cost_presale, cost_rework, cost_unbilled_scope,
    cost_non_billable (sum of the four non-billable categories), cost_unsplit (delivery cost the
    panel did not split; normally 0), overhead, total_cost (= delivery_cost + overhead),
    gross_margin (= revenue - delivery_cost), gross_margin_pct, margin
    (= revenue - delivery_cost - overhead; the categories are a split of delivery_cost, not an
    extra cost), margin_pct, effective_rate (revenue / hours), bill_rate
    (billable_value / billable_hours), non_billable_share (of delivery cost), receivables
    (invoices issued to date - paid to date, at the quarter end) and dso
    (receivables / revenue_billed x days in the quarter).

    NULL stays NULL: receivables and dso are NULL without invoices; ratios are NULL on a zero
    denominator. ``period_end`` (as 2025Q4) drops later quarters.
    """
    p = _prepare_panel(panel, period_end)
    p["overhead"] = _overhead(p, overhead_rate, overhead_base)
    p = _add_derived(p)
    g = p.groupby("client_id", sort=False)
    billed_to_date = g["revenue_billed"].cumsum()
    paid_to_date = g["revenue_collected"].cumsum()
    p["receivables"] = (billed_to_date - paid_to_date).where(
        p["revenue_billed"].notna() & p["revenue_collected"].notna())
    p["dso"] = _ratio(p["receivables"], p["revenue_billed"]) * _days_in_quarter(p["quarter_index"])
    return p[QUARTER_COLUMNS].reset_index(drop=True)


CLIENT_COLUMNS = [
    "client_id", "client_name", "first_quarter", "last_active_quarter", "quarters",
    "quarters_active", "tenure_quarters", "status", "exited",
    "revenue", "revenue_billed", "revenue_collected", "billable_value", "hours", "billable_hours",
    "hours_without_bill", "hours_without_cost", "delivery_cost", "cost_billable", "cost_communication", "cost_presale", "cost_rework",
    "cost_unbilled_scope", "cost_non_billable", "cost_unsplit", "overhead", "total_cost",
    "gross_margin", "gross_margin_pct", "margin", "margin_pct", "is_loss_making",
    "effective_rate", "bill_rate", "list_rate", "rate_realisation", "non_billable_share",
    "quarters_last4", "revenue_last4", "hours_last4", "delivery_cost_last4", "overhead_last4",
    "margin_last4", "margin_pct_last4", "effective_rate_last4", "margin_per_quarter_last4",
    "receivables", "dso",
]


def client_pnl(panel: pd.DataFrame, overhead_rate: float,
               list_rate: float | Mapping[str, float] | pd.Series | None = None, *,
               overhead_base: str, lapse_quarters: int,
               period_end: str | int | None = None) -> pd.DataFrame:
    """One row per client: lifetime P&L, the last four quarters, receivables and DSO.

    Lifetime columns are sums over the client's quarters (see the module docstring for every
    definition): revenue, revenue_billed, revenue_collected, billable_value, hours,
    billable_hours, delivery_cost and its split (cost_billable, cost_communication,
    cost_presale, cost_rework, cost_unbilled_scope; cost_non_billable = the four non-billable
    ones; cost_unsplit = the rest, normally 0), overhead, total_cost, gross_margin,
    gross_margin_pct, margin (= revenue - delivery_cost - overhead: the non-billable categories
    are part of delivery_cost, not extra), margin_pct, is_loss_making (margin < 0),
    effective_rate (revenue / hours), bill_rate (billable_value / billable_hours), list_rate
    and rate_realisation (effective_rate / list_rate), non_billable_share.

    ``list_rate``: the list bill rate, one number for the firm or a mapping client_id -> rate.
    Without it the panel's ``list_value`` column (hours x people.bill_rate) is used when
    present; otherwise list_rate and rate_realisation are NULL (not measured).

    Last four quarters (the panel's last four quarters up to ``period_end``): quarters_last4
    (panel rows the client has in the window), revenue_last4, hours_last4,
    delivery_cost_last4, overhead_last4, margin_last4, margin_pct_last4,
    effective_rate_last4, margin_per_quarter_last4 (margin_last4 / quarters_last4, the run
    rate lifetime value projects).

    receivables: invoices issued - invoices paid, at the end of the client's last quarter;
    dso = receivables / revenue billed in the last four quarters x days in them (NULL without
    invoices or without billing in the window).

    Identity and status: first_quarter, last_active_quarter, quarters (panel rows),
    quarters_active, tenure_quarters (first quarter to period end, or to the exit, inclusive),
    exited (clients.exit_date fell in the panel), status: "exited"; "lapsed" when not exited
    but gone quiet (no work and no invoice for ``lapse_quarters`` quarters to the period end);
    else "active" (analysis.activity.client_status, the one definition every page uses).
    """
    p = _prepare_panel(panel, period_end)
    end = _period_end_index(p, period_end)
    p["overhead"] = _overhead(p, overhead_rate, overhead_base)
    if not len(p):
        return pd.DataFrame(columns=CLIENT_COLUMNS)
    sums = list(_MONEY + _HOURS + _OPTIONAL + ("overhead",))
    g = p.groupby("client_id", sort=True)
    t = _sums(g, sums)
    for col, _label in COST_SPLIT:  # a split of a cost not measured would be a part of unknown size
        t[col] = t[col].where(t["delivery_cost"].notna())
    t["client_name"] = g["client_name"].last()
    t["quarters"] = g.size()
    t["quarters_active"] = g["is_active"].sum()
    first_idx = g["quarter_index"].min()
    active_idx = p.loc[p["is_active"]].groupby("client_id")["quarter_index"].max()
    last_row_idx = g["quarter_index"].max()
    t["exited"] = g["exited"].any()
    t["first_quarter"] = first_idx.map(_quarter_label)
    t["last_active_quarter"] = active_idx.reindex(t.index).map(_quarter_label)
    tenure_end = last_row_idx.where(t["exited"], end)
    t["tenure_quarters"] = (tenure_end - first_idx + 1).astype("int64")
    t["status"] = activity.client_status(p, lapse_quarters, end).set_index("client_id")["status"].reindex(t.index)
    t = _add_derived(t)
    t["is_loss_making"] = (t["margin"] < 0).astype("boolean").where(t["margin"].notna())

    # list rate
    if list_rate is None:
        t["list_rate"] = _ratio(t["list_value"], t["hours"])
    elif isinstance(list_rate, (Mapping, pd.Series)):
        t["list_rate"] = pd.Series(list_rate, dtype="float64").reindex(t.index)
    else:
        t["list_rate"] = float(list_rate)
    t["rate_realisation"] = _ratio(t["effective_rate"], t["list_rate"])

    # last four quarters of the period
    w = p[p["quarter_index"] > end - 4]
    gw = w.groupby("client_id")
    last4 = _sums(gw, ["revenue", "hours", "delivery_cost", "overhead", "revenue_billed"])
    last4 = last4.reindex(t.index)
    t["quarters_last4"] = gw.size().reindex(t.index).fillna(0).astype("int64")
    t["revenue_last4"] = last4["revenue"]
    t["hours_last4"] = last4["hours"]
    t["delivery_cost_last4"] = last4["delivery_cost"]
    t["overhead_last4"] = last4["overhead"]
    t["margin_last4"] = last4["revenue"] - last4["delivery_cost"] - last4["overhead"]
    t["margin_pct_last4"] = _ratio(t["margin_last4"], t["revenue_last4"])
    t["effective_rate_last4"] = _ratio(t["revenue_last4"], t["hours_last4"])
    t["margin_per_quarter_last4"] = _ratio(t["margin_last4"], t["quarters_last4"])

    # receivables at the client's last quarter and DSO over the last four quarters
    billed = g["revenue_billed"].sum(min_count=1)
    paid = g["revenue_collected"].sum(min_count=1)
    t["receivables"] = billed - paid
    window_days = float(_days_in_quarter(pd.Series(range(end - 3, end + 1))).sum())
    t["dso"] = _ratio(t["receivables"], last4["revenue_billed"]) * window_days

    t = t.reset_index()
    return t[CLIENT_COLUMNS]


# --------------------------------------------------------------------------- whale curve

def _measured(client_pnl: pd.DataFrame) -> pd.DataFrame:
    for col in ("client_id", "margin"):
        if col not in client_pnl.columns:
            raise ValueError(f"expected the client_pnl() table; it has no {col} column")
    t = client_pnl.copy()
    if "client_name" not in t.columns:
        t["client_name"] = t["client_id"]
    if "revenue" not in t.columns:
        t["revenue"] = np.nan
    t["margin"] = _num(t["margin"])
    t["revenue"] = _num(t["revenue"])
    return t[t["margin"].notna()]


def _ranked(client_pnl: pd.DataFrame) -> pd.DataFrame:
    """Clients with a measured margin, most profitable first (ties by client_id)."""
    t = _measured(client_pnl)
    t = t.sort_values(["margin", "client_id"], ascending=[False, True], kind="stable")
    t = t.reset_index(drop=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t


def last_four_quarters(client_pnl: pd.DataFrame) -> pd.DataFrame:
    """client_pnl() with its revenue, margin and margin_pct those of the last four quarters, so
    the whale curve and the top clients' share read the same period as the headline figures.
    A client with no row in the window has neither (not measured) and drops out of both."""
    return client_pnl.assign(revenue=client_pnl["revenue_last4"], margin=client_pnl["margin_last4"],
                             margin_pct=client_pnl["margin_pct_last4"])


def whale_curve(client_pnl: pd.DataFrame) -> pd.DataFrame:
    """The whale curve: cumulative profit against clients ranked by profit, best first.

    Columns: rank (1 = most profitable), client_id, client_name, margin, revenue,
    cum_margin, cum_profit_share (cum_margin / total margin; rises above 1 - the hump - while
    clients are profitable and falls back to exactly 1 through the loss-making tail; NULL when
    total margin <= 0), cum_positive_share (cum_margin / sum of positive margins),
    client_share (rank / number of clients), segment ("hump": margin > 0, "zero", "tail":
    margin < 0, i.e. loss-making). Clients whose margin is NULL are left out.
    """
    t = _ranked(client_pnl)
    n = len(t)
    total = t["margin"].sum()
    positive = t["margin"].clip(lower=0).sum()
    out = t[["rank", "client_id", "client_name", "margin", "revenue"]].copy()
    out["cum_margin"] = out["margin"].cumsum()
    out["cum_profit_share"] = out["cum_margin"] / total if total > 0 else np.nan
    out["cum_positive_share"] = out["cum_margin"] / positive if positive > 0 else np.nan
    out["client_share"] = out["rank"] / n if n else np.nan
    out["segment"] = np.select([out["margin"] > 0, out["margin"] < 0], ["hump", "tail"], "zero")
    return out


def whale_summary(curve: pd.DataFrame) -> pd.Series:
    """Headline figures of a whale_curve() table.

    n_clients, total_margin, positive_margin (sum over profitable clients), loss_margin (sum
    over loss-making clients, <= 0), peak_share (height of the hump: positive_margin /
    total_margin, e.g. 1.6 = 160%; NULL when total margin <= 0), peak_rank and
    peak_client_share (where the hump peaks), n_loss_making, loss_client_share,
    tail_destroys (share of the peak profit the tail gives back = -loss_margin /
    positive_margin).
    """
    n = len(curve)
    total = float(curve["margin"].sum()) if n else 0.0
    positive = float(curve["margin"].clip(lower=0).sum()) if n else 0.0
    loss = float(curve["margin"].clip(upper=0).sum()) if n else 0.0
    n_loss = int((curve["margin"] < 0).sum())
    if n and positive > 0:
        peak_pos = int(np.argmax(curve["cum_margin"].to_numpy()))
        peak_rank = int(curve["rank"].iloc[peak_pos])
    else:
        peak_rank = 0
    return pd.Series({
        "n_clients": n,
        "total_margin": total,
        "positive_margin": positive,
        "loss_margin": loss,
        "peak_share": positive / total if total > 0 else np.nan,
        "peak_rank": peak_rank,
        "peak_client_share": peak_rank / n if n else np.nan,
        "n_loss_making": n_loss,
        "loss_client_share": n_loss / n if n else np.nan,
        "tail_destroys": -loss / positive if positive > 0 else np.nan,
    }, dtype=object)


def whale_words(summary: pd.Series, lang: str, pct: Any, money: Any) -> str:
    """The whale curve's sentence, from whale_summary(), in `lang`: where the curve peaks and what
    the loss-making clients give back, said of one client, of several, and of none."""
    from clientlens.i18n import tr, tr_plural

    if not int(summary["n_clients"]):
        return tr("No client's margin is measured, so there is no curve to draw.", lang)
    rank, n_loss = int(summary["peak_rank"]), int(summary["n_loss_making"])
    if pd.isna(summary["peak_share"]):
        head = tr("Together the clients make no profit", lang)
    elif rank == 1:  # tr_plural keeps the English as written, and English says one client in other words
        head = tr("The curve peaks at {peak} of total profit with the most profitable client alone", lang,
                  peak=pct(summary["peak_share"]))
    else:
        head = tr_plural("The curve peaks at {peak} of total profit after the best {rank} clients", rank, lang,
                         peak=pct(summary["peak_share"]), rank=rank)
    if n_loss == 0:
        tail = tr("no client loses money.", lang)
    elif n_loss == 1:
        tail = tr("the one loss-making client then gives back {loss}.", lang, loss=money(-summary["loss_margin"]))
    else:
        tail = tr_plural("{n_loss} loss-making clients then give back {loss}.", n_loss, lang, n_loss=n_loss,
                         loss=money(-summary["loss_margin"]))
    return f"{head}; {tail}"


def top_share(client_pnl: pd.DataFrame, share: float = 0.2) -> pd.Series:
    """Share of revenue and of profit that the top ``share`` of clients (by profit) bring.

    The top group is the ceil(share x n) most profitable of the n clients with a measured
    margin. Returns share, n_clients, n_top, revenue_share (their revenue / all revenue) and
    profit_share (their margin / total margin; can exceed 1 when the tail loses money; NULL
    when total margin <= 0).
    """
    if not 0 < share <= 1:
        raise ValueError(f"share={share!r}: give a fraction of clients in (0, 1], e.g. 0.2")
    t = _ranked(client_pnl)
    n = len(t)
    k = min(n, math.ceil(share * n - 1e-9)) if n else 0
    top = t.head(k)
    total_rev = t["revenue"].sum(min_count=1)
    total_margin = t["margin"].sum()
    return pd.Series({
        "share": share,
        "n_clients": n,
        "n_top": k,
        "revenue_share": (top["revenue"].sum() / total_rev
                          if pd.notna(total_rev) and total_rev > 0 else np.nan),
        "profit_share": top["margin"].sum() / total_margin if total_margin > 0 else np.nan,
    }, dtype=object)


# --------------------------------------------------------------------------- ABC

def abc_classes(client_pnl: pd.DataFrame, cutoffs: Iterable[float]) -> pd.DataFrame:
    """ABC classes by cumulative share of positive profit.

    Cut-offs (config/params.yaml's ``abc_cutoffs``; below, as [0.8, 0.95]): clients are ranked
    by lifetime margin, best first, and the cumulative share of the *positive* profit (sum of
    margins of profitable clients) is accumulated.

    - **A**: the clients that make the first 80% of positive profit - every client whose
      cumulative share *before* it is below 0.8 (so the client that crosses 80% is in A, and a
      single whale with 90% of the profit is class A on its own);
    - **B**: the following clients up to 95% (cumulative share before it below 0.95);
    - **C**: the rest of the clients with margin >= 0;
    - **D (loss)**: loss-making clients (lifetime margin < 0), whatever their size.

    Clients with a NULL margin get a NULL class. Columns: rank, client_id, client_name,
    margin, revenue, cum_positive_share (after the client), abc_class.
    """
    a_cut, b_cut = (float(c) for c in cutoffs)
    if not 0 < a_cut <= b_cut <= 1:
        raise ValueError(f"abc_cutoffs={list(cutoffs)!r}: give two shares 0 < A <= B <= 1, "
                         "e.g. [0.8, 0.95]")
    t = _ranked(client_pnl)
    positive = t["margin"].clip(lower=0)
    total = positive.sum()
    cum = positive.cumsum()
    before = (cum - positive) / total if total > 0 else pd.Series(np.inf, index=t.index)
    eps = 1e-12
    cls = np.select([t["margin"] < 0, before < a_cut - eps, before < b_cut - eps],
                    [ABC_LOSS, "A", "B"], "C")
    out = t[["rank", "client_id", "client_name", "margin", "revenue"]].copy()
    out["cum_positive_share"] = cum / total if total > 0 else np.nan
    out["abc_class"] = cls
    unmeasured = client_pnl.loc[~client_pnl["client_id"].isin(out["client_id"])]
    if len(unmeasured):
        extra = pd.DataFrame({
            "rank": pd.NA, "client_id": unmeasured["client_id"].to_numpy(),
            "client_name": (unmeasured["client_name"] if "client_name" in unmeasured
                            else unmeasured["client_id"]).to_numpy(),
            "margin": np.nan, "revenue": _num(unmeasured.get("revenue", pd.Series(
                np.nan, index=unmeasured.index))).to_numpy(),
            "cum_positive_share": np.nan, "abc_class": None})
        out = pd.concat([out.astype({"rank": "Int64"}), extra.astype({"rank": "Int64"})],
                        ignore_index=True)
    return out


def abc_summary(classes: pd.DataFrame) -> pd.DataFrame:
    """Per ABC class: clients, revenue, margin and their shares of the totals."""
    order = ["A", "B", "C", ABC_LOSS]
    t = classes[classes["abc_class"].notna()]
    g = t.groupby("abc_class")
    out = pd.DataFrame({"clients": g.size(), "revenue": g["revenue"].sum(min_count=1),
                        "margin": g["margin"].sum()}).reindex(order)
    out["clients"] = out["clients"].fillna(0).astype("int64")
    if len(t):  # a class without clients has no margin; with no client measured, nothing is measured
        out["margin"] = out["margin"].fillna(0.0)
    if t["revenue"].notna().any():  # a class without clients has no revenue: 0, not "not measured"
        out.loc[out["clients"] == 0, "revenue"] = 0.0
    out["client_share"] = out["clients"] / len(t) if len(t) else np.nan
    rev_total = t["revenue"].sum()
    out["revenue_share"] = out["revenue"] / rev_total if rev_total > 0 else np.nan
    m_total = t["margin"].sum()
    out["margin_share"] = out["margin"] / m_total if m_total > 0 else np.nan
    return out.rename_axis("abc_class").reset_index()


# --------------------------------------------------------------------------- concentration

def concentration(client_pnl: pd.DataFrame) -> pd.Series:
    """Concentration risk on revenue (and, for context, on profit and team hours).

    Shares are of total revenue over clients with revenue > 0. Returns n_clients,
    largest_client_id, largest_client_name, largest_revenue_share, top5_revenue_share,
    hhi (Herfindahl-Hirschman index = sum of (100 x share)^2, 0-10,000 scale; 10,000 = one
    client), effective_clients (10,000 / hhi: the number of equal clients with the same
    concentration), hhi_band ("unconcentrated" < 1,500 <= "moderate" <= 2,500 < "high", the
    classic US merger-guideline bands), largest_profit_share (largest client's margin / total
    margin) and largest_hours_share (the client that takes the biggest share of the team's
    hours).
    """
    t = client_pnl.copy()
    rev = _num(t["revenue"])
    pos = t[rev > 0].assign(revenue=rev[rev > 0])
    total = pos["revenue"].sum()
    if total > 0:
        shares = (pos["revenue"] / total).to_numpy()
        top = pos.loc[pos["revenue"].idxmax()]
        hhi = float(np.sum((100.0 * shares) ** 2))
        top5 = float(np.sort(shares)[::-1][:5].sum())
    else:
        top, hhi, top5 = None, np.nan, np.nan
    band = (np.nan if not np.isfinite(hhi) else "unconcentrated" if hhi < 1500
            else "moderate" if hhi <= 2500 else "high")
    margin = _num(t["margin"]) if "margin" in t else pd.Series(dtype="float64")
    m_total = margin.sum()
    hours = _num(t["hours"]) if "hours" in t else pd.Series(dtype="float64")
    h_total = hours.sum()
    return pd.Series({
        "n_clients": int(len(pos)),
        "largest_client_id": None if top is None else top["client_id"],
        "largest_client_name": None if top is None else top.get("client_name", top["client_id"]),
        "largest_revenue_share": np.nan if top is None else float(top["revenue"] / total),
        "top5_revenue_share": top5,
        "hhi": hhi,
        "effective_clients": 10000.0 / hhi if hhi and np.isfinite(hhi) else np.nan,
        "hhi_band": band,
        "largest_profit_share": float(margin.max() / m_total) if m_total > 0 else np.nan,
        "largest_hours_share": float(hours.max() / h_total) if h_total > 0 else np.nan,
    }, dtype=object)


# --------------------------------------------------------------------------- waterfall

def portfolio_waterfall(client_pnl: pd.DataFrame) -> pd.DataFrame:
    """Revenue down to margin for the whole portfolio, step by step.

    Rows: revenue (total) -> delivery cost of billable work -> communication and approvals ->
    presale and estimates -> rework -> unbilled scope -> [delivery cost not split, only when the
    panel leaves some unsplit] -> overhead -> margin (total). Columns: step, label, amount
    (signed: costs negative), start and end (running total before and after the step), kind
    ("total", "decrease" or "increase"), measured (False for a category the panel did not
    measure; its amount is NULL and its cost is in the unsplit step). The steps sum exactly:
    revenue + sum of the cost steps == margin == client_pnl["margin"].sum(). Only the clients
    whose margin is measured take part; with none, every amount is NULL and measured False.
    """
    t = client_pnl.loc[_num(client_pnl["margin"]).notna()]
    if not len(t):  # no client has both revenue and cost: nothing to draw, every step not measured
        steps = ["revenue", *(c for c, _ in COST_SPLIT), "overhead", "margin"]
        labels = ["Revenue", *(label for _, label in COST_SPLIT), "Overhead", "Margin"]
        return pd.DataFrame({"step": steps, "label": labels, "amount": np.nan, "start": np.nan, "end": np.nan,
                             "kind": ["total", *["decrease"] * (len(steps) - 2), "total"], "measured": False})
    revenue = float(_num(t["revenue"]).sum())
    rows: list[dict[str, Any]] = [{"step": "revenue", "label": "Revenue", "amount": revenue,
                                   "measured": True}]
    for col, label in COST_SPLIT:
        v = _num(t[col])
        measured = bool(v.notna().any())
        rows.append({"step": col, "label": label,
                     "amount": -float(v.sum()) if measured else np.nan, "measured": measured})
    unsplit = float(_num(t["cost_unsplit"]).sum())
    if abs(unsplit) >= 0.005:
        rows.append({"step": "cost_unsplit", "label": "Delivery cost not split",
                     "amount": -unsplit, "measured": True})
    rows.append({"step": "overhead", "label": "Overhead", "amount": -float(_num(t["overhead"]).sum()),
                 "measured": True})
    out = pd.DataFrame(rows)
    steps = out["amount"].fillna(0.0)
    out["end"] = steps.cumsum()
    out["start"] = out["end"] - steps
    out.loc[0, "start"] = 0.0
    margin = float(_num(t["margin"]).sum())
    out = pd.concat([out, pd.DataFrame([{"step": "margin", "label": "Margin", "amount": margin,
                                         "measured": True, "start": 0.0, "end": margin}])],
                    ignore_index=True)
    out["kind"] = np.where(out["step"].isin(["revenue", "margin"]), "total",
                           np.where(out["amount"] < 0, "decrease", "increase"))
    return out[["step", "label", "amount", "start", "end", "kind", "measured"]]


def trailing_pnl(quarters: pd.DataFrame, window: int) -> pd.DataFrame:
    """Revenue, margin and margin % over the trailing `window` quarters, per client-quarter.

    Takes client_quarter_pnl(). Single quarters are noisy (an invoice lands in one quarter, the
    work in another); the segment map judges a client over the toxicity window
    (config/params.yaml's toxicity.window_quarters), so that is the `window` to pass.
    Columns: client_id, quarter, quarter_index, revenue, margin, margin_pct (NULL when the
    window's revenue is 0). A window with a quarter whose revenue or margin is not measured is
    not measured (NULL), never a partial sum.
    """
    q = quarters.sort_values(["client_id", "quarter_index"])
    money = q[["revenue", "margin"]].astype("float64")
    rolled = (money.groupby(q["client_id"]).rolling(window, min_periods=1).sum()
              .reset_index(level=0, drop=True))
    gaps = (money.isna().astype("float64").groupby(q["client_id"]).rolling(window, min_periods=1).sum()
            .reset_index(level=0, drop=True))
    rolled = rolled.where(gaps == 0)  # a window with a quarter not measured is not measured
    out = q[["client_id", "quarter", "quarter_index"]].copy()
    out["revenue"] = rolled["revenue"].to_numpy()
    out["margin"] = rolled["margin"].to_numpy()
    revenue = out["revenue"].where(out["revenue"] != 0)
    out["margin_pct"] = out["margin"] / revenue
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- not measured

def portfolio_totals(client_pnl: pd.DataFrame, suffix: str = "") -> pd.Series:
    """The portfolio's revenue, margin and margin %, not measured where no client is.

    ``suffix`` "_last4" reads the last four quarters' columns. revenue: every client whose
    revenue is measured; margin and margin_pct: the clients whose revenue and margin are both
    measured (their margin / their revenue), so a client without cost never lifts the margin.
    Also clients, clients_revenue_measured and clients_margin_measured. A figure no client
    measures is NULL, never 0.
    """
    revenue = _num(client_pnl[f"revenue{suffix}"])
    margin = _num(client_pnl[f"margin{suffix}"])
    both = margin.notna() & revenue.notna()
    measured_revenue = revenue[both].sum(min_count=1)
    total_margin = margin[both].sum(min_count=1)
    return pd.Series({
        "revenue": revenue.sum(min_count=1),
        "margin": total_margin,
        "margin_pct": (total_margin / measured_revenue
                       if pd.notna(measured_revenue) and measured_revenue > 0 else np.nan),
        "clients": int(len(client_pnl)),
        "clients_revenue_measured": int(revenue.notna().sum()),
        "clients_margin_measured": int(both.sum()),
    }, dtype=object)


def margin_notes(client_pnl: pd.DataFrame, lang: str = "en") -> pd.Series:
    """Why each client's margin is not measured, in words ('' where it is): how many of its
    hours have no billable amount or rate (or, all priced, that no invoice export covers the
    client), and how many have no cost."""
    from clientlens.i18n import tr
    from clientlens.publishing.display import fmt_number

    def hours(row: Any, column: str) -> str:
        value = getattr(row, column, np.nan)
        return fmt_number(0.0 if pd.isna(value) else float(value), 0, lang)

    notes = []
    for row in client_pnl.itertuples(index=False):
        parts = []
        if pd.isna(getattr(row, "revenue", np.nan)):
            unpriced = getattr(row, "hours_without_bill", np.nan)
            if pd.isna(unpriced) or unpriced > 0:
                parts.append(tr("revenue not measured: {n} of {total} hours have no billable amount or rate",
                                lang, n=hours(row, "hours_without_bill"), total=hours(row, "hours")))
            else:  # every hour priced: the invoice exports leave the client out (intake.panel)
                parts.append(tr("revenue not measured: billable work, but no invoice in the invoice exports",
                                lang))
        if pd.isna(getattr(row, "delivery_cost", np.nan)):
            parts.append(tr("cost not measured: {n} of {total} hours have no cost amount or rate", lang,
                            n=hours(row, "hours_without_cost"), total=hours(row, "hours")))
        notes.append("; ".join(parts))
    return pd.Series(notes, index=client_pnl.index, dtype=object)
