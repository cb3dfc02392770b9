"""One meaning of "active", "gone quiet" and "left", for every page, card, table and download.

A client works with us in a quarter when it has hours logged or an invoice issued. A client
that has gone `lapse_quarters` quarters in a row without either has gone quiet (its status is
"lapsed"), whatever contract is still open: an open-ended contract nobody works or bills on is
not a relationship. A client with an exit record has left ("exited"). Every other client is
"active". The panel's `is_active` follows the same rule quarter by quarter (an open contract
counts only while the client is not quiet for `lapse_quarters`; see intake.panel), so the
leadership page, the toxicity page, the segments and the P&L tables count the same clients.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clientlens.analysis.markers import QuarterGrid, numeric, panel_quarter_index
from clientlens.quarters import quarter_index_of

ACTIVE, LAPSED, EXITED = "active", "lapsed", "exited"


def worked(panel: pd.DataFrame) -> np.ndarray:
    """Per panel row: hours logged or an invoice issued in the quarter.

    The panel's `revenue` is what was issued in the quarter where invoices are supplied, and the
    billable value of the hours (so nothing without hours) where they are not. A row the panel
    marks inactive is not worked; a row it marks active only for an open contract (no hours, no
    invoice) is not worked either. A panel without hours and revenue reads `is_active` alone,
    and one without `is_active` counts every row as active.
    """
    active = (np.nan_to_num(numeric(panel, "is_active")) != 0 if "is_active" in panel.columns
              else np.ones(len(panel), dtype=bool))
    if not {"hours", "revenue"} & set(panel.columns):
        return active
    hours = np.nan_to_num(numeric(panel, "hours")) > 0
    issued = np.nan_to_num(numeric(panel, "revenue")) != 0
    return active & (hours | issued)


def quarters_quiet(panel: pd.DataFrame) -> np.ndarray:
    """Per panel row: consecutive quarters without work or an invoice ending there (0 = worked).

    See `worked`.
    """
    g = QuarterGrid(panel)
    W = g.wide(worked(g.frame).astype(float))
    streak = np.zeros(W.shape)
    run = np.zeros(W.shape[1])
    for t in range(W.shape[0]):
        quiet = W[t] == 0          # NaN (no row) breaks the run as well
        run = np.where(quiet, run + 1, 0)
        streak[t] = run
    return g.rows(streak).astype(int)


def gone_quiet(quiet_quarters: np.ndarray | pd.Series, lapse_quarters: int) -> np.ndarray:
    """Whether a client quiet for `quiet_quarters` has gone quiet: `lapse_quarters` or more."""
    return np.asarray(pd.to_numeric(pd.Series(np.asarray(quiet_quarters)), errors="coerce")
                      .fillna(0).to_numpy() >= lapse_quarters)


def client_status(panel: pd.DataFrame, lapse_quarters: int,
                  period_end: str | int | None = None) -> pd.DataFrame:
    """One row per client: client_id, quarters_quiet (at its last row up to the period end),
    exited and status ("exited", "lapsed" when gone quiet, else "active")."""
    p = panel.reset_index(drop=True)
    qi = panel_quarter_index(p)
    if period_end is not None:
        end = period_end if isinstance(period_end, (int, np.integer)) else quarter_index_of(period_end)
        keep = np.asarray(qi <= end)
        p, qi = p.loc[keep].reset_index(drop=True), np.asarray(qi)[keep]
    frame = pd.DataFrame({"client_id": p["client_id"].astype(str).to_numpy(), "_qi": np.asarray(qi),
                          "quarters_quiet": quarters_quiet(p),
                          "exited": np.nan_to_num(numeric(p, "exited")) != 0})
    frame = frame.sort_values(["client_id", "_qi"], kind="stable")
    g = frame.groupby("client_id", sort=True)
    out = pd.DataFrame({"quarters_quiet": g["quarters_quiet"].last(), "exited": g["exited"].any()})
    out["status"] = np.where(out["exited"], EXITED,
                             np.where(gone_quiet(out["quarters_quiet"], lapse_quarters), LAPSED, ACTIVE))
    return out.rename_axis("client_id").reset_index()


def active_clients(panel: pd.DataFrame, lapse_quarters: int, period_end: str | int | None = None) -> pd.Index:
    """The ids of the clients active at the period end (see client_status)."""
    s = client_status(panel, lapse_quarters, period_end)
    return pd.Index(s.loc[s["status"] == ACTIVE, "client_id"])
