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
|                    |       | escalations, long communication hours, work shelved, low NPS    |
|                    |       | (TOXIC_MARKERS: the markers planted past their threshold)       |
| toxic_pair         | 5%    | an ordinary client but for exactly two toxicity markers at full |
|                    |       | severity (a pair of TOXIC_PAIRS, taken in turn)                 |
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

These are the demo firm's shares; another firm (firms.FirmConfig) has its own mix, its own
currencies and its own share of clients that log time in `harvest_time_report.csv` instead of
`time_entries.csv` (never a toxic one: their after-hours start times matter).

Healthy clients look healthy on every toxicity marker: their natural variation stays below
each marker's threshold of config/params.yaml `toxicity.markers` (NPS answers average about
8, most deliverables arrive on time, few contradicting change requests, escalations or
shelved deliverables).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clientlens.demo.firms import DEMO, OPTIONAL_TABLES, FirmConfig
from clientlens.demo.random_streams import STREAM_MIX, rng_for
from clientlens.demo.spiral_chain import MISTAKES

ARCHETYPE_SHARES = DEMO.shares  # the demo firm's; every firm plants each of these archetypes
MIN_CLIENTS = 30
# Ordinary-looking clients that may lack some of the optional tables (firms.OPTIONAL_TABLES).
MAY_MISS_TABLES = ("ordinary", "spiral_follower", "steady_star")


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
    estimate_order_p: float = 0.75
    contradict_p: float = 0.015
    planned_p: float = 0.7
    accepted_p: float = 0.8
    followup_p: float = 0.9
    urgency_p: tuple[float, float, float, float] = (0.25, 0.55, 0.15, 0.05)
    urgent_after_hours_p: float = 0.04
    approval_days: float = 7.0
    late_days: tuple[float, float] = (-3.0, 6.0)  # uniform range of days paid after due
    unpaid_p: float = 0.0  # invoices never paid
    nps: float = 8.2
    team_score: float = 3.9
    escalation_p: float = 0.02
    contact_change_p: float = 0.06
    shelve_p: float = 0.03
    deliverables: float = 1.5
    early_p: float = 0.2  # a deliverable arrives before the promised date
    late_delivery_p: float = 0.1  # ... or after it, by an exponential few days to weeks
    early_billed_p: float = 0.7  # ... and the early delivery is billed
    surveyed_p: float = 0.8
    csat_p: float = 0.4
    monthly_billing_p: float = 0.65


ORDINARY = Profile()
PROFILES: dict[str, Profile] = {
    "ordinary": ORDINARY,
    "spiral_follower": replace(ORDINARY, nps=8.4),
    "spiral_breaker": replace(ORDINARY, nps=7.8),
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
                     nps=4.0, team_score=1.9, escalation_p=0.8, contact_change_p=0.15,
                     shelve_p=0.6, deliverables=3.5, pre_existing_p=0.7, surveyed_p=1.0),
    # Ordinary in everything but the two markers toxic_pair_profile plants.
    "toxic_pair": replace(ORDINARY, chain="no_churn", surveyed_p=1.0, pre_existing_p=0.7),
    "scope_creeper": replace(ORDINARY, rate_mult=0.95, comm_share=0.10, rework_share=0.05,
                             scope_share=1.1, chain="no_churn", change_requests=7.0, planned_p=0.2,
                             accepted_p=0.97, nps=8.0, team_score=3.2),
    "insourcing_exit": replace(ORDINARY, hours_median=450.0, chain="planned_stop", nps=9.0,
                               team_score=4.2, pre_existing_p=0.8),
    "silent_churner": replace(ORDINARY, hours_median=400.0, chain="planned_stop", nps=8.0,
                              pre_existing_p=0.8),
}

# Each toxicity marker (clientlens.analysis.markers.MARKERS names) as a client that has it at
# full severity: its level clearly past the threshold of config/params.yaml over any four
# quarters, with enough events (toxicity.min_events) where the marker is a share.
MARKER_PLANTS: dict[str, dict] = {
    "late_payment": {"late_days": (45.0, 80.0)},
    "urgent_after_hours": {"urgency_p": (0.05, 0.25, 0.30, 0.40), "urgent_after_hours_p": 0.8},
    "contradicting": {"change_requests": 6.0, "contradict_p": 0.5},
    "approval_days": {"approval_days": 60.0},
    "team_score": {"team_score": 1.8},
    "escalations": {"escalation_p": 0.8},
    "shelved_share": {"deliverables": 3.0, "shelve_p": 0.6},
    "estimate_no_order": {"estimate_requests": 3.0, "estimate_order_p": 0.1},
    "nps": {"nps": 4.0},
}
# The pairs two-marker toxic clients get, in turn; the two markers of a pair measure different
# kinds of trouble.
TOXIC_PAIRS = (
    ("late_payment", "urgent_after_hours"), ("contradicting", "approval_days"),
    ("team_score", "shelved_share"), ("escalations", "late_payment"),
    ("urgent_after_hours", "approval_days"), ("estimate_no_order", "team_score"),
    ("contradicting", "escalations"), ("shelved_share", "nps"),
)
# What the all-round toxic archetype plants past threshold.
TOXIC_MARKERS = ("urgent_after_hours", "contradicting", "approval_days", "team_score",
                 "escalations", "shelved_share", "nps")

