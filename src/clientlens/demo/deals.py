"""The demo firm's CRM: deals.csv, with the win rates by stage planted.

Every client opens deals while it is active (new work, renewals, change estimates), at
FirmConfig.deals_per_client_year a year; an estimate shopper asks for
FirmConfig.shopper_deal_multiplier times as many and loses most. A deal walks the firm's three
stages (DEAL_STAGES) and at each either goes on or is lost: it reaches the next stage with the
stage's advance probability, and one in the last stage is won with the last. So the planted win
rate of a stage, the chance that a deal that reached it is won, is the product of the
probabilities from that stage on (planted_win_rates), for the ordinary deals and, with their own
probabilities, for the shoppers'. A deal whose close would fall after the window is still
open: it stands in the stage it has reached by then, expected to close on that day. New
prospects (FirmConfig.prospect_deals_per_client per client) bring open deals of the last two
quarters, under their company's name, with no client yet.

One vectorised pass over every client, after the chunks (its own random stream): at 10,000
clients some 60,000 rows.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from clientlens.demo.arrow_columns import arrow_table, date_array, float_array
from clientlens.demo.currencies import REPORTING_CURRENCY
from clientlens.demo.firms import FirmConfig
from clientlens.demo.random_streams import rng_for
from clientlens.demo.window import Calendar
from clientlens.intake.contract import TABLES

STREAM_DEALS = 29  # a stream tag of its own (random_streams holds 1-4)
DEAL_STAGES = ("Discovery", "Proposal", "Negotiation")
LOST_REASONS = ("Price", "Timing", "Chose another vendor", "No budget")
SHOPPER_LOST_REASON = "Price"
MEAN_DAYS_TO_CLOSE, MIN_DAYS_TO_CLOSE = 45, 14
DEAL_AMOUNT_MEDIAN, DEAL_AMOUNT_SPREAD = 24_000.0, 0.7  # lognormal, in the reporting currency
PROSPECT_QUARTERS = 2  # prospects' deals were opened in the window's last quarters


def planted_win_rates(advance: tuple[float, ...]) -> dict[str, float]:
    """Each stage's chance that a deal that reached it is won: the product of the advance
    probabilities from that stage on."""
    rates, product = {}, 1.0
    for stage, p in reversed(list(zip(DEAL_STAGES, advance))):
        product *= p
        rates[stage] = round(product, 6)
    return {s: rates[s] for s in DEAL_STAGES}


def _walk(rng: np.random.Generator, advance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per deal (a row of `advance`: its stages' probabilities): the last stage reached (1-based)
    and whether it was won."""
    go_on = rng.random(advance.shape) < advance
    reached = 1 + np.cumprod(go_on[:, :-1], axis=1).sum(axis=1)
    return reached, go_on.all(axis=1)


