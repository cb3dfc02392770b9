"""The form of every chart: an axis of money names its currency, a heat map says what its colour
means, no legend is drawn over the data, quarters read "Q4 2026" / "IV кв. 2026", and the
image's alt text says what each axis plots (so a browser check can read it off the page)."""
from __future__ import annotations

import re

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.patches import Rectangle
from test_plots_ru import pnl_figures, segment_figures, spiral_figures

from clientlens.analysis import pnl, retention, spiral
from clientlens.publishing import display as d
from clientlens.publishing.plots import pnl_plots, retention_plots, spiral_plots
from clientlens.publishing.plots.theme import is_money_axis

matplotlib.use("Agg")

CURRENCY = "EUR"


def money_figures(lang: str) -> list:
    """Every chart that draws an axis of money, built with the reporting currency."""
    from test_plots_ru import PARAMS, fc, mk
    from spiral_fixtures import TRUE_P
    from test_pnl import random_panel

    c = pnl.client_pnl(random_panel(60, seed=3, quarters=4), 0.12, overhead_base=PARAMS.overhead_base,
                       lapse_quarters=PARAMS.lapse_quarters)
    losing = c.assign(margin=-c["margin"].abs())  # a portfolio that loses money: the whale curve in money
    panel = mk.simulate_panel(TRUE_P, n_clients=80, n_quarters=10, seed=11, staggered=True,
                              start_probs=[0.7, 0.1, 0.1, 0.1, 0.0])
    sp = PARAMS.spiral
    states = spiral.client_states(panel, churn_after_quarters=sp.churn_after_quarters)
    positions = spiral.spiral_positions(states)
    chain = mk.fit_chain(states, ci=sp.transition_ci)
    future = fc.monte_carlo_forecast(states, chain, horizon=PARAMS.forecast_quarters, runs=50, seed=1,
                                     levels=sp.interval_levels)
    movements = retention_movements()
    return [
        pnl_plots.plot_whale_curve(pnl.whale_curve(losing), currency=CURRENCY, lang=lang),
        pnl_plots.plot_waterfall(pnl.portfolio_waterfall(c), currency=CURRENCY, lang=lang),
        pnl_plots.plot_margin_scatter(c, currency=CURRENCY, lang=lang),
        retention_plots.plot_revenue_movements(movements, CURRENCY, lang=lang),
        spiral_plots.phase_mix_chart(spiral.phase_revenue_by_quarter(spiral.phase_split(panel)), currency=CURRENCY,
                                     lang=lang),
        spiral_plots.forecast_fan_chart(fc.portfolio_history(states), future.portfolio, levels=sp.interval_levels,
                                        currency=CURRENCY, lang=lang),
        spiral_plots.client_spiral_chart(positions, positions["client_id"].iloc[0], currency=CURRENCY, lang=lang),
    ]


def retention_movements():
    from test_retention import QUARTERS, panel_of

    # nine clients joining in turn, growing, and one leaving: every kind of movement, every quarter a bar
    rows = {f"C{i}": {q: 100.0 * (i + 1) * (1 + k / 10) for k, q in enumerate(QUARTERS) if k >= i % 3
                      and not (i == 0 and k > 6)} for i in range(9)}
    return retention.revenue_movements(panel_of(rows))


def drawn(fig):
    """The figure laid out and drawn, as on the page (the layout places legends and colour bars)."""
    FigureCanvasAgg(fig).draw()
    return fig


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_money_axis_names_its_currency(lang):
    figures = money_figures(lang)
    money_axes = 0
    for fig in figures:
        for ax in drawn(fig).get_axes():
            for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
                if is_money_axis(axis):
                    money_axes += 1
                    assert CURRENCY in label, (ax.get_title(loc="left"), label)
        assert CURRENCY in d.figure_alt(fig, lang), d.figure_alt(fig, lang)
    assert money_axes >= len(figures)


def heat_maps():
    names, segment_figs = segment_figures()
    _, spiral_figs = spiral_figures()
    return [segment_figs[1], segment_figs[3], spiral_figs[0]]  # markers, migration, transitions


