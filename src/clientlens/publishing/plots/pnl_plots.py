"""Charts of the client P&L: the whale curve, the portfolio waterfall, margin against revenue.

Each function takes a table computed by `clientlens.analysis.pnl` and returns a matplotlib Figure; none
computes a metric of its own. Figures are built without pyplot (no global state); show one in a
notebook with `display(fig)` or `clientlens.publishing.display.show_figure(fig)`.

Client names are data: every text element is created with ``usetex=False`` and
``parse_math=False``, so a name such as "$Corp" is drawn exactly as written and never reaches
mathtext (whatever the rcParams say). The charts stay readable from a handful of clients to
10,000: points are small and translucent, and only the few clients that matter are named.
"""
from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from clientlens.analysis.pnl import ABC_LOSS
from clientlens.i18n import N_, tr
from clientlens.publishing.display import fmt_number
from clientlens.publishing.plots.theme import TEXT_KW as _TEXT
from clientlens.publishing.plots.theme import count_label, legend_outside, money_axis, money_formatter, percent_formatter
from clientlens.publishing.plots.theme import money_label as money
from clientlens.publishing.plots.theme import NO_MARGIN, not_measured_figure
from clientlens.publishing.plots.theme import new_figure as _figure
from clientlens.publishing.plots.theme import plain_text as _plain

try:  # the project's chart palette, when the theme module is there
    from clientlens.publishing.plots.theme import PALETTE
except ImportError:  # pragma: no cover
    PALETTE = ["#1f5fa8", "#d9822b", "#2e9d62", "#b3261e", "#7b5ea7", "#5b6475"]

__all__ = ["plot_whale_curve", "plot_waterfall", "plot_margin_scatter", "outliers_to_label",
           "money"]

BLUE, ORANGE, GREEN, RED, PURPLE, GREY = PALETTE[:6]
ABC_COLOURS = {"A": BLUE, "B": GREEN, "C": GREY, ABC_LOSS: RED}


def _shorten(text: Any, width: int = 28) -> str:
    s = _plain(text)
    return s if len(s) <= width else s[: width - 1] + "…"


