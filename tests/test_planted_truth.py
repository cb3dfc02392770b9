"""The analysis finds what the demo generator planted.

One demo company (200 clients over 3 years, the default size) goes through ingest and the
panel, then through the same src/ calls the notebooks make. The generator's truth file, which
the analysis never reads, says which clients it made whales, loss-makers, toxic, silent
churners and spiral-breakers, and which transition matrix drove the spiral.
"""
from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from clientlens import demo
from clientlens.analysis import activity, early_warning, markov, pnl, rivals, segments, spiral, toxicity
from clientlens.intake.ingest import run_ingest
from clientlens.intake.panel import build_panel
from clientlens.parameters import load
from clientlens.processed import load_panel
from clientlens.quarters import quarter_end


@pytest.fixture(scope="module", params=["demo", "agency"])
def firm(request, tmp_path_factory):
    """Two differently configured firms (clientlens.demo.firms): the demo company, and a seasonal
    agency of project contracts in three currencies with more clients missing tables, so that no
    judgment passes by fitting one shape."""
    root = tmp_path_factory.mktemp(f"planted-{request.param}")
    params = load()
    demo.generate(root / "raw", root / "truth.json", clients=200, years=3, seed=42,
                  end_quarter=params.demo_end_quarter, firm=request.param)
    run_ingest(root / "raw", root / "processed", params)
    build_panel(root / "processed", "auto", params.office_hours, lapse_quarters=params.lapse_quarters,
                deadline_grace_days=params.deadline_grace_days,
                anonymize=False)
    panel, meta = load_panel(root / "processed")
    truth = json.loads((root / "truth.json").read_text())
    clients = pnl.client_pnl(panel, params.overhead_rate, overhead_base=params.overhead_base,
                             lapse_quarters=params.lapse_quarters, period_end=meta["period_end"])
    clients = clients.merge(pnl.abc_classes(clients, params.abc_cutoffs)[["client_id", "abc_class"]],
                            on="client_id")
    return {"name": request.param, "root": root, "params": params, "panel": panel, "meta": meta, "truth": truth,
            "planted": pd.DataFrame.from_dict(truth["clients"], orient="index"), "pnl": clients}


def to_cents(amount: pd.Series, rate) -> pd.Series:
    """amount x rate in whole cents, half-up in decimal arithmetic (a GBP rate of 1.27 makes
    half-cent ties, which float rounding breaks either way)."""
    rates = rate if isinstance(rate, pd.Series) else pd.Series(rate, index=amount.index)
    return pd.Series([int((Decimal(str(a)) * Decimal(str(r)) * 100).quantize(Decimal(1), ROUND_HALF_UP))
                      for a, r in zip(amount, rates)], index=amount.index)


def roc_auc(scores: pd.Series, positive: pd.Series) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    pos, neg = scores[positive].to_numpy(), scores[~positive].to_numpy()
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return greater / (len(pos) * len(neg))


# --- issue 4: P&L ------------------------------------------------------------------

def test_revenue_ties_back_to_the_raw_invoices_to_the_cent(firm):
    raw = firm["root"] / "raw"
    invoices = pd.read_csv(raw / "invoices.csv")
    rates = pd.read_csv(raw / "fx_rates.csv").set_index("currency")["rate"]
    end = pd.Timestamp(quarter_end(firm["meta"]["period_end"]))
    in_period = pd.to_datetime(invoices.issue_date) <= end
    currency = invoices.currency.fillna(firm["params"].reporting_currency)
    invoiced = to_cents(invoices.amount, currency.map(rates))[in_period].sum()
    assert to_cents(firm["pnl"].revenue, 1.0).sum() == invoiced


