"""Retention by cohort: revenue movements, net and gross revenue retention, logo retention.

The measures subscription analytics report (ChartMogul, ProfitWell), read off the firm's
invoiced revenue per client and quarter (the panel's `revenue`, in the reporting currency).

**Revenue basis: the rolling year.** Every movement and retention figure compares a client's
revenue over the last four quarters (its rolling-year revenue) with the same measure earlier. A
services firm bills in lumps: a project invoiced in March and the next one in July leaves a
quarter with nothing, and quarter-on-quarter movements would call that a churn and a
reactivation, then call the firm's best client "contracting" after every milestone. Over a
rolling year those lumps net out; what is left is a client that really billed less, or nothing,
for a year. A subscription business's monthly recurring revenue is a run rate; here the rolling
year is.

- **Movements per quarter** (`revenue_movements(step_quarters=1)`): the change in rolling-year
  revenue from one quarter's end to the next, split by client. **Per year**
  (`step_quarters=YEAR_QUARTERS`): the year to the period end against the year before, and so on
  back (years end with the period end's quarter, so the last one is complete).
- A client's change is **new** when it had no rolling-year revenue before and its first revenue
  ever (its acquisition quarter) falls in the step; **reactivation** when it had none before but
  had billed earlier still: over a rolling year that means back after a year or more without an
  invoice (a shorter gap is a lump, not a departure); **churn** when it had revenue before and
  none now (its whole revenue before); **expansion** and **contraction** when it had revenue both
  times, more or less. So, to the cent, for every step:
  revenue = revenue before + new + expansion - contraction - churn + reactivation.
  A rolling year that nets to a credit (credit notes beyond invoices) is no revenue; what a
  client's revenue falls below zero counts as contraction, and what it climbs back from below
  zero as expansion, so that the identity still holds.
- **Net revenue retention (NRR)** for a year: what the clients that had revenue in the year
  before billed this year, divided by what they billed the year before. New clients are left
  out; clients that grew count in full. **Gross revenue retention (GRR)**: the same, each
  client's revenue this year capped at its revenue the year before, so growth cannot hide losses
  (GRR is at most 100%). Rows every quarter (each the year to that quarter) or every year.
- **Logo retention by acquisition cohort**: a cohort is the clients whose first revenue fell in
  one quarter (or year); the cohort table gives the share of them active k quarters (or years)
  after their own acquisition quarter, active in the one meaning of analysis.activity (worked or
  invoiced within the last `lapse_quarters` quarters, no exit recorded). A client that comes back
  counts as active again, so a cohort's share can rise.

Movements and retention need whole years: the first three quarters of the data have no full
rolling year, and clients already with the firm when the data begin would look new in them.
Periods whose comparison reaches before the data are left out, never filled with zeros.
Money is summed in whole cents (half-up), so the identity and the tie to the invoices hold
exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clientlens.analysis import activity
from clientlens.analysis.markers import numeric, panel_quarter_index
from clientlens.quarters import quarter_index_of, quarter_label

__all__ = ["YEAR_QUARTERS", "MOVEMENTS", "MOVEMENT_COLUMNS", "RETENTION_COLUMNS", "COHORT_COLUMNS",
           "RevenueGrid", "revenue_grid", "revenue_movements", "revenue_retention",
           "cohort_retention", "cohort_table", "pooled_retention", "model_curve", "in_whole_units"]

YEAR_QUARTERS = 4  # a year; the rolling year every movement is measured over
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
MOVEMENT_COLUMNS = ["period", "quarter_index", "revenue_before", *MOVEMENTS, "net_change", "revenue",
                    "clients_before", "clients"]
RETENTION_COLUMNS = ["period", "quarter_index", "clients_year_before", "clients_retained",
                     "revenue_year_before", "revenue_retained", "revenue_retained_capped", "nrr", "grr"]
COHORT_COLUMNS = ["cohort", "periods_since", "clients", "active", "share_active"]


class RevenueGrid:
    """Revenue in whole cents as a quarter x client matrix, from the panel's first quarter to the
    period end; a quarter without a row or without revenue holds 0."""

    def __init__(self, cents: np.ndarray, q0: int, clients: pd.Index, measured: bool):
        self.cents, self.q0, self.clients, self.measured = cents, q0, clients, measured

    @property
    def n_quarters(self) -> int:
        return self.cents.shape[0]

    def rolling(self) -> np.ndarray:
        """Rolling-year sums (the YEAR_QUARTERS quarters ending at each row); rows before the first
        whole year are not measured (the data do not reach back that far) and hold NaN."""
        window = YEAR_QUARTERS
        out = np.full(self.cents.shape, np.nan)
        if self.n_quarters >= window:
            c = np.vstack([np.zeros((1, self.cents.shape[1]), dtype="int64"),
                           np.cumsum(self.cents, axis=0, dtype="int64")])
            out[window - 1:] = c[window:] - c[:-window]
        return out

    def acquisition(self) -> np.ndarray:
        """Per client, the row of its first quarter with revenue (-1 for a client never billed)."""
        billed = self.cents > 0
        return np.where(billed.any(axis=0), billed.argmax(axis=0), -1)


MONEY_COLUMNS = ("revenue_before", *MOVEMENTS, "net_change", "revenue", "revenue_year_before", "revenue_retained",
                 "revenue_retained_capped")


def in_whole_units(table: pd.DataFrame) -> pd.DataFrame:
    """A movements or retention table with its amounts rounded to whole currency units, for a page
    (the saved tables keep the cents)."""
    money = [c for c in MONEY_COLUMNS if c in table.columns]
    return table.assign(**{c: table[c].round(0).astype("int64") for c in money})


def _panel_rows(panel: pd.DataFrame, period_end: str | int | None) -> tuple[pd.DataFrame, int | None]:
    """The panel's rows up to the period end, with `quarter_index`, and the period end's index
    (the panel's last quarter when not given)."""
    if "client_id" not in panel.columns:
        raise ValueError("the panel has no client_id column: build it with the panel stage first")
    p = panel.reset_index(drop=True).assign(client_id=lambda f: f["client_id"].astype(str))
    p["quarter_index"] = panel_quarter_index(p)
    if period_end is None:
        return p, (int(p["quarter_index"].max()) if len(p) else None)
    end = int(period_end) if isinstance(period_end, (int, np.integer)) else quarter_index_of(period_end)
    return p[p["quarter_index"] <= end].reset_index(drop=True), end


def revenue_grid(panel: pd.DataFrame, period_end: str | int | None = None) -> RevenueGrid:
    """The panel's `revenue` per client and quarter in whole cents, half-up (see RevenueGrid).

    `measured` is False when no row has revenue measured (no invoices and no billable amounts):
    movements and retention are then not measured, never zero."""
    p, end = _panel_rows(panel, period_end)
    if not len(p) or end is None:
        return RevenueGrid(np.zeros((0, 0), dtype="int64"), 0, pd.Index([]), False)
    q0 = int(p["quarter_index"].min())
    codes, clients = pd.factorize(p["client_id"], sort=True)
    revenue = numeric(p, "revenue")
    measured = bool(np.isfinite(revenue).any())
    # half-up to the cent: the panel's revenue is already a sum of cents, so this only removes
    # float noise (x.xx5 ties do not occur in sums of whole cents)
    known = np.nan_to_num(revenue)
    cents = np.sign(known) * np.floor(np.abs(known) * 100 + 0.5)
    grid = np.zeros((end - q0 + 1, len(clients)), dtype="int64")
    np.add.at(grid, (p["quarter_index"].to_numpy() - q0, codes), cents.astype("int64"))
    return RevenueGrid(grid, q0, pd.Index(clients, name="client_id"), measured)


def _split(prev: np.ndarray, cur: np.ndarray, new_client: np.ndarray) -> dict[str, np.ndarray]:
    """Per client, the movement from `prev` to `cur` (whole cents) by kind; see the module
    docstring. The kinds add up to cur - prev exactly."""
    had, has = prev > 0, cur > 0
    delta = cur - prev
    zero = np.zeros_like(prev)
    arrived = ~had & has
    out = {
        "new": np.where(arrived & new_client, cur, zero),
        "reactivation": np.where(arrived & ~new_client, cur, zero),
        "churn": np.where(had & ~has, prev, zero),
    }
    # the rest of delta: growth or decline while billing both times, and any move below zero
    rest = delta - out["new"] - out["reactivation"] + out["churn"]
    out["expansion"] = np.where(rest > 0, rest, zero)
    out["contraction"] = np.where(rest < 0, -rest, zero)
    return out


def _period_rows(grid: RevenueGrid, step: int, lag: int) -> list[int]:
    """Grid rows t (oldest first) whose rolling year and the one `lag` quarters before are both
    whole, every `step` quarters back from the period end."""
    last = grid.n_quarters - 1
    first = YEAR_QUARTERS - 1 + lag
    return sorted(range(last, first - 1, -step)) if last >= first else []


def revenue_movements(panel: pd.DataFrame, period_end: str | int | None = None, *,
                      step_quarters: int = 1) -> pd.DataFrame:
    """Rolling-year revenue movements every `step_quarters` quarters back from the period end.

    One row per period (`period` = its last quarter, as 2026Q3): revenue_before (rolling-year
    revenue `step_quarters` quarters earlier), new, expansion, contraction, churn, reactivation
    (each >= 0), net_change, revenue (rolling-year revenue at the period's end), clients_before
    and clients (clients with rolling-year revenue then and now). Money in the reporting
    currency; revenue = revenue_before + new + expansion - contraction - churn + reactivation to
    the cent. Empty when revenue is not measured or the history is too short (a year and a step).
    """
    if step_quarters < 1:
        raise ValueError(f"step_quarters={step_quarters!r}: give a whole number of quarters >= 1")
    grid = revenue_grid(panel, period_end)
    rows = _period_rows(grid, step_quarters, step_quarters) if grid.measured else []
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object" if c == "period" else "float64")
                             for c in MOVEMENT_COLUMNS})
    roll = grid.rolling()
    acquired = grid.acquisition()
    records = []
    for t in rows:
        prev, cur = roll[t - step_quarters].astype("int64"), roll[t].astype("int64")
        parts = _split(prev, cur, acquired > t - step_quarters)
        cents = {k: int(v.sum()) for k, v in parts.items()}
        records.append({
            "period": quarter_label(grid.q0 + t), "quarter_index": grid.q0 + t,
            "revenue_before": int(prev.sum()), **cents,
            "net_change": int(cur.sum() - prev.sum()), "revenue": int(cur.sum()),
            "clients_before": int((prev > 0).sum()), "clients": int((cur > 0).sum())})
    out = pd.DataFrame.from_records(records, columns=MOVEMENT_COLUMNS)
    for col in ("revenue_before", *MOVEMENTS, "net_change", "revenue"):
        out[col] = out[col].astype("int64") / 100.0
    return out


