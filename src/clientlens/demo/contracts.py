"""contracts.csv: steady yearly retainers, lumpy fixed-price projects, or one contract per phase run.

A client's contract kind (archetypes.Assignment.contract_kind) decides how it signs:

- retainer: a yearly retainer from its first quarter, renewed each year at a steady value (the
  same yearly fee within a few per cent), so its signed value does not swing.
- project, lumpy (firms.FirmConfig.lumpy_projects): fixed-price projects over irregular blocks
  of quarters, one big one first and smaller ones after, each priced at the work it buys; a
  healthy project client's signed value swings legitimately from year to year.
- project, not lumpy: one contract per run of a spiral phase (cut every year), a support
  contract for a support run.

Each contract renews the one before it. A running client's last contract has a planned end
date after the window; a stopped client's ends on its last active day, unless it is a stale
contract (ClientPlan.stale_contract): open-ended, no end date, nobody working on it.
"""
from __future__ import annotations

import numpy as np

from clientlens.demo.client_plan import ClientPlan, quarter_day_bounds
from clientlens.demo.currencies import FX_RATES
from clientlens.demo.spiral_chain import STATES, SUPPORT
from clientlens.demo.window import Calendar
from clientlens.intake.contract import TABLES


def segments(phases: np.ndarray, max_len: int = 4) -> list[tuple[int, int]]:
    """Runs of one phase as (first, last+1) active-quarter indices, cut every `max_len`."""
    out = []
    start = 0
    for t in range(1, len(phases) + 1):
        if t == len(phases) or phases[t] != phases[start] or t - start >= max_len:
            out.append((start, t))
            start = t
    return out


def contract_blocks(plan: ClientPlan, rng: np.random.Generator) -> list[tuple[int, int]]:
    """The (first, last+1) active quarters each contract covers."""
    n = len(plan.phases)
    if plan.contract_kind == "retainer":
        return [(a, min(a + 4, n)) for a in range(0, n, 4)]
    if not plan.lumpy_projects:
        return segments(plan.phases)
    # One big project first, then smaller ones at irregular intervals.
    out, a = [], 0
    length = int(rng.integers(3, 7))
    while a < n:
        b = min(n, a + length)
        out.append((a, b))
        a = b
        length = int(rng.integers(1, 4))
    return out


def render_contracts(plan: ClientPlan, cal: Calendar, value_q: np.ndarray,
                     rng: np.random.Generator) -> tuple[dict[str, list], np.ndarray]:
    """The client's contracts (see the module doc) and the contract id of each active quarter
    (what its invoices bill)."""
    rows: dict[str, list] = {c: [] for c in TABLES["contracts"].column_names}
    fx = dict(FX_RATES)[plan.currency]
    lo, hi = quarter_day_bounds(plan, cal)
    contract_of_q = np.empty(len(plan.phases), dtype=object)
    previous = None
    stopped = plan.stop_q < cal.nq
    retainer = plan.contract_kind == "retainer"
    blocks = contract_blocks(plan, rng)
    # A retainer's yearly fee: what a usual year of its work bills, give or take a few per cent.
    yearly = 4 * float(value_q.mean()) / fx if len(value_q) else 0.0
    for j, (a, b) in enumerate(blocks):
        cid = f"K-{plan.client_id}-{j + 1:02d}"
        phase = int(plan.phases[a])
        end: int | None = int(hi[b - 1])
        last = b == len(plan.phases)
        if retainer:
            end = int(lo[a]) + 364 if last and not stopped else end
            value = max(1000.0, round(yearly * rng.uniform(0.97, 1.03), -2))
            kind, phase_text = "retainer", None
        else:
            if last and not stopped:  # still running: a planned end date
                end += int(rng.integers(1, 3)) * 91
            value = max(500.0, round(float(value_q[a:b].sum()) / fx * rng.uniform(0.85, 1.2), -2))
            support_run = bool((plan.phases[a:b] == SUPPORT).all())
            kind = "support" if support_run and not plan.lumpy_projects else "project"
            phase_text = STATES[phase]
        if last and plan.stale_contract:
            end = None
        _append(rows, contract_id=cid, client_id=plan.client_id, contract_type=kind,
                start_date=int(lo[a]), end_date=end, value=value, currency=plan.currency,
                renewal_of=previous, phase=phase_text)
        contract_of_q[a:b] = cid
        previous = cid
    return rows, contract_of_q


def _append(rows: dict[str, list], **values) -> None:
    for k, v in values.items():
        rows[k].append(v)