def test_collected_revenue_ties_back_to_the_invoices_paid_to_the_cent(firm):
    """Every payment made by the period end is collected and what is still unpaid is the
    receivables. (The demo's clients pay before they exit: tests/test_payments_after_exit.py
    plants payments after an exit.)"""
    raw = firm["root"] / "raw"
    invoices = pd.read_csv(raw / "invoices.csv")
    rates = pd.read_csv(raw / "fx_rates.csv").set_index("currency")["rate"]
    end = pd.Timestamp(quarter_end(firm["meta"]["period_end"]))
    issued = pd.to_datetime(invoices.issue_date) <= end
    paid = issued & (pd.to_datetime(invoices.paid_date) <= end)
    amount = to_cents(invoices.amount, invoices.currency.fillna(firm["params"].reporting_currency).map(rates))
    collected = to_cents(firm["panel"].revenue_collected.fillna(0), 1.0).sum()
    billed = to_cents(firm["panel"].revenue_billed.fillna(0), 1.0).sum()
    assert collected == amount[paid].sum()
    assert billed - collected == amount[issued & ~paid].sum()


def test_costs_tie_back_to_the_raw_time_exports_to_the_cent(firm):
    raw = firm["root"] / "raw"
    end = pd.Timestamp(quarter_end(firm["meta"]["period_end"]))
    canonical = pd.read_csv(raw / "time_entries.csv", usecols=["date", "cost_amount"])
    harvest = pd.read_csv(raw / "harvest_time_report.csv", usecols=["Date", "Cost Amount"])
    cost = (canonical.loc[pd.to_datetime(canonical.date) <= end, "cost_amount"].sum()
            + harvest.loc[pd.to_datetime(harvest.Date) <= end, "Cost Amount"].sum())
    assert round(firm["pnl"].delivery_cost.sum(), 2) == round(cost, 2)


def test_planted_loss_makers_land_in_the_loss_making_tail(firm):
    planted = firm["planted"]
    losers = set(planted.index[planted.loss_making])
    assert losers, "the demo planted no loss-making client"
    tail = set(firm["pnl"].loc[firm["pnl"].margin < 0, "client_id"])
    found = len(losers & tail) / len(losers)
    assert found >= 0.9, f"only {found:.0%} of planted loss-makers are in the loss-making tail"


def test_planted_whales_are_class_a(firm):
    planted = firm["planted"]
    whales = set(planted.index[planted.whale])
    classes = firm["pnl"].set_index("client_id")["abc_class"]
    assert whales and all(classes[w] == "A" for w in whales)


# --- issue 5: toxicity and early warnings --------------------------------------------

def test_toxicity_score_separates_planted_toxic_clients(firm):
    current = toxicity.current_toxicity(firm["panel"], firm["params"], as_of=firm["meta"]["period_end"])
    scores = current.set_index("client_id")["score"]
    healthy = healthy_clients(firm["planted"])
    toxic = firm["planted"].toxic.reindex(scores.index).fillna(False).astype(bool)
    assert toxic.sum() >= 5
    # against the healthy: a late payer or an estimate shopper is trouble too, and may outrank
    judged = toxic | scores.index.isin(healthy)
    auc = roc_auc(scores.fillna(0)[judged], toxic[judged])
    assert auc >= 0.9, f"ROC AUC {auc:.3f}"


PROBLEMS = ("toxic", "late_payer", "loss_making", "estimate_shopper", "scope_creeper", "silent_churner")


def healthy_clients(planted: pd.DataFrame) -> pd.Index:
    """Clients with nothing planted against them: no problem flag, no spiral mistake, and no
    departure other than a planned in-sourcing."""
    problem = planted[list(PROBLEMS)].fillna(False).astype(bool).any(axis=1)
    breaker = planted["spiral_breaker"].notna()
    left = planted["churn_quarter"].notna() & ~planted["insourcing_exit"].fillna(False).astype(bool)
    return planted.index[~problem & ~breaker & ~left]


@pytest.fixture(scope="module")
def current(firm):
    return toxicity.current_toxicity(firm["panel"], firm["params"],
                                     as_of=firm["meta"]["period_end"]).set_index("client_id")


