"""Time entries: who logged which hours on which task, when, at what rate (time_entries.csv).

A client's billable hours follow its phase; communication, presale, rework, unplanned scope
and internal hours are non-billable lines on top. The Harvest clients' entries are written by
clientlens.demo.harvest from the same columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clientlens.demo.arrow_columns import (
    arrow_table,
    coded,
    concat_rows,
    date_array,
    decoded,
    row_numbers,
)
from clientlens.demo.client_plan import ClientPlan, quarter_day_bounds
from clientlens.demo.people import (
    AM,
    ARCH,
    COMM,
    DESIGN,
    DEV,
    PM,
    QA,
    ROLES,
    SUPPORT_ENG,
    People,
)
from clientlens.demo.spiral_chain import FEATURE, STABILITY, STATES, UX
from clientlens.demo.team import Team
from clientlens.demo.window import (
    OFFICE_END_SLOT,
    OFFICE_START_SLOT,
    Calendar,
    pick_days,
)
from clientlens.intake.contract import TABLES, WORK_TYPES

# Task texts and the work type / rework flag they must map to under config work_type_rules
# and rework_pattern (tests check the mapping). Beware "ui" inside words like "require".
TASKS = (
    ("Feature development", "feature", False), ("Backend implementation", "feature", False),
    ("Frontend development", "feature", False), ("MVP implementation", "feature", False),
    ("UX design", "ux", False), ("UI prototyping", "ux", False),
    ("Usability testing", "ux", False), ("Interface design review", "ux", False),
    ("Bug fixing / stabilisation", "stability", False),
    ("Refactoring and tech debt", "stability", False),
    ("Performance tuning", "stability", False), ("Monitoring setup", "stability", False),
    ("Support", "support", False), ("Maintenance", "support", False),
    ("Helpdesk tickets", "support", False),
    ("Client call / approvals", "communication", False), ("Status meeting", "communication", False),
    ("Weekly sync with client", "communication", False),
    ("Estimate for new module", "presale", False), ("Proposal preparation", "presale", False),
    ("Presale workshop", "presale", False),
    ("Feature rework after reverted spec", "feature", True),
    ("UX redo after reverted change", "ux", True),
    ("Bug fix rework (our defect)", "stability", True),
    ("Support redo after reverted change", "support", True),
    ("Feature development (unplanned change)", "feature", False),
    ("Extra feature implementation (unplanned)", "feature", False),
    ("Internal admin", "other", False), ("Onboarding", "other", False),
)
TASK_TEXT = np.array([t[0] for t in TASKS])
TASK_WORK_TYPE = np.array([WORK_TYPES.index(t[1]) for t in TASKS], dtype=np.int8)
TASK_REWORK = np.array([t[2] for t in TASKS])


def _task_ids(work_type: str, rework: bool = False, unplanned: bool = False) -> np.ndarray:
    return np.array([i for i, (text, wt, rw) in enumerate(TASKS)
                     if wt == work_type and rw == rework and ("unplanned" in text) == unplanned])


# Time-entry "lines": what kind of hours a budget buys.
L_FEATURE, L_UX, L_STABILITY, L_SUPPORT, L_COMM, L_PRESALE, L_REWORK, L_SCOPE, L_INTERNAL = range(9)
N_LINES = 9
LINE_BILLABLE = np.array([True] * 4 + [False] * 5)
LINE_TASKS = [_task_ids("feature"), _task_ids("ux"), _task_ids("stability"), _task_ids("support"),
              _task_ids("communication"), _task_ids("presale"), None,
              _task_ids("feature", unplanned=True), _task_ids("other")]
REWORK_TASK = np.array([_task_ids(p, rework=True)[0] for p in STATES[:4]])

HOUR_VALUES = np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0])
HOUR_PROBS = np.array([0.04, 0.10, 0.06, 0.14, 0.12, 0.14, 0.09, 0.10, 0.09, 0.05, 0.04, 0.03])
HOUR_PROBS = HOUR_PROBS / HOUR_PROBS.sum()
MEAN_ENTRY_HOURS = float(HOUR_VALUES @ HOUR_PROBS)


def _pick(pool: np.ndarray, u: np.ndarray, size: np.ndarray | int) -> np.ndarray:
    """pool[floor(u * size)], one draw per element: a vectorised uniform choice."""
    return pool[np.minimum((u * size).astype(np.int64), len(pool) - 1)]


def billable_shares(plan: ClientPlan) -> np.ndarray:
    """Share of billable hours per spiral work type in each active quarter [q, 4]."""
    n = len(plan.phases)
    shares = np.full((n, 4), 0.1)
    shares[np.arange(n), plan.phases] = 0.7
    banned = {"feature_without_ux": UX, "ux_without_feature": FEATURE,
              "no_stabilisation": STABILITY}.get(plan.mistake or "")
    if banned is not None:
        shares[:, banned] = 0.0
    return shares / shares.sum(axis=1, keepdims=True)


def render_time(plan: ClientPlan, team: Team, people: People, cal: Calendar,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The client's time entries, as arrays sorted by date and start time."""
    prof = plan.profile
    n_active = len(plan.phases)
    vol = plan.volume
    budget = np.zeros((n_active, N_LINES))
    budget[:, :4] = vol[:, None] * billable_shares(plan)
    budget[:, L_COMM] = prof.comm_share * vol
    budget[:, L_PRESALE] = prof.presale_share * vol + prof.presale_hours * plan.decline * plan.prorate
    budget[:, L_REWORK] = prof.rework_share * vol
    budget[:, L_SCOPE] = prof.scope_share * vol
    budget[:, L_INTERNAL] = prof.internal_share * vol
    counts = rng.poisson(budget / MEAN_ENTRY_HOURS)
    # Every active quarter has billable work of its phase (so it is active and has a phase).
    counts[np.arange(n_active), plan.phases] = np.maximum(counts[np.arange(n_active), plan.phases], 1)

    qi = np.repeat(np.repeat(np.arange(n_active), N_LINES), counts.ravel())
    line = np.repeat(np.tile(np.arange(N_LINES), n_active), counts.ravel())
    n = len(qi)
    hours = rng.choice(HOUR_VALUES, size=n, p=HOUR_PROBS)

    # Guarantee: the phase's work type has the most billable hours of its quarter. Where chance
    # says otherwise, the competing billable hours are re-labelled as phase work.
    billable = LINE_BILLABLE[line]
    by_type = np.zeros((n_active, 4))
    np.add.at(by_type, (qi[billable], line[billable]), hours[billable])
    phase_hours = by_type[np.arange(n_active), plan.phases]
    others = by_type.copy()
    others[np.arange(n_active), plan.phases] = -1.0
    bad_q = np.flatnonzero(others.max(axis=1) >= phase_hours)
    if len(bad_q):
        fix = billable & np.isin(qi, bad_q) & (line != plan.phases[qi])
        line = np.where(fix, plan.phases[qi], line)

    u = rng.random((6, n))
    # Who: a role per line, then a person of that role on the client's roster.
    group = np.full(n, DEV, dtype=np.int64)
    group[line == L_UX] = DESIGN
    group[(line == L_STABILITY) & (u[0] < 0.3)] = QA
    group[(line == L_SUPPORT) & (u[0] < 0.6)] = SUPPORT_ENG
    group[line == L_COMM] = np.where(u[0][line == L_COMM] < 0.65, COMM, PM)
    group[line == L_PRESALE] = np.where(u[0][line == L_PRESALE] < 0.5, ARCH, AM)
    rw = line == L_REWORK
    group[rw] = np.array([DEV, DESIGN, DEV, SUPPORT_ENG])[plan.phases[qi[rw]]]
    person = np.empty(n, dtype=np.int64)
    for g in range(len(ROLES)):
        m = group == g
        if m.any():
            person[m] = _pick(team.roster[g], u[1][m], team.size[g][qi[m]])
    m = group == COMM
    person[m] = team.communicator[qi[m]]

    # What: a task text of the line (rework: of the quarter's phase).
    task = np.empty(n, dtype=np.int64)
    for ln in range(N_LINES):
        m = line == ln
        if m.any() and ln != L_REWORK:
            task[m] = _pick(LINE_TASKS[ln], u[2][m], len(LINE_TASKS[ln]))
    task[rw] = REWORK_TASK[plan.phases[qi[rw]]]

    # When: office hours on workdays, or after hours (evenings and weekends).
    lo, hi = quarter_day_bounds(plan, cal)
    lo_e, hi_e = lo[qi], hi[qi]
    after = u[3] < prof.after_hours_p
    weekend = after & (u[4] < 0.5)
    day = pick_days(cal.workdays, lo_e, hi_e, u[5])
    if weekend.any():
        day[weekend] = pick_days(cal.weekend, lo_e[weekend], hi_e[weekend], u[5][weekend])
    slot_u = rng.random(n)
    slot = np.where(after, 76 + (slot_u * 14).astype(np.int64),  # 19:00-22:15
                    36 + (slot_u * 32).astype(np.int64))  # 09:00-16:45
    slot = np.where(weekend, 40 + (slot_u * 40).astype(np.int64), slot)  # weekends 10:00-19:45
    is_weekend = (day + 3) % 7 >= 5
    after_hours = is_weekend | (slot < OFFICE_START_SLOT) | (slot >= OFFICE_END_SLOT)

    billable = LINE_BILLABLE[line]
    bill_rate = np.where(billable, np.round(people.bill_rate[person] * prof.rate_mult), 0.0)
    cost_rate = people.cost_rate[person]
    order = np.lexsort((slot, day))
    out = {
        "day": day[order], "slot": slot[order], "after_hours": after_hours[order],
        "qi": qi[order], "task": task[order], "person": person[order], "hours": hours[order],
        "billable": billable[order], "bill_rate": bill_rate[order], "cost_rate": cost_rate[order],
    }
    out["billable_amount"] = np.round(out["hours"] * out["bill_rate"], 2)
    out["cost_amount"] = np.round(out["hours"] * out["cost_rate"], 2)
    return out


