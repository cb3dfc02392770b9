"""Each client's plan: who it is, when it arrives and leaves, its phases and its volumes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clientlens.demo.archetypes import PROFILES, Assignment, Profile, breaker_profile, toxic_pair_profile
from clientlens.demo.firms import DEMO, FirmConfig
from clientlens.demo.random_streams import STREAM_PLAN, rng_for
from clientlens.demo.spiral_chain import (
    FEATURE,
    STABILITY,
    SUPPORT,
    UX,
    chain_for,
    stationary,
    walk_chain,
)
from clientlens.demo.window import Calendar

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
GBP_SUFFIX = ("Ltd", "PLC", "LLP", "Ltd", "Holdings")
SUFFIXES = {"EUR": EUR_SUFFIX, "GBP": GBP_SUFFIX}


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
    contract_kind: str = "project"
    lumpy_projects: bool = True
    tables_missing: tuple[str, ...] = ()
    toxic_markers: tuple[str, ...] = ()
    stale_contract: bool = False  # stopped, but its last contract stays open-ended
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
    suffixes = SUFFIXES.get(currency, USD_SUFFIX)
    extra = f" {k // combos + 1}" if k >= combos else ""
    return f"{prefix}{core} {sector}{extra} {suffixes[k % len(suffixes)]}", industry


PHASE_VOLUME = np.array([1.0, 0.8, 0.75])  # billable volume of a phase vs feature; support: the firm's


def phase_volume(firm: FirmConfig) -> np.ndarray:
    """Billable volume of each spiral phase against a feature quarter."""
    return np.append(PHASE_VOLUME, firm.support_volume)


def quarter_of_year(cal: Calendar) -> np.ndarray:
    """1-4 for each window quarter."""
    return np.array([int(q[-1]) for q in cal.quarters])


def plan_client(k: int, a: Assignment, cal: Calendar, seed: int, firm: FirmConfig = DEMO,
                lapse_quarters: int | None = None) -> ClientPlan:
    """Lifetime, phases and volumes of client k, from its own random stream.

    `lapse_quarters` (config/params.yaml): a stopped client quiet that long may leave an
    open-ended contract behind (firm.stale_share); without it none does.
    """
    rng = rng_for(seed, STREAM_PLAN, k)
    if a.archetype == "spiral_breaker":
        prof = breaker_profile(a.mistake)
    elif a.archetype == "toxic_pair":
        prof = toxic_pair_profile(a.toxic_markers)
    else:
        prof = PROFILES[a.archetype]
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
        # (for a communicator who is never rotated, that takes over two years).
        bite = 9 if a.mistake == "communicator_not_rotated" else 3
        churn_after = (bite, 0.08) if a.archetype == "spiral_breaker" else None
        path = walk_chain(matrix, start, steps, rng, churn=True, churn_after=churn_after)
        stop_q = first_q + len(path)
    else:
        path = walk_chain(matrix, start, steps, rng, churn=False)
        if a.archetype == "insourcing_exit":  # the last quarters hand over: support only
            path[-decline_len:] = [SUPPORT] * min(decline_len, len(path))
    phases = np.array(path, dtype=np.int8)
    n_active = len(phases)

    # Volumes: client size x phase x season x quarter noise x first-quarter proration x decline.
    size = prof.hours_median * float(np.exp(rng.normal(0.0, prof.hours_sigma)))
    prorate = np.ones(n_active)
    if not pre_existing:
        q0_len = cal.q_start[first_q + 1] - cal.q_start[first_q]
        prorate[0] = (cal.q_start[first_q + 1] - acquired_day) / q0_len
    season = np.array(firm.season)[quarter_of_year(cal)[first_q:first_q + n_active] - 1]
    volume = (size * phase_volume(firm)[phases] * season * np.exp(rng.normal(0.0, 0.12, n_active))
              * prorate)
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
    # Nobody closes the contract of a client that just went quiet: it stays open, without an end.
    stale = bool(rng.random() < firm.stale_share and stop_q < nq and exit_reason is None
                 and lapse_quarters is not None and stop_q <= nq - lapse_quarters)

    return ClientPlan(
        k=k, client_id=f"C{k + 1:05d}", name=name, industry=industry, archetype=a.archetype,
        mistake=a.mistake, currency=a.currency, harvest=a.harvest, profile=prof,
        acquired_day=acquired_day, first_q=first_q, stop_q=stop_q, phases=phases, volume=volume,
        decline=decline,
        exit_reason=exit_reason, exit_day=exit_day,
        monthly_billing=bool(rng.random() < prof.monthly_billing_p),
        pay_terms=int(rng.choice([14, 30])), prorate=prorate,
        contract_kind=a.contract_kind, lumpy_projects=firm.lumpy_projects,
        tables_missing=a.tables_missing, toxic_markers=a.toxic_markers, stale_contract=stale,
    )


def quarter_day_bounds(plan: ClientPlan, cal: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """First and last day the client can have activity in each of its active quarters."""
    q = plan.active_quarters
    lo = np.maximum(cal.q_start[q], plan.acquired_day)
    hi = cal.q_start[q + 1] - 1
    return lo, hi
