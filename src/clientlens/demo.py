"""The demo company: a seeded, deterministic synthetic IT services firm with planted truth.

`generate()` writes raw exports in the canonical formats of `clientlens.intake.contract` (one CSV
per table, headers exactly the contract's column names) plus one Harvest-format detailed
time report, so that every report is meaningful out of the box. Beside them it writes a
planted-truth JSON that only the tests read: the analysis must never open it.

    from clientlens.demo import generate
    truth = generate(Path("data/raw"), Path("data/demo_truth.json"))

    python -m clientlens.demo --out data/raw --truth data/demo_truth.json \
        --clients 200 --years 3 --seed 42 --end-quarter 2026Q3

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

The spiral: each client's phase sequence is a Markov chain over feature -> ux -> stability ->
support -> feature plus an absorbing `churned` (PLANTED_MATRIX below; rows are "from",
columns "to", in the order of STATES):

    from \\ to   feature  ux    stability  support  churned
    feature      0.40     0.57  0          0        0.03
    ux           0        0.35  0.62       0        0.03
    stability    0        0     0.35       0.62     0.03
    support      0.52     0     0          0.45     0.03

Spiral followers and ordinary clients use it exactly. Whales, stars, late payers, toxic
clients, estimate shoppers and scope creepers use its phase moves without the churn column
(their planted role needs them to stay). Silent churners and in-sourcing exits stop on a
planned quarter. Spiral breakers use a chain bent by their mistake. In every client-quarter
the phase's work type carries most of the billable hours (guaranteed, not just expected), so
the chain can be recovered from time entries.

Planted truth (JSON, sorted keys): seed, clients_n, years, end_quarter, archetype_mix,
transition_matrix {states, matrix} and per client: archetype, toxic, loss_making, whale,
late_payer, estimate_shopper, scope_creeper, silent_churner, churn_quarter (first quarter
without activity, for any client that stopped inside the window), insourcing_exit,
spiral_breaker (the mistake or null) and phases (quarter -> phase, active quarters only).
`loss_making` is computed from what was written: invoiced revenue (converted with
fx_rates.csv) minus the cost of all hours. `whale` marks the k most profitable clients, k
being the number of planted whales; whales are planted big enough to be exactly that top k
and to carry more than half of total profit (`whale_profit_share`; the tests check both,
and the summary line warns when a run misses either). Extra keys, for
tests and debugging: spiral_breaker_mix, chain_use, whale_profit_share, and per client
profit, currency and time_export (time_entries or harvest).

Determinism and scale: numpy Generator(PCG64) with its own SeedSequence per client and
purpose (plan, rows), so client k's rows do not depend on chunking or on which process
renders them; the same seed gives byte-identical files. Clients are rendered with vectorised
numpy in chunks of CHUNK_CLIENTS and appended to the files through Arrow's CSV writer, so
memory stays flat (under 1 GB for 10,000 clients x 5 years, about 39 million time entries);
above four chunks two spawned worker processes render ahead of the writer.

Dates: every event date (work, issue, payment, request, delivery, launch, survey, feedback,
acquisition, exit) is on or before the last day of `end_quarter`. Three kinds of date are
plans, not events, and may lie after it: an invoice's due date, a running contract's planned
end date and an unfinished deliverable's promised date (never later than end_quarter
either, in practice: promises are made inside active quarters).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from clientlens.intake.contract import TABLES, WORK_TYPES
from clientlens.quarters import QUARTER_RE, quarter_end, quarter_start, shift_quarter

# --------------------------------------------------------------------------- the plant

STATES = ("feature", "ux", "stability", "support", "churned")
PLANTED_MATRIX = np.array([
    [0.40, 0.57, 0.00, 0.00, 0.03],
    [0.00, 0.35, 0.62, 0.00, 0.03],
    [0.00, 0.00, 0.35, 0.62, 0.03],
    [0.52, 0.00, 0.00, 0.45, 0.03],
    [0.00, 0.00, 0.00, 0.00, 1.00],
])
FEATURE, UX, STABILITY, SUPPORT, CHURNED = range(5)

MISTAKES = ("feature_without_ux", "ux_without_feature", "no_stabilisation", "agree_to_every_wish",
            "team_growth_unplanned", "early_free_delivery", "support_without_followup",
            "communicator_not_rotated", "technical_communicator")

ARCHETYPE_SHARES = {
    "whale": 0.03, "steady_star": 0.08, "estimate_shopper": 0.05, "late_payer": 0.06,
    "toxic": 0.05, "scope_creeper": 0.05, "spiral_follower": 0.10, "spiral_breaker": 0.09,
    "insourcing_exit": 0.04, "silent_churner": 0.06,
}
MIN_CLIENTS = 30
HARVEST_SHARE = 0.10
EUR_SHARE = 0.10
EUR_RATE = 1.08  # USD per EUR in fx_rates.csv
REPORTING_CURRENCY = "USD"
HARVEST_CURRENCY = {"USD": "United States Dollar - USD", "EUR": "Euro - EUR"}
WHALE_PROFIT_SHARE = 0.5

# Office hours of config/params.yaml (09:00-19:00): the generator places after-hours work
# outside them and fills `after_hours` the way ingest would derive it.
OFFICE_START_SLOT, OFFICE_END_SLOT = 9 * 4, 19 * 4  # 15-minute slots of the day
SLOT_TEXT = np.array([f"{s // 4:02d}:{(s % 4) * 15:02d}" for s in range(96)])

CHUNK_CLIENTS = 100  # clients rendered and written together (about 400k time entries at most)

# --------------------------------------------------------------------------- vocabularies

# Task texts and the work type / rework flag they must map to under config work_type_rules
# and rework_pattern (tests check the mapping). Beware "ui" inside words like "require".
TASKS = (
    ("Feature development", "feature", False), ("Backend implementation", "feature", False),
    ("Frontend development", "feature", False), ("MVP implementation", "feature", False),
    ("UX design", "ux", False), ("UI prototyping", "ux", False),
    ("Usability testing", "ux", False), ("Interface design review", "ux", False),
    ("Bug fixing / stabilisation", "stability", False),
    ("Refactoring and tech debt", "stability", False),
    ("Performance tuning", "stability", False), ("Monitoring setup", "stability", False),
    ("Support", "support", False), ("Maintenance", "support", False),
    ("Helpdesk tickets", "support", False),
    ("Client call / approvals", "communication", False), ("Status meeting", "communication", False),
    ("Weekly sync with client", "communication", False),
    ("Estimate for new module", "presale", False), ("Proposal preparation", "presale", False),
    ("Presale workshop", "presale", False),
    ("Feature rework after reverted spec", "feature", True),
    ("UX redo after reverted change", "ux", True),
    ("Bug fix rework (our defect)", "stability", True),
    ("Support redo after reverted change", "support", True),
    ("Feature development (unplanned change)", "feature", False),
    ("Extra feature implementation (unplanned)", "feature", False),
    ("Internal admin", "other", False), ("Onboarding", "other", False),
)
TASK_TEXT = np.array([t[0] for t in TASKS])
TASK_WORK_TYPE = np.array([WORK_TYPES.index(t[1]) for t in TASKS], dtype=np.int8)
TASK_REWORK = np.array([t[2] for t in TASKS])


def _task_ids(work_type: str, rework: bool = False, unplanned: bool = False) -> np.ndarray:
    return np.array([i for i, (text, wt, rw) in enumerate(TASKS)
                     if wt == work_type and rw == rework and ("unplanned" in text) == unplanned])


# Time-entry "lines": what kind of hours a budget buys.
L_FEATURE, L_UX, L_STABILITY, L_SUPPORT, L_COMM, L_PRESALE, L_REWORK, L_SCOPE, L_INTERNAL = range(9)
N_LINES = 9
LINE_BILLABLE = np.array([True] * 4 + [False] * 5)
LINE_TASKS = [_task_ids("feature"), _task_ids("ux"), _task_ids("stability"), _task_ids("support"),
              _task_ids("communication"), _task_ids("presale"), None,
              _task_ids("feature", unplanned=True), _task_ids("other")]
REWORK_TASK = np.array([_task_ids(p, rework=True)[0] for p in STATES[:4]])

ROLES = ("developer", "designer", "qa_engineer", "support_engineer", "project_manager",
         "account_manager", "architect")
ROLE_SHARE = (0.50, 0.12, 0.08, 0.10, 0.08, 0.07, 0.05)
ROLE_DISPLAY = np.array(["Developer", "Designer", "QA Engineer", "Support Engineer",
                         "Project Manager", "Account Manager", "Architect"])
ROLE_COST = np.array([55.0, 50.0, 40.0, 38.0, 60.0, 58.0, 75.0])  # USD per hour
ROLE_BILL = np.array([105.0, 95.0, 75.0, 70.0, 110.0, 100.0, 140.0])
DEV, DESIGN, QA, SUPPORT_ENG, PM, AM, ARCH = range(7)
COMM = 7  # pseudo-role: the client's communicator of the quarter

HOUR_VALUES = np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0])
HOUR_PROBS = np.array([0.04, 0.10, 0.06, 0.14, 0.12, 0.14, 0.09, 0.10, 0.09, 0.05, 0.04, 0.03])
HOUR_PROBS = HOUR_PROBS / HOUR_PROBS.sum()
MEAN_ENTRY_HOURS = float(HOUR_VALUES @ HOUR_PROBS)

FIRST_NAMES = (
    "Anna", "Boris", "Clara", "Daniel", "Elena", "Felix", "Greta", "Hugo", "Irina", "Jonas",
    "Katya", "Leon", "Maria", "Nikolai", "Olga", "Pavel", "Quinn", "Rosa", "Sergey", "Tanya",
    "Ulrich", "Vera", "Walter", "Xenia", "Yuri", "Zoe", "Adrian", "Bianca", "Carlos", "Dina",
    "Emil", "Fiona", "Georg", "Hanna", "Ivan", "Julia", "Kirill", "Lena", "Marco", "Nina",
    "Oscar", "Polina", "Roman", "Sofia", "Timur", "Ursula", "Viktor", "Wanda", "Yana", "Zakhar",
    "Alina", "Bruno", "Celia", "Denis", "Eva", "Filip", "Gleb", "Helga", "Igor", "Jana",
)
LAST_NAMES = (
    "Ivanova", "Smith", "Petrov", "Novak", "Keller", "Orlov", "Berg", "Costa", "Dubois", "Evans",
    "Fischer", "Garcia", "Hansen", "Ilyin", "Jensen", "Kuznetsov", "Lang", "Moreau", "Nagy",
    "Olsen", "Popescu", "Quist", "Romanov", "Schulz", "Tarasov", "Urban", "Volkov", "Weber",
    "Young", "Zaitsev", "Abbott", "Baker", "Carter", "Dalton", "Engel", "Frolov", "Gromov",
    "Holm", "Isaev", "Jung", "Klein", "Lebedev", "Maier", "Nilsson", "Ortiz", "Pavlov", "Reyes",
    "Sokolov", "Thomsen", "Ueda", "Vasquez", "Wolf", "Yakovlev", "Zimmer", "Arnold", "Bauer",
    "Chen", "Dietrich", "Egorov", "Fedorov",
)
NAME_PREFIX = ("", "Nova ", "Prime ", "Blue ", "Omni ", "Vector ", "Alpha ", "Summit ")
NAME_CORE = (
    "Northwind", "Bluefin", "Silverline", "Redwood", "Brightpath", "Ironbridge", "Greenfield",
    "Stonegate", "Clearwater", "Highland", "Riverbend", "Goldcrest", "Suncoast", "Oakmont",
    "Westbrook", "Lakeside", "Maplewood", "Pinecrest", "Harbor", "Crescent", "Falcon", "Orion",
    "Polaris", "Zenith", "Aurora", "Beacon", "Cobalt", "Delta", "Evergreen", "Frontier",
    "Granite", "Horizon", "Keystone", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer",
    "Quartz", "Radiant", "Sterling", "Tidewater", "Unity", "Vantage", "Willow", "Apex",
    "Borealis", "Cedar", "Drift", "Ember",
)
NAME_SECTOR = (
    ("Logistics", "logistics"), ("Retail", "retail"), ("Health", "healthcare"),
    ("Energy", "energy"), ("Foods", "food"), ("Media", "media"), ("Bank", "finance"),
    ("Insurance", "insurance"), ("Travel", "travel"), ("Motors", "automotive"),
    ("Pharma", "healthcare"), ("Telecom", "telecom"), ("Estates", "real estate"),
    ("Learning", "education"), ("Games", "media"), ("Freight", "logistics"),
    ("Capital", "finance"), ("Clinics", "healthcare"), ("Markets", "retail"),
    ("Utilities", "energy"), ("Airlines", "travel"), ("Robotics", "manufacturing"),
    ("Steel", "manufacturing"), ("Textiles", "manufacturing"), ("Farms", "agriculture"),
    ("Mining", "mining"), ("Software", "technology"), ("Networks", "telecom"),
    ("Labs", "technology"), ("Studios", "media"), ("Hotels", "travel"), ("Shipping", "logistics"),
    ("Payments", "finance"), ("Analytics", "technology"), ("Fashion", "retail"),
    ("Dental", "healthcare"), ("Security", "technology"), ("Agro", "agriculture"),
    ("Chemicals", "manufacturing"), ("Consulting", "professional services"),
    ("Legal", "professional services"), ("Publishing", "media"), ("Sports", "retail"),
    ("Water", "energy"), ("Aviation", "travel"), ("Marine", "logistics"),
    ("Builders", "construction"), ("Homes", "real estate"), ("Solar", "energy"),
    ("Biotech", "healthcare"),
)
USD_SUFFIX = ("Inc", "LLC", "Corp", "Ltd", "Group")
EUR_SUFFIX = ("GmbH", "AG", "BV", "SAS", "Oy")
PROJECT_NAMES = (
    "Customer portal", "Mobile app", "Web shop", "Partner platform", "Analytics platform",
    "Booking system", "Data platform", "CRM integration", "Billing platform", "Internal tools",
    "Loyalty program", "Field service app", "Supplier portal", "Reporting hub", "Order system",
)
DELIVERABLE_WORDS = {
    FEATURE: ("Checkout module", "Search service", "Import pipeline", "Notification service",
              "Admin panel", "Payments integration"),
    UX: ("Design system", "Onboarding flow redesign", "Mobile layouts", "Dashboard redesign",
         "Accessibility pass"),
    STABILITY: ("Performance fixes", "Monitoring dashboards", "Load test report",
                "Error budget fixes", "Database migration"),
    SUPPORT: ("Support runbook", "Release patch", "Maintenance release", "Helpdesk macros"),
}
TEAM_COMMENTS = {
    1: ("Client PM demands weekend work", "Requirements reversed again", "Nobody wants this account"),
    2: ("Unclear priorities", "Approvals take forever", "Tone in calls is hostile"),
    3: ("Workable but noisy", "Scope keeps moving", "OK collaboration"),
    4: ("Good collaboration", "Clear goals", "Responsive client"),
    5: ("A pleasure to work with", "Great partnership", "Client trusts the team"),
}
FX_RATES = (("USD", 1.0), ("EUR", EUR_RATE))


# --------------------------------------------------------------------------- profiles

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


def chain_for(mistake: str | None) -> np.ndarray:
    """The transition matrix a client walks (rows from, columns to, STATES order)."""
    m = PLANTED_MATRIX.copy()
    if mistake == "feature_without_ux":  # functionality shipped, UX skipped
        m[FEATURE] = [0.40, 0.00, 0.57, 0.00, 0.03]
    elif mistake == "ux_without_feature":  # the UX turn never follows real functionality
        m[SUPPORT] = [0.00, 0.52, 0.00, 0.45, 0.03]
    elif mistake == "no_stabilisation":  # functionality and UX, then straight to support
        m[UX] = [0.00, 0.35, 0.00, 0.62, 0.03]
    elif mistake == "agree_to_every_wish":  # every wish keeps the feature phase open
        m[FEATURE] = [0.70, 0.27, 0.00, 0.00, 0.03]
    return m


# --------------------------------------------------------------------------- calendar

def _epoch_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


@dataclass(frozen=True)
class Calendar:
    """The window's quarters, months and days, as epoch-day integers."""
    quarters: tuple[str, ...]
    q_start: np.ndarray  # first day of each quarter, plus one past the end
    m_start: np.ndarray  # first day of each month, plus one past the end
    workdays: np.ndarray  # Monday-Friday days of the window
    weekend: np.ndarray

    @property
    def nq(self) -> int:
        return len(self.quarters)

    @property
    def first_day(self) -> int:
        return int(self.q_start[0])

    @property
    def last_day(self) -> int:
        return int(self.q_start[-1]) - 1


