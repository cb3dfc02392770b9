"""team_feedback.csv: how our team rates working with the client, quarter by quarter."""
from __future__ import annotations

import numpy as np

from clientlens.demo.client_plan import ClientPlan, quarter_day_bounds
from clientlens.demo.people import DESIGN, DEV, PM, People
from clientlens.demo.team import Team
from clientlens.demo.window import Calendar, pick_days
from clientlens.intake.contract import TABLES

TEAM_COMMENTS = {
    1: ("Client PM demands weekend work", "Requirements reversed again", "Nobody wants this account"),
    2: ("Unclear priorities", "Approvals take forever", "Tone in calls is hostile"),
    3: ("Workable but noisy", "Scope keeps moving", "OK collaboration"),
    4: ("Good collaboration", "Clear goals", "Responsive client"),
    5: ("A pleasure to work with", "Great partnership", "Client trusts the team"),
}


def render_team_feedback(plan: ClientPlan, team: Team, people: People, cal: Calendar,
                         rng: np.random.Generator) -> dict[str, list]:
    """One to three team ratings of the client per active quarter."""
    prof = plan.profile
    n_active = len(plan.phases)
    if "team_feedback" in plan.tables_missing:  # nobody collects it on this client
        return {c: [] for c in TABLES["team_feedback"].column_names}
    mean = np.full(n_active, prof.team_score)
    if plan.archetype == "silent_churner":
        mean[plan.decline < 1.0] -= 0.8
    if plan.mistake in ("agree_to_every_wish", "team_growth_unplanned"):
        mean[2:] -= 0.6  # the unplanned work wears the team down
    qa = np.repeat(np.arange(n_active), rng.integers(1, 4, n_active))
    n = len(qa)
    lo, hi = quarter_day_bounds(plan, cal)
    day = pick_days(cal.workdays, lo[qa], hi[qa], rng.random(n))
    score = np.clip(np.round(rng.normal(mean[qa], 0.7)), 1, 5).astype(np.int64)
    raters = np.concatenate([team.roster[DEV], team.roster[DESIGN], team.roster[PM]])
    person = raters[rng.integers(0, len(raters), n)]
    escalation = rng.random(n) < prof.escalation_p
    pick = rng.integers(0, 3, n)
    return {
        "feedback_id": [f"F-{plan.client_id}-{j + 1:03d}" for j in range(n)],
        "client_id": [plan.client_id] * n, "feedback_date": day.tolist(),
        "person": people.name[person].tolist(), "score": score.astype(np.float64).tolist(),
        "escalation": escalation.tolist(),
        "comment": [TEAM_COMMENTS[s][p] for s, p in zip(score.tolist(), pick.tolist())],
    }