def deals_table(truth_clients: dict[str, dict], cal: Calendar, seed: int,
                firm: FirmConfig) -> tuple[pa.Table, dict]:
    """deals.csv's rows and the truth of what was planted."""
    rng = rng_for(seed, STREAM_DEALS)
    quarter_index = {q: i for i, q in enumerate(cal.quarters)}
    ids = sorted(truth_clients)
    active = [sorted(quarter_index[q] for q in truth_clients[c]["phases"]) for c in ids]
    shopper = np.array([truth_clients[c]["estimate_shopper"] for c in ids], dtype=bool)
    first = np.array([a[0] if a else 0 for a in active], dtype=np.int64)
    last = np.array([a[-1] if a else -1 for a in active], dtype=np.int64)
    years = (last - first + 1).clip(min=0) / 4
    rate = firm.deals_per_client_year * np.where(shopper, firm.shopper_deal_multiplier, 1.0)
    n = rng.poisson(rate * years)
    owner = np.repeat(np.arange(len(ids)), n)
    lo, hi = cal.q_start[first[owner]], cal.q_start[(last[owner] + 1).clip(max=cal.nq)]
    created = lo + (rng.random(len(owner)) * (hi - lo)).astype(np.int64)
    shopping = shopper[owner]
    advance = np.where(shopping[:, None], np.array(firm.shopper_stage_advance),
                       np.array(firm.stage_advance))
    reached, won = _walk(rng, advance)
    days = MIN_DAYS_TO_CLOSE + rng.exponential(MEAN_DAYS_TO_CLOSE - MIN_DAYS_TO_CLOSE, len(owner)).astype(np.int64)
    close = created + days
    still_open = close > cal.last_day
    # an open deal stands where it has got to: as far into its walk as its time so far allows
    elapsed = (cal.last_day - created + 1) / days
    so_far = 1 + (elapsed * len(DEAL_STAGES)).astype(np.int64)
    stage = np.where(still_open, np.minimum(reached, so_far.clip(max=len(DEAL_STAGES))), reached)

    n_prospects = int(round(firm.prospect_deals_per_client * len(ids)))
    p_lo = cal.q_start[max(0, cal.nq - PROSPECT_QUARTERS)]
    p_created = p_lo + (rng.random(n_prospects) * (cal.last_day + 1 - p_lo)).astype(np.int64)
    p_close = cal.last_day + 1 + (rng.exponential(MEAN_DAYS_TO_CLOSE, n_prospects)).astype(np.int64)
    p_stage = 1 + rng.integers(0, len(DEAL_STAGES), n_prospects)

    total = len(owner) + n_prospects
    amount = np.round(DEAL_AMOUNT_MEDIAN * np.exp(DEAL_AMOUNT_SPREAD * rng.standard_normal(total)), 2)
    outcome = np.concatenate([np.where(still_open, "open", np.where(won, "won", "lost")),
                              np.full(n_prospects, "open")])
    lost = outcome == "lost"
    reason = np.where(np.concatenate([shopping, np.zeros(n_prospects, bool)]), SHOPPER_LOST_REASON,
                      np.array(LOST_REASONS)[rng.integers(0, len(LOST_REASONS), total)])
    all_stage = np.concatenate([stage, p_stage])
    all_created = np.concatenate([created, p_created])
    all_close = np.concatenate([close, p_close])
    is_open = outcome == "open"
    client = np.array(ids, dtype=object)[owner].tolist() + [None] * n_prospects
    prospect = [None] * len(owner) + [f"Prospect {k + 1:05d}" for k in range(n_prospects)]
    columns = {
        "deal_id": pa.array([f"DL{k + 1:06d}" for k in range(total)]),
        "client_id": pa.array(client, type=pa.string()),
        "prospect": pa.array(prospect, type=pa.string()),
        "deal_name": pa.array(np.where(np.concatenate([shopping, np.zeros(n_prospects, bool)]),
                                       "Estimate request", "New work").tolist()),
        "stage": pa.array(np.array(DEAL_STAGES)[all_stage - 1].tolist()),
        "stage_order": pa.array(all_stage, type=pa.int64()),
        "amount": float_array(amount),
        "currency": pa.array([REPORTING_CURRENCY] * total),
        "created_date": date_array(all_created),
        "expected_close_date": date_array(np.where(is_open, all_close, -1)),
        "closed_date": date_array(np.where(is_open, -1, all_close)),
        "outcome": pa.array(outcome.tolist()),
        "lost_reason": pa.array(np.where(lost, reason, None).tolist(), type=pa.string()),
    }
    names = TABLES["deals"].column_names
    truth = {
        "stages": list(DEAL_STAGES),
        "win_rate_by_stage": planted_win_rates(firm.stage_advance),
        "shopper_win_rate_by_stage": planted_win_rates(firm.shopper_stage_advance),
        "deals": total, "prospect_deals": n_prospects,
        "closed_deals": int((~is_open).sum()), "open_deals": int(is_open.sum()),
    }
    return arrow_table([columns[c] for c in names], names), truth
