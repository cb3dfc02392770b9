"""The sales pipeline: win rates by stage from the firm's own closed deals, and the open deals
weighted by them per quarter of expected close.

What the deals table gives (docs/data-contract.md, `deals`) is a snapshot: each deal's stage
now (for a closed deal, the last stage it reached before closing, where the CRM says) and its
outcome. So:

- **Win rate of a stage**: of the closed deals (won or lost) that reached the stage, the share
  won, with its Wilson interval (at the level the page asks: the forecast's widest range) and
  the counts behind it. Where the deals give
  `stage_order`, a deal closed from a later stage reached every earlier one; a stage without an
  order counts only the deals closed from it. Stage names are the firm's own: a stage the
  contract never heard of is a stage like any other.
- **Every deal** is a row of its own: all closed deals, all won. An open deal in a stage no
  closed deal reached is weighted by it (its `rate_basis` says so), never by a guess.
- **Weighted pipeline** per quarter of expected close: the open deals' amounts (in the
  reporting currency, converted at ingest) times their stage's win rate, with the same at the
  interval's ends. An open deal without an amount is counted, its amount not measured (never
  zero); one without an expected close date falls in a row of its own. The pipeline is shown
  beside the forecast of existing clients and never added into it: a deal with an existing
  client may be the very revenue that forecast already expects.
- **Lost deals per client and quarter** (`deals_lost`): for the estimate-shopping marker,
  the deals an existing client opened (estimates asked for) and lost each quarter.

A deal's client is its `client_id` (matched to the clients at ingest); a deal for a `prospect`
whose name or id reads as an existing client's (trimmed, case and spacing aside) is that
client's deal, as a CRM export names clients as companies.
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from clientlens.i18n import N_
from clientlens.intake.readers.identity import identity_key
from clientlens.quarters import quarter_of

EVERY_DEAL = N_("(every deal)")  # the stage row of all closed deals
BASIS_STAGE, BASIS_EVERY_DEAL = "stage", "every deal"  # what an open deal's win rate was read from
NO_EXPECTED_CLOSE = None  # the quarter of open deals without an expected close date

WIN_RATE_COLUMNS = ["stage", "stage_order", "reached", "won", "lost", "win_rate", "win_rate_lo",
                    "win_rate_hi"]
PIPELINE_COLUMNS = ["quarter", "open_deals", "deals_without_amount", "open_amount", "weighted_amount",
                    "weighted_lo", "weighted_hi", "existing_client_weighted", "prospect_weighted"]
LOST_COLUMNS = ["client_id", "quarter", "deals_opened", "deals_lost", "amount_lost"]


def wilson_interval(won: np.ndarray | int, n: np.ndarray | int,
                    level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a share won/n at coverage `level` (Wilson, 1927); NaN where n is 0."""
    won, n = np.asarray(won, dtype=float), np.asarray(n, dtype=float)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = won / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (np.where(n > 0, np.clip(centre - half, 0, 1), np.nan),
            np.where(n > 0, np.clip(centre + half, 0, 1), np.nan))


def _ident(value: object) -> str | None:
    """A name as a reader sees it (intake's identity_key: the same rule ingest matches clients by)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return identity_key(str(value))


def deal_clients(deals: pd.DataFrame, clients: pd.DataFrame | None) -> pd.Series:
    """Each deal's existing client (clients.client_id), or NaN for a prospect."""
    given = deals["client_id"] if "client_id" in deals else pd.Series(np.nan, index=deals.index)
    if clients is None or clients.empty:
        return given.astype(object)
    lookup: dict[str, str] = {}
    for column in ("client_name", "client_id"):  # an id wins over a name that reads the same
        if column in clients:
            lookup.update({k: cid for k, cid in zip(clients[column].map(_ident), clients["client_id"])
                           if k is not None})
    matched = deals["prospect"].map(_ident).map(lookup) if "prospect" in deals else np.nan
    return given.where(given.notna(), matched).astype(object)


def _closed(deals: pd.DataFrame) -> pd.DataFrame:
    return deals[deals["outcome"].isin(["won", "lost"])]


def stage_orders(deals: pd.DataFrame) -> pd.Series:
    """Each stage's position in the pipeline, as the deals give it (the lowest given)."""
    if "stage_order" not in deals:
        return pd.Series(dtype=float)
    return deals.dropna(subset=["stage", "stage_order"]).groupby("stage")["stage_order"].min().astype(float)


