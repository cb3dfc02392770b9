"""The quarterly spiral (DOMAIN.md "The quarterly spiral", seed 004): phases, positions, turns, mistakes.

Money from one client comes in four phases: functionality (feature), UX, stability, support,
then the spiral turns again to new functionality. This module reads the client-quarter panel
and answers, with pure functions (DataFrame in, DataFrame out):

- `phase_split`: each client-quarter's revenue split by phase, from the billable value of the
  time entries' work types (`value_*`), and the quarter's dominant phase;
- `client_states`: one state per client and quarter for the Markov chain: a phase, `dormant`
  (no spiral work that quarter, relationship continues) or `churned` (absorbing);
- `spiral_positions` / `client_positions`: where each client is on the spiral and how many turns
  it completed;
- `phase_transitions` / `phase_flow`: quarter-to-quarter state changes across the portfolio;
- `mistake_events` / `mistakes_by_client` / `mistake_counts`: the spiral mistakes the data can
  show, each citing its quarters and its evidence (a sentence and the numbers).

Definitions (the ones tests and reports rely on)
-------------------------------------------------
Dominant phase
    The work type among feature, ux, stability and support with the largest billable value in
    the quarter (ties go to the earlier phase). `value_other` takes part in the revenue split but
    never becomes the phase. A quarter without billable phase value has no phase.
Work
    A quarter has work when hours were logged or billable value was recorded. Invoices alone do
    not count: they lag the work they bill.
Churned
    From the quarter after the client's last quarter with work on, when the client exited
    (`exited` on any of its rows), or when it has had no work for at least
    `churn_after_quarters` quarters up to the period end. A shorter silence at the period end is
    `dormant` (we cannot tell yet). Rows after an exit, up to the period end, are added as
    churned (`synthetic`).
Turn
    feature -> ux -> stability -> support -> back to feature, in this order, from a feature
    start. Several quarters in one phase and dormant quarters in between do not break a turn; a
    skipped or out-of-order phase does (the turn is then not counted when feature comes back).
    A client first seen mid-spiral when the data starts (left-censored) is taken to have done the
    earlier phases of that turn; a new client that starts mid-spiral is not.
Spiral position
    turns_completed + step/4 with step = 1 (feature) .. 4 (support): 0.25 = first turn,
    functionality; 1.0 = first turn, support; 1.25 = second turn, functionality.

Mistakes (identifiers in `MISTAKES`; defaults of `mistake_events` in brackets, none for the
thresholds config/params.yaml sets)
    Sequence rules read runs of phases (consecutive quarters in one phase; dormant quarters are
    skipped when looking for the phase before or after, but a dormant gap ends a run).
    Work-mix rules read the work types inside quarters: for `mix_min_quarters` consecutive
    quarters with work, the kinds of work that must be there are each >= `mix_present_share`
    [5%] of the quarter's phase value and the missing kind is <= `mix_absent_share` [1%].

    feature_without_ux      a feature run followed directly by stability or support (UX
                            skipped); or a feature run, a pause, then new feature work; or a
                            feature run, then the client left, with no UX work ever; or (mix)
                            feature work and no UX work.
    ux_without_feature      a UX run after a phase other than feature; or a client whose first
                            phase is UX (when the data starts with it, only if that run had no
                            feature work at all: what came before is unknown); or (mix) UX work and
                            no feature work.
    no_stabilisation        a UX run followed directly by support or feature; or a UX run, then the
                            client left, with no stability work ever; or (mix) feature and UX work
                            and no stability work.
    agree_to_every_wish     over the last `unplanned_window` [4] quarters: >= `unplanned_min`
                            unplanned change requests accepted, >= `unplanned_share` of all
                            change requests, and more than the portfolio's share would give by
                            chance (binomial tail < `unplanned_alpha` [0.01]); cited at the quarters
                            with unplanned work accepted.
    team_growth_unplanned   the team grew on the smallest of the previous `team_window` [4]
                            quarters (people_count up >= `team_jump_min` [2] people and
                            `team_jump_ratio` [1.25x], or hours adjusted for the phase up
                            `team_hours_ratio` [1.4x]) while, that quarter or the one before, the
                            unplanned share cumulated since the client's first quarter is above the
                            portfolio's beyond chance (binomial tail < `team_alpha` [0.05], at least
                            `unplanned_min` accepted).
    early_free_delivery     early_free_deliveries cumulated reach `early_free_min`.
    support_without_followup over `followup_window` [4] quarters, >= `followup_min` support
                            requests never followed up, and >= `followup_share` [50%] of them.
    communicator_not_rotated communicator_tenure_quarters > communicator_max_quarters.
    technical_communicator  communicator_role == 'technical'.
A mistake whose columns are NULL for a client is "not_measured" for that client, never "clear".
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy.special import bdtrc

from clientlens.i18n import N_, tr, tr_plural
from clientlens.intake.contract import SPIRAL_PHASES
from clientlens.parameters import Params
from clientlens.quarters import quarter_label

PHASES: tuple[str, ...] = tuple(SPIRAL_PHASES)
DORMANT = "dormant"
CHURNED = "churned"
STATES: tuple[str, ...] = PHASES + (DORMANT, CHURNED)
PHASE_STEP = {p: i + 1 for i, p in enumerate(PHASES)}
PHASE_LABELS = {"feature": "functionality", "ux": "UX", "stability": "stability", "support": "support",
                DORMANT: "no spiral work", CHURNED: "churned"}



def phase_label(state: Any, lang: str = "en") -> Any:
    """A phase or state in words, in `lang` ("ux" -> "UX"); a missing value stays missing."""
    return tr(PHASE_LABELS.get(state, state), lang) if isinstance(state, str) else state


MISTAKES: tuple[str, ...] = (
    "feature_without_ux", "ux_without_feature", "no_stabilisation", "agree_to_every_wish",
    "team_growth_unplanned", "early_free_delivery", "support_without_followup",
    "communicator_not_rotated", "technical_communicator",
)
MISTAKE_LABELS = {
    "feature_without_ux": "Functionality without UX",
    "ux_without_feature": "UX without functionality",
    "no_stabilisation": "Functionality and UX without stabilisation",
    "agree_to_every_wish": "Agreeing to every wish",
    "team_growth_unplanned": "Growing the team for unplanned work",
    "early_free_delivery": "Delivering early for free more than once",
    "support_without_followup": "Support requests left without follow-up",
    "communicator_not_rotated": "Communicator never rotated",
    "technical_communicator": "Technical specialist as communicator",
}
_VALUE_COLUMNS = tuple(f"value_{p}" for p in PHASES)
MISTAKE_COLUMNS: dict[str, tuple[str, ...]] = {
    "feature_without_ux": _VALUE_COLUMNS,
    "ux_without_feature": _VALUE_COLUMNS,
    "no_stabilisation": _VALUE_COLUMNS,
    "agree_to_every_wish": ("unplanned_accepted",),
    "team_growth_unplanned": ("people_count", "unplanned_accepted"),
    "early_free_delivery": ("early_free_deliveries",),
    "support_without_followup": ("support_requests", "support_without_followup"),
    "communicator_not_rotated": ("communicator_tenure_quarters",),
    "technical_communicator": ("communicator_role",),
}

EVENT_COLUMNS = ["client_id", "client_name", "mistake", "quarter", "quarter_index", "quarters",
                 "evidence", "metric", "value", "threshold"]
STATE_COLUMNS = ["client_id", "client_name", "quarter", "quarter_index", "state", "phase", "revenue",
                 "work", "exited", "exit_reason", "synthetic", "left_censored", "client_exited"]


# --- small helpers -------------------------------------------------------------------------

def quarter_ranges(indices: Iterable[int], lang: str | None = None) -> str:
    """'2024Q1–2024Q3, 2025Q1' from quarter indices (consecutive quarters become a range).

    Without `lang` the codes, which _parse_ranges reads back (the events' `quarters` column);
    with it, what a reader sees ('Q1 2024–Q3 2024, Q1 2025', 'I кв. 2024–III кв. 2024, ...')."""
    idx = sorted({int(i) for i in indices})
    if not idx:
        return ""
    parts, start, prev = [], idx[0], idx[0]
    for i in idx[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(quarter_label(start, lang) if start == prev
                     else f"{quarter_label(start, lang)}–{quarter_label(prev, lang)}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


def _quarter_index(frame: pd.DataFrame) -> pd.Series:
    if "quarter_index" in frame.columns:
        return pd.to_numeric(frame["quarter_index"], errors="coerce").astype("int64")
    q = frame["quarter"].astype(str)
    return (q.str[:4].astype(int) * 4 + q.str[-1].astype(int) - 1).astype("int64")


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    """A column as float (NULL -> NaN); all-NaN when the column is absent."""
    if col not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[col], errors="coerce").astype(float)


def _bool(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series(False, index=frame.index)
    s = frame[col]
    if s.dtype == object or str(s.dtype) in ("str", "string"):
        s = s.map(lambda v: str(v).strip().lower() in ("true", "1", "yes") if pd.notna(v) else False)
    return s.fillna(False).astype(bool)


def _names(frame: pd.DataFrame) -> pd.Series:
    if "client_name" in frame.columns:
        return frame["client_name"].where(frame["client_name"].notna(), frame["client_id"]).astype(str)
    return frame["client_id"].astype(str)


def _revenue(frame: pd.DataFrame, revenue_col: str) -> pd.Series:
    for col in (revenue_col, "revenue", "billable_value"):
        if col in frame.columns and frame[col].notna().any():
            return _num(frame, col).fillna(0.0)
    return pd.Series(0.0, index=frame.index)


def money(x: float, lang: str = "en") -> str:
    """A readable amount: 1,234 / 12.3k / 1.2M (in Russian 1 234 / 12,3 тыс. / 1,2 млн)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return tr("n/a", lang)
    a = abs(x)
    if a >= 1e6:
        text, unit = f"{x / 1e6:,.1f}", N_("{number}M")
    elif a >= 1e4:
        text, unit = f"{x / 1e3:,.1f}", N_("{number}k")
    else:
        text, unit = f"{x:,.0f}", "{number}"
    if lang == "ru":
        text = text.replace(",", "\u202f").replace(".", ",")
    return tr(unit, lang, number=text)


# --- phases ----------------------------------------------------------------------------------

def phase_split(panel: pd.DataFrame, revenue_col: str = "revenue") -> pd.DataFrame:
    """Each client-quarter's revenue split by spiral phase, and its dominant phase.

    Returns one row per panel row: client_id, client_name, quarter, quarter_index, revenue,
    value_total (billable value of all work types), share_<phase> and share_other (of value_total),
    revenue_<phase>, revenue_other (revenue x share), revenue_unassigned (revenue of a quarter with
    no billable value, e.g. an invoice for earlier work), phase (dominant phase or NaN),
    phase_share (the dominant phase's share of phase value), phase_measured (any value_* known),
    revenue_measured (the quarter's revenue is measured; where it is not, revenue_<phase> is NULL).

    Where the billable value of the work types is not measured (an export without money), the
    phases are read from the hours of each work type instead (hours_<phase>; presale and
    communication count as other work).
    """
    panel = panel.reset_index(drop=True)
    qi = _quarter_index(panel)
    out = pd.DataFrame({
        "client_id": panel["client_id"].astype(str),
        "client_name": _names(panel),
        "quarter": qi.map(quarter_label),
        "quarter_index": qi,
    })
    raw = {p: _num(panel, f"value_{p}") for p in PHASES + ("other",)}
    by_hours = np.column_stack([raw[p].isna().to_numpy() for p in PHASES]).all(axis=1)
    if by_hours.any():
        hours_other = sum(_num(panel, f"hours_{w}").fillna(0) for w in ("other", "presale", "communication"))
        for p in PHASES:
            raw[p] = raw[p].where(~by_hours, _num(panel, f"hours_{p}"))
        raw["other"] = raw["other"].where(~by_hours, hours_other.where(_num(panel, "hours").notna()))
    revenue_measured = _num(panel, revenue_col if revenue_col in panel.columns else "revenue").notna().to_numpy()
    values = np.column_stack([raw[p].fillna(0).clip(lower=0).to_numpy() for p in PHASES])
    other = raw["other"].fillna(0).clip(lower=0).to_numpy()
    phase_total = values.sum(axis=1)
    total = phase_total + other
    revenue = _revenue(panel, revenue_col).to_numpy()
    has_value = total > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(has_value[:, None], np.column_stack([values, other]) / total[:, None], np.nan)
    out["revenue"] = revenue
    out["value_total"] = total
    for i, p in enumerate(PHASES + ("other",)):
        out[f"share_{p}"] = shares[:, i]
    for i, p in enumerate(PHASES + ("other",)):
        out[f"revenue_{p}"] = np.where(revenue_measured, np.where(has_value, revenue * np.nan_to_num(shares[:, i]),
                                                                  0.0), np.nan)
    out["revenue_unassigned"] = np.where(revenue_measured, np.where(has_value, 0.0, revenue), np.nan)
    dominant = np.argmax(values, axis=1)
    phase = np.array(PHASES, dtype=object)[dominant]
    out["phase"] = pd.Series(np.where(phase_total > 0, phase, None), dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["phase_share"] = np.where(phase_total > 0, values.max(axis=1) / phase_total, np.nan)
    out["phase_measured"] = np.column_stack([raw[p].notna().to_numpy() for p in PHASES]).any(axis=1)
    out["revenue_measured"] = revenue_measured
    out["value_in_hours"] = by_hours  # value_total and the shares are of hours, not money
    return out


def phase_revenue_by_quarter(split: pd.DataFrame) -> pd.DataFrame:
    """Portfolio revenue per quarter and phase (long): quarter, quarter_index, phase, revenue.

    `phase` takes feature, ux, stability, support, other, unassigned. Input: `phase_split`.
    """
    cols = [f"revenue_{p}" for p in PHASES + ("other", "unassigned")]
    wide = split.groupby("quarter_index")[cols].sum(min_count=1).reset_index()
    long = wide.melt(id_vars="quarter_index", var_name="phase", value_name="revenue")
    long["phase"] = long["phase"].str.removeprefix("revenue_")
    long["quarter"] = long["quarter_index"].map(quarter_label)
    order = {p: i for i, p in enumerate(PHASES + ("other", "unassigned"))}
    long["_o"] = long["phase"].map(order)
    long = long.sort_values(["quarter_index", "_o"]).drop(columns="_o").reset_index(drop=True)
    return long[["quarter", "quarter_index", "phase", "revenue"]]


# --- states for the chain --------------------------------------------------------------------

def client_states(panel: pd.DataFrame, *, period_end: str | int | None = None,
                  churn_after_quarters: int, revenue_col: str = "revenue") -> pd.DataFrame:
    """One state per client and quarter, from the client's first panel row to the period end.

    Columns: client_id, client_name, quarter, quarter_index, state (feature, ux, stability,
    support, dormant, churned), phase (dominant phase or NaN), revenue, work (hours or billable
    value logged), exited (the panel's exit flag), exit_reason, synthetic (row added after an
    exit, or to fill a gap), left_censored (the client's first quarter is the data's first
    quarter: what came before is unknown), client_exited (the client exited on some row).
    `period_end` (a quarter like 2025Q4, or its index) defaults to the panel's last quarter.
    """
    if panel.empty:
        return pd.DataFrame(columns=STATE_COLUMNS)
    panel = panel.reset_index(drop=True)
    split = phase_split(panel, revenue_col)
    work = ((_num(panel, "hours").fillna(0) > 0) | (_num(panel, "billable_value").fillna(0) > 0)
            | (split["value_total"] > 0))
    df = pd.DataFrame({
        "client_id": split["client_id"], "client_name": split["client_name"],
        "quarter_index": split["quarter_index"], "phase": split["phase"],
        "revenue": split["revenue"], "work": work.to_numpy(),
        "exited": _bool(panel, "exited").to_numpy(),
        "exit_reason": panel["exit_reason"] if "exit_reason" in panel.columns else None,
    })
    data_start = int(df["quarter_index"].min())
    if period_end is None:
        end = int(df["quarter_index"].max())
    elif isinstance(period_end, str):
        end = int(_quarter_index(pd.DataFrame({"quarter": [period_end]})).iloc[0])
    else:
        end = int(period_end)
    df = df[df["quarter_index"] <= end]
    df = df.drop_duplicates(["client_id", "quarter_index"], keep="last")
    if df.empty:
        return pd.DataFrame(columns=STATE_COLUMNS)

    first = df.groupby("client_id", sort=True)["quarter_index"].min()
    lengths = (end - first + 1).to_numpy()
    starts = np.repeat(first.to_numpy(), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = pd.DataFrame({"client_id": np.repeat(first.index.to_numpy(), lengths),
                         "quarter_index": starts + offsets})
    grid = grid.merge(df, on=["client_id", "quarter_index"], how="left", indicator=True)
    grid["synthetic"] = grid.pop("_merge").eq("left_only").to_numpy()
    names = df.groupby("client_id")["client_name"].last()
    grid["client_name"] = grid["client_id"].map(names)
    grid["revenue"] = grid["revenue"].fillna(0.0).astype(float)
    grid["work"] = grid["work"].astype("boolean").fillna(False).astype(bool)
    grid["exited"] = grid["exited"].astype("boolean").fillna(False).astype(bool)

    last_work = grid[grid["work"]].groupby("client_id")["quarter_index"].max()
    exit_q = grid[grid["exited"]].groupby("client_id")["quarter_index"].min()
    lw = grid["client_id"].map(last_work)
    client_exited = grid["client_id"].map(exit_q).notna()
    first_q = grid["client_id"].map(first)
    churn_from = pd.Series(np.nan, index=grid.index)
    base = lw.fillna(first_q - 1) + 1  # first quarter without work, from then to the end
    churn_from[client_exited] = base[client_exited]
    silent = (end - base + 1) >= churn_after_quarters
    churn_from[~client_exited & silent] = base[~client_exited & silent]

    state = grid["phase"].where(grid["phase"].notna(), DORMANT).astype(object)
    state[grid["quarter_index"] >= churn_from] = CHURNED
    grid["state"] = state
    grid["quarter"] = grid["quarter_index"].map(quarter_label)
    grid["left_censored"] = first_q.eq(data_start).to_numpy()
    grid["client_exited"] = client_exited.to_numpy()
    grid["client_id"] = grid["client_id"].astype(str)
    return grid[STATE_COLUMNS].reset_index(drop=True)


def phase_transitions(states: pd.DataFrame) -> pd.DataFrame:
    """Every observed quarter-to-quarter move out of a non-churned state.

    Columns: client_id, quarter_index (of the origin quarter), from_state, to_state. A client whose
    exit falls in its last row while it still had work moves to churned after that row.
    """
    s = states.sort_values(["client_id", "quarter_index"])
    cid = s["client_id"].to_numpy()
    st = s["state"].to_numpy(dtype=object)
    qi = s["quarter_index"].to_numpy()
    same = cid[1:] == cid[:-1]
    consecutive = qi[1:] == qi[:-1] + 1
    keep = same & consecutive & (st[:-1] != CHURNED)
    pairs = pd.DataFrame({"client_id": cid[:-1][keep], "quarter_index": qi[:-1][keep],
                          "from_state": st[:-1][keep], "to_state": st[1:][keep]})
    last = s.groupby("client_id").tail(1)
    exit_after = last[last["client_exited"].astype(bool) & (last["state"] != CHURNED)]
    if len(exit_after):
        pairs = pd.concat([pairs, pd.DataFrame({
            "client_id": exit_after["client_id"].to_numpy(),
            "quarter_index": exit_after["quarter_index"].to_numpy(),
            "from_state": exit_after["state"].to_numpy(dtype=object),
            "to_state": CHURNED})], ignore_index=True)
    return pairs.sort_values(["client_id", "quarter_index"]).reset_index(drop=True)


def phase_flow(states: pd.DataFrame) -> pd.DataFrame:
    """Portfolio phase flow: from_state, to_state, count, share (of moves out of from_state)."""
    pairs = phase_transitions(states)
    present = set(pairs["from_state"]) | set(pairs["to_state"])
    names = [s for s in STATES if s in present]
    counts = (pairs.groupby(["from_state", "to_state"]).size()
              .reindex(pd.MultiIndex.from_product([[n for n in names if n != CHURNED], names],
                                                  names=["from_state", "to_state"]), fill_value=0)
              .rename("count").reset_index())
    totals = counts.groupby("from_state")["count"].transform("sum")
    counts["share"] = np.where(totals > 0, counts["count"] / totals.where(totals > 0, 1), np.nan)
    return counts


# --- positions ------------------------------------------------------------------------------

def spiral_positions(states: pd.DataFrame) -> pd.DataFrame:
    """`states` with the client's place on the spiral in every quarter.

    Added columns: current_phase (last phase worked, carried through dormant and churned
    quarters), turn (1-based turn the client is on), turns_completed, spiral_step (1..4 for the
    current phase), spiral_position (turns_completed + step/4), turn_in_order (the current turn so
    far follows feature -> ux -> stability -> support from a feature start), quarters_in_state
    (length of the current run of the same state).
    """
    s = states.sort_values(["client_id", "quarter_index"]).reset_index(drop=True)
    n = len(s)
    cid = s["client_id"].to_numpy()
    st = s["state"].to_numpy(dtype=object)
    censored = (s["left_censored"].to_numpy(dtype=bool) if "left_censored" in s.columns
                else np.zeros(n, dtype=bool))
    current = np.empty(n, dtype=object)
    turns = np.zeros(n, dtype=int)
    step = np.full(n, np.nan)
    in_order = np.zeros(n, dtype=bool)
    run_len = np.zeros(n, dtype=int)
    prev_c = None
    full = list(PHASES)
    for i in range(n):
        if cid[i] != prev_c:
            prev_c, t, path, ordered, last_phase, stp, prev_state, rl = cid[i], 0, [], False, None, np.nan, None, 0
        x = st[i]
        if x in PHASE_STEP:
            if last_phase is None and x != "feature" and censored[i]:
                # first seen mid-spiral when the data starts: the earlier phases are taken as done
                path, ordered = full[:PHASE_STEP[x]], True
            elif x != last_phase:
                if x == "feature":
                    if ordered and path == full:
                        t += 1
                    path, ordered = ["feature"], True
                elif ordered and len(path) < 4 and full[len(path)] == x:
                    path.append(x)
                else:
                    path, ordered = [], False
                last_phase = x
            stp = PHASE_STEP[x]
        rl = rl + 1 if x == prev_state else 1
        prev_state = x
        current[i], turns[i], step[i], in_order[i], run_len[i] = last_phase, t, stp, ordered, rl
    out = s.copy()
    out["current_phase"] = current
    out["turn"] = turns + 1
    out["turns_completed"] = turns
    out["spiral_step"] = step
    out["spiral_position"] = turns + step / 4
    out["turn_in_order"] = in_order
    out["quarters_in_state"] = run_len
    return out


def client_positions(positions: pd.DataFrame) -> pd.DataFrame:
    """One row per client: where it stands at its last quarter.

    Input: `spiral_positions`. Columns: client_id, client_name, quarter, state, current_phase,
    turn, turns_completed, spiral_position, turn_in_order, quarters_in_state, first_quarter,
    last_work_quarter, quarters_observed, revenue_last_4q.
    """
    s = positions.sort_values(["client_id", "quarter_index"])
    last = s.groupby("client_id").tail(1).set_index("client_id")
    g = s.groupby("client_id")
    worked = s[s["work"]].groupby("client_id")["quarter_index"].max()
    end = int(s["quarter_index"].max()) if len(s) else 0
    out = last[["client_name", "quarter", "state", "current_phase", "turn", "turns_completed",
                "spiral_position", "turn_in_order", "quarters_in_state"]].copy()
    out["first_quarter"] = g["quarter_index"].min().map(quarter_label)
    out["last_work_quarter"] = worked.reindex(out.index).map(
        lambda v: quarter_label(v) if pd.notna(v) else None)
    out["quarters_observed"] = g.size()
    out["revenue_last_4q"] = s[s["quarter_index"] > end - 4].groupby("client_id")["revenue"].sum() \
        .reindex(out.index).fillna(0.0)
    return out.reset_index()


# --- mistakes -------------------------------------------------------------------------------

def _runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs of the same state per client: client_id, state, start, end, n and summed values."""
    f = frame.sort_values(["client_id", "quarter_index"])
    new = (f["client_id"].ne(f["client_id"].shift()) | f["state"].ne(f["state"].shift())
           | f["quarter_index"].ne(f["quarter_index"].shift() + 1))
    f = f.assign(run=new.cumsum())
    agg = {"client_id": "first", "state": "first", "quarter_index": ["min", "max", "size"]}
    for c in _VALUE_COLUMNS:
        agg[c] = "sum"
    r = f.groupby("run").agg(agg)
    r.columns = ["client_id", "state", "start", "end", "n"] + list(_VALUE_COLUMNS)
    return r.reset_index(drop=True)


def _event(cid: str, name: str, mistake: str, qi: int, quarters: Iterable[int], evidence: str,
           metric: str, value: float, threshold: float) -> dict[str, Any]:
    return {"client_id": cid, "client_name": name, "mistake": mistake, "quarter": quarter_label(qi),
            "quarter_index": int(qi), "quarters": quarter_ranges(quarters), "evidence": evidence,
            "metric": metric, "value": float(value) if value is not None else np.nan,
            "threshold": float(threshold) if threshold is not None else np.nan}


def _span(r: Any) -> range:
    return range(int(r.start), int(r.end) + 1)


def _phase_events(states: pd.DataFrame, split: pd.DataFrame, lang: str = "en") -> list[dict[str, Any]]:
    """The three sequence mistakes, on runs of phases (see the module docstring)."""
    def phase(state: str) -> str:
        return phase_label(state, lang)

    # Phases read from hours (an export without money): the "value" of such a client's phase is
    # its hours. Decided per client: a firm may have exports with money and without.
    hours_clients = (set(split.loc[split.groupby("client_id")["value_in_hours"].transform("all"), "client_id"])
                     if "value_in_hours" in split.columns else set())
    in_hours = False

    def m(x: float) -> str:
        if in_hours:
            hours = int(round(x))
            return tr_plural("{n} hour{s}", hours, lang, n=money(hours, lang), s="" if hours == 1 else "s")
        return money(x, lang)

    live = states[states["state"] != CHURNED][["client_id", "client_name", "quarter_index", "state",
                                               "left_censored"]]
    value_cols = split[["client_id", "quarter_index"]].copy()
    for c in _VALUE_COLUMNS:
        value_cols[c] = split[f"share_{c[6:]}"].fillna(0) * split["value_total"]
    frame = live.merge(value_cols, on=["client_id", "quarter_index"], how="left").fillna(
        {c: 0.0 for c in _VALUE_COLUMNS})
    if frame.empty:
        return []
    runs = _runs(frame)
    names = frame.groupby("client_id")["client_name"].first().to_dict()
    censored = frame.groupby("client_id")["left_censored"].first().to_dict()
    totals = frame.groupby("client_id")[list(_VALUE_COLUMNS)].sum().to_dict("index")
    # the quarter a client churned (the quarter after its exit row when the exit fell in it)
    churn_q = states[states["state"] == CHURNED].groupby("client_id")["quarter_index"].min()
    exited_last = states[states["client_exited"].astype(bool)].groupby("client_id")["quarter_index"].max() + 1
    churn_q = churn_q.combine_first(exited_last).to_dict()
    events: list[dict[str, Any]] = []
    by_client: dict[str, list[Any]] = {}
    for r in runs[runs["state"].isin(PHASES)].itertuples(index=False):
        by_client.setdefault(r.client_id, []).append(r)
    for cid, phase_runs in by_client.items():
        in_hours = cid in hours_clients
        name = names[cid]
        tot = totals[cid]
        left_at = churn_q.get(cid)
        merged: list[tuple[str, list[Any]]] = []  # dormant gaps ignored
        for r in phase_runs:
            if merged and merged[-1][0] == r.state:
                merged[-1][1].append(r)
            else:
                merged.append((r.state, [r]))

        def q_of(group: list[Any]) -> list[int]:
            return [q for g in group for q in _span(g)]

        def value(group: list[Any], col: str) -> float:
            return float(sum(getattr(g, col) for g in group))

        for k, (state, group) in enumerate(merged):
            qs = q_of(group)
            nxt = merged[k + 1] if k + 1 < len(merged) else None
            last = nxt is None
            # functionality without UX: feature, then stability or support (UX skipped)
            if state == "feature" and nxt is not None and nxt[0] in ("stability", "support"):
                n_q = q_of(nxt[1])
                ux = value(group, "value_ux") + value(nxt[1], "value_ux")
                events.append(_event(
                    cid, name, "feature_without_ux", nxt[1][0].start, qs + n_q[:1],
                    tr("Functionality in {quarters} (feature value {feature}), then {phase} from {start} without "
                       "a UX phase (UX value meanwhile: {ux})", lang, quarters=quarter_ranges(qs, lang),
                       feature=m(value(group, "value_feature")), phase=phase(nxt[0]),
                       start=quarter_label(int(nxt[1][0].start), lang), ux=m(ux)), "ux_value", ux, None))
            # ... or feature, a pause, then new feature work
            if state == "feature" and len(group) > 1:
                for g0, g1 in zip(group[:-1], group[1:]):
                    gap = list(range(int(g0.end) + 1, int(g1.start)))
                    events.append(_event(
                        cid, name, "feature_without_ux", g1.start, list(_span(g0)) + gap + [int(g1.start)],
                        tr("Functionality in {quarters}, then a pause, then new functionality from {start} "
                           "(feature value {feature}) with no UX phase between", lang,
                           quarters=quarter_ranges(_span(g0), lang), start=quarter_label(int(g1.start), lang),
                           feature=m(g1.value_feature)), "ux_value", float(g0.value_ux), None))
            # ... or functionality, then the client left, with no UX work at all
            if state == "feature" and last and left_at is not None and tot["value_ux"] <= 0:
                events.append(_event(
                    cid, name, "feature_without_ux", left_at, qs + [int(left_at)],
                    tr("Functionality in {quarters} (feature value {feature}), then the client left in {left}, "
                       "with no UX work at all (UX value 0)", lang, quarters=quarter_ranges(qs, lang),
                       feature=m(tot["value_feature"]), left=quarter_label(int(left_at), lang)),
                    "ux_value", 0.0, None))
            # UX without functionality: UX after a phase other than functionality, or first
            if state == "ux" and (k == 0 or merged[k - 1][0] != "feature"):
                ux_value, f_value = value(group, "value_ux"), value(group, "value_feature")
                if k > 0:
                    prev_state, prev_group = merged[k - 1]
                    events.append(_event(
                        cid, name, "ux_without_feature", group[0].start, q_of(prev_group) + qs,
                        tr("UX work in {quarters} (UX value {ux}) came after {phase} ({before}) with no new "
                           "functionality before it", lang, quarters=quarter_ranges(qs, lang), ux=m(ux_value),
                           phase=phase(prev_state), before=quarter_ranges(q_of(prev_group), lang)),
                        "ux_value", ux_value, None))
                elif not censored[cid] or f_value <= 0:
                    note = (tr("; the data starts in {start}, and no functionality work was done during it "
                               "either (feature value 0)", lang, start=quarter_label(int(group[0].start), lang))
                            if censored[cid] else "")
                    events.append(_event(
                        cid, name, "ux_without_feature", group[0].start, qs,
                        tr("The first recorded phase is UX ({quarters}, UX value {ux}) with no functionality "
                           "before it", lang, quarters=quarter_ranges(qs, lang), ux=m(ux_value)) + note,
                        "ux_value", ux_value, None))
            # functionality and UX without stabilisation: UX, then support or functionality ...
            if state == "ux" and nxt is not None and nxt[0] in ("support", "feature"):
                prev = merged[k - 1] if k > 0 and merged[k - 1][0] == "feature" else None
                stab = value(group, "value_stability") + value(nxt[1], "value_stability") + \
                    (value(prev[1], "value_stability") if prev else 0.0)
                words = dict(quarters=quarter_ranges(qs, lang), phase=phase(nxt[0]),
                             start=quarter_label(int(nxt[1][0].start), lang), stability=m(stab))
                evidence = (tr("Functionality in {before} and UX in {quarters}, then {phase} from {start} without "
                               "a stabilisation phase (stability value meanwhile: {stability})", lang,
                               before=quarter_ranges(q_of(prev[1]), lang), **words) if prev else
                            tr("UX in {quarters}, then {phase} from {start} without a stabilisation phase "
                               "(stability value meanwhile: {stability})", lang, **words))
                events.append(_event(
                    cid, name, "no_stabilisation", nxt[1][0].start,
                    (q_of(prev[1]) if prev else []) + qs + [int(nxt[1][0].start)],
                    evidence, "stability_value", stab, None))
            # ... or UX, then the client left, with no stabilisation work at all
            if state == "ux" and last and left_at is not None and tot["value_stability"] <= 0:
                events.append(_event(
                    cid, name, "no_stabilisation", left_at, qs + [int(left_at)],
                    tr("UX in {quarters} (UX value {ux}), then the client left in {left}, with no stabilisation "
                       "work at all (stability value 0)", lang, quarters=quarter_ranges(qs, lang),
                       ux=m(value(group, "value_ux")), left=quarter_label(int(left_at), lang)),
                    "stability_value", 0.0, None))
    return events


_MIX_RULES = {  # mistake: (work types that must be there, the work type that is absent)
    "feature_without_ux": (("feature",), "ux"),
    "ux_without_feature": (("ux",), "feature"),
    "no_stabilisation": (("feature", "ux"), "stability"),
}


def _mix_events(states: pd.DataFrame, split: pd.DataFrame, min_quarters: int, present_share: float,
                absent_share: float, lang: str = "en") -> list[dict[str, Any]]:
    """The sequence mistakes seen in the work mix: for `min_quarters` consecutive quarters or more,
    a client got one kind of work (each >= present_share of the phase value) and none of the kind
    that should go with it (<= absent_share)."""
    live = states[states["state"] != CHURNED][["client_id", "client_name", "quarter_index"]]
    f = live.merge(split.drop(columns=["client_name"]), on=["client_id", "quarter_index"], how="inner")
    f = f[f["value_total"] > 0].sort_values(["client_id", "quarter_index"]).reset_index(drop=True)
    if f.empty:
        return []
    phase_value = sum(f[f"share_{q}"] for q in PHASES) * f["value_total"]
    share = {q: (f[f"share_{q}"] * f["value_total"] / phase_value.where(phase_value > 0)).fillna(0.0)
             for q in PHASES}
    events: list[dict[str, Any]] = []
    for mistake, (present, absent) in _MIX_RULES.items():
        ok = share[absent] <= absent_share
        for q in present:
            ok &= share[q] >= present_share
        run = (f["client_id"].ne(f["client_id"].shift()) | ok.ne(ok.shift())
               | f["quarter_index"].ne(f["quarter_index"].shift() + 1)).cumsum()
        g = f[ok].assign(run=run[ok]).groupby("run")
        agg = g.agg(client_id=("client_id", "first"), client_name=("client_name", "first"),
                    start=("quarter_index", "min"), end=("quarter_index", "max"), n=("quarter_index", "size"),
                    **{f"v_{q}": (f"revenue_{q}", "sum") for q in PHASES})
        vals = f[ok].assign(run=run[ok])
        for q in PHASES:
            agg[f"w_{q}"] = (vals[f"share_{q}"] * vals["value_total"]).groupby(vals["run"]).sum()
        for r in agg[agg["n"] >= min_quarters].itertuples(index=False):
            have = f" {tr('and', lang)} ".join(tr("{phase} work (value {value})", lang, phase=phase_label(q, lang),
                                                value=money(getattr(r, "w_" + q), lang)) for q in present)
            span = range(int(r.start), int(r.end) + 1)
            events.append(_event(
                r.client_id, r.client_name, mistake, int(r.start) + min_quarters - 1, span,
                tr("{have} in {quarters} ({n} quarters) with no {absent} work at all ({absent} value {value})",
                   lang, have=have[0].upper() + have[1:], quarters=quarter_ranges(span, lang), n=int(r.n),
                   absent=phase_label(absent, lang), value=money(getattr(r, "w_" + absent), lang)),
                f"{absent}_share", float(getattr(r, "w_" + absent)), absent_share))
    return events


def _rolling_sum(values: pd.Series, keys: pd.Series, window: int) -> pd.Series:
    """Sum over the last `window` rows of the same key (rows sorted by key, then quarter)."""
    cs = values.fillna(0).groupby(keys).cumsum()
    before = cs.groupby(keys).shift(window).fillna(0)
    return cs - before


def _binomial_tail(k: pd.Series, n: pd.Series, p: float) -> np.ndarray:
    """P(X >= k) for X ~ Binomial(n, p); 1 where k is 0 or n is unknown."""
    kk = k.fillna(0).round().astype("int64").to_numpy()
    nn = n.fillna(0).round().astype("int64").to_numpy()
    nn = np.maximum(nn, kk)
    return np.where(kk > 0, bdtrc(np.maximum(kk - 1, 0), nn, p), 1.0)


def _rolling_min_before(values: pd.Series, keys: pd.Series, window: int) -> pd.Series:
    """Minimum over the `window` rows before each row, of the same key (NaN ignored)."""
    shifted = [values.groupby(keys).shift(k) for k in range(1, window + 1)]
    return pd.concat(shifted, axis=1).min(axis=1)


def mistake_events(panel: pd.DataFrame, states: pd.DataFrame | None = None, *,
                   communicator_max_quarters: int, unplanned_min: int, unplanned_share: float,
                   early_free_min: int, followup_min: int, mix_min_quarters: int,
                   churn_after_quarters: int, unplanned_window: int = 4,
                   unplanned_alpha: float = 0.01, unplanned_base_share: float | str = "auto",
                   team_window: int = 4, team_jump_ratio: float = 1.25, team_jump_min: int = 2,
                   team_hours_ratio: float = 1.4, team_alpha: float = 0.05,
                   followup_window: int = 4, followup_share: float = 0.5,
                   mix_present_share: float = 0.05, mix_absent_share: float = 0.01,
                   revenue_col: str = "revenue", lang: str = "en") -> pd.DataFrame:
    """Every detected spiral mistake, one row per event, with its evidence (in `lang`).

    The thresholds config/params.yaml sets come first and are required: `mistake_thresholds`
    gives them all.

    Columns: client_id, client_name, mistake (one of MISTAKES), quarter (the quarter the event is
    cited at), quarter_index, quarters (all quarters involved, as ranges), evidence (a sentence with
    the numbers), metric, value, threshold (the number behind the detection; threshold NaN for
    sequence rules). The rules and their parameters are in the module docstring.
    """
    if panel.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    panel = panel.reset_index(drop=True)
    if states is None:
        states = client_states(panel, churn_after_quarters=churn_after_quarters, revenue_col=revenue_col)
    split = phase_split(panel, revenue_col)
    events = _phase_events(states, split, lang)
    if mix_min_quarters:
        events += _mix_events(states, split, mix_min_quarters, mix_present_share, mix_absent_share, lang)

    p = pd.DataFrame({"client_id": split["client_id"], "client_name": split["client_name"],
                      "quarter_index": split["quarter_index"]})
    p["phase"] = split["phase"].to_numpy()
    for col in ("hours", "unplanned_accepted", "change_requests", "people_count", "early_free_deliveries",
                "support_requests", "support_without_followup", "communicator_tenure_quarters"):
        p[col] = _num(panel, col).to_numpy()
    p["our_communicator"] = (panel["our_communicator"].astype(object).to_numpy()
                             if "our_communicator" in panel.columns else None)
    p["communicator_role"] = (panel["communicator_role"].astype(object).to_numpy()
                              if "communicator_role" in panel.columns else None)
    p = p.sort_values(["client_id", "quarter_index"]).reset_index(drop=True)
    key = p["client_id"]

    # agree_to_every_wish: over the last `unplanned_window` quarters, at least `unplanned_min`
    # unplanned change requests accepted, at least `unplanned_share` of all change requests, and
    # more than the portfolio's share would give by chance (binomial tail < `unplanned_alpha`)
    u, cr = p["unplanned_accepted"], p["change_requests"]
    base = unplanned_base_share
    if base == "auto":
        known = u.notna() & cr.notna()
        base = float(u[known].sum() / cr[known].sum()) if cr[known].sum() > 0 else 0.25
    base = float(min(max(base, 0.01), 0.99))
    w_u = _rolling_sum(u, key, unplanned_window)
    w_cr = _rolling_sum(cr, key, unplanned_window)
    w_share = w_u / w_cr.where(w_cr > 0)
    tail = pd.Series(_binomial_tail(w_u, w_cr, base), index=p.index)
    wish = ((w_u >= unplanned_min) & (w_share >= unplanned_share) & (tail < unplanned_alpha)).fillna(False)
    wish = wish & u.notna()
    first_q = p.groupby("client_id")["quarter_index"].transform("min")

    def window_of(q: int, first: int, width: int) -> range:
        return range(max(int(first), int(q) - width + 1), int(q) + 1)

    # assign before filtering: assigning a Series to an empty frame would add its rows
    ap = p.assign(w_u=w_u, w_cr=w_cr, first_q=first_q)[wish & (u > 0)]
    for r in ap.itertuples(index=False):
        events.append(_event(
            r.client_id, r.client_name, "agree_to_every_wish", r.quarter_index, [r.quarter_index],
            tr("{n} unplanned change requests accepted in {quarter}; over {window} {w_u} of {w_cr} change "
               "requests were unplanned and accepted (portfolio: {base:.0%})", lang, n=int(r.unplanned_accepted),
               quarter=quarter_label(int(r.quarter_index), lang),
               window=quarter_ranges(window_of(r.quarter_index, r.first_q, unplanned_window), lang),
               w_u=int(r.w_u), w_cr=int(r.w_cr), base=base),
            "unplanned_share_window", r.w_u / r.w_cr, unplanned_share))

    # team_growth_unplanned: the team grew on the smallest of the previous `team_window` quarters
    # (people_count up by `team_jump_min` people and `team_jump_ratio`, or phase-adjusted hours up
    # `team_hours_ratio`), while the unplanned share cumulated to date is significantly above the
    # portfolio's (binomial tail < `team_alpha`, at least `unplanned_min` accepted), that quarter
    # or the one before
    people = p["people_count"].where(p["people_count"] > 0)
    low = _rolling_min_before(people, key, team_window)
    hours = p["hours"].where(p["hours"] > 0)
    typical = hours.groupby(p["phase"]).transform("median")
    effort = hours / typical.where(typical > 0)
    low_effort = _rolling_min_before(effort, key, team_window)
    c_u, c_cr = u.fillna(0).groupby(key).cumsum(), cr.fillna(0).groupby(key).cumsum()
    c_tail = pd.Series(_binomial_tail(c_u, c_cr, base), index=p.index)
    busy = ((c_u >= unplanned_min) & (c_tail < team_alpha)) & u.notna()
    prev_busy = busy.groupby(key).shift(fill_value=False).astype(bool)
    more_people = ((people - low >= team_jump_min) & (people >= low * team_jump_ratio)).fillna(False)
    more_effort = (effort >= low_effort * team_hours_ratio).fillna(False)
    jump = (more_people | more_effort) & (busy | prev_busy)
    jp = p.assign(low=low, effort=effort, low_effort=low_effort, c_u=c_u, c_cr=c_cr,
                  more_people=more_people, now=busy, pc_u=c_u.groupby(key).shift(),
                  pc_cr=c_cr.groupby(key).shift(), first_q=first_q)[jump]
    for r in jp.itertuples(index=False):
        n_u, n_cr = (r.c_u, r.c_cr) if r.now else (r.pc_u, r.pc_cr)
        end = r.quarter_index if r.now else r.quarter_index - 1
        ratio = f"{r.effort / r.low_effort:.1f}"
        grew = (tr("the team grew from {low} to {people} people", lang, low=int(r.low), people=int(r.people_count))
                if r.more_people else
                tr("the team's hours grew {ratio}x on its smallest recent quarter (adjusted for the phase)", lang,
                   ratio=ratio.replace(".", ",") if lang == "ru" else ratio))
        events.append(_event(
            r.client_id, r.client_name, "team_growth_unplanned", r.quarter_index,
            sorted({int(r.quarter_index), int(end)}),
            tr("In {quarter} {grew}, while {n_u} of {n_cr} change requests since {since} were unplanned and "
               "accepted (portfolio: {base:.0%})", lang, quarter=quarter_label(int(r.quarter_index), lang), grew=grew,
               n_u=int(n_u), n_cr=int(n_cr), since=quarter_label(int(r.first_q), lang), base=base),
            "unplanned_share_to_date", n_u / n_cr if n_cr else np.nan, base))

    # early_free_delivery
    early = p["early_free_deliveries"]
    cum = early.fillna(0).groupby(p["client_id"]).cumsum()
    crossed = p.loc[cum >= early_free_min].groupby("client_id")["quarter_index"].min()
    with_early = p[(early > 0) & p["client_id"].isin(crossed.index)]
    if len(with_early):
        we = with_early.assign(item=[f"{quarter_label(int(q), lang)} ({int(n)})" for q, n in
                                     zip(with_early["quarter_index"], with_early["early_free_deliveries"])])
        agg = we.groupby("client_id", sort=False).agg(
            client_name=("client_name", "first"), total=("early_free_deliveries", "sum"),
            quarters=("quarter_index", list), items=("item", ", ".join))
        for cid, r in zip(agg.index, agg.itertuples(index=False)):
            events.append(_event(
                cid, r.client_name, "early_free_delivery", crossed[cid], r.quarters,
                tr("Delivered before the promised date without billing extra {n} times: {items}", lang,
                   n=int(r.total), items=r.items),
                "early_free_deliveries", float(r.total), early_free_min))

    # support_without_followup
    unf, sup = p["support_without_followup"], p["support_requests"]
    roll_unf = _rolling_sum(unf, p["client_id"], followup_window)
    roll_sup = _rolling_sum(sup, p["client_id"], followup_window)
    bad = ((roll_unf >= followup_min) & (roll_unf >= followup_share * roll_sup) & (unf > 0)) \
        .fillna(False).astype(bool)
    bp = p.assign(roll_unf=roll_unf, roll_sup=roll_sup, first_q=first_q)[bad]
    for r in bp.itertuples(index=False):
        window = window_of(r.quarter_index, r.first_q, followup_window)
        sup_q = f"{int(r.support_requests)}" if pd.notna(r.support_requests) else "?"
        events.append(_event(
            r.client_id, r.client_name, "support_without_followup", r.quarter_index, [r.quarter_index],
            tr("{n} of {requests} support requests in {quarter} were never followed up ({n_window} of "
               "{requests_window} over {window})", lang, n=int(r.support_without_followup), requests=sup_q,
               quarter=quarter_label(int(r.quarter_index), lang), n_window=int(r.roll_unf),
               requests_window=int(r.roll_sup), window=quarter_ranges(window, lang)),
            "support_without_followup", r.roll_unf, followup_min))

    # communicator_not_rotated, technical_communicator: one event per run of a communicator
    comm = p["our_communicator"].astype(object).where(p["our_communicator"].notna(), "?")
    run_id = (p["client_id"].ne(p["client_id"].shift()) | comm.ne(comm.shift())
              | p["quarter_index"].ne(p["quarter_index"].shift() + 1)).cumsum()
    runs_of = lambda mask: p[mask].assign(run=run_id[mask]).groupby("run", sort=False).agg(  # noqa: E731
        client_id=("client_id", "first"), client_name=("client_name", "first"),
        who=("our_communicator", "first"), first=("quarter_index", "min"), last=("quarter_index", "max"),
        quarters=("quarter_index", list), tenure=("communicator_tenure_quarters", "max"), n=("quarter_index", "size"))
    over = (p["communicator_tenure_quarters"] > communicator_max_quarters).fillna(False).astype(bool)
    if over.any():
        for r in runs_of(over).itertuples(index=False):
            who = r.who if pd.notna(r.who) else tr("The same communicator", lang)
            events.append(_event(
                r.client_id, r.client_name, "communicator_not_rotated", r.first, r.quarters,
                tr("{who} has been our communicator for {n} consecutive quarters by {quarter} (limit {limit})",
                   lang, who=who, n=int(r.tenure), quarter=quarter_label(int(r.last), lang),
                   limit=communicator_max_quarters),
                "communicator_tenure_quarters", r.tenure, communicator_max_quarters))
    role = p["communicator_role"].astype(object)
    tech = role.map(lambda v: isinstance(v, str) and v.strip().lower() == "technical").astype(bool)
    if tech.any():
        for r in runs_of(tech).itertuples(index=False):
            who = r.who if pd.notna(r.who) else tr("A technical specialist", lang)
            events.append(_event(
                r.client_id, r.client_name, "technical_communicator", r.first, r.quarters,
                tr("{who} (technical) was our communicator in {quarters}", lang, who=who,
                   quarters=quarter_ranges(r.quarters, lang)),
                "quarters_technical", r.n, None))

    out = pd.DataFrame(events, columns=EVENT_COLUMNS)
    order = {m: i for i, m in enumerate(MISTAKES)}
    out = out.assign(_o=out["mistake"].map(order)).sort_values(
        ["client_id", "_o", "quarter_index"]).drop(columns="_o").reset_index(drop=True)
    return out


def mistakes_by_client(panel: pd.DataFrame, events: pd.DataFrame, max_evidence: int = 3,
                       lang: str = "en") -> pd.DataFrame:
    """One row per client and mistake: detected, clear, or not measured.

    Columns: client_id, client_name, mistake, label, status ('detected' | 'clear' |
    'not_measured'), detected (boolean; NA when not measured), first_quarter, last_quarter,
    quarters (all cited quarters), n_events, evidence (up to `max_evidence` event sentences),
    value (the largest number behind the detection), threshold.
    """
    panel = panel.reset_index(drop=True)
    ids = panel["client_id"].astype(str)
    clients = pd.DataFrame({"client_id": ids, "client_name": _names(panel)}) \
        .drop_duplicates("client_id", keep="last")
    frames = []
    for mistake in MISTAKES:
        need = MISTAKE_COLUMNS[mistake]
        cols = [c for c in need if c in panel.columns]
        if cols and (len(cols) == len(need) or need == _VALUE_COLUMNS):
            known = panel[cols].notna()
            row_ok = known.all(axis=1) if mistake in ("team_growth_unplanned",
                                                       "support_without_followup") else known.any(axis=1)
            measured = row_ok.groupby(ids).any()
        else:
            measured = pd.Series(False, index=pd.Index(clients["client_id"]))
        frames.append(clients.assign(mistake=mistake, label=tr(MISTAKE_LABELS[mistake], lang),
                                     _measured=clients["client_id"].map(measured).fillna(False)
                                     .astype(bool).to_numpy()))
    out = pd.concat(frames, ignore_index=True)
    if len(events):
        ev = events.sort_values("quarter_index")
        g = ev.groupby(["client_id", "mistake"], sort=False)

        def texts(t: pd.Series) -> str:
            t = list(t)
            more = len(t) - max_evidence
            return "; ".join(t[:max_evidence]) + (tr("; and {more} more", lang, more=more) if more > 0 else "")

        def cited(t: pd.Series) -> str:
            qs: set[int] = set()
            for q in t:
                qs.update(_parse_ranges(q))
            return quarter_ranges(qs)

        agg = g.agg(first_qi=("quarter_index", "min"), last_qi=("quarter_index", "max"),
                    n_events=("quarter_index", "size"), evidence=("evidence", texts),
                    quarters=("quarters", cited), value=("value", "max"),
                    threshold=("threshold", "first")).reset_index()
        agg["first_quarter"] = agg.pop("first_qi").map(quarter_label)
        agg["last_quarter"] = agg.pop("last_qi").map(quarter_label)
        out = out.merge(agg, on=["client_id", "mistake"], how="left")
    else:
        for c in ("first_quarter", "last_quarter", "quarters", "evidence"):
            out[c] = None
        out["n_events"], out["value"], out["threshold"] = 0, np.nan, np.nan
    det = out["n_events"].fillna(0) > 0
    out["status"] = np.where(det, "detected", np.where(out["_measured"], "clear", "not_measured"))
    out["detected"] = pd.array(np.where(det, True, np.where(out["_measured"], False, None)),
                               dtype="boolean")
    nm = out["status"] == "not_measured"
    out.loc[nm, "evidence"] = out.loc[nm, "mistake"].map(
        lambda m: tr("not measured: {columns} not in the data", lang, columns=", ".join(MISTAKE_COLUMNS[m][:2])))
    out["n_events"] = out["n_events"].fillna(0).astype(int)
    cols = ["client_id", "client_name", "mistake", "label", "status", "detected", "first_quarter",
            "last_quarter", "quarters", "n_events", "evidence", "value", "threshold"]
    return out[cols]


def _parse_ranges(text: str) -> list[int]:
    out: list[int] = []
    for part in str(text).split(", "):
        if not part:
            continue
        a, _, b = part.partition("–")
        ia = int(a[:4]) * 4 + int(a[-1]) - 1
        ib = int(b[:4]) * 4 + int(b[-1]) - 1 if b else ia
        out.extend(range(ia, ib + 1))
    return out


def mistake_counts(by_client: pd.DataFrame) -> pd.DataFrame:
    """Per mistake: mistake, label, clients_detected, clients_clear, clients_not_measured,
    clients_measured, share_detected (of measured clients; NaN when none measured), events."""
    rows = []
    for mistake in MISTAKES:
        m = by_client[by_client["mistake"] == mistake]
        det = int((m["status"] == "detected").sum())
        clear = int((m["status"] == "clear").sum())
        nm = int((m["status"] == "not_measured").sum())
        rows.append({"mistake": mistake, "label": MISTAKE_LABELS[mistake], "clients_detected": det,
                     "clients_clear": clear, "clients_not_measured": nm,
                     "clients_measured": det + clear,
                     "share_detected": det / (det + clear) if det + clear else np.nan,
                     "events": int(m["n_events"].sum())})
    return pd.DataFrame(rows)


def mistake_thresholds(params: Params) -> dict:
    """The keyword arguments of mistake_events() from config/params.yaml's `spiral` section."""
    sp = params.spiral
    return {"unplanned_min": sp.unplanned_min, "unplanned_share": sp.unplanned_share,
            "early_free_min": sp.early_free_min, "followup_min": sp.followup_min,
            "mix_min_quarters": sp.mix_min_quarters, "churn_after_quarters": sp.churn_after_quarters,
            "communicator_max_quarters": params.communicator_max_quarters}


def client_forecast_table(positions: pd.DataFrame, client_forecast: pd.DataFrame,
                          clv: pd.DataFrame) -> pd.DataFrame:
    """One row per live client: spiral position, next-four-quarter forecast, chain CLV.

    positions: client_positions(); client_forecast: Forecast.clients (per client and future
    quarter); clv: markov.client_clv(). Sorted by forecast revenue, largest first. The 80% range
    is the forecast's range of the four quarters' sum, not the sum of each quarter's range.
    """
    ahead = (client_forecast.groupby("client_id")
             .agg(forecast_revenue=("revenue_mean", "sum"), forecast_lo_80=("horizon_revenue_lo_80", "first"),
                  forecast_hi_80=("horizon_revenue_hi_80", "first")))
    live = positions.loc[positions["state"] != CHURNED].set_index("client_id")
    out = live[["client_name", "current_phase", "turns_completed", "revenue_last_4q"]].join(ahead, how="inner")
    out = out.join(clv.set_index("client_id")[["future_value"]], how="left")
    out = out.rename(columns={"current_phase": "phase", "turns_completed": "turns completed",
                              "revenue_last_4q": "revenue, last 4 quarters",
                              "forecast_revenue": "forecast, next 4 quarters", "forecast_lo_80": "80% low",
                              "forecast_hi_80": "80% high", "future_value": "revenue still to come, discounted (spiral)"})
    return out.sort_values("forecast, next 4 quarters", ascending=False).reset_index()