def test_the_red_flag_finds_toxic_clients_and_spares_healthy_ones(firm, current):
    planted = firm["planted"]
    toxic = planted.index[planted.toxic.astype(bool)]
    healthy = healthy_clients(planted)
    assert len(toxic) >= 5 and len(healthy) >= 50
    recall = current.loc[toxic, "is_red"].mean()
    false_alarm = current.loc[healthy, "is_red"].mean()
    assert recall >= 0.8, f"red on {recall:.0%} of planted toxic clients"
    assert false_alarm <= 0.05, f"red on {false_alarm:.0%} of healthy clients: " + \
        str(current.loc[healthy][current.loc[healthy, "is_red"]][["score", "n_full", "reason_markers"]])


def test_no_marker_is_named_on_more_than_one_healthy_client_in_twenty(firm, current):
    named = current.loc[healthy_clients(firm["planted"]), "reason_markers"].fillna("").str.split(",")
    rates = {m.name: named.apply(lambda names: m.name in names).mean() for m in toxicity.MARKERS}
    assert max(rates.values()) <= 0.05, {k: round(v, 3) for k, v in rates.items() if v > 0.05}


def test_the_active_count_is_the_planted_one(firm):
    """Work or an invoice within lapse_quarters: a stale open-ended contract is no activity."""
    truth = firm["truth"]
    assert truth["lapse_quarters"] == firm["params"].lapse_quarters
    active = activity.active_clients(firm["panel"], firm["params"].lapse_quarters, firm["meta"]["period_end"])
    assert len(active) == truth["active_at_end"]
    stale = firm["planted"].index[firm["planted"].stale_contract.fillna(False).astype(bool)]
    assert len(stale) >= 1 and not set(stale) & set(active)


def test_no_red_client_is_told_to_grow(firm, current):
    placed = segments.assign_segments(current.reset_index(), firm["pnl"], firm["params"],
                                      margin="margin_last4", margin_pct="margin_pct_last4",
                                      revenue="revenue_last4").set_index("client_id")
    red = current.index[current.is_red.astype(bool)]
    assert len(red) >= 5
    assert not placed.loc[red, "segment"].eq("core").any()
    assert not placed.loc[red, "action"].eq("Grow and protect").any()


def test_early_warnings_name_silent_churners_a_quarter_ahead(firm):
    planted = firm["planted"]
    churners = planted.loc[planted.silent_churner & planted.churn_quarter.notna(), "churn_quarter"]
    assert len(churners) >= 5
    panel, params = firm["panel"], firm["params"]
    quality = early_warning.warning_backtest(panel, churners, params)
    assert quality["recall_full_quarter"] >= 0.8, quality  # a whole quarter before the last active one
    # precision against every stop the data show (a warned client that left is a right warning,
    # planted as a silent churner or not); an in-sourcing exit is neither right nor wrong
    observed = early_warning.warning_backtest(panel, early_warning.observed_stops(panel, params.lapse_quarters),
                                              params, insourced=early_warning.insourcing_exits(panel))
    assert observed["precision_clients"] >= 0.35, observed


# --- issue 6: the spiral -------------------------------------------------------------

def test_transition_probabilities_match_the_planted_chain(firm):
    states = spiral.client_states(firm["panel"], period_end=firm["meta"]["period_end"],
                                  churn_after_quarters=firm["params"].spiral.churn_after_quarters)
    estimated = markov.transition_matrix(markov.fit_chain(states))
    planted = firm["truth"]["transition_matrix"]
    names = planted["states"]
    worst = max(abs(estimated.loc[a, b] - planted["matrix"][i][j])
                for i, a in enumerate(names) if a != "churned"
                for j, b in enumerate(names) if a in estimated.index and b in estimated.columns)
    assert worst <= 0.05, f"a transition probability is off by {worst:.3f}"


