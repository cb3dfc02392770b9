"""Every row of one client, drawn from its own random stream, and its clients.csv row."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clientlens.demo.client_plan import ClientPlan
from clientlens.demo.client_requests import render_requests
from clientlens.demo.contracts import render_contracts, segments
from clientlens.demo.currencies import FX_RATES
from clientlens.demo.deliverables import render_deliverables
from clientlens.demo.invoices import render_invoices
from clientlens.demo.people import People
from clientlens.demo.random_streams import STREAM_RENDER, rng_for
from clientlens.demo.surveys import render_surveys
from clientlens.demo.team import contact_rows, make_team
from clientlens.demo.team_feedback import render_team_feedback
from clientlens.demo.time_entries import render_time
from clientlens.demo.window import Calendar

PROJECT_NAMES = (
    "Customer portal", "Mobile app", "Web shop", "Partner platform", "Analytics platform",
    "Booking system", "Data platform", "CRM integration", "Billing platform", "Internal tools",
    "Loyalty program", "Field service app", "Supplier portal", "Reporting hub", "Order system",
)


@dataclass
class ClientResult:
    time: dict[str, np.ndarray]
    requests: dict[str, np.ndarray]
    deliverables: dict[str, np.ndarray]
    small: dict[str, dict[str, list]]
    revenue: float  # reporting currency, from the invoices as written
    cost: float


def render_client(plan: ClientPlan, people: People, cal: Calendar, seed: int) -> ClientResult:
    """Every row of one client, from its own random stream."""
    rng = rng_for(seed, STREAM_RENDER, plan.k)
    team = make_team(plan, people, rng)
    time_rows = render_time(plan, team, people, cal, rng)
    n_active = len(plan.phases)
    value_q = np.bincount(time_rows["qi"], weights=time_rows["billable_amount"], minlength=n_active)
    contracts, contract_of_q = render_contracts(plan, cal, value_q, rng)

    # Projects: one per contract of a phase run; entries log time to their quarter's project.
    segs = segments(plan.phases)
    names = list(rng.choice(PROJECT_NAMES, size=min(len(PROJECT_NAMES), 3), replace=False))
    # Project names carry no work-type words: only the task should decide the work type.
    plan.projects = [f"{names[j % len(names)]} stage {j + 1}" for j in range(len(segs))]
    plan.project_codes = [f"{plan.client_id}-P{j + 1:02d}" for j in range(len(segs))]
    project_of_q = np.repeat(np.arange(len(segs)), [b - a for a, b in segs])
    time_rows["project"] = project_of_q[time_rows["qi"]]

    invoices = render_invoices(plan, cal, time_rows, contract_of_q, rng)
    deliverables = render_deliverables(plan, cal, rng)
    requests = render_requests(plan, cal, deliverables["qi"], rng)
    surveys = render_surveys(plan, team, cal, rng)
    feedback = render_team_feedback(plan, team, people, cal, rng)
    contacts = contact_rows(plan, team, people, cal)
    fx = dict(FX_RATES)[plan.currency]
    revenue = float(np.sum(np.array(invoices["amount"], dtype=np.float64) * fx))
    cost = float(time_rows["cost_amount"].sum())
    return ClientResult(time_rows, requests, deliverables,
                        {"contracts": contracts, "invoices": invoices, "surveys": surveys,
                         "team_feedback": feedback, "contacts": contacts},
                        revenue, cost)


def client_row(plan: ClientPlan) -> dict[str, list]:
    return {"client_id": [plan.client_id], "client_name": [plan.name], "industry": [plan.industry],
            "acquired_date": [plan.acquired_day], "exit_date": [plan.exit_day],
            "exit_reason": [plan.exit_reason]}
