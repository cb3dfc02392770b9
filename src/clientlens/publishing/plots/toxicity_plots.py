"""Charts of toxicity and segments: the segment map, the marker heat map, the migration matrix.

Each function takes a table computed by `clientlens.analysis.segments` / `clientlens.analysis.toxicity` and
returns a matplotlib Figure (built without pyplot, so no global state). Client names are
data: every text element is drawn with parse_math=False (set on the object itself, so
whatever the rcParams say), so a name such as "$Corp $5$" never reaches mathtext and
prints exactly as written. (No backslash escaping: with mathtext off, an escaped dollar
would print its backslash.) Client names on an axis are drawn as plain Text objects, not
tick labels, because matplotlib may rebuild tick labels at draw time with the rcParams'
parse_math. The charts stay
readable from 200 to 10,000 clients: points shrink and fade as their number grows, and
only the few clients that matter most are named.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from clientlens.analysis.markers import MARKERS
from clientlens.analysis.segments import SEGMENTS
from clientlens.i18n import tr
from clientlens.parameters import Params
from clientlens.quarters import quarter_label
from clientlens.publishing.plots.theme import TEXT_KW as _TEXT
from clientlens.publishing.plots.theme import new_figure as _figure
from clientlens.publishing.plots.theme import number_formatter, percent_formatter

__all__ = ["safe_text", "plot_segment_map", "plot_marker_heatmap", "plot_migration_matrix",
           "clients_to_label"]


def safe_text(text: Any, width: int | None = None) -> str:
    """A label as plain text (None/NaN -> ""), shortened to `width` characters.

    Draw it with parse_math=False (every function here does) so "$" stays a dollar sign.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = str(text)
    if width is not None and len(s) > width:
        s = s[: width - 1] + "…"
    return s


