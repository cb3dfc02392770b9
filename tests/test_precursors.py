"""What predicted departures: the lift and its interval by hand, counting per client, no
look-ahead, and the history weights (off by default, leaving the score exactly as it was)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clientlens import demo
from clientlens.analysis import precursors
from clientlens.analysis.markers import MARKERS, compute_markers, quarter_label
from clientlens.analysis.toxicity import current_toxicity, score_from_markers, toxicity_scores
from clientlens.intake.ingest import run_ingest
from clientlens.intake.panel import build_panel
from clientlens.parameters import load
from clientlens.processed import load_panel

KEY = "marker:late_payment"


def with_toxicity(params, **changes):
    return params.model_copy(update={"toxicity": params.toxicity.model_copy(update=changes)})


# --- the lift and its interval ---------------------------------------------------------------

def test_lift_and_katz_interval_by_hand():
    # 6 of 10 clients showing it left, 4 of 40 not showing it: 60% against 10%
    lift, low, high = precursors.lift_from_counts(6, 10, 4, 40, level=0.9)
    se = math.sqrt(1 / 6 - 1 / 10 + 1 / 4 - 1 / 40)
    assert lift == pytest.approx(6.0)
    assert low == pytest.approx(6.0 * math.exp(-1.6448536 * se), rel=1e-6)
    assert high == pytest.approx(6.0 * math.exp(1.6448536 * se), rel=1e-6)
    assert (round(low, 2), round(high, 2)) == (2.47, 14.59)


def test_no_departure_in_a_group_adds_half_a_client_to_every_cell():
    lift, low, high = precursors.lift_from_counts(0, 9, 5, 49, level=0.9)
    assert lift == pytest.approx((0.5 / 10) / (5.5 / 50))
    assert 0 < low < lift < high
    assert np.isnan(precursors.lift_from_counts(0, 0, 5, 49, level=0.9)[0])


@pytest.mark.parametrize("lift, low, high, expected", [
    (3.0, 1.5, 6.0, 1.5), (0.4, 0.2, 0.8, 0.8), (2.0, 0.7, 5.0, 1.0), (np.nan, np.nan, np.nan, 1.0)])
def test_the_cautious_lift_is_the_end_of_the_interval_nearest_one(lift, low, high, expected):
    assert precursors.cautious(lift, low, high) == expected


# --- counting per client ------------------------------------------------------------------

LAST = 11  # quarters 0..11 in the data; the horizon is 4


def shown_panel(rows: dict[str, dict[int, float]]) -> pd.DataFrame:
    """A showing() table: client -> {quarter: 1 shows, 0 measured and not, NaN not measured}."""
    out = [{"client_id": c, "quarter_index": q, KEY: v} for c, by_q in rows.items() for q, v in by_q.items()]
    return pd.DataFrame(out)


def small_table(rows, stops, insourced=None):
    params = load()
    assert params.early_warning.lookback_quarters == 4
    return precursors.lift_table(shown_panel(rows), pd.Series(stops, dtype="float64"),
                                 pd.Series(insourced or {}, dtype="float64"), LAST, params).set_index("key")


def test_each_client_counts_once_however_many_quarters_it_shows_a_marker():
    rows = {
        "A": {q: 1.0 for q in range(4)},           # shows four quarters, stops in quarter 5: left
        "B": {0: 1.0, 1: 0.0},                      # shows once, never stops
        "C": {0: 0.0, 1: 0.0, 2: 0.0},              # never shows, stops in quarter 3: left
        "D": {q: 0.0 for q in range(8)},            # never shows, stays
        "E": {q: np.nan for q in range(8)},         # not measured: in neither group
        "F": {0: 0.0, 9: 1.0},                      # shows only where the horizon runs past the data
    }
    row = small_table(rows, {"A": 5, "C": 3})
    row = row.loc[KEY]
    assert (row.clients_showing, row.showing_left, row.clients_not_showing, row.not_showing_left) == (2, 1, 3, 1)
    assert row.lift == pytest.approx((1 / 2) / (1 / 3))
    # per client-quarter it would be 5 showing quarters, 3 of them (A's 1-3) followed by a stop


def test_a_departure_counts_only_within_the_horizon_after_the_quarter_shown():
    # shown in quarter 0, stopped in quarter 6: six quarters later is not "within four"
    row = small_table({"A": {0: 1.0}, "B": {0: 0.0}}, {"A": 6}).loc[KEY]
    assert (row.clients_showing, row.showing_left) == (1, 0)


def test_quarters_whose_horizon_runs_past_the_data_say_nothing():
    table = small_table({"A": {10: 1.0}, "B": {11: 0.0}}, {"A": 11})
    assert table.attrs["departures"] == table.attrs["clients"] == 0
    assert table.loc[KEY, "clients_showing"] == 0 and np.isnan(table.loc[KEY, "lift"])


def test_an_in_sourcing_exit_is_neither_a_departure_nor_a_stay():
    rows = {"A": {q: 1.0 for q in range(6)}, "B": {q: 0.0 for q in range(6)}, "C": {0: 0.0}}
    row = small_table(rows, {"C": 2}, insourced={"A": 6}).loc[KEY]
    # A's quarters 0 and 1 are more than four before its exit: it showed the marker and stayed
    assert (row.clients_showing, row.showing_left) == (1, 0)
    row = small_table({**rows, "A": {q: 1.0 for q in range(2, 6)}}, {"C": 2}, insourced={"A": 6}).loc[KEY]
    assert row.clients_showing == 0  # every quarter it showed it was within four of the exit


# --- on a generated firm ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    root = tmp_path_factory.mktemp("precursors")
    params = load()
    demo.generate(root / "raw", root / "truth.json", clients=60, years=3, seed=7,
                  end_quarter=params.demo_end_quarter)
    run_ingest(root / "raw", root / "processed", params)
    build_panel(root / "processed", "auto", params.office_hours, lapse_quarters=params.lapse_quarters,
                deadline_grace_days=params.deadline_grace_days, anonymize=False)
    panel, meta = load_panel(root / "processed")
    return panel, meta, params


def test_no_look_ahead_later_quarters_never_change_a_table_as_of_an_earlier_one(firm):
    panel, meta, params = firm
    cut = quarter_label(int(panel.quarter_index.max()) - 2)
    before = precursors.precursor_table(panel, params, as_of=cut)
    # what happened later (everybody gone quiet, or the data simply ending at the cut) is not read
    later = panel.quarter_index > int(panel.quarter_index.max()) - 2
    quiet = panel.copy()
    for col in ("hours", "billable_hours", "revenue", "requests_total", "delivered_count"):
        if col in quiet:
            quiet.loc[later, col] = 0.0
    for other in (precursors.precursor_table(quiet, params, as_of=cut), precursors.precursor_table(
            panel.loc[~later], params)):
        pd.testing.assert_frame_equal(before, other)
        assert other.attrs == before.attrs


def test_the_default_keeps_todays_weights_and_scores_exactly(firm):
    panel, meta, params = firm
    assert params.toxicity.weights_from_history is False
    assert precursors.history_params(panel, params) is params
    values = compute_markers(panel, params, window=params.toxicity.window_quarters)
    fixed = score_from_markers(values, params)
    scores = toxicity_scores(panel, params)
    np.testing.assert_array_equal(scores["score"].to_numpy(), fixed["score"].to_numpy())
    np.testing.assert_array_equal(scores["is_red"].to_numpy(), fixed["is_red"].to_numpy())


def test_history_weights_scale_each_weight_by_its_cautious_lift(firm):
    panel, meta, params = firm
    table = precursors.precursor_table(panel, params, as_of=meta["period_end"])
    assert table.attrs["enough"], table.attrs
    on = with_toxicity(params, weights_from_history=True)
    learnt = precursors.history_params(panel, on, as_of=meta["period_end"])
    factors = precursors.weight_factors(table)
    assert any(f != 1.0 for f in factors.values())
    for m in MARKERS:
        assert learnt.toxicity.markers[m.name].weight == pytest.approx(
            params.toxicity.markers[m.name].weight * factors[m.name])
    # still a sum of positive points: a marker not measured adds nothing, so the score can only
    # change where a reweighted marker is measured
    moved = toxicity_scores(panel, on, as_of=meta["period_end"])
    same = toxicity_scores(panel, params, as_of=meta["period_end"])
    assert (moved["score"].fillna(-1) != same["score"].fillna(-1)).any()
    assert moved["score"].isna().equals(same["score"].isna())
    # too short a history: the fixed weights
    short = with_toxicity(on, precursor_min_departures=10_000)
    assert precursors.history_params(panel, short) is short
    current = current_toxicity(panel, short, as_of=meta["period_end"])
    pd.testing.assert_frame_equal(current, current_toxicity(panel, params, as_of=meta["period_end"]))


def test_the_backtest_learns_only_from_before_each_cutoff(firm, monkeypatch):
    panel, meta, params = firm
    seen = []
    real = precursors.precursor_table

    def spy(p, prm, as_of=None, shown=None):
        seen.append((int(p.quarter_index.max()), int(shown.quarter_index.max())))
        return real(p, prm, as_of=as_of, shown=shown)

    monkeypatch.setattr(precursors, "precursor_table", spy)
    quality = precursors.weights_backtest(panel, params)
    horizon = params.early_warning.lookback_quarters
    last = int(panel.quarter_index.max())
    assert quality["cutoffs"] == len(seen) and seen
    assert all(panel_end == shown_end <= last - horizon for panel_end, shown_end in seen)
    assert 0 <= quality["auc_fixed"] <= 1 and quality["rows"] > quality["departures"] > 0


def test_the_page_says_it_in_both_languages_and_has_an_empty_state(firm):
    panel, meta, params = firm
    table = precursors.precursor_table(panel, params, as_of=meta["period_end"])
    for lang in ("en", "ru"):
        page = precursors.page_table(table, lang)
        assert len(page) == (table.clients_showing > 0).sum()
        assert precursors.summary_words(table, params, lang)
    short = with_toxicity(params, precursor_min_departures=10_000)
    empty = precursors.precursor_table(panel, short, as_of=meta["period_end"])
    assert not empty.attrs["enough"]
    assert precursors.summary_words(empty, short, "en").startswith("Too few departures")
    assert precursors.summary_words(empty, short, "ru").startswith("Уходов слишком мало")


def test_the_demos_planted_lists_name_real_markers_and_signals():
    from clientlens.analysis.early_warning import SIGNAL_BY_NAME
    from clientlens.analysis.markers import MARKER_BY_NAME
    from clientlens.demo.archetypes import NOISE_MARKERS, PRECURSORS

    known = {precursors.feature_key("marker", m) for m in MARKER_BY_NAME}
    known |= {precursors.feature_key("signal", s) for s in SIGNAL_BY_NAME}
    assert set(PRECURSORS) <= known and set(NOISE_MARKERS) <= set(MARKER_BY_NAME)
    assert not {k.split(":", 1)[1] for k in PRECURSORS if k.startswith("marker:")} & set(NOISE_MARKERS)
