"""invoices.csv: the billable value of the time entries, invoiced per month or quarter."""
from __future__ import annotations

import numpy as np

from clientlens.demo.client_plan import ClientPlan
from clientlens.demo.currencies import FX_RATES
from clientlens.demo.spiral_chain import STATES
from clientlens.demo.window import Calendar


def render_invoices(plan: ClientPlan, cal: Calendar, time: dict[str, np.ndarray],
                    contract_of_q: np.ndarray, rng: np.random.Generator) -> dict[str, list]:
    """Invoices of billable value per month or quarter, issued on the period's last day."""
    prof = plan.profile
    bounds = cal.m_start if plan.monthly_billing else cal.q_start
    period = np.searchsorted(bounds, time["day"], side="right") - 1
    value = np.bincount(period, weights=time["billable_amount"], minlength=len(bounds) - 1)
    periods = np.flatnonzero(value > 0)
    fx = dict(FX_RATES)[plan.currency]
    n = len(periods)
    late = rng.uniform(prof.late_days[0], prof.late_days[1], n)
    unpaid = rng.random(n) < prof.unpaid_p
    issue = bounds[periods + 1] - 1
    q_of = np.searchsorted(cal.q_start, issue, side="right") - 1 - plan.first_q
    if plan.archetype == "silent_churner":  # payments slow as they fade
        fading = plan.decline[q_of] < 1.0
        late = np.where(fading, rng.uniform(15, 55, n), late)
        unpaid |= fading & (q_of == len(plan.phases) - 1) & (rng.random(n) < 0.5)
    due = issue + plan.pay_terms
    paid = np.maximum(due + np.round(late).astype(np.int64), issue)
    paid = np.where(unpaid | (paid > cal.last_day), -1, paid)
    return {
        "invoice_id": [f"INV-{plan.client_id}-{i + 1:03d}" for i in range(n)],
        "client_id": [plan.client_id] * n,
        "contract_id": contract_of_q[q_of].tolist(),
        "issue_date": issue.tolist(), "due_date": due.tolist(), "paid_date": paid.tolist(),
        "amount": np.round(value[periods] / fx, 2).tolist(), "currency": [plan.currency] * n,
        "work_type": [STATES[p] for p in plan.phases[q_of]],
    }