def clients_to_label(segments: pd.DataFrame, n: int = 8, red: float | None = None) -> pd.Index:
    """The rows worth naming: half the largest toxic clients (score >= red; without `red`,
    the largest revenue x score), then the largest by revenue."""
    if n <= 0 or segments.empty:
        return segments.index[:0]
    rev = pd.to_numeric(segments["revenue"], errors="coerce").fillna(0).clip(lower=0)
    score = pd.to_numeric(segments["score"], errors="coerce").fillna(0)
    if red is not None:
        risky = rev[score >= red].sort_values(ascending=False)
    else:
        risky = (rev * score)[rev * score > 0].sort_values(ascending=False)
    chosen = list(risky.index[: (n + 1) // 2])
    for idx in rev.sort_values(ascending=False).index:
        if len(chosen) >= n:
            break
        if idx not in chosen:
            chosen.append(idx)
    return pd.Index(chosen)


def _label_points(ax: Any, xs: np.ndarray, ys: np.ndarray, names: list[str],
                  ylim: tuple[float, float] = (0.0, 100.0), gap: float = 0.05) -> None:
    """Name a few points in a column right of the plot, with thin leader lines, so names
    never cover the data or each other however dense the cloud is."""
    if not len(xs):
        return
    frac = (np.asarray(ys, dtype=float) - ylim[0]) / (ylim[1] - ylim[0])
    order = np.argsort(frac)
    placed: list[float] = []
    for i in order:
        placed.append(max(frac[i], placed[-1] + gap) if placed else max(frac[i], 0.02))
    over = placed[-1] - 0.98
    if over > 0:
        placed = [p - over for p in placed]
    for i, y_lab in zip(order, placed):
        ax.annotate(names[i], (xs[i], ys[i]), xytext=(1.02, y_lab), textcoords="axes fraction",
                    ha="left", va="center", fontsize=8, color="#222", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "#999", "lw": 0.6,
                                "shrinkA": 0, "shrinkB": 2},
                    **_TEXT)


def plot_segment_map(segments: pd.DataFrame, params: Params | None = None,
                     label_top: int = 8, lang: str = "en", title: str | None = None,
                     include_endings: bool = False, figsize: tuple[float, float] = (10, 6.2)) -> Figure:
    """The segment map: margin % (x) against toxicity score (y), sized by revenue, coloured
    by segment, with the cut-offs drawn when `params` is given.

    segments: assign_segments() output. Ended relationships (healthy exit, left, gone
    quiet) and clients without a P&L are left out unless include_endings=True.
    """
    df = segments.copy()
    if not include_endings:
        df = df.loc[~df["segment"].isin(["healthy_exit", "left", "gone_quiet", "no_pnl"])]
    df = df.loc[np.isfinite(pd.to_numeric(df["margin_pct"], errors="coerce"))
                & np.isfinite(pd.to_numeric(df["score"], errors="coerce"))]
    n = len(df)
    fig, ax = _figure(figsize)
    x = df["margin_pct"].astype(float).clip(-1.0, 1.0)
    y = df["score"].astype(float)
    rev = pd.to_numeric(df["revenue"], errors="coerce").fillna(0).clip(lower=0)
    big = max(float(rev.max()), 1.0) if n else 1.0
    smax = 320 if n <= 500 else 120 if n <= 3000 else 40
    size = 6 + smax * np.sqrt(rev / big)
    alpha = 0.8 if n <= 500 else 0.5 if n <= 3000 else 0.3
    handles = []
    for seg in SEGMENTS:
        mask = (df["segment"] == seg.key).to_numpy()
        if not mask.any():
            continue
        ax.scatter(x[mask], y[mask], s=size[mask], color=seg.color, alpha=alpha,
                   edgecolors="white" if n <= 500 else "none", linewidths=0.5,
                   rasterized=n > 2000)
        handles.append(Line2D([], [], marker="o", linestyle="", color=seg.color,
                              label=safe_text(f"{seg.label(lang)} ({int(mask.sum())})")))
    if params is not None:
        ax.axvline(params.segments.profitable_margin_pct, color="#555", lw=1, ls="--")
        ax.axhline(params.toxicity_red, color="#555", lw=1, ls="--")
    x_lo = min(-0.05, float(x.min()) - 0.05) if n else -1.0
    x_hi = max(0.6, float(x.max()) + 0.05) if n else 1.0
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(0, 100)
    chosen = clients_to_label(df, label_top, red=params.toxicity_red
                              if params is not None else None)
    _label_points(ax, x[chosen].to_numpy(), y[chosen].to_numpy(),
                  [safe_text(df.at[i, "client_name"], 28) for i in chosen])
    ax.xaxis.set_major_formatter(percent_formatter(lang, scale=1.0))
    # The note sits under the title, left-aligned, so the two never collide on a narrow figure.
    ax.set_title(safe_text(title or tr("Profitability against toxicity", lang)), loc="left", fontweight="bold",
                 pad=16, **_TEXT)
    ax.set_xlabel(safe_text(tr("Margin, % of revenue", lang)), **_TEXT)
    ax.set_ylabel(safe_text(tr("Toxicity score (0-100)", lang)), **_TEXT)
    note = tr("size: revenue", lang) + ("; " + tr("margins beyond ±100% drawn at the edge", lang)
                                        if ((df["margin_pct"].abs() > 1).any()) else "")
    ax.text(0.0, 1.01, safe_text(note), transform=ax.transAxes, ha="left", va="bottom",
            fontsize=8, color="#555", **_TEXT)
    if handles:
        # Below the x label whatever the figure's height: about 0.6 inch under the axes.
        drop = 0.6 / (0.72 * fig.get_figheight())
        leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -drop),
                        ncol=min(len(handles), 3), frameon=False, fontsize=9)
        for t in leg.get_texts():
            t.set_parse_math(False)
    return fig


