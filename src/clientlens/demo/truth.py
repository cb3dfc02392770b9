"""The planted truth: what the generator planted, for the tests to check the analysis against.

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
"""
from __future__ import annotations

from clientlens.demo.archetypes import ARCHETYPE_SHARES
from clientlens.demo.client_plan import ClientPlan
from clientlens.demo.spiral_chain import MISTAKES, PLANTED_MATRIX, STATES
from clientlens.demo.window import Calendar

WHALE_PROFIT_SHARE = 0.5


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