@dataclass(frozen=True)
class TimeColumns:
    """The time entries of several clients, one client after another, in the columns that
    time_entries.csv and the Harvest report share."""
    entries: dict[str, np.ndarray]  # render_time's arrays, concatenated
    lengths: list[int]  # entries per client
    client_code: np.ndarray  # each entry's client: an index into the clients given
    projects: pa.Array  # the clients' project names, client after client
    project_code: np.ndarray  # each entry's project: an index into `projects`
    role: np.ndarray  # each entry's person's role
    date: pa.Array
    task: pa.DictionaryArray
    hours: pa.Array
    bill_rate: pa.Array
    cost_rate: pa.Array
    billable_amount: pa.Array
    cost_amount: pa.Array

    @property
    def n(self) -> int:
        return len(self.entries["day"])


def time_columns(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], people: People,
                 dicts: dict[str, pa.Array]) -> TimeColumns:
    cat = concat_rows([t for _, t in parts])
    lengths = [len(t["day"]) for _, t in parts]
    client_code = np.repeat(np.arange(len(parts)), lengths)
    project_names = [p.projects for p, _ in parts]
    proj_offset = np.cumsum([0] + [len(x) for x in project_names[:-1]])
    return TimeColumns(
        entries=cat, lengths=lengths, client_code=client_code,
        projects=pa.array([x for names in project_names for x in names], type=pa.string()),
        project_code=proj_offset[client_code] + cat["project"], role=people.role[cat["person"]],
        date=date_array(cat["day"]), task=coded(dicts["task"], cat["task"]), hours=pa.array(cat["hours"]),
        bill_rate=pa.array(cat["bill_rate"].astype(np.int64)),  # whole currency units
        cost_rate=pa.array(cat["cost_rate"].astype(np.int64)),
        billable_amount=pa.array(cat["billable_amount"]), cost_amount=pa.array(cat["cost_amount"]),
    )


def time_entries_table(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], people: People,
                       dicts: dict[str, pa.Array]) -> pa.Table:
    """The time_entries.csv rows of clients that log their time there."""
    tc = time_columns(parts, people, dicts)
    cat, n = tc.entries, tc.n
    ids = pa.array([p.client_id for p, _ in parts], type=pa.string())
    entry_id = pc.binary_join_element_wise(decoded(ids, tc.client_code),
                                           pc.utf8_lpad(row_numbers(tc.lengths), 6, "0"), "-T")
    return arrow_table([
        entry_id, tc.date, coded(dicts["slot"], cat["slot"]), pa.array(cat["after_hours"]),
        coded(ids, tc.client_code), coded(tc.projects, tc.project_code), tc.task,
        coded(dicts["person"], cat["person"]), coded(dicts["role"], tc.role), tc.hours,
        pa.array(cat["billable"]), tc.bill_rate, tc.cost_rate, tc.billable_amount, tc.cost_amount,
        coded(dicts["usd"], np.zeros(n)),
        coded(dicts["work_type"], TASK_WORK_TYPE[cat["task"]]),
        pa.array(TASK_REWORK[cat["task"]]),
    ], TABLES["time_entries"].column_names)
