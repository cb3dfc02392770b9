"""Charts of the quarterly spiral: phase flow, revenue by phase, forecast fan with backtest,
mistakes per type, where clients are, one client's spiral.

Each function takes a table computed by `clientlens.analysis.spiral`, `clientlens.analysis.markov` or
`clientlens.analysis.forecast` and returns a matplotlib Figure; none computes a metric. Figures are built
without pyplot (no global state); show one with `display(fig)`.

The charts aggregate over clients, so they read the same at 200 and at 10,000 clients. Text that
can come from data (client names) is drawn with ``usetex=False, parse_math=False``: a name such
as "$Corp" prints exactly as written and never reaches mathtext, whatever the rcParams say.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from clientlens.analysis.spiral import CHURNED, DORMANT, MISTAKE_LABELS, MISTAKES, PHASES, phase_label
from clientlens.i18n import N_, tr, tr_plural
from clientlens.publishing.plots.theme import TEXT_KW as _TEXT
from clientlens.publishing.plots.theme import count_label, legend_outside, money_axis, money_formatter, number_formatter
from clientlens.publishing.plots.theme import quarter_tick
from clientlens.publishing.plots.theme import NO_REVENUE, not_measured_figure
from clientlens.publishing.plots.theme import new_figure as _figure
from clientlens.publishing.plots.theme import plain_text as _plain

try:  # the project's chart palette, when the theme module is there
    from clientlens.publishing.plots.theme import PALETTE
except ImportError:  # pragma: no cover
    PALETTE = ["#1f5fa8", "#d9822b", "#2e9d62", "#b3261e", "#7b5ea7", "#5b6475"]

__all__ = ["transition_heatmap", "phase_mix_chart", "forecast_fan_chart", "mistakes_bar_chart",
           "positions_chart", "client_spiral_chart", "PHASE_COLORS"]

BLUE, ORANGE, GREEN, RED, PURPLE, GREY = PALETTE[:6]
PHASE_COLORS = {"feature": BLUE, "ux": PURPLE, "stability": ORANGE, "support": GREEN,
                DORMANT: "#b0b4bb", CHURNED: RED, "other": GREY, "unassigned": "#d5d8dc"}


def _title(ax: Any, title: str) -> None:
    ax.set_title(_plain(title), loc="left", fontweight="bold", fontsize=11, **_TEXT)


def _pct(value: float, lang: str) -> str:
    text = f"{value:.0%}"
    return text.replace(".", ",") if lang == "ru" else text


def _quarter_axis(ax: Any, indices: Sequence[int], lang: str, max_labels: int = 12) -> None:
    indices = [int(i) for i in indices]
    step = max(1, int(np.ceil(len(indices) / max_labels)))
    ax.set_xticks(indices[::step])
    ax.set_xticklabels([quarter_tick(i, lang) for i in indices[::step]], rotation=45, ha="right")


def transition_heatmap(chain: pd.DataFrame, *, show_ci: bool = True, title: str | None = None,
                       figsize: tuple[float, float] | None = None, lang: str = "en") -> Figure:
    """Heat map of quarter-to-quarter transition probabilities (rows: this quarter, columns: next).

    Input: `markov.fit_chain`, fitted with `ci`. Each cell shows the share, its interval and the
    number of moves.
    """
    level = float(chain["ci_level"].iloc[0]) if "ci_level" in chain.columns and len(chain) else np.nan
    if not np.isfinite(level):
        raise ValueError("the chain has no intervals: fit it with markov.fit_chain(states, ci=...)")
    order = list(dict.fromkeys(chain["to_state"]))
    rows = [s for s in order if s != CHURNED]
    frame = chain[chain["from_state"] != CHURNED]

    def grid(col: str) -> pd.DataFrame:
        return frame.pivot(index="from_state", columns="to_state", values=col).reindex(index=rows, columns=order)

    P, lo, hi, n = grid("p"), grid("p_low"), grid("p_high"), grid("count")
    fig, ax = _figure(figsize or (1.5 * len(order) + 3, 1.0 * len(rows) + 2))
    im = ax.imshow(P.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(order)):
            p = float(P.iat[i, j])
            txt = f"{p:.0%}"
            if show_ci and np.isfinite(lo.iat[i, j]):
                txt += f"\n{lo.iat[i, j]:.0%}–{hi.iat[i, j]:.0%}"
            txt += f"\nn={count_label(n.iat[i, j], lang)}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                    color="white" if p > 0.55 else "#1b1b1b", **_TEXT)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([phase_label(s, lang) for s in order])
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([phase_label(s, lang) for s in rows])
    ax.set_xlabel(tr("next quarter", lang))
    ax.set_ylabel(tr("this quarter", lang))
    ax.grid(False)
    _title(ax, title or tr("Where clients go next quarter (share of moves, {level} interval, count)", lang,
                           level=_pct(level, lang)))
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, format=FuncFormatter(lambda v, _: _pct(v, lang)))
    bar.set_label(tr("share of the row's clients that move to the column's phase", lang), **_TEXT)
    return fig


def phase_mix_chart(phase_revenue: pd.DataFrame, *, currency: str = "", title: str | None = None,
                    figsize: tuple[float, float] = (10, 4.8), lang: str = "en") -> Figure:
    """Stacked bars of portfolio revenue per quarter by phase. Input: `spiral.phase_revenue_by_quarter`."""
    if not phase_revenue["revenue"].notna().any():
        return not_measured_figure(title or tr("Portfolio revenue by spiral phase", lang), tr(NO_REVENUE, lang),
                                   figsize, lang)
    wide = phase_revenue.pivot(index="quarter_index", columns="phase", values="revenue").fillna(0.0)
    cols = [c for c in list(PHASES) + ["other", "unassigned"] if c in wide.columns and wide[c].abs().sum() > 0]
    fig, ax = _figure(figsize)
    x = wide.index.to_numpy()
    bottom = np.zeros(len(wide))
    for c in cols:
        ax.bar(x, wide[c].to_numpy(), bottom=bottom, color=PHASE_COLORS.get(c), width=0.8,
               label=phase_label(c, lang))
        bottom += wide[c].to_numpy()
    _quarter_axis(ax, x, lang)
    ax.yaxis.set_major_formatter(money_formatter(lang))
    ax.set_ylabel(money_axis(N_("revenue"), currency, lang))
    legend_outside(ax, fontsize=8)
    _title(ax, title or tr("Portfolio revenue by spiral phase", lang))
    return fig


def forecast_fan_chart(history: pd.DataFrame, forecast: pd.DataFrame, backtest: pd.DataFrame | None = None,
                       *, levels: Sequence[float], currency: str = "", title: str | None = None,
                       method: str | None = None, figsize: tuple[float, float] = (10, 5.2),
                       lang: str = "en") -> Figure:
    """Portfolio revenue: history, the forecast fan, and the backtest over the last quarters.

    Inputs: `forecast.portfolio_history`, `Forecast.portfolio`, optionally `Backtest.portfolio`.
    The backtest shows what the model fitted without those quarters said (mean and interval),
    the naive forecast, and as points the revenue that came in from the same clients. A rolling
    backtest (`rivals.RollingBacktest.portfolio`, with a cutoff column) shows `method`'s forecast
    from each cut-off and what the clients live then billed.
    """
    if not forecast["revenue_mean"].notna().any():
        return not_measured_figure(title or tr("Portfolio revenue: history, forecast and backtest", lang),
                                   tr(NO_REVENUE, lang), figsize, lang)
    fig, ax = _figure(figsize)
    ax.plot(history["quarter_index"], history["revenue"], color="#1b1b1b", lw=2, label=tr("revenue, all clients", lang))
    fx = forecast["quarter_index"].to_numpy()
    for lv, alpha in zip(sorted(levels, reverse=True), (0.18, 0.32, 0.45)):
        p = int(round(lv * 100))
        if f"revenue_lo_{p}" in forecast.columns:
            ax.fill_between(fx, forecast[f"revenue_lo_{p}"], forecast[f"revenue_hi_{p}"], color=BLUE,
                            alpha=alpha, lw=0, label=tr("forecast, {p}% interval", lang, p=p))
    if len(history):
        fx_line = np.r_[history["quarter_index"].iloc[-1], fx]
        fy_line = np.r_[history["revenue"].iloc[-1], forecast["revenue_mean"].to_numpy()]
    else:
        fx_line, fy_line = fx, forecast["revenue_mean"].to_numpy()
    ax.plot(fx_line, fy_line, color=BLUE, lw=2, label=tr("forecast, existing clients (mean)", lang))
    if backtest is not None and len(backtest) and "cutoff" in backtest.columns:
        for k, (_cut, path) in enumerate(backtest.groupby("cutoff")):
            ax.plot(path["quarter_index"], path[method], color=ORANGE, lw=1.3, ls="--",
                    label=tr("backtest: forecast from each cut-off", lang) if k == 0 else None)
        ax.scatter(backtest["quarter_index"], backtest["actual"], color=RED, zorder=5, s=14,
                   label=tr("actual, clients live at the cutoff", lang))
        ax.axvline(backtest["quarter_index"].min() - 0.5, color="#999999", lw=0.8, ls="--")
    elif backtest is not None and len(backtest):
        bx = backtest["quarter_index"].to_numpy()
        p = int(round(max(levels) * 100))
        if f"markov_lo_{p}" in backtest.columns:
            ax.fill_between(bx, backtest[f"markov_lo_{p}"], backtest[f"markov_hi_{p}"], color=ORANGE,
                            alpha=0.2, lw=0, label=tr("backtest forecast, {p}% interval", lang, p=p))
        ax.plot(bx, backtest["markov"], color=ORANGE, lw=2, ls="--", label=tr("backtest forecast (mean)", lang))
        ax.plot(bx, backtest["naive"], color=GREY, lw=1.5, ls=":", label=tr("naive: last quarter carried forward", lang))
        ax.scatter(bx, backtest["actual"], color=RED, zorder=5, s=28,
                   label=tr("actual, clients live at the cutoff", lang))
        ax.axvline(bx.min() - 0.5, color="#999999", lw=0.8, ls="--")
    xs = np.unique(np.r_[history["quarter_index"].to_numpy(), fx])
    _quarter_axis(ax, xs, lang)
    ax.yaxis.set_major_formatter(money_formatter(lang))
    ax.set_ylim(bottom=0)
    ax.set_ylabel(money_axis(N_("revenue per quarter"), currency, lang))
    legend_outside(ax, fontsize=8)
    _title(ax, title or tr("Portfolio revenue: history, forecast and backtest", lang))
    return fig


def mistakes_bar_chart(counts: pd.DataFrame, *, title: str | None = None,
                       figsize: tuple[float, float] | None = None, lang: str = "en") -> Figure:
    """Clients per spiral mistake (horizontal bars); mistakes not measured say so.

    Input: `spiral.mistake_counts`.
    """
    c = counts.set_index("mistake").reindex([m for m in MISTAKES if m in set(counts["mistake"])])
    fig, ax = _figure(figsize or (10, 0.45 * len(c) + 1.6))
    y = np.arange(len(c))[::-1]
    det = c["clients_detected"].to_numpy(dtype=float)
    measured = c["clients_measured"].to_numpy(dtype=float)
    ax.barh(y, det, color=[RED if m > 0 else "#d5d8dc" for m in measured], height=0.6)
    xmax = max(1.0, float(det.max()) if len(det) else 1.0)
    for yi, (_, row) in zip(y, c.iterrows()):
        if row["clients_measured"] == 0:
            txt = tr("not measured", lang)
        else:
            share = row["share_detected"]
            share_text = f"{share:.0%}" if share == 0 or share >= 0.01 else f"{share:.1%}"
            txt = tr("{n} of {measured} measured clients ({share})", lang,
                     n=count_label(row["clients_detected"], lang), measured=count_label(row["clients_measured"], lang),
                     share=share_text.replace(".", ",") if lang == "ru" else share_text)
            if row["clients_not_measured"]:
                txt += tr("; {n} not measured", lang, n=count_label(row["clients_not_measured"], lang))
        ax.text(row["clients_detected"] + xmax * 0.01, yi, txt, va="center", fontsize=8, **_TEXT)
    ax.set_yticks(y)
    ax.set_yticklabels([tr(MISTAKE_LABELS.get(m, m), lang) for m in c.index], fontsize=9)
    ax.set_xlim(0, xmax * 1.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: count_label(v, lang)))
    ax.set_xlabel(tr("clients", lang))
    ax.grid(axis="y", visible=False)
    _title(ax, title or tr("Spiral mistakes: clients where the data shows each one", lang))
    return fig


def positions_chart(positions: pd.DataFrame, *, title: str | None = None,
                    figsize: tuple[float, float] = (9, 4), lang: str = "en") -> Figure:
    """Live clients by current phase, stacked by turns completed. Input: `spiral.client_positions`."""
    live = positions[positions["state"] != CHURNED].copy()
    live["turns"] = live["turns_completed"].clip(upper=3).map(lambda t: "3+" if t >= 3 else str(int(t)))
    live["where"] = live["current_phase"].where(live["current_phase"].notna(), DORMANT)
    table = live.pivot_table(index="where", columns="turns", values="client_id", aggfunc="count", fill_value=0)
    table = table.reindex([p for p in list(PHASES) + [DORMANT] if p in table.index])
    fig, ax = _figure(figsize)
    y = np.arange(len(table))[::-1]
    left = np.zeros(len(table))
    shades = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"]
    for k, col in enumerate(table.columns):
        turns = int(str(col).rstrip("+"))
        ax.barh(y, table[col].to_numpy(), left=left, color=shades[min(k, 3)], height=0.6,
                label=tr_plural("{turns} turn{s} completed", turns, lang, turns=col, s="" if col == "1" else "s"))
        left += table[col].to_numpy()
    ax.set_yticks(y)
    ax.set_yticklabels([phase_label(p, lang) for p in table.index])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: count_label(v, lang)))
    ax.set_xlabel(tr("live clients (by the phase they last worked in)", lang))
    ax.grid(axis="y", visible=False)
    legend_outside(ax, fontsize=8)
    _title(ax, title or tr("Where live clients are on the spiral", lang))
    return fig


def client_spiral_chart(positions: pd.DataFrame, client_id: str, *, currency: str = "", title: str | None = None,
                        figsize: tuple[float, float] = (10, 4.2), lang: str = "en") -> Figure:
    """One client's quarters: revenue bars coloured by state, spiral position as a step line.

    Input: `spiral.spiral_positions`. The client's name is data and is drawn literally.
    """
    s = positions[positions["client_id"] == str(client_id)].sort_values("quarter_index")
    if s.empty:
        raise ValueError(f"client {client_id!r} is not in the table")
    fig, ax = _figure(figsize)
    x = s["quarter_index"].to_numpy()
    ax.bar(x, s["revenue"], color=[PHASE_COLORS.get(v, GREY) for v in s["state"]], width=0.8)
    ax.yaxis.set_major_formatter(money_formatter(lang))
    ax.set_ylabel(money_axis(N_("revenue"), currency, lang))
    ax2 = ax.twinx()
    ax2.step(x, s["spiral_position"], where="mid", color="#1b1b1b", lw=1.5)
    ax2.set_ylabel(tr("spiral position (turns)", lang))
    ax2.yaxis.set_major_formatter(number_formatter(lang))
    ax2.set_ylim(bottom=0)
    ax2.grid(False)
    _quarter_axis(ax, x, lang)
    present = [v for v in list(PHASES) + [DORMANT, CHURNED] if v in set(s["state"])]
    fig.legend(handles=[Patch(color=PHASE_COLORS[v], label=phase_label(v, lang)) for v in present], fontsize=8,
               frameon=False, loc="outside lower center", ncol=len(present))
    name = _plain(s["client_name"].iloc[0])
    _title(ax, title if title is not None else tr("{client}: revenue by phase and place on the spiral", lang,
                                                  client=name))
    return fig