def _titles(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(_plain(title), loc="left", fontweight="bold", **_TEXT)
    ax.set_xlabel(_plain(xlabel), **_TEXT)
    ax.set_ylabel(_plain(ylabel), **_TEXT)


# --------------------------------------------------------------------------- whale curve

def plot_whale_curve(curve: pd.DataFrame, *, currency: str = "", title: str | None = None,
                     figsize: tuple[float, float] = (10, 5.2), lang: str = "en",
                     last_four_quarters: bool = False) -> Figure:
    """Cumulative profit (% of total) against clients ranked by profit (% of clients).

    Takes whale_curve(). The hump above 100% is the profit the best clients make; the falling
    tail (shaded) is what loss-making clients give back. When the portfolio as a whole loses
    money, the curve is drawn in money instead of percent.
    """
    title = title or tr("Whale curve: cumulative profit by client", lang)
    n = len(curve)
    if n == 0:
        return not_measured_figure(title, tr(NO_MARGIN, lang), figsize, lang)
    fig, ax = _figure(figsize)
    x = np.concatenate([[0.0], curve["client_share"].to_numpy(dtype=float) * 100])
    in_pct = curve["cum_profit_share"].notna().all()
    y_vals = (curve["cum_profit_share"] if in_pct else curve["cum_margin"]).to_numpy(dtype=float)
    y = np.concatenate([[0.0], y_vals * (100 if in_pct else 1)])
    sns.lineplot(x=x, y=y, ax=ax, color=BLUE, linewidth=2, drawstyle="default", legend=False)
    if in_pct:
        ax.axhline(100, color=GREY, linestyle="--", linewidth=1)
        ax.yaxis.set_major_formatter(percent_formatter(lang))
        ax.text(0.01, 100, tr("100% = total profit", lang), transform=ax.get_yaxis_transform(),
                ha="left", va="bottom", fontsize=9, color=GREY, **_TEXT)
    else:
        ax.axhline(0, color=GREY, linewidth=1)
        ax.yaxis.set_major_formatter(money_formatter(lang))
    ax.xaxis.set_major_formatter(percent_formatter(lang))
    ax.set_xlim(0, 100)

    peak_i = int(np.argmax(y))
    tail = curve["margin"].to_numpy() < 0
    if tail.any():
        first_tail = int(np.argmax(tail))  # 0-based position in curve; x index = +1
        ax.axvspan(x[first_tail], 100, color=RED, alpha=0.08, linewidth=0)
        loss = -curve.loc[tail, "margin"].sum()
        ax.text((x[first_tail] + 100) / 2, 0.04,
                tr("loss-making tail: {n} clients\ngive back {loss}", lang, n=count_label(tail.sum(), lang),
                   loss=money(loss, lang=lang)),
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=9, color=RED, **_TEXT)
    peak_label = (tr("peak {share:.0f}% of profit\nfrom {clients:.0f}% of clients", lang, share=y[peak_i],
                     clients=x[peak_i]) if in_pct
                  else tr("peak {amount}\nfrom {clients:.0f}% of clients", lang,
                          amount=money(y[peak_i], lang=lang), clients=x[peak_i]))
    ax.scatter([x[peak_i]], [y[peak_i]], color=BLUE, zorder=3, s=30)
    right_side = x[peak_i] > 70
    ax.annotate(peak_label, (x[peak_i], y[peak_i]), xytext=(-8 if right_side else 8, 8),
                textcoords="offset points", fontsize=9, va="bottom",
                ha="right" if right_side else "left", **_TEXT)
    if in_pct and n >= 5:  # the Pareto reading: what the top 20% of clients make
        k = max(1, math.ceil(0.2 * n - 1e-9))
        ax.axvline(x[k], color=GREY, linestyle=":", linewidth=1)
        ax.text(x[k], 0.5, tr(" top 20% of clients:\n {share:.0f}% of profit", lang, share=y[k]),
                transform=ax.get_xaxis_transform(), fontsize=9, color=GREY, va="center",
                **_TEXT)
    top = curve.iloc[0]
    # One decimal below 10%: at ten thousand clients the largest may hold well under 1%.
    top_share = (tr(" ({share}% of profit)", lang, share=fmt_number(y[1], 0 if y[1] >= 10 else 1, lang))
                 if in_pct else "")
    ax.annotate(tr("most profitable: {client}", lang, client=_shorten(top["client_name"])) + top_share,
                (x[1], y[1]),
                xytext=(30, -6), textcoords="offset points", fontsize=8.5, va="center",
                arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.6}, **_TEXT)
    ax.set_ylim(min(0.0, float(np.min(y))) * 1.05, float(np.max(y)) * 1.15 + 1e-9)
    ranked = (N_("Clients ranked by profit over the last four quarters (n = {n})") if last_four_quarters
              else N_("Clients ranked by profit over all history (n = {n})"))
    _titles(ax, title, tr(ranked, lang, n=count_label(n, lang)),
            tr("Cumulative profit, % of total", lang) if in_pct else money_axis(N_("Cumulative profit"), currency, lang))
    return fig


# --------------------------------------------------------------------------- waterfall