def revenue_retention(panel: pd.DataFrame, period_end: str | int | None = None, *,
                      step_quarters: int = 1) -> pd.DataFrame:
    """Net and gross revenue retention of the rolling year, every `step_quarters` quarters back
    from the period end.

    Per row (`period` = the last quarter of the year measured): clients_year_before (clients
    with rolling-year revenue a year earlier), clients_retained (of them, still billing),
    revenue_year_before (their revenue then), revenue_retained (their revenue now),
    revenue_retained_capped (each capped at its revenue then), nrr = retained / year before,
    grr = capped / year before. Empty when revenue is not measured or the history is under two
    years.
    """
    if step_quarters < 1:
        raise ValueError(f"step_quarters={step_quarters!r}: give a whole number of quarters >= 1")
    grid = revenue_grid(panel, period_end)
    rows = _period_rows(grid, step_quarters, YEAR_QUARTERS) if grid.measured else []
    roll = grid.rolling()
    records = []
    for t in rows:
        before, now = roll[t - YEAR_QUARTERS].astype("int64"), roll[t].astype("int64")
        base = before > 0
        kept, capped = now[base], np.minimum(now[base], before[base])
        denominator = int(before[base].sum())
        records.append({
            "period": quarter_label(grid.q0 + t), "quarter_index": grid.q0 + t,
            "clients_year_before": int(base.sum()), "clients_retained": int((kept > 0).sum()),
            "revenue_year_before": denominator, "revenue_retained": int(kept.sum()),
            "revenue_retained_capped": int(capped.sum()),
            "nrr": kept.sum() / denominator if denominator else np.nan,
            "grr": capped.sum() / denominator if denominator else np.nan})
    out = pd.DataFrame.from_records(records, columns=RETENTION_COLUMNS)
    for col in ("revenue_year_before", "revenue_retained", "revenue_retained_capped"):
        out[col] = out[col].astype("int64") / 100.0
    for col in ("nrr", "grr"):
        out[col] = out[col].astype("float64")
    return out