# What precedes a departure, and what does not (clientlens.analysis.precursors measures both).
# A silent churner's fade (ClientPlan.decline) plants these in the quarters before it stops:
# fewer hours and requests, slower payments, a low NPS answer, a new contact each quarter, a
# lower team rating and more shelved work.
FADE_MARKERS = ("falling_orders", "falling_requests", "contact_churn", "late_payment", "nps",
                "team_score", "shelved_share")
FADE_SIGNALS = ("falling_orders", "falling_requests", "rising_payment_delays", "falling_nps",
                "contact_change")
# Planted past threshold on clients that never leave (toxic, toxic_pair, late_payer and
# estimate_shopper walk the chain without churn).
STAYER_MARKERS = tuple(MARKER_PLANTS) + ("presale_cost_share",)
# Precursors: planted before departures and on no client that stays ("marker:" or "signal:"
# and the name, as precursors.feature_key). Noise: planted on stayers only. Late payment, NPS,
# team rating and shelved work are planted on both, so they are neither.
PRECURSORS = tuple([f"marker:{m}" for m in FADE_MARKERS if m not in STAYER_MARKERS]
                   + [f"signal:{s}" for s in FADE_SIGNALS])
NOISE_MARKERS = tuple(m for m in STAYER_MARKERS if m not in FADE_MARKERS)


def toxic_pair_profile(markers: tuple[str, ...]) -> Profile:
    """An ordinary client with exactly these markers at full severity."""
    changes: dict = {}
    for m in markers:
        changes.update(MARKER_PLANTS[m])
    return replace(PROFILES["toxic_pair"], **changes)


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


def archetype_quota(clients: int, firm: FirmConfig = DEMO) -> dict[str, int]:
    """How many clients of each archetype; ordinary ones take what is left."""
    quota = {}
    for name, share in firm.archetype_shares:
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
    contract_kind: str = "project"  # retainer: a steady yearly fee; project: fixed-price work
    tables_missing: tuple[str, ...] = ()  # optional tables the firm keeps nothing of
    toxic_markers: tuple[str, ...] = ()  # markers planted at full severity


def assign_clients(clients: int, seed: int, firm: FirmConfig = DEMO) -> list[Assignment]:
    """Archetype, spiral mistake, currency, time-export format, contract kind, missing tables
    and planted toxicity markers of every client."""
    rng = rng_for(seed, STREAM_MIX)
    quota = archetype_quota(clients, firm)
    labels: list[tuple[str, str | None]] = []
    for name, n in quota.items():
        if name == "spiral_breaker":
            labels += [(name, MISTAKES[i % len(MISTAKES)]) for i in range(n)]
        else:
            labels += [(name, None)] * n
    order = rng.permutation(clients)
    labels = [labels[i] for i in order]
    currency = np.full(clients, firm.currencies[0][0], dtype=object)
    free = rng.permutation(clients)
    taken = 0
    for code, share in firm.currencies[1:]:
        n = max(1, round(share * clients))
        currency[free[taken:taken + n]] = code
        taken += n
    may_harvest = np.array([i for i, (a, _) in enumerate(labels) if a not in ("toxic", "toxic_pair")])
    harvest = set(rng.choice(may_harvest, size=max(1, round(firm.harvest_share * clients)),
                             replace=False).tolist())
    u = rng.random((4 + len(OPTIONAL_TABLES), clients))
    pair_offset = int(rng.integers(0, len(TOXIC_PAIRS)))
    out = []
    pairs_given = 0
    for i, (a, m) in enumerate(labels):
        kind = "retainer" if a in ("whale", "steady_star") or u[0, i] < firm.retainer_share else "project"
        missing: list[str] = []
        if a in MAY_MISS_TABLES and u[1, i] < firm.missing_tables_share:
            # Some of the optional tables, at least one.
            missing = [t for j, t in enumerate(OPTIONAL_TABLES) if u[4 + j, i] < 0.6]
            if not missing:
                missing = [OPTIONAL_TABLES[int(u[2, i] * len(OPTIONAL_TABLES))]]
        prof = breaker_profile(m) if a == "spiral_breaker" else PROFILES[a]
        if "surveys" not in missing and u[3, i] >= prof.surveyed_p:
            missing.append("surveys")  # a client the firm never got round to surveying
        markers: tuple[str, ...] = ()
        if a == "toxic":
            markers = TOXIC_MARKERS
        elif a == "toxic_pair":
            markers = TOXIC_PAIRS[(pair_offset + pairs_given) % len(TOXIC_PAIRS)]
            pairs_given += 1
        out.append(Assignment(a, m, str(currency[i]), i in harvest, kind,
                              tuple(t for t in OPTIONAL_TABLES if t in missing), markers))
    return out
