"""Every chart drawn with lang="ru" shows no English: titles, axis labels, tick labels, legends,
annotations (the text of a PNG cannot be read off the page, so the figures are checked here).

Client names are data and stay as written; quarter labels, acronyms (UX, NPS) and the other
words of e2e_support.LATIN_ALLOWED are allowed.
"""
from __future__ import annotations

import io

import matplotlib
import pandas as pd
import pytest
from e2e_support import english_words
from matplotlib.text import Text
from spiral_fixtures import TRUE_P
from test_pnl import random_panel
from test_segments import history, params, small_panel, tables

from clientlens.analysis import forecast as fc
from clientlens.analysis import markov as mk
from clientlens.analysis import pnl, spiral
from clientlens.analysis.segments import assign_segments, migration_matrix
from clientlens.analysis.toxicity import current_toxicity
from clientlens.parameters import load
from clientlens.publishing.plots import pnl_plots, spiral_plots, toxicity_plots

matplotlib.use("Agg")

PARAMS = load()


def drawn_texts(fig) -> list[str]:
    """Every piece of text the figure shows, tick labels included (they are set at draw time)."""
    fig.savefig(io.BytesIO(), format="png")
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def assert_russian(fig, names) -> None:
    texts = drawn_texts(fig)
    assert any(any("а" <= ch <= "я" for ch in text.lower()) for text in texts), "no Russian on the chart"
    left = {text: english_words(text, names) for text in texts}
    left = {text: words for text, words in left.items() if words}
    assert not left, f"English on a Russian chart: {left}"


def pnl_figures():
    c = pnl.client_pnl(random_panel(60, seed=3, quarters=4), 0.12, overhead_base=PARAMS.overhead_base,
                       lapse_quarters=PARAMS.lapse_quarters)
    classes = pnl.abc_classes(c, PARAMS.abc_cutoffs)
    return c["client_name"], [
        pnl_plots.plot_whale_curve(pnl.whale_curve(c), lang="ru"),
        pnl_plots.plot_waterfall(pnl.portfolio_waterfall(c), lang="ru"),
        pnl_plots.plot_margin_scatter(c, classes, lang="ru"),
        pnl_plots.plot_margin_scatter(c, lang="ru"),  # profit/loss legend instead of classes
    ]


def segment_figures():
    tox, pnl_table = tables()
    seg = assign_segments(tox, pnl_table, params(), lang="ru")
    cur = current_toxicity(small_panel(), params(), lang="ru")
    names = pd.concat([seg["client_name"], cur["client_name"]])
    return names, [
        toxicity_plots.plot_segment_map(seg, params(), lang="ru"),
        toxicity_plots.plot_marker_heatmap(cur, top_n=30, lang="ru"),
        toxicity_plots.plot_marker_heatmap(cur, top_n=1, value="points", lang="ru"),
        toxicity_plots.plot_migration_matrix(migration_matrix(history(), "2024Q1", "2024Q2", lang="ru"), lang="ru"),
    ]


def spiral_figures():
    panel = mk.simulate_panel(TRUE_P, n_clients=120, n_quarters=12, seed=11, staggered=True,
                              start_probs=[0.7, 0.1, 0.1, 0.1, 0.0])
    sp = PARAMS.spiral
    states = spiral.client_states(panel, churn_after_quarters=sp.churn_after_quarters)
    positions = spiral.spiral_positions(states)
    events = spiral.mistake_events(panel, states, **spiral.mistake_thresholds(PARAMS))
    counts = spiral.mistake_counts(spiral.mistakes_by_client(panel, events))
    chain = mk.fit_chain(states, ci=sp.transition_ci)
    future = fc.monte_carlo_forecast(states, chain, horizon=PARAMS.forecast_quarters, runs=100, seed=1,
                                     levels=sp.interval_levels)
    check = fc.backtest(panel, holdout=sp.backtest_quarters, runs=100, seed=1, levels=sp.interval_levels,
                        churn_after_quarters=sp.churn_after_quarters)
    first = positions["client_id"].iloc[0]
    return panel["client_name"], [
        spiral_plots.transition_heatmap(chain, lang="ru"),
        spiral_plots.phase_mix_chart(spiral.phase_revenue_by_quarter(spiral.phase_split(panel)), lang="ru"),
        spiral_plots.forecast_fan_chart(fc.portfolio_history(states), future.portfolio, check.portfolio,
                                        levels=sp.interval_levels, lang="ru"),
        spiral_plots.mistakes_bar_chart(counts, lang="ru"),
        spiral_plots.positions_chart(spiral.client_positions(positions), lang="ru"),
        spiral_plots.client_spiral_chart(positions, first, lang="ru"),
    ]


@pytest.mark.parametrize("figures", [pnl_figures, segment_figures, spiral_figures],
                         ids=["pnl", "toxicity-and-segments", "spiral"])
def test_every_chart_in_russian_has_no_english(figures):
    names, figs = figures()
    for fig in figs:
        assert_russian(fig, set(names.dropna().astype(str)))


def test_russian_charts_write_money_and_numbers_the_russian_way():
    c = pnl.client_pnl(random_panel(60, seed=3, quarters=4), 0.12, overhead_base=PARAMS.overhead_base,
                       lapse_quarters=PARAMS.lapse_quarters)
    texts = drawn_texts(pnl_plots.plot_margin_scatter(c, lang="ru"))
    assert any(t.endswith(("тыс.", "млн")) for t in texts)
    assert not any(t.endswith(("k", "M")) and t[:-1].replace(".", "").replace("-", "").isdigit() for t in texts)
    english = drawn_texts(pnl_plots.plot_margin_scatter(c))
    assert any(t.endswith(("k", "M")) for t in english)