def plot_marker_heatmap(scores: pd.DataFrame, top_n: int = 30, value: str = "severity",
                        lang: str = "en", title: str | None = None) -> Figure:
    """Clients (rows, highest score first) against markers (columns).

    scores: current_toxicity() (or any toxicity_scores() rows). With more than top_n
    rows only the top_n by score are drawn. value: "severity" (0-1) or "points".
    Markers not measured for a client are grey.
    """
    prefix = "sev_" if value == "severity" else "pts_"
    df = scores.sort_values("score", ascending=False, na_position="last")
    many = len(df) > top_n
    df = df.head(top_n)
    cols = [m for m in MARKERS if f"{prefix}{m.name}" in df.columns]
    data = df[[f"{prefix}{m.name}" for m in cols]].astype(float).to_numpy()
    labels_y = [safe_text(name, 30) + (f" ({s:.0f})" if np.isfinite(s) else "")
                for name, s in zip(df["client_name"], df["score"].astype(float))]
    labels_x = [safe_text(m.label(lang)) for m in cols]
    height = 1.8 + 0.28 * max(len(df), 1)
    fig, ax = _figure((max(8.0, 0.45 * len(cols) + 4), height))
    ax.set_facecolor("#d9d9d9")
    ax.grid(False)
    vmax = 1.0 if value == "severity" else max(float(np.nanmax(data)) if np.isfinite(data).any() else 1.0, 1.0)
    frame = pd.DataFrame(data, index=range(len(df)), columns=range(len(cols)))
    sns.heatmap(frame, ax=ax, mask=np.isnan(data), vmin=0, vmax=vmax, cmap="Reds",
                linewidths=0.5, linecolor="white",
                cbar_kws={"label": tr("severity (0 = normal, 1 = at threshold)", lang) if value == "severity"
                          else tr("points of the score", lang), "shrink": 0.6,
                          "format": number_formatter(lang)})
    ax.set_xticks(np.arange(len(cols)) + 0.5)
    ax.set_xticklabels(labels_x, rotation=45, ha="right")
    ax.set_yticks(np.arange(len(df)) + 0.5)
    ax.set_yticklabels([""] * len(df))
    ax.tick_params(axis="y", length=0)
    to_axes_x = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for k, text in enumerate(labels_y):
        ax.text(-0.01, k + 0.5, text, transform=to_axes_x, ha="right", va="center",
                fontsize=9, **_TEXT)
    for t in ax.get_xticklabels():
        t.set_parse_math(False)
    cbar = ax.collections[0].colorbar if ax.collections else None
    if cbar is not None:
        cbar.ax.yaxis.label.set_parse_math(False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    head = title or (tr("Toxicity markers of the {n} highest-scoring clients", lang, n=len(df)) if many
                     else tr("Toxicity markers by client", lang))
    ax.set_title(safe_text(head), loc="left", fontweight="bold", **_TEXT)
    ax.text(1.0, 1.01, safe_text(tr("grey: not measured", lang)), transform=ax.transAxes, ha="right",
            va="bottom", fontsize=8, color="#555", **_TEXT)
    return fig


def _quarters_read(text: str, lang: str) -> str:
    """`text` with each quarter code in it (2026Q3) as the reader writes it (Q3 2026)."""
    return re.sub(r"\b\d{4}Q[1-4]\b", lambda m: quarter_label(m.group(0), lang), text)


def plot_migration_matrix(matrix: pd.DataFrame, lang: str = "en", title: str | None = None,
                          drop_empty: bool = True) -> Figure:
    """migration_matrix() as an annotated heat map (rows: from, columns: to).

    Rows and columns that are all zero are dropped unless drop_empty=False.
    """
    m = matrix.copy()
    if drop_empty:
        rows = [i for i in range(len(m.index)) if m.iloc[i].sum() > 0]
        cols = [j for j in range(len(m.columns)) if m.iloc[:, j].sum() > 0]
        m = m.iloc[rows, cols] if rows and cols else m
    fig, ax = _figure((1.2 * len(m.columns) + 4, 0.55 * len(m.index) + 2.2))
    data = m.to_numpy(dtype=float)
    sns.heatmap(pd.DataFrame(data), ax=ax, annot=m.to_numpy(), fmt="d", cmap="Blues",
                linewidths=0.5, linecolor="white", annot_kws={"fontsize": 9},
                cbar_kws={"label": tr("clients who moved", lang), "shrink": 0.8,
                          "ticks": MaxNLocator(integer=True), "format": number_formatter(lang)})
    cbar = ax.collections[0].colorbar if ax.collections else None
    if cbar is not None:
        cbar.ax.yaxis.label.set_parse_math(False)
    ax.set_xticks(np.arange(len(m.columns)) + 0.5)
    ax.set_xticklabels([safe_text(c, 24) for c in m.columns], rotation=35, ha="right")
    ax.set_yticks(np.arange(len(m.index)) + 0.5)
    ax.set_yticklabels([safe_text(c, 28) for c in m.index], rotation=0)
    for t in list(ax.get_xticklabels()) + list(ax.get_yticklabels()) + list(ax.texts):
        t.set_parse_math(False)
    ax.set_xlabel(_quarters_read(safe_text(matrix.columns.name or ""), lang), **_TEXT)
    ax.set_ylabel(_quarters_read(safe_text(matrix.index.name or ""), lang), **_TEXT)
    ax.set_title(safe_text(title or tr("Segment migration", lang)), loc="left", fontweight="bold", **_TEXT)
    return fig