def test_every_heat_map_has_a_colour_legend_saying_what_colour_means():
    for fig in heat_maps():
        scales = [ax for ax in drawn(fig).get_axes() if getattr(ax, "_colorbar", None) is not None]
        assert scales, fig.get_axes()[0].get_title(loc="left")
        assert all(ax.get_ylabel().strip() or ax.get_xlabel().strip() for ax in scales)
        assert "colour: " in d.figure_alt(fig)


def data_boxes(ax):
    """Display boxes of what the axes draw: bars, lines, point clouds (each point) and filled bands."""
    renderer = ax.figure.canvas.get_renderer()
    boxes = []
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible() and patch.get_width() and patch.get_height():
            boxes.append(patch.get_window_extent(renderer))
    for line in ax.lines:
        if line.get_visible() and len(line.get_xdata()):
            xy = ax.transData.transform(list(zip(line.get_xdata(), line.get_ydata())))
            boxes += [matplotlib.transforms.Bbox([[x - 1, y - 1], [x + 1, y + 1]]) for x, y in xy]
    for collection in ax.collections:
        if isinstance(collection, Collection) and collection.get_visible():
            offsets = collection.get_offsets()
            if len(offsets) and collection.get_offset_transform() is not None:
                xy = collection.get_offset_transform().transform(offsets)
                boxes += [matplotlib.transforms.Bbox([[x - 2, y - 2], [x + 2, y + 2]]) for x, y in xy]
            else:
                boxes.append(collection.get_window_extent(renderer))
    return boxes


def figures_with_legends():
    _, pnl_figs = pnl_figures()
    _, spiral_figs = spiral_figures()
    return pnl_figs[2:] + spiral_figs[1:3] + spiral_figs[4:] + money_figures("en")[3:4]


def test_no_legend_is_drawn_over_the_data():
    checked = 0
    for fig in figures_with_legends():
        drawn(fig)
        renderer = fig.canvas.get_renderer()
        legends = [leg for ax in fig.get_axes() if (leg := ax.get_legend()) is not None] + list(fig.legends)
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.get_axes():
                covered = [b for b in data_boxes(ax) if box.overlaps(b)]
                assert not covered, (ax.get_title(loc="left"), box, covered[:3])
            checked += 1
    assert checked >= 6


@pytest.mark.parametrize("lang,pattern", [("en", r"^Q[1-4] \d{4}$"), ("ru", r"^(I|II|III|IV) кв\. \d{4}$")])
def test_quarter_ticks_read_as_the_page_language_writes_them(lang, pattern):
    phase_mix = spiral_plots.phase_mix_chart(
        spiral.phase_revenue_by_quarter(spiral.phase_split(_panel())), currency=CURRENCY, lang=lang)
    for fig in [phase_mix, money_figures(lang)[3]]:
        ticks = [t.get_text() for t in drawn(fig).get_axes()[0].get_xticklabels() if t.get_text()]
        assert ticks and all(re.match(pattern, t) for t in ticks), ticks


def _panel():
    from spiral_fixtures import TRUE_P
    from test_plots_ru import mk

    return mk.simulate_panel(TRUE_P, n_clients=40, n_quarters=8, seed=11, staggered=True,
                             start_probs=[0.7, 0.1, 0.1, 0.1, 0.0])


def test_a_single_turn_is_said_in_the_singular():
    from test_plots_ru import PARAMS, mk
    from spiral_fixtures import TRUE_P

    panel = mk.simulate_panel(TRUE_P, n_clients=120, n_quarters=12, seed=11, staggered=True,
                              start_probs=[0.7, 0.1, 0.1, 0.1, 0.0])
    states = spiral.client_states(panel, churn_after_quarters=PARAMS.spiral.churn_after_quarters)
    fig = spiral_plots.positions_chart(spiral.client_positions(spiral.spiral_positions(states)))
    labels = [t.get_text() for t in drawn(fig).get_axes()[0].get_legend().get_texts()]
    assert "1 turn completed" in labels and "1 turns completed" not in labels
    assert "0 turns completed" in labels


def test_figure_alt_text_names_a_money_axis_with_its_currency():
    whale = money_figures("en")[0]
    alt = d.figure_alt(whale)
    assert alt.startswith("Whale curve: cumulative profit by client. x: Clients ranked by profit")
    assert alt.endswith("y: Cumulative profit, EUR")
