"""One seaborn theme for every chart of every report."""
from __future__ import annotations

import matplotlib

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
