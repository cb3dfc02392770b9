"""surveys.csv: a yearly NPS survey and, for some clients, a quarterly CSAT survey."""
from __future__ import annotations

import numpy as np

from clientlens.demo.client_plan import ClientPlan, quarter_day_bounds
from clientlens.demo.team import Team
from clientlens.demo.window import Calendar, pick_days
from clientlens.intake.contract import TABLES


def render_surveys(plan: ClientPlan, team: Team, cal: Calendar, rng: np.random.Generator) -> dict[str, list]:
    """Yearly NPS at a client-specific month (some clients never asked), quarterly CSAT for some."""
    prof = plan.profile
    surveyed = "surveys" not in plan.tables_missing  # archetypes.assign_clients drew it
    csat = rng.random() < prof.csat_p
    month0 = int(rng.integers(0, 12))
    fading = plan.decline < 1.0
    if plan.archetype == "silent_churner" and fading.any():
        # Ask once while they fade: their yearly NPS falls inside the decline.
        q = plan.first_q + int(rng.choice(np.flatnonzero(fading)))
        month0 = (3 * q + int(rng.integers(0, 3))) % 12
    if not surveyed:
        return {c: [] for c in TABLES["surveys"].column_names}
    n_active = len(plan.phases)
    mean = np.full(n_active, prof.nps)
    if plan.archetype == "silent_churner":
        mean[fading] = 3.5
    if plan.mistake:
        mean[3:] -= 1.0  # the mistake starts to show

    lo, hi = quarter_day_bounds(plan, cal)
    months = np.arange(month0, 3 * cal.nq, 12)
    qa = months // 3 - plan.first_q
    ok = (qa >= 0) & (qa < n_active)
    months, qa = months[ok], qa[ok]
    m_lo = np.maximum(cal.m_start[months], lo[qa])
    m_hi = cal.m_start[months + 1] - 1
    ok = m_lo <= m_hi
    months, qa, m_lo, m_hi = months[ok], qa[ok], m_lo[ok], m_hi[ok]
    answers = rng.integers(1, 3, len(qa))  # the contact, sometimes the sponsor too
    nps_q = np.repeat(qa, answers)
    second = np.concatenate([np.arange(k) for k in answers]).astype(np.int64) if len(qa) else np.zeros(0, np.int64)
    nps_day = pick_days(cal.workdays, np.repeat(m_lo, answers), np.repeat(m_hi, answers), rng.random(len(nps_q)))
    nps_score = np.clip(np.round(rng.normal(mean[nps_q], 1.0)), 0, 10)
    who = [team.sponsor if s else team.client_contact[q] for q, s in zip(nps_q, second)]
    kind = ["nps"] * len(nps_q)
    day, score = nps_day, nps_score
    if csat:
        csat_q = np.arange(n_active)
        day = np.concatenate([day, pick_days(cal.workdays, lo, hi, rng.random(n_active))])
        score = np.concatenate([score, np.clip(np.round(rng.normal(1.0 + mean / 2.5, 0.7)), 1, 5)])
        who += list(team.client_contact[csat_q])
        kind += ["csat"] * n_active
    order = np.argsort(day, kind="stable")
    n = len(order)
    return {
        "survey_id": [f"S-{plan.client_id}-{j + 1:03d}" for j in range(n)],
        "client_id": [plan.client_id] * n, "survey_date": day[order].tolist(),
        "survey_type": [kind[i] for i in order], "score": score[order].tolist(),
        "respondent": [who[i] for i in order],
    }
