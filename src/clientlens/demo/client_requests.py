"""requests.csv: the client's change requests, incidents, estimate requests, questions and support."""
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
    float_array,
    row_numbers,
)
from clientlens.demo.client_plan import ClientPlan, quarter_day_bounds
from clientlens.demo.spiral_chain import SUPPORT
from clientlens.demo.window import Calendar, pick_days
from clientlens.intake.contract import TABLES

REQUEST_TYPES = ("change_request", "incident", "estimate_request", "question", "support")
URGENCY = ("low", "normal", "high", "urgent")


def _request_times(lo: np.ndarray, hi: np.ndarray, after: np.ndarray, cal: Calendar,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Day and 15-minute slot of each request: office hours, or a Friday night / weekend."""
    n = len(lo)
    u = rng.random((3, n))
    day = pick_days(cal.workdays, lo, hi, u[0])
    slot = 36 + (u[1] * 36).astype(np.int64)  # 09:00-17:45
    if after.any():
        # Friday night: the last Friday on or before a random day of the range.
        d = lo[after] + (u[0][after] * (hi[after] - lo[after] + 1)).astype(np.int64)
        friday = d - ((d + 3) % 7 - 4) % 7
        friday = np.where(friday < lo[after], d, friday)
        day[after] = friday
        slot[after] = 77 + (u[2][after] * 17).astype(np.int64)  # 19:15-23:15
    return day, slot


def render_requests(plan: ClientPlan, cal: Calendar, deliverable_q: np.ndarray,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Requests per active quarter; their rates follow the phase, archetype and decline."""
    prof = plan.profile
    ph = plan.phases
    n_active = len(ph)
    scale = np.sqrt(np.maximum(plan.volume, 1.0) / max(prof.hours_median, 1.0))
    scale = np.clip(scale, 0.3, 2.0)
    if plan.archetype in ("silent_churner", "insourcing_exit"):
        scale = scale * plan.decline
    rates = np.zeros((n_active, 5))
    rates[:, 0] = prof.change_requests * np.array([1.5, 1.2, 0.6, 0.5])[ph]
    rates[:, 1] = prof.incidents * np.array([0.7, 0.7, 2.5, 1.2])[ph]
    rates[:, 2] = prof.estimate_requests * np.where(ph == SUPPORT, 1.5, 1.0)
    rates[:, 3] = prof.questions
    rates[:, 4] = prof.support_requests * np.array([0.5, 0.5, 1.0, 3.0])[ph]
    if plan.archetype == "estimate_shopper":  # shopping does not shrink with the tiny orders
        rates[:, 2] = prof.estimate_requests
    else:
        rates *= scale[:, None]
    counts = rng.poisson(rates)
    qi = np.repeat(np.repeat(np.arange(n_active), 5), counts.ravel())
    rtype = np.repeat(np.tile(np.arange(5), n_active), counts.ravel())
    n = len(qi)
    u = rng.random((8, n))
    urgency = np.searchsorted(np.cumsum(prof.urgency_p), u[0], side="right").clip(0, 3)
    urgent = urgency >= 2
    after = urgent & (u[1] < prof.urgent_after_hours_p)
    lo, hi = quarter_day_bounds(plan, cal)
    day, slot = _request_times(lo[qi], hi[qi], after, cal, rng)
    cr, est, sup = rtype == 0, rtype == 2, rtype == 4
    approval = np.where(cr | est, np.round(rng.gamma(2.0, prof.approval_days / 2.0, n) + 0.5, 1), np.nan)
    planned = np.where(cr, u[2] < prof.planned_p, False)
    accepted = np.where(cr, u[3] < prof.accepted_p, False)
    # An accepted planned change is paid work; accepted unplanned ones are paid only when the
    # client is not a scope creeper (they get them for free).
    free_scope = plan.archetype == "scope_creeper" or plan.mistake == "agree_to_every_wish"
    cr_order = accepted & (planned | (~free_scope & (u[4] < 0.7)))
    became = np.where(est, u[5] < prof.estimate_order_p, cr_order)
    contradicts = np.where(cr, u[6] < prof.contradict_p, False)
    followed = np.where(sup, u[7] < prof.followup_p, False)

    # Link change requests to a deliverable of the same quarter, when there is one.
    deliverable = np.full(n, -1, dtype=np.int64)
    if len(deliverable_q):
        first_of_q = np.searchsorted(deliverable_q, np.arange(n_active))
        last_of_q = np.searchsorted(deliverable_q, np.arange(n_active), side="right")
        has = cr & (last_of_q[qi] > first_of_q[qi])
        pick = first_of_q[qi] + (u[7] * (last_of_q[qi] - first_of_q[qi])).astype(np.int64)
        deliverable = np.where(has, pick, -1)
    order = np.lexsort((slot, day))
    return {
        "day": day[order], "slot": slot[order], "type": rtype[order], "urgency": urgency[order],
        "approval": approval[order],
        "became": bool_codes(became, cr | est)[order], "contradicts": bool_codes(contradicts, cr)[order],
        "planned": bool_codes(planned, cr)[order], "accepted": bool_codes(accepted, cr)[order],
        "followed": bool_codes(followed, sup)[order], "deliverable": deliverable[order],
        "qi": qi[order],
    }


def requests_table(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], dicts) -> pa.Table:
    cat = concat_rows([r for _, r in parts])
    lengths = [len(r["day"]) for _, r in parts]
    client = decoded(pa.array([p.client_id for p, _ in parts], type=pa.string()),
                   np.repeat(np.arange(len(parts)), lengths))
    request_id = pc.binary_join_element_wise(client, pc.utf8_lpad(row_numbers(lengths), 4, "0"), "-R")
    created = pc.binary_join_element_wise(pc.cast(date_array(cat["day"]), pa.string()),
                                          decoded(dicts["slot"], cat["slot"]), " ")
    # Deliverable ids are per client: "<client>-D<nnn>" of the client's own numbering.
    has_d = cat["deliverable"] >= 0
    dseq = pc.cast(pa.array(cat["deliverable"] + 1), pa.string())
    deliverable = pc.binary_join_element_wise(client, pc.utf8_lpad(dseq, 3, "0"), "-D")
    deliverable = pc.if_else(pa.array(has_d), deliverable, pa.nulls(len(has_d), pa.string()))
    return arrow_table([
        request_id, client, decoded(dicts["request_type"], cat["type"]), created,
        decoded(dicts["urgency"], cat["urgency"]), float_array(cat["approval"]),
        bool_array(cat["became"]), bool_array(cat["contradicts"]), bool_array(cat["planned"]),
        bool_array(cat["accepted"]), bool_array(cat["followed"]), deliverable,
    ], TABLES["requests"].column_names)
