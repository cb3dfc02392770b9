"""Firm configurations: two differently shaped companies, so that tests cannot tune to one.

A `FirmConfig` says how a generated firm differs from another: its archetype mix, the
currencies it bills in, how many clients log time in Harvest, how seasonal its work is, how its
clients contract (steady yearly retainers or lumpy fixed-price projects), how much less a
support quarter orders than a feature quarter, how many stopped clients leave an open-ended
contract behind, and how many clients it never surveys, gets no team feedback on or records
no deliverables for. Every kind of variety can be switched off (season all 1.0, shares 0,
`lumpy_projects` False) to get back the plain shape.

FIRMS holds the named presets:

    demo    the default: an IT services firm, mostly USD, mildly seasonal, retainers beside
            lumpy projects, a few stale contracts and a few clients with missing tables
    agency  a digital agency: mostly project work, strongly seasonal (a Q4 rush, a slow Q1),
            billed in USD, EUR and GBP, more estimate shoppers, late payers and two-marker
            toxic clients, many clients never surveyed or without team feedback

    generate(out, truth, clients=60, years=3, seed=1, end_quarter="2026Q3", firm="agency")
    python -m clientlens.demo --firm agency
"""
from __future__ import annotations

from dataclasses import dataclass

# Tables a firm may not keep for some clients (it surveys some clients only, and so on).
OPTIONAL_TABLES = ("surveys", "team_feedback", "deliverables")


@dataclass(frozen=True)
class FirmConfig:
    name: str
    # Share of clients per archetype (archetypes.ARCHETYPE_SHARES lists them); ordinary
    # clients take the rest.
    archetype_shares: tuple[tuple[str, float], ...]
    # (currency, share of clients billed in it): the first is the reporting currency and takes
    # whatever the others leave; rates are currencies.FX_RATES.
    currencies: tuple[tuple[str, float], ...]
    harvest_share: float  # clients that log time in the Harvest report instead
    season: tuple[float, float, float, float]  # hours multiplier of quarter-of-year 1..4
    # Share of clients (besides whales and steady stars, which always are) on yearly retainers
    # of a steady value; the others sign fixed-price projects.
    retainer_share: float
    # Projects: irregular blocks of quarters (one big contract, then small ones) when True;
    # one contract per run of a spiral phase (at most a year) when False.
    lumpy_projects: bool
    support_volume: float  # billable hours of a support quarter vs a feature quarter
    # Share of stopped clients without an exit record whose last contract stays open-ended.
    stale_share: float
    # Share of ordinary clients (ordinary, spiral followers, steady stars) that lack some of
    # OPTIONAL_TABLES.
    missing_tables_share: float
    # The CRM (demo/deals.py): deals a client opens a year while active, how many more an
    # estimate shopper asks for, each stage's chance to go on (the last: to be won) for
    # ordinary deals and for the shoppers', and open deals of new prospects per client.
    deals_per_client_year: float = 1.5
    shopper_deal_multiplier: float = 3.0
    stage_advance: tuple[float, float, float] = (0.7, 0.6, 0.65)
    shopper_stage_advance: tuple[float, float, float] = (0.9, 0.2, 0.3)
    prospect_deals_per_client: float = 0.3

    @property
    def shares(self) -> dict[str, float]:
        return dict(self.archetype_shares)

    @property
    def season_by_quarter(self) -> dict[int, float]:
        return {q + 1: m for q, m in enumerate(self.season)}


DEMO = FirmConfig(
    name="demo",
    archetype_shares=(
        ("whale", 0.03), ("steady_star", 0.08), ("estimate_shopper", 0.05), ("late_payer", 0.06),
        ("toxic", 0.05), ("toxic_pair", 0.05), ("scope_creeper", 0.05), ("spiral_follower", 0.10),
        ("spiral_breaker", 0.09), ("insourcing_exit", 0.04), ("silent_churner", 0.06),
    ),
    currencies=(("USD", 0.90), ("EUR", 0.10)),
    harvest_share=0.10,
    season=(0.92, 1.0, 0.96, 1.12),
    retainer_share=0.35,
    lumpy_projects=True,
    support_volume=0.5,
    stale_share=0.4,
    missing_tables_share=0.15,
)

AGENCY = FirmConfig(
    name="agency",
    archetype_shares=(
        ("whale", 0.02), ("steady_star", 0.04), ("estimate_shopper", 0.08), ("late_payer", 0.08),
        ("toxic", 0.04), ("toxic_pair", 0.07), ("scope_creeper", 0.07), ("spiral_follower", 0.08),
        ("spiral_breaker", 0.09), ("insourcing_exit", 0.02), ("silent_churner", 0.08),
    ),
    currencies=(("USD", 0.50), ("EUR", 0.25), ("GBP", 0.25)),
    harvest_share=0.25,
    season=(0.75, 1.0, 0.85, 1.4),
    retainer_share=0.08,
    lumpy_projects=True,
    support_volume=0.4,
    stale_share=0.5,
    missing_tables_share=0.45,
    deals_per_client_year=2.0,
    stage_advance=(0.6, 0.5, 0.7),
    prospect_deals_per_client=0.5,
)

FIRMS: dict[str, FirmConfig] = {f.name: f for f in (DEMO, AGENCY)}


def firm_config(firm: str | FirmConfig) -> FirmConfig:
    """The preset of that name (or the config itself)."""
    if isinstance(firm, FirmConfig):
        return firm
    if firm not in FIRMS:
        raise ValueError(f"firm={firm!r}: choose one of {', '.join(FIRMS)}")
    return FIRMS[firm]