def make_calendar(end_quarter: str, years: int) -> Calendar:
    if not QUARTER_RE.match(end_quarter):
        raise ValueError(f"end_quarter={end_quarter!r}: write a quarter as 2026Q3")
    nq = 4 * years
    quarters = tuple(shift_quarter(end_quarter, i - nq + 1) for i in range(nq))
    q_start = np.array([_epoch_day(quarter_start(q)) for q in quarters]
                       + [_epoch_day(quarter_end(quarters[-1])) + 1], dtype=np.int64)
    months = []
    for q in quarters:
        s = quarter_start(q)
        months += [_epoch_day(dt.date(s.year, s.month + i, 1)) for i in range(3)]
    m_start = np.array(months + [int(q_start[-1])], dtype=np.int64)
    days = np.arange(q_start[0], q_start[-1])
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return Calendar(quarters, q_start, m_start, days[weekday < 5], days[weekday >= 5])


# --------------------------------------------------------------------------- seeding

def _rng(seed: int, *tags: int) -> np.random.Generator:
    """A generator for one purpose (and one client): independent of every other stream."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *tags])))


STREAM_MIX, STREAM_PEOPLE, STREAM_PLAN, STREAM_RENDER = 1, 2, 3, 4


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
    rng = _rng(seed, STREAM_MIX)
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


# --------------------------------------------------------------------------- people

@dataclass(frozen=True)
class People:
    first: np.ndarray
    last: np.ndarray
    name: np.ndarray
    role: np.ndarray  # index into ROLES
    cost_rate: np.ndarray
    bill_rate: np.ndarray
    employee: np.ndarray  # False: a contractor
    by_role: tuple[np.ndarray, ...]


def person_name(j: int) -> tuple[str, str]:
    """A unique (first, last) for person j; past 3,600 people a middle initial keeps them apart."""
    combos = len(FIRST_NAMES) * len(LAST_NAMES)
    jj = (j * 7919) % combos  # 7919 is prime and does not divide `combos`: a bijection
    first, last = FIRST_NAMES[jj % len(FIRST_NAMES)], LAST_NAMES[jj // len(FIRST_NAMES)]
    initial = j // combos
    if initial > 26:
        raise ValueError("the demo names at most 97,200 people")
    return first, (f"{chr(64 + initial)}. {last}" if initial else last)


def make_people(clients: int, seed: int) -> People:
    """The firm's staff: about 1.4 people per client, every role staffed."""
    rng = _rng(seed, STREAM_PEOPLE)
    n = max(60, int(round(1.4 * clients)))
    counts = np.maximum(3, np.floor(np.array(ROLE_SHARE) * n).astype(int))
    role = rng.permutation(np.repeat(np.arange(len(ROLES)), counts))
    n = len(role)
    names = [person_name(j) for j in range(n)]
    first = np.array([f for f, _ in names])
    last = np.array([s for _, s in names])
    cost = np.round(ROLE_COST[role] * rng.uniform(0.85, 1.15, n))
    bill = np.round(ROLE_BILL[role] * rng.uniform(0.9, 1.1, n) / 5) * 5
    employee = rng.random(n) > 0.1
    by_role = tuple(np.flatnonzero(role == r) for r in range(len(ROLES)))
    return People(first, last, np.char.add(np.char.add(first, " "), last), role, cost, bill,
                  employee, by_role)