def _client_activity(panel: pd.DataFrame, period_end: str | int | None, lapse_quarters: int
                     ) -> tuple[np.ndarray, np.ndarray, int, pd.Index]:
    """(active quarter x client matrix, acquisition row per client, q0, clients) on the revenue
    grid's rows and columns. Active: worked or invoiced within the last `lapse_quarters`
    quarters (a quarter without a panel row is quiet) and no exit recorded by then."""
    p, _ = _panel_rows(panel, period_end)
    grid = revenue_grid(panel, period_end)
    if not grid.n_quarters:
        return np.zeros((0, 0), dtype=bool), np.zeros(0, dtype="int64"), grid.q0, grid.clients
    codes = grid.clients.get_indexer(p["client_id"])
    rows = p["quarter_index"].to_numpy() - grid.q0
    worked = np.zeros(grid.cents.shape, dtype=bool)
    worked[rows, codes] = activity.worked(p)
    exited = np.zeros(grid.cents.shape, dtype=bool)
    exited[rows, codes] = np.nan_to_num(numeric(p, "exited")) != 0
    quiet = np.zeros(grid.cents.shape, dtype="int64")
    run = np.zeros(grid.cents.shape[1], dtype="int64")
    for t in range(grid.n_quarters):
        run = np.where(worked[t], 0, run + 1)
        quiet[t] = run
    gone = activity.gone_quiet(quiet.ravel(), lapse_quarters).reshape(quiet.shape)
    active = ~gone & ~np.maximum.accumulate(exited, axis=0)
    return active, grid.acquisition(), grid.q0, grid.clients