def plot_waterfall(waterfall: pd.DataFrame, *, currency: str = "", title: str | None = None,
                   figsize: tuple[float, float] = (10, 5.2), lang: str = "en") -> Figure:
    """Revenue, each cost step, and margin as floating bars. Takes portfolio_waterfall()."""
    title = title or tr("From revenue to margin", lang)
    if not waterfall["measured"].astype(bool).any():
        return not_measured_figure(title, tr(NO_MARGIN, lang), figsize, lang)
    fig, ax = _figure(figsize)
    w = waterfall.reset_index(drop=True)
    xs = np.arange(len(w))
    span = float(max(w[["start", "end"]].abs().max().max(), 1.0))
    for i, row in w.iterrows():
        if not row["measured"] or pd.isna(row["amount"]):
            ax.text(i, row["start"], tr("not\nmeasured", lang), ha="center", va="bottom", fontsize=8,
                    color=GREY, **_TEXT)
            continue
        if row["kind"] == "total":
            bottom, height = 0.0, row["amount"]
            colour = BLUE if row["step"] == "revenue" else (GREEN if row["amount"] >= 0 else RED)
        else:
            bottom, height = row["start"], row["amount"]
            colour = ORANGE if row["amount"] < 0 else GREEN
        ax.bar(i, height, bottom=bottom, color=colour, width=0.7, edgecolor="white")
        top = max(bottom, bottom + height)
        ax.text(i, top + span * 0.01, money(row["amount"], lang=lang), ha="center", va="bottom",
                fontsize=9, **_TEXT)
        if i + 1 < len(w) and w.loc[i + 1, "kind"] != "total":
            ax.plot([i + 0.35, i + 0.65], [row["end"], row["end"]], color=GREY, linewidth=0.8)
    ax.axhline(0, color=GREY, linewidth=1)
    ax.set_xticks(xs)
    ax.set_xticklabels([textwrap.fill(tr(_plain(s), lang), 13, break_long_words=False) for s in w["label"]],
                       fontsize=8.5, **_TEXT)
    ax.yaxis.set_major_formatter(money_formatter(lang))
    lo = min(0.0, float(w[["start", "end"]].min().min()))
    ax.set_ylim(lo * 1.1 - span * 0.02, span * 1.1)
    ax.grid(axis="x", visible=False)
    _titles(ax, title, "", money_axis(N_("Amount"), currency, lang))
    return fig


# --------------------------------------------------------------------------- margin vs revenue

def _label_points(ax: Any, rows: pd.DataFrame, gap_pt: float = 13.0) -> None:
    """Name a few points. Labels sit beside their point (left of it near the right edge);
    profitable clients' names stack upwards and loss-makers' downwards, pushed apart so that
    neighbouring names never overlap, and the axes grow to keep every name inside."""
    if rows.empty:
        return
    ax.scatter(rows["revenue"], rows["margin"], s=36, facecolors="none", edgecolors="black",
               linewidths=0.8, zorder=3)
    ax.autoscale_view()
    fig = ax.figure
    to_pt = 72.0 / fig.dpi
    xy = ax.transData.transform(rows[["revenue", "margin"]].to_numpy(dtype=float))
    x0, x1 = ax.transAxes.transform([(0, 0), (1, 1)])[:, 0]
    right = xy[:, 0] < x0 + 0.75 * (x1 - x0)
    up = rows["margin"].to_numpy(dtype=float) >= 0
    placed_y: list[float] = []  # label positions, display units
    for side in (True, False):
        for going_up in (True, False):
            idx = np.flatnonzero((right == side) & (up == going_up))
            if not len(idx):
                continue
            order = idx[np.argsort(xy[idx, 1])]
            if not going_up:
                order = order[::-1]  # top to bottom
            last: float | None = None
            for i in order:
                y_pt = xy[i, 1] * to_pt
                want = y_pt + (8 if going_up else -8)
                if last is not None:
                    want = max(want, last + gap_pt) if going_up else min(want, last - gap_pt)
                last = want
                placed_y.append(want / to_pt)
                row = rows.iloc[i]
                dx = 24 if side else -24
                ax.annotate(_shorten(row.get("client_name", row["client_id"])),
                            (row["revenue"], row["margin"]), xytext=(dx, want - y_pt),
                            textcoords="offset points", ha="left" if side else "right",
                            va="center", fontsize=8.5,
                            arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.6,
                                        "shrinkA": 0, "shrinkB": 3}, **_TEXT)
    # keep every name inside the axes
    inv = ax.transData.inverted()
    ys = [inv.transform((xy[0, 0], y))[1] for y in placed_y]
    lo, hi = ax.get_ylim()
    pad = (hi - lo) * 0.03
    ax.set_ylim(min(lo, min(ys) - pad), max(hi, max(ys) + pad))


