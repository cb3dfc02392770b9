"""Charts of retention: revenue movements per quarter and logo retention by cohort.

Each function takes a table computed by `clientlens.analysis.retention` and returns a matplotlib
Figure built without pyplot; none computes a metric of its own. Text is drawn with
``usetex=False`` and ``parse_math=False`` (theme.TEXT_KW), as in the other chart modules.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from clientlens.i18n import N_, tr
from clientlens.publishing.plots.theme import PALETTE, count_label, legend_outside, money_formatter, not_measured_figure
from clientlens.publishing.plots.theme import TEXT_KW as _TEXT
from clientlens.publishing.plots.theme import new_figure as _figure
from clientlens.publishing.plots.theme import percent_formatter
from clientlens.publishing.plots.theme import quarter_tick
from clientlens.publishing.plots.theme import plain_text as _plain

__all__ = ["plot_revenue_movements", "plot_cohort_curves", "SHORT_HISTORY"]

BLUE, ORANGE, GREEN, RED, PURPLE, GREY = PALETTE[:6]

# (column, legend label, colour, sign): gains stack up from zero, losses down
MOVEMENT_STYLE = [
    ("new", N_("new clients"), GREEN, 1),
    ("reactivation", N_("clients back after a year or more"), PURPLE, 1),
    ("expansion", N_("expansion"), BLUE, 1),
    ("contraction", N_("contraction"), ORANGE, -1),
    ("churn", N_("churn: clients with no revenue for a year"), RED, -1),
]
SHORT_HISTORY = N_("not enough history: a movement compares a rolling year (four quarters) with the one a quarter "
                   "before, so it needs five quarters")


def _titles(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(_plain(title), loc="left", fontweight="bold", **_TEXT)
    ax.set_xlabel(_plain(xlabel), **_TEXT)
    ax.set_ylabel(_plain(ylabel), **_TEXT)


def plot_revenue_movements(movements: pd.DataFrame, currency: str, *, title: str | None = None,
                           figsize: tuple[float, float] = (10, 5.2), lang: str = "en") -> Figure:
    """Stacked bars per period: new, reactivation and expansion above zero, contraction and churn
    below, the net change as a black tick. Takes retention.revenue_movements()."""
    title = title or tr("Revenue movements: what changed the rolling year's revenue", lang)
    if not len(movements):
        return not_measured_figure(title, tr(SHORT_HISTORY, lang), figsize, lang)
    fig, ax = _figure(figsize)
    xs = np.arange(len(movements))
    up, down = np.zeros(len(xs)), np.zeros(len(xs))
    for column, label, colour, sign in MOVEMENT_STYLE:
        values = movements[column].to_numpy(dtype=float) * sign
        if not np.any(values):
            continue  # a kind that never happened gets no legend entry
        base = up if sign > 0 else down
        ax.bar(xs, values, bottom=base, color=colour, width=0.7, label=tr(label, lang), edgecolor="white",
               linewidth=0.5)
        base += values
    ax.scatter(xs, movements["net_change"].to_numpy(dtype=float), marker="_", s=500, color="black",
               linewidths=2, zorder=3, label=tr("net change", lang))
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_xticks(xs)
    crowded = len(xs) > 8  # upright labels of more quarters would run into each other
    ax.set_xticklabels([quarter_tick(_plain(p), lang) for p in movements["period"]], rotation=45 if crowded else 0,
                       ha="right" if crowded else "center", **_TEXT)
    ax.yaxis.set_major_formatter(money_formatter(lang))
    legend_outside(ax, fontsize=8)
    _titles(ax, title, tr("Quarter (each bar: the rolling year to it against the one to the quarter before)", lang),
            tr("Change in revenue over four quarters, {currency}", lang, currency=currency))
    return fig


def plot_cohort_curves(cohorts: pd.DataFrame, pooled: pd.DataFrame, model: pd.DataFrame | None = None, *,
                       model_label: str = "", title: str | None = None,
                       figsize: tuple[float, float] = (10, 5.2), lang: str = "en") -> Figure:
    """Share of each yearly cohort still active, by quarters since acquisition, all cohorts
    together in bold, and the retention model's survival (dashed) over them.

    Takes retention.cohort_retention(by="quarter") (cohorts are grouped by year of acquisition),
    retention.pooled_retention() of it and retention.model_curve()."""
    title = title or tr("Clients still active, by quarters since their first revenue", lang)
    if not len(cohorts):
        return not_measured_figure(title, tr(SHORT_HISTORY, lang), figsize, lang)
    fig, ax = _figure(figsize)
    years = cohorts.assign(year=cohorts["cohort"].str[:4])
    colours = [GREY, *PALETTE[6:], PURPLE, GREEN, ORANGE, RED]  # the bold blue is all clients
    for i, (year, grp) in enumerate(years.groupby("year", sort=True)):
        g = grp.groupby("periods_since")[["clients", "active"]].sum()
        # only the quarters every member of the year's cohort has reached: a partial mean mixes
        g = g[g["clients"] == g["clients"].iloc[0]]
        ax.plot(g.index, g["active"] / g["clients"] * 100, color=colours[i % len(colours)], linewidth=1,
                alpha=0.8, label=tr("acquired in {year} ({n})", lang, year=year, n=count_label(g["clients"].iloc[0], lang)))
    ax.plot(pooled["periods_since"], pooled["share_active"] * 100, color=BLUE, linewidth=2.5,
            label=tr("all clients, observed", lang))
    if model is not None and len(model):
        ax.plot(model["quarters_since"], model["share_alive"] * 100, color="black", linestyle="--", linewidth=1.5,
                marker="o" if len(model) < 30 else None, markersize=3,
                label=_plain(model_label) or tr("retention model (sBG)", lang))
    ax.yaxis.set_major_formatter(percent_formatter(lang))
    ax.set_ylim(0, 105)
    ax.set_xlim(0, max(float(pooled["periods_since"].max()), 1.0))
    legend_outside(ax, fontsize=8)
    _titles(ax, title, tr("Quarters since the client's first revenue", lang), tr("Share of the cohort active", lang))
    return fig
