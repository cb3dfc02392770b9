"""What notebooks show: escaped tables, KPI cards, notes and figures.

Client names and every other data-derived string are escaped here, once, so a
name like `<script>` prints as text. Markdown is never built from data, because
the markdown renderer would pass raw HTML through. Missing values print as
"not measured", never as 0.
"""
from __future__ import annotations

import html
import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from clientlens.report.i18n import t, tr

MAX_ROWS_DEFAULT = 500


def _is_missing(value: Any) -> bool:
    try:
        return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def fmt_money(value: Any, currency: str = "", lang: str = "en", digits: int = 0) -> str:
    if _is_missing(value):
        return t("not_measured", lang)
    text = f"{value:,.{digits}f}"
    if lang == "ru":
        text = text.replace(",", "\u202f").replace(".", ",")
    return f"{text} {currency}".strip()


def fmt_number(value: Any, digits: int = 1, lang: str = "en", suffix: str = "") -> str:
    if _is_missing(value):
        return t("not_measured", lang)
    text = f"{value:,.{digits}f}"
    if lang == "ru":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text + suffix


def fmt_pct(value: Any, digits: int = 0, lang: str = "en") -> str:
    if _is_missing(value):
        return t("not_measured", lang)
    return fmt_number(100 * value, digits, lang, "%")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _cell(value: Any, lang: str) -> tuple[str, str]:
    """(shown text, sort key) of one cell, both unescaped."""
    if _is_missing(value):
        return t("not_measured", lang), ""
    if isinstance(value, (bool, np.bool_)):
        value = bool(value)
        return ("yes" if value else "no") if lang == "en" else ("да" if value else "нет"), str(int(value))
    if isinstance(value, numbers.Integral):
        return fmt_number(int(value), 0, lang), str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
        return fmt_number(value, digits, lang), repr(value)
    return str(value), str(value)


def table_html(df: pd.DataFrame, *, lang: str = "en", max_rows: int = MAX_ROWS_DEFAULT,
               links: dict[str, dict[str, str]] | None = None, caption: str = "",
               searchable: bool | None = None) -> str:
    """An escaped, sortable HTML table; long ones get a filter box and a scroll area.

    `links` maps a column to {cell value: href} so a client name can link to its card.
    Only the first `max_rows` rows are shown, and the table says how many it holds.
    """
    e = html.escape
    links = links or {}
    shown = df.head(max_rows)
    searchable = len(df) > 15 if searchable is None else searchable
    head = "".join(f"<th scope=\"col\">{e(tr(str(c), lang))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for col, value in zip(shown.columns, row):
            text, key = _cell(value, lang)
            inner = e(text)
            href = links.get(col, {}).get(value) if not _is_missing(value) else None
            if href:
                inner = f'<a href="{e(href)}">{inner}</a>'
            classes = ["cl-not-measured"] if _is_missing(value) else []
            if _is_number(value) and not _is_missing(value):
                classes.append("cl-num")
            klass = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f'<td data-sort="{e(key)}"{klass}>{inner}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = ['<div class="cl-table-block">']
    if caption:
        parts.append(f'<p class="cl-note">{e(caption)}</p>')
    if searchable:
        parts.append(f'<div class="cl-table-tools"><input class="cl-filter" type="search" '
                     f'placeholder="{e(t("filter", lang))}" aria-label="{e(t("filter", lang))}"></div>')
    parts.append('<div class="cl-table-wrap"><table class="cl-sortable"><thead><tr>' + head
                 + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    if len(df) > max_rows:
        note = tr("Showing {shown} of {total} rows; the full table is in the CSV download.", lang,
                  shown=fmt_number(max_rows, 0, lang), total=fmt_number(len(df), 0, lang))
        parts.append(f'<p class="cl-note">{e(note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def kpi_html(items: Sequence[tuple[str, ...]], lang: str = "en") -> str:
    """KPI cards from (label, value) or (label, value, key) tuples; a key becomes data-kpi, so
    tests can read a figure off the page and compare it with the stage that computed it.
    Labels are English catalogue keys, shown in `lang`."""
    e = html.escape
    cards = []
    for label, value, *key in items:
        attr = f' data-kpi="{e(key[0])}"' if key else ""
        cards.append(f'<div class="cl-kpi"{attr}><div class="cl-kpi-value">{e(value)}</div>'
                     f'<div class="cl-kpi-label">{e(tr(label, lang))}</div></div>')
    return f'<div class="cl-kpis">{"".join(cards)}</div>'


def figures_side_by_side_html(*fragments: str) -> str:
    """Two or more figure_html() images in one row (one column on a phone)."""
    return '<div class="cl-grid">' + "".join(f"<div>{f}</div>" for f in fragments) + "</div>"


def paragraph_html(text: str, *, note: bool = False) -> str:
    klass = ' class="cl-note"' if note else ""
    return f"<p{klass}>{html.escape(text)}</p>"


def list_html(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def show(fragment: str) -> None:
    """Display an HTML fragment built by the functions above (already escaped)."""
    from IPython.display import HTML, display

    display(HTML(fragment))


def show_table(df: pd.DataFrame, **kwargs: Any) -> None:
    show(table_html(df, **kwargs))


def figure_html(fig: Any, alt: str = "") -> str:
    """A figure as an inline PNG <img>, its alt text the chart's title."""
    import base64
    import io

    if not alt:
        titles = [ax.get_title() for ax in fig.get_axes() if ax.get_title()]
        alt = titles[0] if titles else (fig._suptitle.get_text() if fig._suptitle else "chart")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight",
                metadata={"Software": None})  # no version stamp: identical runs, identical bytes
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="cl-figure" src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def show_figure(fig: Any, alt: str = "") -> None:
    """Display a matplotlib figure as an inline PNG, then free it."""
    import matplotlib.pyplot as plt

    show(figure_html(fig, alt))
    plt.close(fig)


def download_link_html(href: str, label: str) -> str:
    """An escaped link that downloads a file published next to the page."""
    e = html.escape
    return f'<p class="cl-download"><a href="{e(href)}" download>{e(label)}</a></p>'