def test_planted_spiral_breakers_are_flagged_with_their_mistake(firm):
    params = firm["params"]
    states = spiral.client_states(firm["panel"], period_end=firm["meta"]["period_end"],
                                  churn_after_quarters=params.spiral.churn_after_quarters)
    events = spiral.mistake_events(firm["panel"], states, **spiral.mistake_thresholds(params))
    found = set(zip(events.client_id, events.mistake))
    breakers = firm["planted"].spiral_breaker.dropna()
    hits = [(cid, mistake) in found for cid, mistake in breakers.items()]
    assert len(hits) >= 9 and np.mean(hits) >= 0.9, \
        f"{sum(hits)} of {len(hits)} planted spiral-breakers flagged with their mistake"


def test_forecast_beats_the_naive_baseline_in_the_backtest(firm):
    """Issue #27, over the rolling backtest (several cut-offs, each seeing only its past): the
    published method's weighted error is no worse than the last quarter's or the same quarter a
    year before's, its 80% range holds 70-90% of the outcomes, and the chain beats naive per client."""
    params = firm["params"]
    cfg = rivals.settings(params)
    check = rivals.rolling_backtest(firm["panel"], cfg, period_end=firm["meta"]["period_end"])
    summary = check.summary.set_index(["level", "model"])
    assert summary["cutoffs"].min() >= 3, summary
    states = spiral.client_states(firm["panel"], period_end=firm["meta"]["period_end"],
                                  churn_after_quarters=cfg.churn_after_quarters)
    published = rivals.published_forecast(states, check, cfg)
    method = published["method"].iloc[0]
    wape = summary.xs("portfolio")["wape"]
    assert wape[method] <= wape["naive"] and wape[method] <= wape["seasonal_naive"], summary
    assert 0.7 <= published["coverage_80"].iloc[0] <= 0.9, summary
    assert published["coverage_80"].iloc[0] == summary.loc[("portfolio", method), "coverage_80"]
    assert summary.loc[("client", "chain"), "wape"] < summary.loc[("client", "naive"), "wape"], summary
    # the range published is the one whose coverage is printed: the backtest's outcomes, by hand
    rows = check.portfolio
    lo, hi = rivals.apply_range(rows[method], rows["horizon"], check.ranges[("portfolio", method)][0.8])
    assert ((rows["actual"] >= lo) & (rows["actual"] <= hi)).mean() == published["coverage_80"].iloc[0]


def test_per_project_pnl_sums_to_the_client_pnl(firm):
    """Issue #29: the P&L per project (and per kind of work and role) of every client sums to its
    client P&L to the cent, over all history and the last four quarters."""
    from clientlens.analysis import drilldown

    params, panel, end = firm["params"], firm["panel"], firm["meta"]["period_end"]
    sums = drilldown.work_sums(firm["root"] / "processed", panel, end)
    rows = drilldown.drilldown(sums, firm["pnl"], panel, overhead_base=params.overhead_base, period_end=end)
    assert drilldown.check_sums(rows, firm["pnl"]).empty
    projects = rows[(rows.dimension == "project") & (rows.window == "all")]
    measured = firm["pnl"].loc[firm["pnl"]["margin"].notna(), "client_id"]
    assert measured.isin(projects.client_id).all()
    by_client = projects.groupby("client_id")[["revenue", "margin"]].sum(min_count=1)
    want = firm["pnl"].set_index("client_id").loc[measured, ["revenue", "margin"]]
    assert np.allclose(by_client.loc[measured].to_numpy(float), want.to_numpy(float), atol=0.005, rtol=0)
    assert (projects.groupby("client_id").size() > 1).any()  # the demo plants several projects a client