def win_rates(deals: pd.DataFrame, level: float) -> pd.DataFrame:
    """Win rate per stage from the closed deals that reached it, with its interval; the first
    row is every deal's."""
    closed = _closed(deals)
    orders = stage_orders(deals)
    stages = sorted(set(deals["stage"].dropna()), key=lambda s: (orders.get(s, np.inf), s))
    closed_order = closed["stage"].map(orders)
    if "stage_order" in closed:
        closed_order = closed_order.fillna(closed["stage_order"])
    won_flag = (closed["outcome"] == "won").to_numpy()
    rows = [(EVERY_DEAL, np.nan, len(closed), int(won_flag.sum()))]
    for stage in stages:
        order = orders.get(stage, np.nan)
        reached = (closed_order >= order).to_numpy() if not np.isnan(order) else \
            (closed["stage"] == stage).to_numpy()
        rows.append((stage, order, int(reached.sum()), int((reached & won_flag).sum())))
    out = pd.DataFrame(rows, columns=["stage", "stage_order", "reached", "won"])
    out["lost"] = out["reached"] - out["won"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["win_rate"] = np.where(out["reached"] > 0, out["won"] / out["reached"].where(out["reached"] > 0), np.nan)
    out["win_rate_lo"], out["win_rate_hi"] = wilson_interval(out["won"], out["reached"], level)
    return out[WIN_RATE_COLUMNS]


def open_deals(deals: pd.DataFrame, rates: pd.DataFrame, clients: pd.DataFrame | None = None) -> pd.DataFrame:
    """The open deals with the win rate each is weighted by (its stage's, or every deal's where
    no closed deal reached its stage) and its expected-close quarter."""
    live = deals[deals["outcome"] == "open"].copy()
    live["client"] = deal_clients(live, clients)
    by_stage = rates[(rates["stage"] != EVERY_DEAL) & (rates["reached"] > 0)].set_index("stage")
    every = rates[rates["stage"] == EVERY_DEAL].iloc[0]
    known = live["stage"].isin(by_stage.index)
    live["rate_basis"] = np.where(known, BASIS_STAGE, BASIS_EVERY_DEAL)
    for column in ("win_rate", "win_rate_lo", "win_rate_hi"):
        live[column] = live["stage"].map(by_stage[column]).where(known, every[column]).astype(float)
    close = pd.to_datetime(live["expected_close_date"])
    live["quarter"] = [quarter_of(d.date()) if pd.notna(d) else NO_EXPECTED_CLOSE for d in close]
    return live


def _weighted_sum(amount: pd.Series, rate: pd.Series) -> float:
    """The sum of amount x rate over the deals with an amount; NaN when none has one, or when
    a deal with an amount has no win rate (no closed deal at all)."""
    if amount.empty:  # no such deal: nothing weighted, a measured zero
        return 0.0
    has = amount.notna()
    if not has.any() or rate[has].isna().any():
        return np.nan
    return float((amount[has] * rate[has]).sum())


def weighted_pipeline(deals: pd.DataFrame, rates: pd.DataFrame,
                      clients: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per quarter of expected close: the open deals, their amount and the amount weighted by
    their stage's win rate (and by the interval's ends), split into deals with existing
    clients and with prospects; the row of deals without an expected close date last."""
    live = open_deals(deals, rates, clients)
    rows = []
    quarters = sorted(live["quarter"].dropna().unique())
    if live["quarter"].isna().any():
        quarters.append(NO_EXPECTED_CLOSE)
    for quarter in quarters:
        part = live[live["quarter"].isna()] if quarter is None else live[live["quarter"] == quarter]
        amount = part["amount"].astype(float)
        existing = part["client"].notna()
        rows.append({
            "quarter": quarter, "open_deals": len(part), "deals_without_amount": int(amount.isna().sum()),
            "open_amount": float(amount.sum()) if amount.notna().any() else np.nan,
            "weighted_amount": _weighted_sum(amount, part["win_rate"]),
            "weighted_lo": _weighted_sum(amount, part["win_rate_lo"]),
            "weighted_hi": _weighted_sum(amount, part["win_rate_hi"]),
            "existing_client_weighted": _weighted_sum(amount[existing], part["win_rate"][existing]),
            "prospect_weighted": _weighted_sum(amount[~existing], part["win_rate"][~existing]),
        })
    return pd.DataFrame(rows, columns=PIPELINE_COLUMNS)


def deals_lost(deals: pd.DataFrame, clients: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per existing client and quarter: the deals it opened (estimates asked for), the deals it
    lost (by the quarter they closed) and their amount; prospects are left out, for the marker
    reads clients. The estimate-shopping marker can read repeated estimates and losses here."""
    known = deals.assign(client=deal_clients(deals, clients)).dropna(subset=["client"])
    if known.empty:
        return pd.DataFrame(columns=LOST_COLUMNS)
    opened = known.assign(quarter=[quarter_of(d.date()) for d in pd.to_datetime(known["created_date"])])
    opened = opened.groupby(["client", "quarter"]).size().rename("deals_opened")
    lost = known[known["outcome"] == "lost"]
    lost = lost.assign(quarter=[quarter_of(d.date()) for d in pd.to_datetime(lost["closed_date"])])
    lost_counts = lost.groupby(["client", "quarter"]).agg(deals_lost=("deal_id", "size"),
                                                          amount_lost=("amount", lambda a: a.sum(min_count=1)))
    out = pd.concat([opened, lost_counts], axis=1).reset_index()
    out.insert(0, "client_id", out.pop("client"))
    out["deals_opened"] = out["deals_opened"].fillna(0).astype(int)
    out["deals_lost"] = out["deals_lost"].fillna(0).astype(int)
    out.loc[out["deals_lost"] == 0, "amount_lost"] = 0.0  # nothing lost is a measured zero
    return out.sort_values(["client_id", "quarter"], kind="mergesort")[LOST_COLUMNS].reset_index(drop=True)
