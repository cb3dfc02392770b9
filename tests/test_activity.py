"""One meaning of active, gone quiet and left: every page counts the same clients."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rawfiles import params

from clientlens.analysis import activity, leadership, pnl, segments, toxicity
from clientlens.intake.stage import fingerprint
from clientlens.parameters import StageParams, load
from clientlens.quarters import quarter_index_of, quarter_label

P = load()
LAPSE = P.lapse_quarters
END = "2025Q4"
QUARTERS = [quarter_label(quarter_index_of(END) - k) for k in range(5, -1, -1)]


def rows(client, worked, *, contract_active=(), exited_at=None):
    """A client's panel rows: `worked` is the quarters with hours and an invoice; a quarter in
    `contract_active` without work is one the panel calls active for an open contract."""
    out = []
    for q in QUARTERS:
        w = q in worked
        out.append({"client_id": client, "client_name": client, "quarter": q, "quarter_index": quarter_index_of(q),
                    "hours": 10.0 if w else 0.0, "revenue": 1000.0 if w else 0.0,
                    "delivery_cost": 400.0 if w else 0.0, "is_active": w or q in contract_active,
                    "exited": q == exited_at, "exit_reason": "other" if q == exited_at else None})
        if q == exited_at:
            break
    return out


def firm():
    quiet_from = QUARTERS[-LAPSE:]       # the last lapse_quarters quarters
    short_of = QUARTERS[-(LAPSE - 1):] if LAPSE > 1 else []
    panel = pd.DataFrame(
        rows("busy", QUARTERS)
        # an open-ended contract keeps the panel's is_active for lapse_quarters - 1 quiet quarters
        + rows("stale", [q for q in QUARTERS if q not in quiet_from], contract_active=quiet_from[:LAPSE - 1])
        + rows("quiet_short", [q for q in QUARTERS if q not in short_of], contract_active=short_of)
        + rows("quiet", QUARTERS[:-LAPSE])
        + rows("left", QUARTERS, exited_at=QUARTERS[-2]))
    return panel


def test_client_status_at_the_boundary():
    status = activity.client_status(firm(), LAPSE, END).set_index("client_id")["status"]
    assert status.to_dict() == {"busy": "active", "stale": "lapsed", "quiet_short": "active",
                                "quiet": "lapsed", "left": "exited"}


def test_worked_ignores_a_quarter_active_only_for_a_contract():
    panel = firm()
    w = activity.worked(panel)
    assert not w[(panel.client_id == "stale").to_numpy() & panel.is_active.to_numpy()
                 & (panel.hours == 0).to_numpy()].any()
    stale = activity.quarters_quiet(panel)[(panel.client_id == "stale").to_numpy()]
    assert list(stale[-LAPSE:]) == list(range(1, LAPSE + 1))  # the contract does not stop the count
    assert np.array_equal(activity.gone_quiet(np.array([LAPSE - 1, LAPSE, LAPSE + 1]), LAPSE), [False, True, True])


def test_every_page_counts_the_same_active_clients():
    panel = firm()
    expected = {"busy", "quiet_short"}
    # the P&L table and the leadership page
    clients = pnl.client_pnl(panel, 0.1, overhead_base=P.overhead_base, lapse_quarters=LAPSE, period_end=END)
    assert set(clients.loc[clients.status == activity.ACTIVE, "client_id"]) == expected
    # the toxicity page (notebooks/03-toxicity.py)
    current = toxicity.current_toxicity(panel, P, as_of=END)
    assert set(current.loc[current.client_id.isin(activity.active_clients(panel, LAPSE, END)), "client_id"]) == expected
    # the segments: every client not left and not gone quiet
    placed = segments.assign_segments(current, clients, P, margin="margin_last4", margin_pct="margin_pct_last4",
                                      revenue="revenue_last4")
    ended = {"left", "healthy_exit", "gone_quiet"}
    assert set(placed.loc[~placed.segment.isin(ended), "client_id"]) == expected
    assert set(placed.loc[placed.segment == "gone_quiet", "client_id"]) == \
        set(clients.loc[clients.status == activity.LAPSED, "client_id"]) == {"stale", "quiet"}
    warnings = pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])
    head = leadership.headline(clients, placed, warnings, None, level=80)
    assert head.clients_active == len(expected)


@pytest.mark.parametrize("quiet, status", [(LAPSE - 1, "active"), (LAPSE, "lapsed"), (LAPSE + 1, "lapsed")])
def test_the_lapse_boundary(quiet, status):
    worked = QUARTERS[:len(QUARTERS) - quiet]
    panel = pd.DataFrame(rows("c", worked, contract_active=QUARTERS))  # an open contract throughout
    assert activity.client_status(panel, LAPSE, END)["status"].item() == status


def test_a_change_of_lapse_quarters_builds_the_panel_again(tmp_path):
    """The intake stage reads lapse_quarters (the panel's is_active depends on it), so changing
    it must not reuse the panel the old value built; StageParams notes the read for make."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    raw.mkdir(), processed.mkdir()
    base = params()
    assert fingerprint(raw, processed, params(lapse_quarters=base.lapse_quarters + 1)) != \
        fingerprint(raw, processed, base)
    reads = tmp_path / "reads.json"
    fingerprint(raw, processed, StageParams(base, reads))
    assert "lapse_quarters" in reads.read_text()