def test_retention_ties_to_the_raw_invoices_to_the_cent(firm):
    """Issue #29: the rolling year's revenue behind the movements, NRR and GRR, and the cohorts'
    sizes are the raw invoices' own (amount x rate, half-up cents), and the movements over the
    whole history add up to the last rolling year's revenue minus the first's, to the cent."""
    from clientlens.analysis import retention
    from clientlens.quarters import quarter_index_of, quarter_label

    panel, end = firm["panel"], quarter_index_of(firm["meta"]["period_end"])
    invoices = pd.read_csv(firm["root"] / "raw" / "invoices.csv")
    rates = pd.read_csv(firm["root"] / "raw" / "fx_rates.csv").set_index("currency")["rate"]
    invoices["cents"] = to_cents(invoices.amount, invoices.currency.fillna(firm["params"].reporting_currency).map(rates))
    issued = pd.to_datetime(invoices.issue_date)
    invoices["quarter_index"] = issued.dt.year * 4 + (issued.dt.month - 1) // 3
    cents = (invoices[invoices.quarter_index <= end]
             .pivot_table(index="quarter_index", columns="client_id", values="cents", aggfunc="sum", fill_value=0)
             .reindex(range(int(panel.quarter_index.min()), end + 1), fill_value=0).astype("int64"))
    year = cents.rolling(4).sum()  # whole cents, exact in float64

    movements = retention.revenue_movements(panel, end)
    assert len(movements) >= 4
    assert to_cents(movements.revenue, 1.0).tolist() == year.sum(axis=1).loc[movements.quarter_index].tolist()
    assert (to_cents(movements.revenue_before, 1.0).tolist()
            == year.sum(axis=1).loc[movements.quarter_index - 1].tolist())
    moved = sum(sign * to_cents(movements[kind], 1.0).sum() for kind, sign in
                (("new", 1), ("expansion", 1), ("contraction", -1), ("churn", -1), ("reactivation", 1)))
    assert moved == to_cents(movements.revenue, 1.0).iloc[-1] - to_cents(movements.revenue_before, 1.0).iloc[0]

    kept = retention.revenue_retention(panel, end)
    assert len(kept) >= 1
    for _, row in kept.iterrows():
        then, now = year.loc[row.quarter_index - 4], year.loc[row.quarter_index]
        base = then > 0
        got = to_cents(row[["revenue_year_before", "revenue_retained", "revenue_retained_capped"]], 1.0).tolist()
        assert got == [then[base].sum(), now[base].sum(), np.minimum(now[base], then[base]).sum()]
        assert row.nrr == pytest.approx(now[base].sum() / then[base].sum(), abs=1e-12)
        assert row.grr == pytest.approx(np.minimum(now[base], then[base]).sum() / then[base].sum(), abs=1e-12)

    cohorts = retention.cohort_retention(panel, end, lapse_quarters=firm["params"].lapse_quarters)
    billed = cents > 0
    first = billed.idxmax()[billed.any()].map(quarter_label)
    sizes = cohorts[cohorts.periods_since == 0].set_index("cohort")["clients"]
    assert sizes.to_dict() == first.value_counts().to_dict()


# --- issue 29: what predicted departures here ------------------------------------------------

def test_planted_precursors_of_departure_rank_above_the_planted_noise(firm):
    """Every marker or signal the demo plants before departures (and on no client that stays)
    ranks above every marker it plants only on clients that never leave, and precedes
    departures more often than not."""
    from clientlens.analysis import precursors

    table = precursors.precursor_table(firm["panel"], firm["params"], as_of=firm["meta"]["period_end"])
    assert table.attrs["enough"], table.attrs
    rank = {key: i for i, key in enumerate(table["key"])}
    planted, noise = firm["truth"]["precursors"], firm["truth"]["noise_markers"]
    assert planted and noise
    worst_precursor = max(rank[key] for key in planted)
    best_noise = min(rank[precursors.feature_key("marker", m)] for m in noise)
    assert worst_precursor < best_noise, table[["key", "clients_showing", "showing_left", "lift", "cautious_lift"]]
    lifts = table.set_index("key")["lift"]
    assert (lifts[planted] > 1).all(), lifts[planted]