def outliers_to_label(client_pnl: pd.DataFrame, n: int = 7) -> pd.DataFrame:
    """The few clients worth naming on a margin-revenue chart (at most 8).

    Up to half are the biggest losses (most negative margin), the rest the biggest profits,
    and the largest client by revenue is always among them (concentration risk).
    """
    n = int(max(0, min(n, 8)))
    t = client_pnl[client_pnl["margin"].notna() & client_pnl["revenue"].notna()]
    if n == 0 or t.empty:
        return t.iloc[0:0]
    losses = t[t["margin"] < 0].nsmallest(math.ceil(n / 2), "margin")
    chosen = list(losses.index)
    largest = t["revenue"].idxmax()
    if largest not in chosen:
        chosen.append(largest)
    for idx in t.sort_values("margin", ascending=False).index:
        if len(chosen) >= n:
            break
        if idx not in chosen:
            chosen.append(idx)
    for idx in t.reindex(t["margin"].abs().sort_values(ascending=False).index).index:
        if len(chosen) >= n:
            break
        if idx not in chosen:
            chosen.append(idx)
    return t.loc[chosen[:n]]


def plot_margin_scatter(client_pnl: pd.DataFrame, classes: pd.DataFrame | None = None, *,
                        n_labels: int = 7, currency: str = "", title: str | None = None,
                        figsize: tuple[float, float] = (10, 6), lang: str = "en") -> Figure:
    """Each client's lifetime margin against its revenue, the most extreme 5-8 named.

    Takes client_pnl(); colours by ABC class when ``classes`` (abc_classes()) is given or the
    table has an abc_class column, else by profit/loss. Points below the zero line lose money.
    """
    title = title or tr("Margin against revenue, per client", lang)
    t = client_pnl[client_pnl["margin"].notna() & client_pnl["revenue"].notna()].copy()
    if classes is not None and "abc_class" not in t.columns:
        t = t.merge(classes[["client_id", "abc_class"]], on="client_id", how="left")
    if "abc_class" in t.columns:
        hue, palette = "abc_class", ABC_COLOURS
        hue_order = [c for c in ABC_COLOURS if c in set(t["abc_class"].dropna())]
    else:
        loss, profit = N_("loss-making"), N_("profitable")
        t["result"] = np.where(t["margin"] < 0, loss, profit)
        hue, palette = "result", {profit: BLUE, loss: RED}
        hue_order = [c for c in palette if c in set(t["result"])]
    if t.empty:
        return not_measured_figure(title, tr(NO_MARGIN, lang), figsize, lang)
    fig, ax = _figure(figsize)
    n = len(t)
    size = 40 if n <= 300 else 14 if n <= 2000 else 6
    alpha = 0.85 if n <= 300 else 0.5 if n <= 2000 else 0.3
    if n:
        sns.scatterplot(data=t, x="revenue", y="margin", hue=hue, hue_order=hue_order,
                        palette=palette, s=size, alpha=alpha, linewidth=0, ax=ax, rasterized=n > 2000)
        legend_outside(ax, title=None, fontsize=9, markerscale=max(1.0, 40 / size) ** 0.5)
        for text in ax.get_legend().get_texts():
            text.set_text(tr(text.get_text(), lang))
        for handle in ax.get_legend().legend_handles:
            handle.set_alpha(1.0)
    ax.axhline(0, color=GREY, linewidth=1)
    ax.xaxis.set_major_formatter(money_formatter(lang))
    ax.yaxis.set_major_formatter(money_formatter(lang))

    if n:
        sub = tr("{n} clients; {losing} lose money (below the line)", lang, n=count_label(n, lang),
                 losing=count_label((t["margin"] < 0).sum(), lang))
        ax.text(0.0, 1.0, sub, transform=ax.transAxes, ha="left", va="bottom", fontsize=9,
                color=GREY, **_TEXT)
    _label_points(ax, outliers_to_label(t, n_labels))
    _titles(ax, title + "\n", money_axis(N_("Revenue (lifetime)"), currency, lang),
            money_axis(N_("Margin after overhead (lifetime)"), currency, lang))
    return fig