def _cohort_long(panel: pd.DataFrame, period_end: str | int | None, lapse_quarters: int) -> pd.DataFrame:
    """One row per acquired client and quarter since its acquisition up to the period end:
    client, acquisition quarter index, quarters since, active."""
    active, acquired, q0, clients = _client_activity(panel, period_end, lapse_quarters)
    n_quarters = active.shape[0]
    keep = np.flatnonzero(acquired >= 0)
    if not len(keep):
        return pd.DataFrame({"client_id": pd.Series(dtype="object"), "acquired": pd.Series(dtype="int64"),
                             "since": pd.Series(dtype="int64"), "active": pd.Series(dtype="bool")})
    spans = n_quarters - acquired[keep]
    client = np.repeat(keep, spans)
    start = np.repeat(acquired[keep], spans)
    since = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    return pd.DataFrame({"client_id": clients[client], "acquired": start + q0, "since": since,
                         "active": active[start + since, client]})


def cohort_retention(panel: pd.DataFrame, period_end: str | int | None = None, *, lapse_quarters: int,
                     by: str = "quarter") -> pd.DataFrame:
    """Logo retention by acquisition cohort, long: one row per cohort and period since acquisition.

    `by="quarter"`: cohort = the quarter of the clients' first revenue (as 2024Q2), periods_since
    in quarters. `by="year"`: cohort = its calendar year (as "2024"), periods_since in years, each
    client looked at 4, 8, ... quarters after its own acquisition quarter. clients = the cohort's
    clients observed that long (the period end is far enough after their acquisition), active =
    of them, active then (analysis.activity), share_active = active / clients.
    """
    if by not in ("quarter", "year"):
        raise ValueError(f"by={by!r}: use 'quarter' or 'year'")
    long = _cohort_long(panel, period_end, lapse_quarters)
    if by == "year":
        long = long[long["since"] % YEAR_QUARTERS == 0]
        long = long.assign(cohort=(long["acquired"] // YEAR_QUARTERS).astype(str),
                           periods_since=long["since"] // YEAR_QUARTERS)
    else:
        long = long.assign(cohort=long["acquired"].map(quarter_label), periods_since=long["since"])
    if not len(long):
        return pd.DataFrame({c: pd.Series(dtype="object" if c == "cohort" else "float64") for c in COHORT_COLUMNS})
    g = long.groupby(["cohort", "periods_since"], sort=True)["active"]
    out = pd.DataFrame({"clients": g.size(), "active": g.sum()}).reset_index()
    out["clients"] = out["clients"].astype("int64")
    out["active"] = out["active"].astype("int64")
    out["share_active"] = out["active"] / out["clients"]
    return out[COHORT_COLUMNS]


def cohort_table(cohorts: pd.DataFrame) -> pd.DataFrame:
    """The cohort triangle: one row per cohort, its size, then the share active per period since
    acquisition (columns 0, 1, 2, ...); NaN where the cohort has not been observed that long or
    only some of its clients have (a year cohort's later members)."""
    if not len(cohorts):
        return pd.DataFrame(columns=["cohort", "clients"])
    size = cohorts[cohorts["periods_since"] == 0].set_index("cohort")["clients"]
    full = cohorts.assign(size=cohorts["cohort"].map(size))
    full = full[full["clients"] == full["size"]]
    wide = full.pivot(index="cohort", columns="periods_since", values="share_active").sort_index()
    wide.columns = [int(c) for c in wide.columns]
    wide.insert(0, "clients", size.reindex(wide.index).astype("int64"))
    return wide.rename_axis(None, axis=1).reset_index()


def pooled_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """All cohorts together: per period since acquisition, the clients observed that long, the
    active among them and the share (the observed curve the model is drawn over)."""
    if not len(cohorts):
        return pd.DataFrame({"periods_since": pd.Series(dtype="int64"), "clients": pd.Series(dtype="int64"),
                             "active": pd.Series(dtype="int64"), "share_active": pd.Series(dtype="float64")})
    g = cohorts.groupby("periods_since", sort=True)
    out = pd.DataFrame({"clients": g["clients"].sum(), "active": g["active"].sum()}).reset_index()
    out["share_active"] = out["active"] / out["clients"]
    return out


def model_curve(model, quarters: int) -> pd.DataFrame:
    """The fitted retention model's survival (ltv.retention_model), at every whole renewal
    period up to `quarters` quarters after acquisition: quarters_since, share_alive."""
    from clientlens.analysis.ltv import sbg_survival

    pq = max(1, int(model.period_quarters))
    periods = np.arange(0, quarters // pq + 1)
    return pd.DataFrame({"quarters_since": periods * pq,
                         "share_alive": sbg_survival(periods, model.alpha, model.beta)})
