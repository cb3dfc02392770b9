"""The archetypes: how each kind of client behaves, and how many of each the firm has.

Archetype mix (shares of `clients`; each planted archetype gets at least one client, whales
at least two, and every spiral-breaker mistake at least one; ordinary clients take the rest,
so at least 30 clients are needed for the full mix):

| archetype          | share | what is planted                                                 |
|--------------------|-------|-----------------------------------------------------------------|
| whale              | 3%    | large, premium-rate, long-standing; together > 50% of profit    |
| steady_star        | 8%    | mid-size, profitable, pay on time, happy                        |
| estimate_shopper   | 5%    | many estimate requests that never become orders, unbilled       |
|                    |       | presale hours, little revenue: loss-making                      |
| late_payer         | 6%    | pay 30-90 days after due; a few invoices never paid             |
| toxic              | 5%    | profitable but: urgent requests on Friday nights, contradicting |
|                    |       | change requests, 1-3 month approvals, low team scores,          |
|                    |       | escalations, long communication hours, work shelved             |
| scope_creeper      | 5%    | many unplanned change requests accepted, unbilled scope hours   |
|                    |       | larger than billed work: loss-making                            |
| spiral_follower    | 10%   | walks the planted Markov chain exactly (churn included)         |
| spiral_breaker     | 9%    | 1% per mistake, nine mistakes (see MISTAKES), each deviating in |
|                    |       | its own way, with a higher churn hazard once the mistake bites  |
| insourcing_exit    | 4%    | orders taper over 2-3 quarters of support, then stop; good NPS; |
|                    |       | exit_reason = insourcing                                        |
| silent_churner     | 6%    | over the 2-4 quarters before they stop: hours, orders and       |
|                    |       | requests fall, payments slow, NPS falls, the client contact     |
|                    |       | changes; exit_reason = churn for about half, no exit record for |
|                    |       | the others                                                      |
| ordinary           | rest  | walk the planted chain (churn included), average everything     |

About 10% of clients (never a toxic one: their after-hours start times matter) log time in
`harvest_time_report.csv` instead of `time_entries.csv`; about 10% are billed in EUR.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clientlens.demo.random_streams import STREAM_MIX, rng_for
from clientlens.demo.spiral_chain import MISTAKES

ARCHETYPE_SHARES = {
    "whale": 0.03, "steady_star": 0.08, "estimate_shopper": 0.05, "late_payer": 0.06,
    "toxic": 0.05, "scope_creeper": 0.05, "spiral_follower": 0.10, "spiral_breaker": 0.09,
    "insourcing_exit": 0.04, "silent_churner": 0.06,
}
MIN_CLIENTS = 30
HARVEST_SHARE = 0.10
EUR_SHARE = 0.10


@dataclass(frozen=True)
class Profile:
    """How one archetype behaves; every rate is per client-quarter unless said otherwise."""
    hours_median: float = 350.0  # billable hours in a full quarter of the feature phase
    hours_sigma: float = 0.35  # client-to-client spread (lognormal)
    rate_mult: float = 0.92  # bill rate vs our list rate
    comm_share: float = 0.08  # non-billable hours per billable hour, by kind
    presale_share: float = 0.02
    rework_share: float = 0.03
    scope_share: float = 0.03
    internal_share: float = 0.01
    presale_hours: float = 0.0  # extra non-billable presale hours a quarter
    after_hours_p: float = 0.03
    pre_existing_p: float = 0.5
    chain: str = "full"  # full (with churn), no_churn, planned_stop
    change_requests: float = 3.0
    incidents: float = 1.0
    estimate_requests: float = 0.3
    questions: float = 2.0
    support_requests: float = 1.0
    estimate_order_p: float = 0.6
    contradict_p: float = 0.03
    planned_p: float = 0.7
    accepted_p: float = 0.8
    followup_p: float = 0.9
    urgency_p: tuple[float, float, float, float] = (0.25, 0.55, 0.15, 0.05)
    urgent_after_hours_p: float = 0.04
    approval_days: float = 7.0
    late_days: tuple[float, float] = (-3.0, 6.0)  # uniform range of days paid after due
    unpaid_p: float = 0.0  # invoices never paid
    nps: float = 7.5
    team_score: float = 3.9
    escalation_p: float = 0.03
    contact_change_p: float = 0.06
    shelve_p: float = 0.05
    deliverables: float = 1.5
    early_p: float = 0.2  # a deliverable arrives before the promised date
    early_billed_p: float = 0.7  # ... and the early delivery is billed
    surveyed_p: float = 0.8
    csat_p: float = 0.4
    monthly_billing_p: float = 0.65


ORDINARY = Profile()
PROFILES: dict[str, Profile] = {
    "ordinary": ORDINARY,
    "spiral_follower": replace(ORDINARY, nps=8.0),
    "spiral_breaker": replace(ORDINARY, nps=6.8),
    "whale": replace(ORDINARY, hours_median=7000.0, hours_sigma=0.2, rate_mult=1.3, comm_share=0.04,
                     presale_share=0.01, rework_share=0.02, scope_share=0.0, pre_existing_p=1.0,
                     chain="no_churn", change_requests=8.0, incidents=3.0, estimate_requests=1.0,
                     questions=5.0, support_requests=3.0, estimate_order_p=0.8, after_hours_p=0.05,
                     late_days=(-3.0, 5.0), nps=8.5, team_score=4.1, deliverables=4.0,
                     surveyed_p=1.0, contact_change_p=0.05, monthly_billing_p=1.0),
    "steady_star": replace(ORDINARY, hours_median=900.0, hours_sigma=0.25, rate_mult=1.15,
                           comm_share=0.04, rework_share=0.02, scope_share=0.01, pre_existing_p=0.9,
                           chain="no_churn", change_requests=4.0, nps=9.0, team_score=4.5,
                           escalation_p=0.01, late_days=(-5.0, 2.0), deliverables=2.0,
                           contact_change_p=0.03, shelve_p=0.02),
    "estimate_shopper": replace(ORDINARY, hours_median=25.0, hours_sigma=0.3, rate_mult=0.9,
                                presale_hours=110.0, comm_share=0.15, chain="no_churn",
                                change_requests=0.6, estimate_requests=6.0, estimate_order_p=0.08,
                                nps=6.5, team_score=3.1, deliverables=0.4, shelve_p=0.3,
                                surveyed_p=0.5),
    "late_payer": replace(ORDINARY, hours_median=400.0, chain="no_churn", late_days=(30.0, 90.0),
                          unpaid_p=0.08, nps=5.5, team_score=3.6),
    "toxic": replace(ORDINARY, hours_median=700.0, hours_sigma=0.25, rate_mult=1.2, comm_share=0.22,
                     rework_share=0.10, after_hours_p=0.25, chain="no_churn", change_requests=6.0,
                     contradict_p=0.35, urgency_p=(0.05, 0.30, 0.30, 0.35),
                     urgent_after_hours_p=0.65, approval_days=55.0, late_days=(-2.0, 15.0),
                     nps=5.0, team_score=1.9, escalation_p=0.4, contact_change_p=0.15,
                     shelve_p=0.35, deliverables=2.0, pre_existing_p=0.7),
    "scope_creeper": replace(ORDINARY, rate_mult=0.95, comm_share=0.10, rework_share=0.05,
                             scope_share=1.1, chain="no_churn", change_requests=7.0, planned_p=0.2,
                             accepted_p=0.97, nps=8.0, team_score=3.2),
    "insourcing_exit": replace(ORDINARY, hours_median=450.0, chain="planned_stop", nps=9.0,
                               team_score=4.2, pre_existing_p=0.8),
    "silent_churner": replace(ORDINARY, hours_median=400.0, chain="planned_stop", nps=7.5,
                              pre_existing_p=0.8),
}


def breaker_profile(mistake: str) -> Profile:
    """A spiral breaker's profile: the ordinary one bent by its mistake."""
    base = PROFILES["spiral_breaker"]
    if mistake == "agree_to_every_wish":
        return replace(base, change_requests=7.0, planned_p=0.2, accepted_p=0.98, scope_share=0.30)
    if mistake == "team_growth_unplanned":
        return replace(base, change_requests=5.0, planned_p=0.3, accepted_p=0.95, scope_share=0.15)
    if mistake == "early_free_delivery":
        return replace(base, early_p=0.75, early_billed_p=0.05, deliverables=2.0)
    if mistake == "support_without_followup":
        return replace(base, support_requests=3.0, followup_p=0.12)
    if mistake == "communicator_not_rotated":  # a "talking head" grows over years
        return replace(base, pre_existing_p=1.0)
    return base


