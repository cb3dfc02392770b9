"""One seaborn theme for every chart of every report."""
from __future__ import annotations

import matplotlib
from matplotlib.ticker import FuncFormatter

from clientlens.i18n import N_, tr

PALETTE = ["#1f5fa8", "#d9822b", "#2e9d62", "#b3261e", "#7b5ea7", "#5b6475", "#c9a227", "#3aa6b9"]


def set_theme() -> None:
    """Apply the project's chart style. Text is never parsed as math, so a client
    called "$Corp" prints as written."""
    import seaborn as sns

    matplotlib.use("module://matplotlib_inline.backend_inline" if _in_kernel() else "Agg")
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    matplotlib.rcParams.update({
        "text.parse_math": False,
        "figure.figsize": (10, 5.2),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "figure.autolayout": True,
        "axes.titleweight": "bold",
        "axes.titlesize": 13,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "clientlens",
    })


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython

        return get_ipython() is not None and "IPKernelApp" in get_ipython().config
    except ImportError:
        return False


# Client names are data: text is set with these keywords so "$Corp" is drawn as written,
# never parsed as mathtext, whatever the rcParams say.
TEXT_KW = {"usetex": False, "parse_math": False}


def plain_text(text) -> str:
    """A label drawn literally; None and NaN draw as nothing."""
    import math

    return "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)


def new_figure(figsize: tuple[float, float]):
    """A pyplot-free figure and axes in the project's style (no global pyplot state)."""
    import seaborn as sns
    from matplotlib.figure import Figure

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def plain_legend(ax, **kwargs) -> None:
    """ax.legend() whose labels are never parsed as mathtext; no legend when nothing is labelled."""
    if not ax.get_legend_handles_labels()[0]:
        return
    if "ncol" in kwargs:
        kwargs["ncol"] = max(int(kwargs["ncol"]), 1)
    leg = ax.legend(**kwargs)
    if leg is not None:
        for text in leg.get_texts():
            text.set_usetex(False)
            text.set_parse_math(False)


def legend_outside(ax, **kwargs) -> None:
    """plain_legend() right of the axes, where it covers no data however the data fall."""
    plain_legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, **kwargs)


def money_axis(label: str, currency: str, lang: str = "en") -> str:
    """An axis label of amounts, naming their currency: "Cumulative profit, USD". The label is
    an English catalogue key, shown in `lang`."""
    return tr("{label}, {currency}", lang, label=tr(label, lang), currency=currency) if currency else tr(label, lang)


def quarter_tick(code, lang: str = "en") -> str:
    """A quarter's tick label as the page's reader writes it: "Q4 2026", "IV кв. 2026"."""
    from clientlens.quarters import quarter_label

    return quarter_label(code, lang)


def not_measured_figure(title: str, why: str, figsize: tuple[float, float], lang: str = "en"):
    """A chart whose data is not measured: its title and, in its place, "not measured" and why."""
    fig, ax = new_figure(figsize)
    ax.set_axis_off()
    ax.set_title(plain_text(title), loc="left", fontweight="bold", **TEXT_KW)
    ax.text(0.5, 0.55, tr("not measured", lang), ha="center", va="center", fontsize=14, color="#5b6475",
            transform=ax.transAxes, **TEXT_KW)
    ax.text(0.5, 0.42, plain_text(why), ha="center", va="center", fontsize=10, color="#5b6475",
            transform=ax.transAxes, wrap=True, **TEXT_KW)
    return fig


NO_REVENUE = N_("the time exports carry no billable amounts or rates, and no invoices were supplied")
NO_MARGIN = N_("no client has both revenue and cost measured")


def money_label(x: float, _pos=None, lang: str = "en") -> str:
    """1234567 -> '1.2M', -35000 -> '-35k' (axis and label format); in Russian '1,2 млн',
    '-35 тыс.'."""
    import numpy as np

    if x is None or not np.isfinite(x):
        return ""
    a, sign = abs(x), "-" if x < 0 else ""
    if a >= 1e9:
        number, unit = f"{a / 1e9:.1f}", N_("{number}B")
    elif a >= 1e6:
        number, unit = f"{a / 1e6:.1f}", N_("{number}M")
    elif a >= 1e3:
        number, unit = f"{a / 1e3:.0f}", N_("{number}k")
    else:
        return f"{sign}{a:.0f}"
    return sign + tr(unit, lang, number=number.replace(".", ",") if lang == "ru" else number)


class MoneyFormatter(FuncFormatter):
    """Ticks written as money_label() does. Its class marks an axis of amounts, whose label
    must name the currency (money_axis); is_money_axis finds them."""


def money_formatter(lang: str = "en") -> MoneyFormatter:
    return MoneyFormatter(lambda x, _pos=None: money_label(x, lang=lang))


def is_money_axis(axis) -> bool:
    """Whether a matplotlib axis (ax.xaxis, ax.yaxis) writes its ticks as amounts."""
    return isinstance(axis.get_major_formatter(), MoneyFormatter)


def count_label(x: float, lang: str = "en") -> str:
    """A whole number with thousands separated: 12,345 (en), 12 345 (ru, narrow space)."""
    text = f"{int(x):,}"
    return text.replace(",", "\u202f") if lang == "ru" else text


def number_formatter(lang: str = "en"):
    """Tick labels as short numbers (0.25); a decimal comma in Russian."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos=None: f"{x:g}".replace(".", ",") if lang == "ru" else f"{x:g}")


def percent_formatter(lang: str = "en", scale: float = 100.0, decimals: int = 0):
    """Tick labels in percent; a decimal comma in Russian."""
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _pos=None):
        text = f"{x * 100 / scale:.{decimals}f}%"
        return text.replace(".", ",") if lang == "ru" else text

    return FuncFormatter(fmt)
