"""Below the client: P&L per project, per kind of work and per role, summing to the client P&L.

    sums = work_sums(processed_dir, panel, period_end)           # one pass over the time entries
    rows = drilldown(sums, clients, panel, overhead_base=...)    # clients = pnl.client_pnl(panel, ...)
    projects = rows[rows["dimension"] == "project"]

How the client's P&L is split
-----------------------------
Nothing here recomputes a client's revenue, cost or overhead: the totals are the client P&L's
(``pnl.client_pnl``: ``revenue``, ``delivery_cost``, ``overhead`` for all history, their
``_last4`` columns for the last four quarters), so its rules on currency, invoices, overhead
and "not measured" hold below the client as they do for it. Each window's totals are split
over the client's projects (kinds of work, roles) by what the time entries of the panel's
client-quarters in that window say:

revenue
    Invoices name a client and a contract, never a project or a kind of work (see
    docs/data-contract.md), so a client's revenue in the window is **allocated** to its
    projects in proportion to the billable value (billable_amount of billable entries) each
    logged in the window. Without invoices, revenue is that billable value, so each project
    gets exactly its own. A project with hours and no billable value gets 0. The split is not
    measured (NULL for every row of the client) when the client's revenue is not, or when some
    of its hours in the window have no billable amount or rate (the panel's
    ``hours_without_bill``): their value is unknown, and so is every project's share. Revenue
    of a window with no billable value at all (a fixed fee, an invoice for earlier work) is
    tied to no project: it goes on the client's ``unallocated`` row, never spread by guess.
delivery_cost
    The cost of the row's own hours (cost_amount); NULL when the client's cost is not measured.
overhead
    The client's overhead split by the same base the client P&L charges it on
    (``overhead_base``): the rows' delivery cost, revenue or hours.

Revenue and delivery cost are split in whole cents (largest remainder), overhead in
proportion, so the rows of a client and window sum to its client P&L to the cent: revenue,
delivery cost, overhead and margin. effective_rate = revenue / hours; list_rate =
list value / hours, the people table's bill rate x hours, NULL when the people table was not
supplied or leaves one of the hours without a rate.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from clientlens.i18n import N_
from clientlens.quarters import quarter_index_of

__all__ = ["DIMENSIONS", "WINDOWS", "WINDOW_LABELS", "WORK_TYPE_LABELS", "REVENUE_NOT_MEASURED", "work_sums",
           "drilldown", "key_labels", "portfolio_by", "portfolio_table", "download_table", "check_sums"]

DIMENSIONS = ("project", "work_type", "role")
WINDOWS = ("last4", "all")
WINDOW_LABELS = {"last4": N_("last four quarters"), "all": N_("all history")}
# the client_pnl columns that hold each window's totals
_TOTALS = {"all": ("revenue", "delivery_cost", "overhead", "margin"),
           "last4": ("revenue_last4", "delivery_cost_last4", "overhead_last4", "margin_last4")}
WORK_TYPE_LABELS = {"feature": N_("functionality"), "ux": "UX", "stability": N_("stability"),
                    "support": N_("support"), "presale": N_("presale and estimates"),
                    "communication": N_("communication and approvals"), "other": N_("other work")}
NO_KEY_LABELS = {"project": N_("(no project named)"), "work_type": N_("(kind of work not known)"),
                 "role": N_("(role not known)")}
UNALLOCATED_LABEL = N_("(not tied to hours logged in the period)")
# why a row's revenue is not measured
REVENUE_NOT_MEASURED = {
    "client": N_("the client's revenue is not measured"),
    "unpriced_hours": N_("some of the client's hours have no billable amount or rate, so the split is not known"),
}
SUM_COLUMNS = ("hours", "billable_hours", "billable_value", "delivery_cost_own", "list_value",
               "hours_without_list")
COLUMNS = ["dimension", "window", "client_id", "client_name", "key", "unallocated", "hours",
           "billable_hours", "billable_value", "list_value", "hours_without_list", "revenue", "delivery_cost",
           "overhead", "total_cost", "margin", "margin_pct", "effective_rate", "list_rate", "rate_realisation",
           "revenue_not_measured"]


def work_sums(processed_dir: Path | str, panel: pd.DataFrame, period_end: str | int) -> pd.DataFrame:
    """Hours, billable value, cost and list value per client, window and project (kind of work,
    role): one pass over data/processed/time_entries.parquet (DuckDB GROUP BY).

    Only entries of the panel's client-quarters count (the panel drops quarters after the period
    end and after a client's exit), so the sums are of the work the client P&L is of. A role is
    the people table's (people.role), else the entry's. Columns: dimension, client_id, key,
    window ("all" or "last4"), hours, billable_hours, billable_value, delivery_cost_own,
    list_value, hours_without_list.
    """
    processed_dir = Path(processed_dir)
    end = period_end if isinstance(period_end, (int, np.integer)) else quarter_index_of(period_end)
    people = (processed_dir / "people.parquet").exists()
    entries = (processed_dir / "time_entries.parquet").as_posix() + "/*.parquet"
    con = duckdb.connect()
    try:
        keys = panel[["client_id", "quarter_index"]].astype({"client_id": str, "quarter_index": "int64"})
        con.register("panel_keys", keys)
        people_join = (f"LEFT JOIN read_parquet('{(processed_dir / 'people.parquet').as_posix()}') p "
                       "ON p.person = g.person") if people else ""
        role = "coalesce(p.role, g.entry_role)" if people else "g.entry_role"
        list_amount = "g.hours * p.bill_rate" if people else "CAST(NULL AS DOUBLE)"
        # Two steps, as the panel does: a narrow GROUP BY of the entries, then the three
        # groupings of those groups, so the many entries are hashed once, not three times.
        sql = f"""
            WITH grouped AS (
                SELECT client_id, year(date) * 4 + quarter(date) - 1 AS quarter_index, project, work_type,
                       person, role AS entry_role, sum(hours) AS hours,
                       sum(hours) FILTER (WHERE billable) AS billable_hours,
                       sum(billable_amount) FILTER (WHERE billable) AS billable_value,
                       sum(cost_amount) AS cost
                FROM read_parquet('{entries}') GROUP BY ALL),
            rows_in AS (
                SELECT g.client_id, g.project, g.work_type, {role} AS role, g.hours, g.billable_hours,
                       g.billable_value, g.cost, {list_amount} AS list_amount,
                       k.quarter_index > {end - 4} AS recent
                FROM grouped g JOIN panel_keys k USING (client_id, quarter_index) {people_join})
            SELECT client_id, recent, project, work_type, role,
                   GROUPING(project, work_type, role) AS grouping_id,
                   sum(hours) AS hours,
                   coalesce(sum(billable_hours), 0) AS billable_hours,
                   coalesce(sum(billable_value), 0) AS billable_value,
                   sum(cost) AS delivery_cost_own,
                   sum(list_amount) AS list_value,
                   coalesce(sum(hours) FILTER (WHERE list_amount IS NULL), 0) AS hours_without_list
            FROM rows_in
            GROUP BY GROUPING SETS ((client_id, recent, project), (client_id, recent, work_type),
                                   (client_id, recent, role))"""
        raw = con.execute(sql).df()
    finally:
        con.close()
    # GROUPING(project, work_type, role) is a bit mask of the columns left out: 3 = project kept
    which = {0b011: "project", 0b101: "work_type", 0b110: "role"}
    raw["dimension"] = raw["grouping_id"].map(which)
    raw["key"] = (raw["project"].astype(object).where(raw["dimension"] == "project")
                  .combine_first(raw["work_type"].astype(object).where(raw["dimension"] == "work_type"))
                  .combine_first(raw["role"].astype(object).where(raw["dimension"] == "role")))
    raw["client_id"] = raw["client_id"].astype(str)
    by = ["dimension", "client_id", "key"]
    parts = []
    for window, chosen in (("all", raw), ("last4", raw[raw["recent"]])):
        g = chosen.groupby(by, dropna=False, sort=True)
        sums = g[list(SUM_COLUMNS)].sum(min_count=1)
        parts.append(sums.reset_index().assign(window=window))
    out = pd.concat(parts, ignore_index=True)
    return out[["dimension", "client_id", "key", "window", *SUM_COLUMNS]]


def _split_cents(total: pd.Series, weight: pd.Series, group: pd.Series) -> pd.Series:
    """total (the same on each row of a group) split over the group's rows in proportion to
    weight, in whole cents that sum to the total exactly (largest remainder). A total of 0 is 0
    on every row; a total that is NULL, or that no row weighs, is NULL."""
    cents = (total * 100).round()
    weights_sum = weight.groupby(group).transform("sum")
    exact = cents * weight / weights_sum.where(weights_sum != 0)
    floor = np.floor(exact + 1e-9)
    short = cents - floor.groupby(group).transform("sum")
    order = (exact - floor).groupby(group).rank(method="first", ascending=False)
    out = (floor + (order <= short).astype("float64")) / 100
    return out.where(~cents.eq(0), 0.0)


def drilldown(sums: pd.DataFrame, clients: pd.DataFrame, panel: pd.DataFrame, *, overhead_base: str,
              period_end: str | int | None = None) -> pd.DataFrame:
    """The client P&L split per project, kind of work and role (see the module docstring).

    ``sums`` is work_sums(); ``clients`` is pnl.client_pnl() of the same ``panel`` and
    ``period_end``, whose hours_without_bill say where the split is not known. One row per dimension,
    window, client and key, plus an ``unallocated`` row where a window's revenue, cost or
    overhead has no hours to go to. Columns: see COLUMNS; revenue_not_measured is a key of
    REVENUE_NOT_MEASURED, or None.
    """
    unpriced = _unpriced_hours(panel, period_end)
    totals = []
    for window in WINDOWS:
        revenue_col, cost_col, overhead_col, _margin = _TOTALS[window]
        t = pd.DataFrame({"client_id": clients["client_id"].astype(str), "client_name": clients["client_name"],
                          "client_revenue": clients[revenue_col], "client_cost": clients[cost_col],
                          "client_overhead": clients[overhead_col], "window": window})
        t["unpriced"] = t["client_id"].map(unpriced[window]).fillna(0.0)
        totals.append(t)
    out = _split(sums, pd.concat(totals, ignore_index=True), overhead_base)
    out["total_cost"] = out["delivery_cost"] + out["overhead"]
    out["margin"] = out["revenue"] - out["delivery_cost"] - out["overhead"]
    out["margin_pct"] = out["margin"] / out["revenue"].where(out["revenue"] > 0)
    out["effective_rate"] = out["revenue"] / out["hours"].where(out["hours"] > 0)
    listed = out["hours_without_list"].eq(0) & out["list_value"].notna()
    out["list_rate"] = (out["list_value"] / out["hours"].where(out["hours"] > 0)).where(listed)
    out["rate_realisation"] = out["effective_rate"] / out["list_rate"].where(out["list_rate"] > 0)
    out = out.sort_values(["dimension", "window", "client_id", "unallocated", "key"], kind="stable",
                          na_position="last")
    return out[COLUMNS].reset_index(drop=True)


def _unpriced_hours(panel: pd.DataFrame, period_end: str | int | None) -> dict[str, pd.Series]:
    """{window: hours without a billable amount or rate, per client} from the panel."""
    quarter = pd.to_numeric(panel["quarter_index"]).astype("int64")
    end = (int(quarter.max()) if period_end is None else period_end
           if isinstance(period_end, (int, np.integer)) else quarter_index_of(period_end))
    hours = pd.to_numeric(panel["hours_without_bill"], errors="coerce").astype("float64")
    ids = panel["client_id"].astype(str)
    in_period = quarter <= end
    return {"all": hours[in_period].groupby(ids[in_period]).sum(),
            "last4": hours[in_period & (quarter > end - 4)].groupby(ids[in_period & (quarter > end - 4)]).sum()}


def _split(sums: pd.DataFrame, totals: pd.DataFrame, overhead_base: str) -> pd.DataFrame:
    """Each (dimension, window, client)'s share of the client's totals of the window."""
    group = ["dimension", "window", "client_id"]
    t = pd.concat([totals.assign(dimension=d) for d in DIMENSIONS], ignore_index=True).set_index(group)
    carried = sums.groupby(group)[["billable_value", "delivery_cost_own"]].sum().reindex(t.index).fillna(0.0)
    # Money of the window that no hour carries (revenue without billable value, a cost without
    # costed hours) gets a row of its own rather than a guessed home.
    revenue_free = t["client_revenue"].fillna(0).ne(0) & carried["billable_value"].eq(0)
    cost_free = t["client_cost"].fillna(0).ne(0) & carried["delivery_cost_own"].eq(0)
    spare = t.index[revenue_free | cost_free].to_frame(index=False)
    work = sums.assign(unallocated=False)
    if len(spare):
        work = pd.concat([work, spare.assign(
            key=None, unallocated=True, hours=0.0, billable_hours=0.0, billable_value=0.0,
            delivery_cost_own=0.0, list_value=np.nan, hours_without_list=0.0)], ignore_index=True)
    work = work.reset_index(drop=True)
    at = pd.MultiIndex.from_frame(work[group])
    gid = pd.Series(t.index.get_indexer(at), index=work.index)
    client = t.reset_index(drop=True).reindex(gid.to_numpy()).reset_index(drop=True)
    spare_row = work["unallocated"].astype("float64")
    revenue_weight = work["billable_value"].fillna(0.0) + spare_row * revenue_free.to_numpy()[gid]
    cost_weight = work["delivery_cost_own"].fillna(0.0) + spare_row * cost_free.to_numpy()[gid]
    unpriced = client["unpriced"].gt(0)
    revenue = _split_cents(client["client_revenue"], revenue_weight, gid).where(~unpriced)
    cost = _split_cents(client["client_cost"], cost_weight, gid)
    # overhead = rate x base for the client, so the rows' base sums to the client's
    base = {"delivery_cost": cost, "revenue": revenue, "hours": work["hours"].fillna(0.0)}[overhead_base]
    base_sum = base.groupby(gid).transform("sum", min_count=1)
    overhead = client["client_overhead"] * base / base_sum.where(base_sum != 0)
    overhead = overhead.where(~client["client_overhead"].eq(0), 0.0)
    because = np.where(client["client_revenue"].isna(), "client", np.where(unpriced, "unpriced_hours", None))
    return work.drop(columns=["delivery_cost_own"]).assign(
        client_name=client["client_name"].to_numpy(), revenue=revenue.to_numpy(), delivery_cost=cost.to_numpy(),
        overhead=overhead.to_numpy(), revenue_not_measured=because)


def key_labels(dimension: str, keys, unallocated, lang: str = "en") -> list[str]:
    """What each row is, in words: a project or role as the data names it, a kind of work in
    `lang`, and the rows of no named project (kind of work, role) or of no hours said so."""
    from clientlens.i18n import tr

    out = []
    for key, spare in zip(keys, unallocated):
        if bool(spare):
            out.append(tr(UNALLOCATED_LABEL, lang))
        elif key is None or (isinstance(key, float) and np.isnan(key)):
            out.append(tr(NO_KEY_LABELS[dimension], lang))
        elif dimension == "work_type":
            out.append(tr(WORK_TYPE_LABELS.get(key, key), lang))
        else:
            out.append(str(key))
    return out


def portfolio_by(rows: pd.DataFrame, dimension: str, window: str) -> pd.DataFrame:
    """The portfolio's P&L per kind of work (role, project): the clients' rows summed, over the
    clients whose margin split is measured in the window (their count in ``clients``).

    Columns: key, unallocated, clients, hours, revenue, delivery_cost, overhead, margin,
    margin_pct, effective_rate, list_rate. Sorted by margin, largest first."""
    t = rows[(rows["dimension"] == dimension) & (rows["window"] == window)]
    t = t[t["margin"].notna().groupby(t["client_id"]).transform("all")]
    t = t.assign(key=t["key"].astype(object).where(t["key"].notna(), None))
    g = t.groupby(["key", "unallocated"], dropna=False, sort=False)
    out = g[["hours", "revenue", "delivery_cost", "overhead", "margin", "list_value"]].sum(min_count=1)
    listed = (t["hours_without_list"].eq(0) & t["list_value"].notna()).groupby(
        [t["key"], t["unallocated"]], dropna=False, sort=False).all()
    out["clients"] = g["client_id"].nunique()
    out["margin_pct"] = out["margin"] / out["revenue"].where(out["revenue"] > 0)
    out["effective_rate"] = out["revenue"] / out["hours"].where(out["hours"] > 0)
    out["list_rate"] = (out["list_value"] / out["hours"].where(out["hours"] > 0)).where(listed)
    out = out.reset_index().sort_values(["margin", "key"], ascending=[False, True], na_position="last")
    return out[["key", "unallocated", "clients", "hours", "revenue", "delivery_cost", "overhead", "margin",
                "margin_pct", "effective_rate", "list_rate"]].reset_index(drop=True)


# headers of the tables shown and downloaded
KEY_HEADERS = {"project": N_("project"), "work_type": N_("kind of work"), "role": N_("role")}
SHOWN_HEADERS = {"window": N_("period"), "client_name": N_("client"), "billable_hours": N_("billable hours"),
                 "billable_value": N_("billable value"), "list_value": N_("list value"),
                 "hours_without_list": N_("hours without a list rate"), "delivery_cost": N_("delivery cost"),
                 "total_cost": N_("total cost"), "margin_pct": N_("margin %"), "effective_rate": N_("revenue per hour"),
                 "list_rate": N_("list rate"), "rate_realisation": N_("share of list rate")}


def portfolio_table(rows: pd.DataFrame, dimension: str, window: str, lang: str = "en") -> pd.DataFrame:
    """portfolio_by() as a page shows it: rows named in words, margin % in percent, readable headers."""
    by = portfolio_by(rows, dimension, window)
    by = by.assign(key=key_labels(dimension, by["key"], by["unallocated"], lang), margin_pct=100 * by["margin_pct"])
    return by.drop(columns="unallocated").rename(columns={"key": KEY_HEADERS[dimension], **SHOWN_HEADERS})


def download_table(rows: pd.DataFrame, dimension: str, lang: str = "en") -> pd.DataFrame:
    """Every client's rows of one dimension, both periods, as the download gives them."""
    from clientlens.i18n import tr

    t = rows[rows["dimension"] == dimension]
    t = t.assign(key=key_labels(dimension, t["key"], t["unallocated"], lang),
                 window=[tr(WINDOW_LABELS[w], lang) for w in t["window"]])
    return t.drop(columns=["dimension", "unallocated", "revenue_not_measured"]).rename(
        columns={"key": KEY_HEADERS[dimension], **SHOWN_HEADERS})