def archetype_quota(clients: int) -> dict[str, int]:
    """How many clients of each archetype; ordinary ones take what is left."""
    quota = {}
    for name, share in ARCHETYPE_SHARES.items():
        lowest = {"whale": 2, "spiral_breaker": len(MISTAKES)}.get(name, 1)
        quota[name] = max(lowest, int(np.floor(share * clients + 0.5)))
    quota["ordinary"] = clients - sum(quota.values())
    if quota["ordinary"] < 0 or clients < MIN_CLIENTS:
        raise ValueError(f"clients={clients}: the demo needs at least {MIN_CLIENTS} clients to "
                         "plant every archetype")
    return quota


@dataclass(frozen=True)
class Assignment:
    archetype: str
    mistake: str | None
    currency: str
    harvest: bool


def assign_clients(clients: int, seed: int) -> list[Assignment]:
    """Archetype, spiral mistake, currency and time-export format of every client."""
    rng = rng_for(seed, STREAM_MIX)
    quota = archetype_quota(clients)
    labels: list[tuple[str, str | None]] = []
    for name, n in quota.items():
        if name == "spiral_breaker":
            labels += [(name, MISTAKES[i % len(MISTAKES)]) for i in range(n)]
        else:
            labels += [(name, None)] * n
    order = rng.permutation(clients)
    labels = [labels[i] for i in order]
    eur = set(rng.choice(clients, size=max(1, round(EUR_SHARE * clients)), replace=False).tolist())
    may_harvest = np.array([i for i, (a, _) in enumerate(labels) if a != "toxic"])
    harvest = set(rng.choice(may_harvest, size=max(1, round(HARVEST_SHARE * clients)),
                             replace=False).tolist())
    return [Assignment(a, m, "EUR" if i in eur else "USD", i in harvest)
            for i, (a, m) in enumerate(labels)]
