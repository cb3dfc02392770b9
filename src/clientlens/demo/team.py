"""Our people on a client, who talks to the client each quarter, and whom they talk to."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clientlens.demo.client_plan import ClientPlan
from clientlens.demo.people import AM, DEV, FIRST_NAMES, LAST_NAMES, PM, ROLES, People
from clientlens.demo.window import Calendar


@dataclass
class Team:
    roster: list[np.ndarray]  # person ids per role (index = role)
    size: np.ndarray  # active roster size per role and active quarter [role, q]
    communicator: np.ndarray  # person id per active quarter
    communicator_role: np.ndarray  # contacts enum text per active quarter
    client_contact: np.ndarray  # contact names per active quarter
    sponsor: str  # the client's decision maker, who sometimes answers the NPS survey too


def make_team(plan: ClientPlan, people: People, rng: np.random.Generator) -> Team:
    """Our people on the client, and who talks to whom, per active quarter."""
    n_active = len(plan.phases)
    size = float(np.max(plan.volume)) if n_active else 1.0
    want = [int(np.clip(round(size / 380) + 1, 1, 40)), int(np.clip(round(size / 1500) + 1, 1, 6)),
            int(np.clip(round(size / 2000) + 1, 1, 4)), int(np.clip(round(size / 2500) + 1, 1, 3)),
            1 + (size > 3000), 1, 1]
    growing = plan.mistake == "team_growth_unplanned"
    if growing:  # room to add a developer every quarter
        want[DEV] = max(want[DEV], n_active + 1)
    roster = [rng.choice(people.by_role[r], size=min(w, len(people.by_role[r])), replace=False)
              for r, w in enumerate(want)]
    sizes = np.array([[len(r)] * n_active for r in roster], dtype=np.int64).reshape(len(ROLES), n_active)
    if growing:  # start with two developers, add one each quarter for the unplanned work
        sizes[DEV] = np.minimum(len(roster[DEV]), 2 + np.arange(n_active))
    elif plan.archetype != "whale":
        # Developers active per quarter follow that quarter's volume.
        sizes[DEV] = np.clip(np.round(plan.volume / 380) + 1, 1, len(roster[DEV])).astype(np.int64)

    # Our communicator: rotated every 3-7 quarters, unless the mistake says otherwise.
    comm = np.empty(n_active, dtype=np.int64)
    role_text = np.empty(n_active, dtype=object)
    technical = plan.mistake == "technical_communicator"
    rotate = plan.mistake not in ("communicator_not_rotated",)
    pool = roster[DEV] if technical else np.concatenate([people.by_role[AM], people.by_role[PM]])
    current = int(rng.choice(pool))
    next_change = int(rng.integers(3, 8)) - (int(rng.integers(0, 3)) if plan.first_q == 0 else 0)
    for t in range(n_active):
        if rotate and t >= next_change:
            others = pool[pool != current]
            current = int(rng.choice(others)) if len(others) else current
            next_change = t + int(rng.integers(3, 8))
        comm[t] = current
        r = people.role[current]
        role_text[t] = "technical" if technical else ("account_manager" if r == AM else "project_manager")

    # The client's contact: changes now and then; silent churners change it as they fade.
    change = rng.random(n_active) < plan.profile.contact_change_p
    change[0] = False
    if plan.archetype == "silent_churner":
        # A new manager each fading quarter, and nobody passes on the story.
        change |= plan.decline < 1.0
    contact_id = np.cumsum(change)
    names = [f"{FIRST_NAMES[i]} {LAST_NAMES[j]}" for i, j in
             zip(rng.integers(0, len(FIRST_NAMES), contact_id[-1] + 1 if n_active else 1),
                 rng.integers(0, len(LAST_NAMES), contact_id[-1] + 1 if n_active else 1))]
    # A new contact must differ from the previous one (a change is a change).
    for i in range(1, len(names)):
        if names[i] == names[i - 1]:
            names[i] = names[i] + "-" + LAST_NAMES[i % len(LAST_NAMES)]
    contact = np.array(names, dtype=object)[contact_id] if n_active else np.array([], dtype=object)
    sponsor = f"{FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]} {LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]}"
    return Team(roster, sizes, comm, role_text, contact, sponsor)


def contact_rows(plan: ClientPlan, team: Team, people: People, cal: Calendar) -> dict[str, list]:
    """contacts.csv: the client's contact and our communicator in each active quarter."""
    return {
        "client_id": [plan.client_id] * len(plan.phases),
        "quarter": [cal.quarters[q] for q in plan.active_quarters],
        "client_contact": list(team.client_contact),
        "our_communicator": [str(people.name[p]) for p in team.communicator],
        "communicator_role": list(team.communicator_role),
    }
