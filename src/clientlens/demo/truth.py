"""The planted truth: what the generator planted, for the tests to check the analysis against.

Planted truth (JSON, sorted keys): firm (the FirmConfig preset's name), seed, clients_n, years,
end_quarter, archetype_mix, transition_matrix {states, matrix}, season {1..4: hours multiplier
of that quarter of the year}, lapse_quarters and active_at_end, and per client: archetype,
toxic, toxic_markers, loss_making, whale, late_payer, estimate_shopper, scope_creeper,
silent_churner, churn_quarter (first quarter without activity, for any client that stopped
inside the window), insourcing_exit, spiral_breaker (the mistake or null), phases (quarter ->
phase, active quarters only), contract_kind, stale_contract and tables_missing.

`toxic` is true for the all-round toxic archetype and for the two-marker toxic clients
(archetype toxic_pair); `toxic_markers` names the markers of
clientlens.analysis.markers.MARKERS planted past their threshold (two for a toxic_pair, every
one the all-round toxic client plants, none for anybody else). `contract_kind` is retainer (a
steady yearly fee) or project (fixed-price work, lumpy when the firm says so).
`stale_contract`: the client stopped working (planted churn, no exit record) but its last
contract stays open-ended, so only the lapse rule can tell it has gone. `tables_missing`: the
optional tables (surveys, team_feedback, deliverables) that hold no row of the client because
the firm keeps none for it. `active_at_end` (top level, and per client): the clients with work
or an invoice in the last `lapse_quarters` quarters of the window (config/params.yaml) and no
exit record, the analysis's definition of active (clientlens.analysis.activity).

`loss_making` is computed from what was written: invoiced revenue (converted with
fx_rates.csv) minus the cost of all hours. `whale` marks the k most profitable clients, k
being the number of planted whales; whales are planted big enough to be exactly that top k
and to carry more than half of total profit (`whale_profit_share`; the tests check both,
and the summary line warns when a run misses either). Extra keys, for
tests and debugging: firm_config (every setting of the firm), spiral_breaker_mix, chain_use,
whale_profit_share, and per client
profit, currency and time_export (time_entries or harvest).

`pipeline` (top level, written by demo/writer.py from demo/deals.py): the deal stages, the
planted win rate of each (`win_rate_by_stage`, and `shopper_win_rate_by_stage` for the estimate
shoppers' deals) and how many deals, prospects' deals, closed and open deals deals.csv holds.

`precursors` (top level): the markers and warning signals planted in the quarters before a
departure and on no client that stays, as "marker:<name>" or "signal:<name>";
`noise_markers`: markers planted past threshold only on clients that never leave
(demo.archetypes says which is which).
"""
from __future__ import annotations

import json
from dataclasses import asdict

from clientlens.demo.archetypes import NOISE_MARKERS, PRECURSORS
from clientlens.demo.client_plan import ClientPlan
from clientlens.demo.firms import FirmConfig
from clientlens.demo.spiral_chain import MISTAKES, PLANTED_MATRIX, STATES
from clientlens.demo.window import Calendar

WHALE_PROFIT_SHARE = 0.5


def client_truth(plan: ClientPlan, cal: Calendar, profit: float, lapse_quarters: int) -> dict:
    """The planted truth of one client; `whale` is filled in once every profit is known."""
    return {
        "archetype": plan.archetype,
        "toxic": plan.archetype in ("toxic", "toxic_pair"),
        "toxic_markers": list(plan.toxic_markers),
        "contract_kind": plan.contract_kind,
        "stale_contract": plan.stale_contract,
        "tables_missing": list(plan.tables_missing),
        "active_at_end": plan.exit_day is None and plan.stop_q > cal.nq - lapse_quarters,
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


def whale_set(profit: dict[str, float], n_whales: int) -> tuple[set[str], float]:
    """The n_whales most profitable clients and their share of total profit."""
    ranked = sorted(profit, key=lambda c: (-profit[c], c))
    top = ranked[:n_whales]
    total = sum(profit.values())
    share = sum(profit[c] for c in top) / total if total > 0 else float("nan")
    return set(top), share


def truth_document(clients: dict[str, dict], profit: dict[str, float], seed: int, years: int,
                   end_quarter: str, firm: FirmConfig, lapse_quarters: int) -> dict:
    """The planted truth: the mix, the chain, and every client's flags and phases."""
    quota = {a: sum(v["archetype"] == a for v in clients.values())
             for a in list(firm.shares) + ["ordinary"]}
    whales, share = whale_set(profit, quota["whale"])
    for cid, v in clients.items():
        v["whale"] = cid in whales
    return {
        "firm": firm.name, "seed": seed, "clients_n": len(clients), "years": years,
        "end_quarter": end_quarter, "archetype_mix": quota,
        "season": {str(q): m for q, m in firm.season_by_quarter.items()},
        "firm_config": json.loads(json.dumps(asdict(firm))),
        "lapse_quarters": lapse_quarters,
        "active_at_end": sum(v["active_at_end"] for v in clients.values()),
        "spiral_breaker_mix": {m: sum(v["spiral_breaker"] == m for v in clients.values())
                               for m in MISTAKES},
        "transition_matrix": {"states": list(STATES), "matrix": PLANTED_MATRIX.tolist()},
        "chain_use": {
            "exact": ["spiral_follower", "ordinary"],
            "without_churn": ["whale", "steady_star", "late_payer", "toxic", "toxic_pair",
                              "estimate_shopper", "scope_creeper", "silent_churner (until its planned stop)",
                              "insourcing_exit (until its support-only taper)"],
            "bent_by_mistake": "spiral_breaker (see spiral_breaker)",
        },
        "whale_profit_share": round(share, 4),
        "precursors": list(PRECURSORS),
        "noise_markers": list(NOISE_MARKERS),
        "clients": clients,
    }
