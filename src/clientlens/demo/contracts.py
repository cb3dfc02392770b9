"""contracts.csv: one contract per run of a phase, each renewing the previous; retainers for the big."""
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


def render_contracts(plan: ClientPlan, cal: Calendar, value_q: np.ndarray,
                     rng: np.random.Generator) -> tuple[dict[str, list], np.ndarray]:
    """One contract per run of a phase, each renewing the previous; retainers for the big.

    Returns the rows and the contract id of each active quarter (what its invoices bill).
    """
    rows: dict[str, list] = {c: [] for c in TABLES["contracts"].column_names}
    fx = dict(FX_RATES)[plan.currency]
    lo, hi = quarter_day_bounds(plan, cal)
    contract_of_q = np.empty(len(plan.phases), dtype=object)
    previous = None
    stopped = plan.stop_q < cal.nq
    for j, (a, b) in enumerate(segments(plan.phases)):
        cid = f"K-{plan.client_id}-{j + 1:02d}"
        phase = int(plan.phases[a])
        end = int(hi[b - 1])
        if b == len(plan.phases) and not stopped:  # still running: a planned end date
            end += int(rng.integers(1, 3)) * 91
        value = max(500.0, round(float(value_q[a:b].sum()) / fx * rng.uniform(0.9, 1.1), -2))
        _append(rows, contract_id=cid, client_id=plan.client_id,
                contract_type="support" if phase == SUPPORT else "project",
                start_date=int(lo[a]), end_date=end, value=value, currency=plan.currency,
                renewal_of=previous, phase=STATES[phase])
        contract_of_q[a:b] = cid
        previous = cid
    if plan.archetype in ("whale", "steady_star") and len(plan.phases):
        yearly = 4 * float(value_q.mean()) * 0.25 / fx
        _append(rows, contract_id=f"K-{plan.client_id}-R1", client_id=plan.client_id,
                contract_type="retainer", start_date=int(lo[0]),
                end_date=int(hi[-1]) if stopped else None, value=max(1000.0, round(yearly, -2)),
                currency=plan.currency, renewal_of=None, phase=None)
    return rows, contract_of_q


def _append(rows: dict[str, list], **values) -> None:
    for k, v in values.items():
        rows[k].append(v)