# --------------------------------------------------------------------------- plan

@dataclass
class ClientPlan:
    """Who a client is and what happens to it, quarter by quarter (window indices)."""
    k: int
    client_id: str
    name: str
    industry: str
    archetype: str
    mistake: str | None
    currency: str
    harvest: bool
    profile: Profile
    acquired_day: int
    first_q: int
    stop_q: int  # first window quarter without activity; nq when active to the end
    phases: np.ndarray  # phase per active quarter
    volume: np.ndarray  # billable hours per active quarter
    decline: np.ndarray  # 1 normally; below 1 (share of a usual quarter) while a client fades
    exit_reason: str | None
    exit_day: int | None
    monthly_billing: bool
    pay_terms: int
    prorate: np.ndarray  # share of each active quarter the client was with us (first one partial)
    projects: list[str] = field(default_factory=list)  # one per phase run, set when rendered
    project_codes: list[str] = field(default_factory=list)

    @property
    def active_quarters(self) -> np.ndarray:
        return np.arange(self.first_q, self.stop_q)


def client_name(k: int, currency: str) -> tuple[str, str]:
    """A unique, stable name for client k (and its industry); the suffix follows currency."""
    combos = len(NAME_PREFIX) * len(NAME_CORE) * len(NAME_SECTOR)
    j = (k * 7919) % combos  # 7919 is prime and does not divide `combos`: a bijection
    core, j2 = NAME_CORE[j % len(NAME_CORE)], j // len(NAME_CORE)
    sector, industry = NAME_SECTOR[j2 % len(NAME_SECTOR)]
    prefix = NAME_PREFIX[j2 // len(NAME_SECTOR)]
    suffixes = EUR_SUFFIX if currency == "EUR" else USD_SUFFIX
    extra = f" {k // combos + 1}" if k >= combos else ""
    return f"{prefix}{core} {sector}{extra} {suffixes[k % len(suffixes)]}", industry


def walk_chain(matrix: np.ndarray, start: int, steps: int, rng: np.random.Generator,
               churn: bool, churn_after: tuple[int, float] | None = None) -> list[int]:
    """Phases of `steps` quarters from `start`; stops early when the chain enters `churned`.

    Without churn the live columns are renormalised. `churn_after` = (quarters, p) raises
    the churn probability to p from that many quarters on (a spiral mistake biting).
    """
    path = [start]
    u = rng.random((steps, 2))
    for t in range(1, steps):
        row = matrix[path[-1]]
        p_churn = row[CHURNED] if churn else 0.0
        if churn and churn_after is not None and t >= churn_after[0]:
            p_churn = churn_after[1]
        if u[t, 0] < p_churn:
            break
        live = row[:CHURNED] / row[:CHURNED].sum()
        path.append(int(min(np.searchsorted(np.cumsum(live), u[t, 1], side="right"), 3)))
    return path


def stationary(matrix: np.ndarray) -> np.ndarray:
    live = matrix[:CHURNED, :CHURNED] / matrix[:CHURNED, :CHURNED].sum(axis=1, keepdims=True)
    vals, vecs = np.linalg.eig(live.T)
    v = np.abs(np.real(vecs[:, np.argmin(np.abs(vals - 1))]))
    return v / v.sum()


PHASE_VOLUME = np.array([1.0, 0.8, 0.75, 0.5])  # billable volume of a phase vs feature


def plan_client(k: int, a: Assignment, cal: Calendar, seed: int) -> ClientPlan:
    """Lifetime, phases and volumes of client k, from its own random stream."""
    rng = _rng(seed, STREAM_PLAN, k)
    prof = breaker_profile(a.mistake) if a.archetype == "spiral_breaker" else PROFILES[a.archetype]
    nq = cal.nq
    matrix = chain_for(a.mistake)
    pre_existing = rng.random() < prof.pre_existing_p
    name, industry = client_name(k, a.currency)

    # When the client arrives and when (if ever) it stops.
    need = 4 if a.archetype != "ordinary" else 2  # quarters a planted signal needs
    decline_len = 0
    exit_reason = None
    if prof.chain == "planned_stop":
        decline_len = int(rng.integers(2, 5)) if a.archetype == "silent_churner" else int(rng.integers(2, 4))
        decline_len = min(decline_len, max(1, nq - 3))
        # Room for two healthy quarters before the decline, and the stop inside the window.
        stop_q = int(rng.integers(min(decline_len + 2, nq - 1), nq))
        latest_first = max(0, stop_q - decline_len - 2)
        first_q = 0 if pre_existing else int(rng.integers(0, latest_first + 1))
    else:
        stop_q = nq
        first_q = 0 if pre_existing else int(rng.integers(1, max(2, nq - need + 1)))
    if pre_existing:
        first_q = 0
        acquired_day = cal.first_day - int(rng.integers(60, 6 * 365))
    else:
        acquired_day = int(cal.q_start[first_q]) + int(rng.integers(0, 45))

    # The phase path.
    if pre_existing:
        start = int(rng.choice(4, p=stationary(matrix)))
        if a.mistake == "ux_without_feature" and start == FEATURE:
            start = UX
        if a.mistake == "feature_without_ux" and start == UX:
            start = STABILITY
        if a.mistake == "no_stabilisation" and start == STABILITY:
            start = SUPPORT
    else:
        start = UX if a.mistake == "ux_without_feature" else FEATURE
    steps = stop_q - first_q
    if prof.chain == "full":
        # A mistake loses the client: the churn hazard rises once it has had time to bite
        # (for a communicator who is never rotated, that takes two years).
        bite = 8 if a.mistake == "communicator_not_rotated" else 3
        churn_after = (bite, 0.08) if a.archetype == "spiral_breaker" else None
        path = walk_chain(matrix, start, steps, rng, churn=True, churn_after=churn_after)
        stop_q = first_q + len(path)
    else:
        path = walk_chain(matrix, start, steps, rng, churn=False)
        if a.archetype == "insourcing_exit":  # the last quarters hand over: support only
            path[-decline_len:] = [SUPPORT] * min(decline_len, len(path))
    phases = np.array(path, dtype=np.int8)
    n_active = len(phases)

    # Volumes: client size x phase x quarter noise x first-quarter proration x decline.
    size = prof.hours_median * float(np.exp(rng.normal(0.0, prof.hours_sigma)))
    prorate = np.ones(n_active)
    if not pre_existing:
        q0_len = cal.q_start[first_q + 1] - cal.q_start[first_q]
        prorate[0] = (cal.q_start[first_q + 1] - acquired_day) / q0_len
    volume = size * PHASE_VOLUME[phases] * np.exp(rng.normal(0.0, 0.12, n_active)) * prorate
    decline = np.ones(n_active)
    if prof.chain == "planned_stop" and decline_len and n_active > decline_len:
        # The fade is measured against the client's usual quarter, whatever the phase, so that
        # it shows in raw hours: each fading quarter is smaller than every healthy one.
        top, bottom = (0.7, 0.25) if a.archetype == "silent_churner" else (0.6, 0.2)
        fall = np.linspace(top, bottom, decline_len) if decline_len > 1 else np.array([bottom])
        decline[-decline_len:] = fall * np.exp(
            rng.normal(0.0, 0.08, decline_len))
        volume[-decline_len:] = float(volume[:-decline_len].mean()) * decline[-decline_len:]
    if a.mistake == "team_growth_unplanned":  # the team (and its hours) keeps growing
        growth = 1.0 + 0.12 * np.arange(n_active)
        volume = volume * growth

    # Exit record.
    exit_day = None
    if stop_q < nq:
        if a.archetype == "insourcing_exit":
            exit_reason = "insourcing"
        elif a.archetype == "silent_churner":
            exit_reason = "churn" if rng.random() < 0.5 else None
        else:
            u = rng.random()
            exit_reason = "churn" if u < 0.5 else ("parted_ways" if u < 0.65 else None)
        if exit_reason:
            exit_day = int(min(cal.q_start[stop_q] + rng.integers(0, 45), cal.last_day))

    return ClientPlan(
        k=k, client_id=f"C{k + 1:05d}", name=name, industry=industry, archetype=a.archetype,
        mistake=a.mistake, currency=a.currency, harvest=a.harvest, profile=prof,
        acquired_day=acquired_day, first_q=first_q, stop_q=stop_q, phases=phases, volume=volume,
        decline=decline,
        exit_reason=exit_reason, exit_day=exit_day,
        monthly_billing=bool(rng.random() < prof.monthly_billing_p),
        pay_terms=int(rng.choice([14, 30])), prorate=prorate,
    )


# --------------------------------------------------------------------------- rendering

def _pick(pool: np.ndarray, u: np.ndarray, size: np.ndarray | int) -> np.ndarray:
    """pool[floor(u * size)], one draw per element: a vectorised uniform choice."""
    return pool[np.minimum((u * size).astype(np.int64), len(pool) - 1)]


def _days_in(days: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniform day of `days` in [lo, hi] per element (falls back to lo when none)."""
    a = np.searchsorted(days, lo)
    b = np.searchsorted(days, hi, side="right")
    idx = a + (u * (b - a)).astype(np.int64)
    ok = b > a
    out = np.where(ok, days[np.minimum(idx, len(days) - 1)], lo)
    return out


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


def quarter_day_bounds(plan: ClientPlan, cal: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """First and last day the client can have activity in each of its active quarters."""
    q = plan.active_quarters
    lo = np.maximum(cal.q_start[q], plan.acquired_day)
    hi = cal.q_start[q + 1] - 1
    return lo, hi


def billable_shares(plan: ClientPlan) -> np.ndarray:
    """Share of billable hours per spiral work type in each active quarter [q, 4]."""
    n = len(plan.phases)
    shares = np.full((n, 4), 0.1)
    shares[np.arange(n), plan.phases] = 0.7
    banned = {"feature_without_ux": UX, "ux_without_feature": FEATURE,
              "no_stabilisation": STABILITY}.get(plan.mistake or "")
    if banned is not None:
        shares[:, banned] = 0.0
    return shares / shares.sum(axis=1, keepdims=True)


def render_time(plan: ClientPlan, team: Team, people: People, cal: Calendar,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The client's time entries, as arrays sorted by date and start time."""
    prof = plan.profile
    n_active = len(plan.phases)
    vol = plan.volume
    budget = np.zeros((n_active, N_LINES))
    budget[:, :4] = vol[:, None] * billable_shares(plan)
    budget[:, L_COMM] = prof.comm_share * vol
    budget[:, L_PRESALE] = prof.presale_share * vol + prof.presale_hours * plan.decline * plan.prorate
    budget[:, L_REWORK] = prof.rework_share * vol
    budget[:, L_SCOPE] = prof.scope_share * vol
    budget[:, L_INTERNAL] = prof.internal_share * vol
    counts = rng.poisson(budget / MEAN_ENTRY_HOURS)
    # Every active quarter has billable work of its phase (so it is active and has a phase).
    counts[np.arange(n_active), plan.phases] = np.maximum(counts[np.arange(n_active), plan.phases], 1)

    qi = np.repeat(np.repeat(np.arange(n_active), N_LINES), counts.ravel())
    line = np.repeat(np.tile(np.arange(N_LINES), n_active), counts.ravel())
    n = len(qi)
    hours = rng.choice(HOUR_VALUES, size=n, p=HOUR_PROBS)

    # Guarantee: the phase's work type has the most billable hours of its quarter. Where chance
    # says otherwise, the competing billable hours are re-labelled as phase work.
    billable = LINE_BILLABLE[line]
    by_type = np.zeros((n_active, 4))
    np.add.at(by_type, (qi[billable], line[billable]), hours[billable])
    phase_hours = by_type[np.arange(n_active), plan.phases]
    others = by_type.copy()
    others[np.arange(n_active), plan.phases] = -1.0
    bad_q = np.flatnonzero(others.max(axis=1) >= phase_hours)
    if len(bad_q):
        fix = billable & np.isin(qi, bad_q) & (line != plan.phases[qi])
        line = np.where(fix, plan.phases[qi], line)

    u = rng.random((6, n))
    # Who: a role per line, then a person of that role on the client's roster.
    group = np.full(n, DEV, dtype=np.int64)
    group[line == L_UX] = DESIGN
    group[(line == L_STABILITY) & (u[0] < 0.3)] = QA
    group[(line == L_SUPPORT) & (u[0] < 0.6)] = SUPPORT_ENG
    group[line == L_COMM] = np.where(u[0][line == L_COMM] < 0.65, COMM, PM)
    group[line == L_PRESALE] = np.where(u[0][line == L_PRESALE] < 0.5, ARCH, AM)
    rw = line == L_REWORK
    group[rw] = np.array([DEV, DESIGN, DEV, SUPPORT_ENG])[plan.phases[qi[rw]]]
    person = np.empty(n, dtype=np.int64)
    for g in range(len(ROLES)):
        m = group == g
        if m.any():
            person[m] = _pick(team.roster[g], u[1][m], team.size[g][qi[m]])
    m = group == COMM
    person[m] = team.communicator[qi[m]]

    # What: a task text of the line (rework: of the quarter's phase).
    task = np.empty(n, dtype=np.int64)
    for ln in range(N_LINES):
        m = line == ln
        if m.any() and ln != L_REWORK:
            task[m] = _pick(LINE_TASKS[ln], u[2][m], len(LINE_TASKS[ln]))
    task[rw] = REWORK_TASK[plan.phases[qi[rw]]]

    # When: office hours on workdays, or after hours (evenings and weekends).
    lo, hi = quarter_day_bounds(plan, cal)
    lo_e, hi_e = lo[qi], hi[qi]
    after = u[3] < prof.after_hours_p
    weekend = after & (u[4] < 0.5)
    day = _days_in(cal.workdays, lo_e, hi_e, u[5])
    if weekend.any():
        day[weekend] = _days_in(cal.weekend, lo_e[weekend], hi_e[weekend], u[5][weekend])
    slot_u = rng.random(n)
    slot = np.where(after, 76 + (slot_u * 14).astype(np.int64),  # 19:00-22:15
                    36 + (slot_u * 32).astype(np.int64))  # 09:00-16:45
    slot = np.where(weekend, 40 + (slot_u * 40).astype(np.int64), slot)  # weekends 10:00-19:45
    is_weekend = (day + 3) % 7 >= 5
    after_hours = is_weekend | (slot < OFFICE_START_SLOT) | (slot >= OFFICE_END_SLOT)

    billable = LINE_BILLABLE[line]
    bill_rate = np.where(billable, np.round(people.bill_rate[person] * prof.rate_mult), 0.0)
    cost_rate = people.cost_rate[person]
    order = np.lexsort((slot, day))
    out = {
        "day": day[order], "slot": slot[order], "after_hours": after_hours[order],
        "qi": qi[order], "task": task[order], "person": person[order], "hours": hours[order],
        "billable": billable[order], "bill_rate": bill_rate[order], "cost_rate": cost_rate[order],
    }
    out["billable_amount"] = np.round(out["hours"] * out["bill_rate"], 2)
    out["cost_amount"] = np.round(out["hours"] * out["cost_rate"], 2)
    return out


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


def _request_times(lo: np.ndarray, hi: np.ndarray, after: np.ndarray, cal: Calendar,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Day and 15-minute slot of each request: office hours, or a Friday night / weekend."""
    n = len(lo)
    u = rng.random((3, n))
    day = _days_in(cal.workdays, lo, hi, u[0])
    slot = 36 + (u[1] * 36).astype(np.int64)  # 09:00-17:45
    if after.any():
        # Friday night: the last Friday on or before a random day of the range.
        d = lo[after] + (u[0][after] * (hi[after] - lo[after] + 1)).astype(np.int64)
        friday = d - ((d + 3) % 7 - 4) % 7
        friday = np.where(friday < lo[after], d, friday)
        day[after] = friday
        slot[after] = 77 + (u[2][after] * 17).astype(np.int64)  # 19:15-23:15
    return day, slot


REQUEST_TYPES = ("change_request", "incident", "estimate_request", "question", "support")
URGENCY = ("low", "normal", "high", "urgent")


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
        "became": _nullable(became, cr | est)[order], "contradicts": _nullable(contradicts, cr)[order],
        "planned": _nullable(planned, cr)[order], "accepted": _nullable(accepted, cr)[order],
        "followed": _nullable(followed, sup)[order], "deliverable": deliverable[order],
        "qi": qi[order],
    }


def _nullable(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Bools as int8 with -1 where the field does not apply (written as an empty cell)."""
    return np.where(present, values.astype(np.int8), np.int8(-1)).astype(np.int8)


def render_deliverables(plan: ClientPlan, cal: Calendar, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What we delivered each quarter, when we promised it, and what became of it."""
    prof = plan.profile
    n_active = len(plan.phases)
    rate = prof.deliverables * np.clip(np.sqrt(plan.volume / max(prof.hours_median, 1.0)), 0.4, 2.0)
    counts = rng.poisson(rate)
    free_early = plan.mistake == "early_free_delivery"
    if free_early:  # the mistake needs deliveries to be made "more than once"
        counts[0] = max(counts[0], 3)
    qi = np.repeat(np.arange(n_active), counts)
    n = len(qi)
    u = rng.random((6, n))
    lo, hi = quarter_day_bounds(plan, cal)
    promised = lo[qi] + (u[0] * (hi[qi] - lo[qi] + 1)).astype(np.int64)
    wt = np.where(u[1] < 0.8, plan.phases[qi], (u[2] * 4).astype(np.int64) % 4)
    early = u[3] < prof.early_p
    delay = np.where(early, -(3 + (u[4] * 20).astype(np.int64)), np.round(rng.normal(4, 5, n)).clip(0))
    delivered = promised + delay.astype(np.int64)
    last_active = int(cal.q_start[plan.stop_q]) - 1
    if plan.stop_q < cal.nq:  # nothing is delivered to a client that has gone
        delivered = np.minimum(delivered, last_active)
    delivered = np.maximum(delivered, plan.acquired_day)
    early = delivered < promised
    billed = u[5] < prof.early_billed_p
    if free_early and (early & ~billed).sum() < 2:
        # Plant the mistake for sure: the two roomiest deliverables arrive a week early, free.
        room = np.where(delivered <= cal.last_day, promised - plan.acquired_day, -1)
        pick = np.argsort(-room, kind="stable")[:2]
        pick = pick[room[pick] >= 2]
        delivered[pick] = promised[pick] - np.minimum(7, room[pick])
        early = delivered < promised
        billed[pick] = False
    billed_extra = _nullable(billed, early)
    shelve_p = np.full(n, prof.shelve_p)
    if plan.archetype == "silent_churner":
        shelve_p = np.where(plan.decline[qi] < 1.0, 0.35, shelve_p)
    shelved = rng.random(n) < shelve_p
    launched = delivered + rng.integers(0, 35, n)
    in_progress = delivered > cal.last_day
    status = np.where(in_progress, 0, np.where(shelved, 3, np.where(launched <= cal.last_day, 2, 1)))
    order = np.lexsort((promised, qi))
    name_pick = rng.integers(0, 1 << 30, n)
    names = np.array([DELIVERABLE_WORDS[w][p % len(DELIVERABLE_WORDS[w])] for w, p in zip(wt, name_pick)],
                     dtype=object)
    return {
        "qi": qi[order], "name": names[order], "work_type": wt[order], "promised": promised[order],
        "delivered": np.where(in_progress, -1, delivered)[order], "status": status[order],
        "launched": np.where(status == 2, launched, -1)[order],
        "billed_extra": np.where(in_progress, -1, billed_extra)[order].astype(np.int8),
    }


DELIVERABLE_STATUS = ("in_progress", "delivered", "launched", "shelved")


def render_surveys(plan: ClientPlan, team: Team, cal: Calendar, rng: np.random.Generator) -> dict[str, list]:
    """Yearly NPS at a client-specific month (some clients never asked), quarterly CSAT for some."""
    prof = plan.profile
    surveyed = rng.random() < prof.surveyed_p
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
    nps_day = _days_in(cal.workdays, np.repeat(m_lo, answers), np.repeat(m_hi, answers), rng.random(len(nps_q)))
    nps_score = np.clip(np.round(rng.normal(mean[nps_q], 1.3)), 0, 10)
    who = [team.sponsor if s else team.client_contact[q] for q, s in zip(nps_q, second)]
    kind = ["nps"] * len(nps_q)
    day, score = nps_day, nps_score
    if csat:
        csat_q = np.arange(n_active)
        day = np.concatenate([day, _days_in(cal.workdays, lo, hi, rng.random(n_active))])
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


def render_team_feedback(plan: ClientPlan, team: Team, people: People, cal: Calendar,
                         rng: np.random.Generator) -> dict[str, list]:
    """One to three team ratings of the client per active quarter."""
    prof = plan.profile
    n_active = len(plan.phases)
    mean = np.full(n_active, prof.team_score)
    if plan.archetype == "silent_churner":
        mean[plan.decline < 1.0] -= 0.8
    if plan.mistake in ("agree_to_every_wish", "team_growth_unplanned"):
        mean[2:] -= 0.6  # the unplanned work wears the team down
    qa = np.repeat(np.arange(n_active), rng.integers(1, 4, n_active))
    n = len(qa)
    lo, hi = quarter_day_bounds(plan, cal)
    day = _days_in(cal.workdays, lo[qa], hi[qa], rng.random(n))
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


# --------------------------------------------------------------------------- writing

HARVEST_COLUMNS = ("Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours",
                   "Hours Rounded", "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name",
                   "Roles", "Employee?", "Billable Rate", "Billable Amount", "Cost Rate",
                   "Cost Amount", "Currency", "External Reference URL")
DATE_COLUMNS = {"acquired_date", "exit_date", "start_date", "end_date", "issue_date", "due_date",
                "paid_date", "promised_date", "delivered_date", "launched_date", "survey_date",
                "feedback_date", "date"}
WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")


class CsvSink:
    """One CSV file written chunk by chunk: our own header line, then Arrow-written rows.

    Quoting is off: every text we write is free of commas, quotes and newlines, and Arrow
    refuses a value that is not, so a stray comma fails loudly instead of shifting columns.
    """

    def __init__(self, path: Path, header: tuple[str, ...]):
        self.path = path
        self.header = header
        self.rows = 0
        self.fh = open(path, "wb")
        self.fh.write((",".join(header) + "\n").encode())

    def write(self, table: pa.Table | None) -> None:
        if table is not None and table.num_rows:
            pacsv.write_csv(table, self.fh, WRITE_OPTIONS)
            self.rows += table.num_rows

    def close(self) -> None:
        self.fh.close()


def _date_array(days) -> pa.Array:
    """Epoch days (None or -1 = empty) as an Arrow date column."""
    if isinstance(days, list):
        days = np.array([-1 if d is None else d for d in days], dtype=np.int64)
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=days == -1).cast(pa.date32())


def _bool_array(codes: np.ndarray) -> pa.Array:
    codes = np.asarray(codes, dtype=np.int8)
    return pa.array(codes == 1, type=pa.bool_(), mask=codes < 0)


def _float_array(values) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def _take(dictionary: pa.Array, codes: np.ndarray) -> pa.Array:
    """dictionary[codes] as plain text (for building ids from it)."""
    return dictionary.take(pa.array(np.asarray(codes, dtype=np.int64)))


def _coded(dictionary: pa.Array, codes: np.ndarray) -> pa.DictionaryArray:
    """dictionary[codes], dictionary-encoded: four bytes a row however long the text, so a
    chunk of millions of time entries stays small in memory and cheap to pass between
    processes; the CSV writer spells the text out."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)), dictionary)


def _rows_to_arrays(rows: dict[str, list], columns: tuple[str, ...]) -> list[pa.Array]:
    """Small tables: Python lists per column, typed by column name."""
    out = []
    for c in columns:
        v = rows[c]
        if c in DATE_COLUMNS:
            out.append(_date_array(v))
        elif c in ("value", "amount", "score", "rate"):
            out.append(pa.array(v, type=pa.float64()))
        elif c == "escalation":
            out.append(pa.array(v, type=pa.bool_()))
        else:
            out.append(pa.array(v, type=pa.string()))
    return out


def _table(arrays: list[pa.Array], columns: tuple[str, ...]) -> pa.Table:
    return pa.Table.from_arrays(arrays, names=list(columns))


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _sequence(lengths: list[int]) -> pa.Array:
    """1..n within each client, as text: the per-client part of row ids."""
    seq = np.concatenate([np.arange(1, n + 1) for n in lengths]) if lengths else np.zeros(0, np.int64)
    return pc.cast(pa.array(seq), pa.string())


def time_tables(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], people: People,
                dicts: dict[str, pa.Array]) -> tuple[pa.Table | None, pa.Table | None]:
    """Time entries of a chunk: canonical rows for most clients, Harvest rows for the rest."""
    out: list[pa.Table | None] = []
    for use_harvest in (False, True):
        sel = [(p, t) for p, t in parts if p.harvest == use_harvest]
        if not sel:
            out.append(None)
            continue
        cat = _concat([t for _, t in sel])
        n = len(cat["day"])
        lengths = [len(t["day"]) for _, t in sel]
        client_code = np.repeat(np.arange(len(sel)), lengths)
        project_names = [p.projects for p, _ in sel]
        proj_offset = np.cumsum([0] + [len(x) for x in project_names[:-1]])
        project_code = proj_offset[client_code] + cat["project"]
        projects = pa.array([x for names in project_names for x in names], type=pa.string())
        date = _date_array(cat["day"])
        task = _coded(dicts["task"], cat["task"])
        hours = pa.array(cat["hours"])
        bill_rate = pa.array(cat["bill_rate"].astype(np.int64))  # whole currency units
        cost_rate = pa.array(cat["cost_rate"].astype(np.int64))
        bamt, camt = pa.array(cat["billable_amount"]), pa.array(cat["cost_amount"])
        role = people.role[cat["person"]]
        if not use_harvest:
            ids = pa.array([p.client_id for p, _ in sel], type=pa.string())
            entry_id = pc.binary_join_element_wise(_take(ids, client_code),
                                                   pc.utf8_lpad(_sequence(lengths), 6, "0"), "-T")
            client = _coded(ids, client_code)
            out.append(_table([
                entry_id, date, _coded(dicts["slot"], cat["slot"]), pa.array(cat["after_hours"]),
                client, _coded(projects, project_code), task, _coded(dicts["person"], cat["person"]),
                _coded(dicts["role"], role), hours, pa.array(cat["billable"]), bill_rate, cost_rate,
                bamt, camt, _coded(dicts["usd"], np.zeros(n)),
                _coded(dicts["work_type"], TASK_WORK_TYPE[cat["task"]]),
                pa.array(TASK_REWORK[cat["task"]]),
            ], TABLES["time_entries"].column_names))
        else:
            names = pa.array([p.name for p, _ in sel], type=pa.string())
            codes = pa.array([c for p, _ in sel for c in p.project_codes], type=pa.string())
            yes_no = dicts["yes_no"]
            billable = cat["billable"].astype(np.int64)
            out.append(_table([
                date, _coded(names, client_code), _coded(projects, project_code),
                _coded(codes, project_code), task, _coded(dicts["empty"], np.zeros(n)), hours,
                pa.array(np.ceil(cat["hours"] * 4) / 4),  # Harvest's quarter-hour rounding
                _coded(yes_no, billable), _coded(yes_no, billable),  # everything billable is invoiced
                _coded(yes_no, np.ones(n)),
                _coded(dicts["first"], cat["person"]), _coded(dicts["last"], cat["person"]),
                _coded(dicts["role_display"], role),
                _coded(yes_no, people.employee[cat["person"]].astype(np.int64)),
                bill_rate, bamt, cost_rate, camt, _coded(dicts["harvest_usd"], np.zeros(n)),
                _coded(dicts["empty"], np.zeros(n)),
            ], HARVEST_COLUMNS))
    return out[0], out[1]


def requests_table(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], dicts) -> pa.Table:
    cat = _concat([r for _, r in parts])
    lengths = [len(r["day"]) for _, r in parts]
    client = _take(pa.array([p.client_id for p, _ in parts], type=pa.string()),
                   np.repeat(np.arange(len(parts)), lengths))
    request_id = pc.binary_join_element_wise(client, pc.utf8_lpad(_sequence(lengths), 4, "0"), "-R")
    created = pc.binary_join_element_wise(pc.cast(_date_array(cat["day"]), pa.string()),
                                          _take(dicts["slot"], cat["slot"]), " ")
    # Deliverable ids are per client: "<client>-D<nnn>" of the client's own numbering.
    has_d = cat["deliverable"] >= 0
    dseq = pc.cast(pa.array(cat["deliverable"] + 1), pa.string())
    deliverable = pc.binary_join_element_wise(client, pc.utf8_lpad(dseq, 3, "0"), "-D")
    deliverable = pc.if_else(pa.array(has_d), deliverable, pa.nulls(len(has_d), pa.string()))
    return _table([
        request_id, client, _take(dicts["request_type"], cat["type"]), created,
        _take(dicts["urgency"], cat["urgency"]), _float_array(cat["approval"]),
        _bool_array(cat["became"]), _bool_array(cat["contradicts"]), _bool_array(cat["planned"]),
        _bool_array(cat["accepted"]), _bool_array(cat["followed"]), deliverable,
    ], TABLES["requests"].column_names)


def deliverables_table(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], dicts) -> pa.Table:
    cat = _concat([d for _, d in parts])
    lengths = [len(d["qi"]) for _, d in parts]
    client = _take(pa.array([p.client_id for p, _ in parts], type=pa.string()),
                   np.repeat(np.arange(len(parts)), lengths))
    deliverable_id = pc.binary_join_element_wise(client, pc.utf8_lpad(_sequence(lengths), 3, "0"), "-D")
    return _table([
        deliverable_id, client, pa.array(cat["name"].astype(str).tolist(), type=pa.string()),
        _take(dicts["work_type"], cat["work_type"]), _date_array(cat["promised"]),
        _date_array(cat["delivered"]), _take(dicts["status"], cat["status"]),
        _date_array(cat["launched"]), _bool_array(cat["billed_extra"]),
    ], TABLES["deliverables"].column_names)


def make_dictionaries(people: People) -> dict[str, pa.Array]:
    return {
        "task": pa.array(TASK_TEXT.tolist()), "slot": pa.array(SLOT_TEXT.tolist()),
        "person": pa.array(people.name.tolist()), "first": pa.array(people.first.tolist()),
        "last": pa.array(people.last.tolist()), "role": pa.array(list(ROLES)),
        "role_display": pa.array(ROLE_DISPLAY.tolist()), "work_type": pa.array(list(WORK_TYPES)),
        "usd": pa.array([REPORTING_CURRENCY]), "harvest_usd": pa.array([HARVEST_CURRENCY["USD"]]),
        "yes_no": pa.array(["No", "Yes"]), "empty": pa.array([""]),
        "request_type": pa.array(list(REQUEST_TYPES)), "urgency": pa.array(list(URGENCY)),
        "status": pa.array(list(DELIVERABLE_STATUS)),
    }


# --------------------------------------------------------------------------- one client

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
    rng = _rng(seed, STREAM_RENDER, plan.k)
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
    contacts = {
        "client_id": [plan.client_id] * n_active,
        "quarter": [cal.quarters[q] for q in plan.active_quarters],
        "client_contact": list(team.client_contact),
        "our_communicator": [str(people.name[p]) for p in team.communicator],
        "communicator_role": list(team.communicator_role),
    }
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


def client_truth(plan: ClientPlan, cal: Calendar, profit: float) -> dict:
    """The planted truth of one client; `whale` is filled in once every profit is known."""
    return {
        "archetype": plan.archetype,
        "toxic": plan.archetype == "toxic",
        "loss_making": bool(profit < 0),
        "whale": False,
        "late_payer": plan.archetype == "late_payer",
        "estimate_shopper": plan.archetype == "estimate_shopper",
        "scope_creeper": plan.archetype == "scope_creeper",
        "silent_churner": plan.archetype == "silent_churner",
        "churn_quarter": cal.quarters[plan.stop_q] if plan.stop_q < cal.nq else None,
        "insourcing_exit": plan.archetype == "insourcing_exit",
        "spiral_breaker": plan.mistake,
        "phases": {cal.quarters[q]: STATES[int(ph)] for q, ph in zip(plan.active_quarters, plan.phases)},
        "profit": round(profit, 2),
        "currency": plan.currency,
        "time_export": "harvest" if plan.harvest else "time_entries",
    }


# --------------------------------------------------------------------------- one chunk

@dataclass(frozen=True)
class ChunkTask:
    """What a (possibly separate) process needs to render clients `first`..`stop`-1."""
    first: int
    stop: int
    assignments: tuple[Assignment, ...]
    cal: Calendar
    people: People
    seed: int


@dataclass
class ChunkOutput:
    tables: dict[str, pa.Table | None]  # file stem -> rows of this chunk
    truth: dict[str, dict]  # client_id -> its truth entry (whale not yet known)
    profit: dict[str, float]


def render_chunk(task: ChunkTask) -> ChunkOutput:
    """Every row of a run of clients, as Arrow tables ready to append to the files.

    Each client draws from its own streams, so the output does not depend on where chunks
    begin or which process renders them.
    """
    dicts = make_dictionaries(task.people)
    small: dict[str, dict[str, list]] = {}
    time_parts, request_parts, deliverable_parts = [], [], []
    truth, profit = {}, {}

    def add(table: str, rows: dict[str, list]) -> None:
        dest = small.setdefault(table, {c: [] for c in TABLES[table].column_names})
        for c, v in rows.items():
            dest[c].extend(v)

    for k, assignment in zip(range(task.first, task.stop), task.assignments):
        plan = plan_client(k, assignment, task.cal, task.seed)
        result = render_client(plan, task.people, task.cal, task.seed)
        profit[plan.client_id] = result.revenue - result.cost
        truth[plan.client_id] = client_truth(plan, task.cal, profit[plan.client_id])
        add("clients", client_row(plan))
        for table, rows in result.small.items():
            add(table, rows)
        time_parts.append((plan, result.time))
        request_parts.append((plan, result.requests))
        deliverable_parts.append((plan, result.deliverables))
    tables: dict[str, pa.Table | None] = {}
    tables["time_entries"], tables["harvest_time_report"] = time_tables(time_parts, task.people, dicts)
    tables["requests"] = requests_table(request_parts, dicts)
    tables["deliverables"] = deliverables_table(deliverable_parts, dicts)
    for name, rows in small.items():
        tables[name] = _table(_rows_to_arrays(rows, TABLES[name].column_names), TABLES[name].column_names)
    return ChunkOutput(tables, truth, profit)


def rendered_chunks(tasks: list[ChunkTask], workers: int):
    """Chunk outputs in order; with workers > 1, rendered ahead in separate processes.

    At most `workers` chunks are in flight besides the one being written, so memory stays
    bounded whatever the number of clients. Processes are spawned (not forked): Arrow's threads do not survive a fork.
    """
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield render_chunk(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as ex:
        pending = []
        todo = iter(tasks)
        for task in todo:
            pending.append(ex.submit(render_chunk, task))
            if len(pending) >= workers:
                break
        while pending:
            result = pending.pop(0).result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(ex.submit(render_chunk, nxt))
            yield result


# --------------------------------------------------------------------------- truth

def whale_set(profit: dict[str, float], n_whales: int) -> tuple[set[str], float]:
    """The n_whales most profitable clients and their share of total profit."""
    ranked = sorted(profit, key=lambda c: (-profit[c], c))
    top = ranked[:n_whales]
    total = sum(profit.values())
    share = sum(profit[c] for c in top) / total if total > 0 else float("nan")
    return set(top), share


def truth_document(clients: dict[str, dict], profit: dict[str, float], seed: int, years: int,
                   end_quarter: str) -> dict:
    """The planted truth: the mix, the chain, and every client's flags and phases."""
    quota = {a: sum(v["archetype"] == a for v in clients.values())
             for a in list(ARCHETYPE_SHARES) + ["ordinary"]}
    whales, share = whale_set(profit, quota["whale"])
    for cid, v in clients.items():
        v["whale"] = cid in whales
    return {
        "seed": seed, "clients_n": len(clients), "years": years, "end_quarter": end_quarter,
        "archetype_mix": quota,
        "spiral_breaker_mix": {m: sum(v["spiral_breaker"] == m for v in clients.values())
                               for m in MISTAKES},
        "transition_matrix": {"states": list(STATES), "matrix": PLANTED_MATRIX.tolist()},
        "chain_use": {
            "exact": ["spiral_follower", "ordinary"],
            "without_churn": ["whale", "steady_star", "late_payer", "toxic", "estimate_shopper",
                              "scope_creeper", "silent_churner (until its planned stop)",
                              "insourcing_exit (until its support-only taper)"],
            "bent_by_mistake": "spiral_breaker (see spiral_breaker)",
        },
        "whale_profit_share": round(share, 4),
        "clients": clients,
    }


# --------------------------------------------------------------------------- generate

TABLE_FILES = ("clients", "contracts", "invoices", "time_entries", "requests", "deliverables",
               "surveys", "team_feedback", "contacts", "people", "fx_rates")
HARVEST_FILE = "harvest_time_report"


def generate(out_dir: Path, truth_path: Path, clients: int = 200, years: int = 3, seed: int = 42,
             end_quarter: str = "2026Q3", progress: bool = False, workers: int | None = None) -> dict:
    """Write the demo company's raw exports to out_dir and its planted truth to truth_path.

    Returns the truth document. `workers` processes render chunks ahead of the writer; the
    default uses two when there are more than four chunks (over 400 clients). Output never
    depends on it.
    """
    started = time.perf_counter()
    out_dir, truth_path = Path(out_dir), Path(truth_path)
    if years < 1:
        raise ValueError(f"years={years}: the demo needs at least one year")
    cal = make_calendar(end_quarter, years)
    assignments = assign_clients(clients, seed)
    people = make_people(clients, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    tasks = [ChunkTask(first, min(clients, first + CHUNK_CLIENTS),
                       tuple(assignments[first:first + CHUNK_CLIENTS]), cal, people, seed)
             for first in range(0, clients, CHUNK_CLIENTS)]
    if workers is None:
        workers = 2 if len(tasks) > 4 else 1

    def say(msg: str) -> None:
        if progress:
            print(f"demo: {msg}", file=sys.stderr, flush=True)

    sinks = {name: CsvSink(out_dir / f"{name}.csv", TABLES[name].column_names) for name in TABLE_FILES}
    sinks[HARVEST_FILE] = CsvSink(out_dir / f"{HARVEST_FILE}.csv", HARVEST_COLUMNS)
    truth_clients: dict[str, dict] = {}
    profit: dict[str, float] = {}
    try:
        usd = pa.array([REPORTING_CURRENCY] * len(people.name))
        sinks["people"].write(_table([
            pa.array(people.name.tolist()), pa.array(np.array(ROLES)[people.role].tolist()),
            pa.array(people.cost_rate), pa.array(people.bill_rate), usd,
        ], TABLES["people"].column_names))
        sinks["fx_rates"].write(_table([pa.array([c for c, _ in FX_RATES]),
                                        pa.array([r for _, r in FX_RATES])], TABLES["fx_rates"].column_names))
        say(f"people.csv: {sinks['people'].rows:,} people; fx_rates.csv: {len(FX_RATES)} currencies")
        for i, (task, out) in enumerate(zip(tasks, rendered_chunks(tasks, workers))):
            for name, table in out.tables.items():
                sinks[name].write(table)
            truth_clients.update(out.truth)
            profit.update(out.profit)
            entries = sum(out.tables[t].num_rows for t in ("time_entries", HARVEST_FILE)
                          if out.tables[t] is not None)
            say(f"chunk {i + 1}/{len(tasks)}: clients {task.first + 1}-{task.stop}, "
                f"{entries:,} time entries ({time.perf_counter() - started:.1f} s)")
    finally:
        for sink in sinks.values():
            sink.close()

    truth = truth_document(truth_clients, profit, seed, years, end_quarter)
    with open(truth_path, "w", encoding="utf-8") as fh:
        json.dump(truth, fh, sort_keys=True, indent=1)
        fh.write("\n")
    for name, sink in sinks.items():
        if name not in ("people", "fx_rates"):
            say(f"{name}.csv: {sink.rows:,} rows")
    n_loss = sum(v["loss_making"] for v in truth_clients.values())
    entries = sinks["time_entries"].rows + sinks[HARVEST_FILE].rows
    planted = {c for c, v in truth_clients.items() if v["archetype"] == "whale"}
    whales = {c for c, v in truth_clients.items() if v["whale"]}
    warning = ""
    if whales != planted or not truth["whale_profit_share"] > WHALE_PROFIT_SHARE:
        warning = " WARNING: the planted whales are not the top of the whale curve in this run;"
    say(f"{clients} clients x {years} years to {end_quarter} (seed {seed}): {entries:,} time "
        f"entries ({sinks[HARVEST_FILE].rows:,} in Harvest format), {sinks['invoices'].rows:,} "
        f"invoices, {sinks['requests'].rows:,} requests; whales carry "
        f"{truth['whale_profit_share']:.0%} of profit, {n_loss} clients lose money;{warning} "
        f"wrote {out_dir} and {truth_path} in {time.perf_counter() - started:.1f} s")
    return truth


def main(argv: list[str] | None = None) -> int:
    from clientlens.parameters import load_config
    from clientlens.paths import DEMO_TRUTH_FILE, RAW_DIR

    params = load_config()
    ap = argparse.ArgumentParser(prog="python -m clientlens.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=RAW_DIR, help="directory for the raw exports")
    ap.add_argument("--truth", type=Path, default=DEMO_TRUTH_FILE, help="planted-truth JSON (tests only)")
    ap.add_argument("--clients", type=int, default=int(params.get("demo_clients", 200)))
    ap.add_argument("--years", type=int, default=int(params.get("demo_years", 3)))
    ap.add_argument("--seed", type=int, default=int(params.get("seed", 42)))
    ap.add_argument("--end-quarter", default=str(params.get("demo_end_quarter", "2026Q3")))
    args = ap.parse_args(argv)
    try:
        generate(args.out, args.truth, clients=args.clients, years=args.years, seed=args.seed,
                 end_quarter=args.end_quarter, progress=True)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