def check_sums(rows: pd.DataFrame, clients: pd.DataFrame) -> pd.DataFrame:
    """Where a client's rows do not sum to its client P&L to the cent: one row per (dimension,
    window, client, column) that misses, empty when every split ties. A figure measured on one
    side only misses too, and so does a client with money in the window and no row; a client
    whose hours are partly unpriced is left out (its split is not measured, by design)."""
    columns = ["revenue", "delivery_cost", "overhead", "margin"]
    group = ["dimension", "window", "client_id"]
    got = rows.groupby(group)[columns].sum(min_count=1)
    unpriced = rows.groupby(group)["revenue_not_measured"].agg(lambda r: (r == "unpriced_hours").any())
    want = pd.concat([pd.DataFrame({"client_id": clients["client_id"].astype(str), "window": window,
                                    **{c: clients[total].to_numpy() for c, total in zip(columns, _TOTALS[window])}})
                      for window in WINDOWS], ignore_index=True)
    want = pd.concat([want.assign(dimension=d) for d in DIMENSIONS], ignore_index=True).set_index(group)
    got = got.reindex(want.index)
    has_rows = want.index.isin(unpriced.index)
    skip = unpriced.reindex(want.index).fillna(False).astype(bool).to_numpy()
    problems = []
    for column in columns:
        expected, found = want[column], got[column]
        no_money = ~has_rows & (expected.isna() | expected.eq(0)).to_numpy()
        miss = (((found - expected).abs() >= 0.005) | (found.isna() != expected.isna())).to_numpy()
        bad = want.index[miss & ~no_money & ~skip]
        problems.append(pd.DataFrame({"dimension": bad.get_level_values(0), "window": bad.get_level_values(1),
                                      "client_id": bad.get_level_values(2), "column": column,
                                      "rows": found.loc[bad].to_numpy(), "client": expected.loc[bad].to_numpy()}))
    return pd.concat(problems, ignore_index=True)
