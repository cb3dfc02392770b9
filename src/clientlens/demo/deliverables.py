"""deliverables.csv: what we delivered each quarter, when we promised it, and what became of it."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clientlens.demo.arrow_columns import (
    arrow_table,
    bool_array,
    bool_codes,
    concat_rows,
    date_array,
    decoded,
    row_numbers,
)
from clientlens.demo.client_plan import ClientPlan, quarter_day_bounds
from clientlens.demo.spiral_chain import FEATURE, STABILITY, SUPPORT, UX
from clientlens.demo.window import Calendar
from clientlens.intake.contract import TABLES

DELIVERABLE_WORDS = {
    FEATURE: ("Checkout module", "Search service", "Import pipeline", "Notification service",
              "Admin panel", "Payments integration"),
    UX: ("Design system", "Onboarding flow redesign", "Mobile layouts", "Dashboard redesign",
         "Accessibility pass"),
    STABILITY: ("Performance fixes", "Monitoring dashboards", "Load test report",
                "Error budget fixes", "Database migration"),
    SUPPORT: ("Support runbook", "Release patch", "Maintenance release", "Helpdesk macros"),
}
DELIVERABLE_STATUS = ("in_progress", "delivered", "launched", "shelved")
LATE_DELIVERY_MEAN_DAYS = 9.0
DELIVERABLE_KEYS = ("qi", "name", "work_type", "promised", "delivered", "status", "launched", "billed_extra")


def render_deliverables(plan: ClientPlan, cal: Calendar, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What we delivered each quarter, when we promised it, and what became of it."""
    prof = plan.profile
    n_active = len(plan.phases)
    if "deliverables" in plan.tables_missing:  # the firm records none for this client
        return {k: np.zeros(0, dtype=object if k == "name" else np.int64) for k in DELIVERABLE_KEYS}
    rate = prof.deliverables * np.clip(np.sqrt(plan.volume / max(prof.hours_median, 1.0)), 0.4, 2.0)
    counts = rng.poisson(rate)
    free_early = plan.mistake == "early_free_delivery"
    if free_early:  # the mistake needs deliveries to be made "more than once"
        counts[0] = max(counts[0], 3)
    qi = np.repeat(np.arange(n_active), counts)
    n = len(qi)
    u = rng.random((6, n))
    lo, hi = quarter_day_bounds(plan, cal)
    promised = lo[qi] + (u[0] * (hi[qi] - lo[qi] + 1)).astype(np.int64)
    wt = np.where(u[1] < 0.8, plan.phases[qi], (u[2] * 4).astype(np.int64) % 4)
    # Most work arrives on the promised day or before it; a tail arrives late, by an
    # exponential few days to weeks.
    early = u[3] < prof.early_p
    late = ~early & (u[3] < prof.early_p + prof.late_delivery_p)
    late_by = np.ceil(rng.exponential(LATE_DELIVERY_MEAN_DAYS, n))
    delay = np.where(early, -(3 + (u[4] * 20).astype(np.int64)), np.where(late, np.maximum(late_by, 1), 0))
    delivered = promised + delay.astype(np.int64)
    last_active = int(cal.q_start[plan.stop_q]) - 1
    if plan.stop_q < cal.nq:  # nothing is delivered to a client that has gone
        delivered = np.minimum(delivered, last_active)
    delivered = np.maximum(delivered, plan.acquired_day)
    early = delivered < promised
    billed = u[5] < prof.early_billed_p
    if free_early and (early & ~billed).sum() < 2:
        # Plant the mistake for sure: the two roomiest deliverables arrive a week early, free.
        room = np.where(delivered <= cal.last_day, promised - plan.acquired_day, -1)
        pick = np.argsort(-room, kind="stable")[:2]
        pick = pick[room[pick] >= 2]
        delivered[pick] = promised[pick] - np.minimum(7, room[pick])
        early = delivered < promised
        billed[pick] = False
    billed_extra = bool_codes(billed, early)
    shelve_p = np.full(n, prof.shelve_p)
    if plan.archetype == "silent_churner":
        shelve_p = np.where(plan.decline[qi] < 1.0, 0.35, shelve_p)
    shelved = rng.random(n) < shelve_p
    launched = delivered + rng.integers(0, 35, n)
    in_progress = delivered > cal.last_day
    status = np.where(in_progress, 0, np.where(shelved, 3, np.where(launched <= cal.last_day, 2, 1)))
    order = np.lexsort((promised, qi))
    name_pick = rng.integers(0, 1 << 30, n)
    names = np.array([DELIVERABLE_WORDS[w][p % len(DELIVERABLE_WORDS[w])] for w, p in zip(wt, name_pick)],
                     dtype=object)
    return {
        "qi": qi[order], "name": names[order], "work_type": wt[order], "promised": promised[order],
        "delivered": np.where(in_progress, -1, delivered)[order], "status": status[order],
        "launched": np.where(status == 2, launched, -1)[order],
        "billed_extra": np.where(in_progress, -1, billed_extra)[order].astype(np.int8),
    }


def deliverables_table(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], dicts) -> pa.Table:
    cat = concat_rows([d for _, d in parts])
    lengths = [len(d["qi"]) for _, d in parts]
    client = decoded(pa.array([p.client_id for p, _ in parts], type=pa.string()),
                   np.repeat(np.arange(len(parts)), lengths))
    deliverable_id = pc.binary_join_element_wise(client, pc.utf8_lpad(row_numbers(lengths), 3, "0"), "-D")
    return arrow_table([
        deliverable_id, client, pa.array(cat["name"].astype(str).tolist(), type=pa.string()),
        decoded(dicts["work_type"], cat["work_type"]), date_array(cat["promised"]),
        date_array(cat["delivered"]), decoded(dicts["status"], cat["status"]),
        date_array(cat["launched"]), bool_array(cat["billed_extra"]),
    ], TABLES["deliverables"].column_names)
