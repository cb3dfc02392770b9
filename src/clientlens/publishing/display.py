"""What notebooks show: escaped tables, KPI cards, notes and figures.

Client names and every other data-derived string are escaped here, once (`escape`), so a
name like `<script>` prints as text and no hidden character reorders or disguises it.
Markdown is never built from data, because the markdown renderer would pass raw HTML
through. Missing values print as "not measured", never as 0.
"""
from __future__ import annotations

import html
import math
import numbers
import re
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from clientlens.i18n import N_, t, tr

MAX_ROWS_DEFAULT = 500

# Characters that change how the text around them is shown while showing nothing themselves:
# bidirectional controls (an override makes "lost 300" read "003 tsol" and can flip the figures
# after a name), zero-width characters (two names that differ by one look the same), and
# control characters (not allowed in HTML text). Each becomes a visible U+FFFD rather than being
# dropped: the reader sees that the data held something hidden, and two values that differ only
# by it stay apart. Tab, newline and carriage return are ordinary white space and stay.
HIDDEN_CHARACTERS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"  # bidi controls
                               "\u200b-\u200d\u2060\ufeff"  # zero-width
                               "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1 controls
SHOWN_INSTEAD = "\ufffd"


def neutralise(text: str) -> str:
    """`text` with every hidden character (HIDDEN_CHARACTERS) shown as U+FFFD."""
    if text.isprintable():  # every hidden character is a control or format one, never printable
        return text
    return HIDDEN_CHARACTERS.sub(SHOWN_INSTEAD, text)


def escape(value: Any) -> str:
    """What every data-derived string passes through on its way into a page: hidden
    characters neutralised, then HTML-escaped (quotes too, so it is safe in an attribute)."""
    return html.escape(neutralise(str(value)))


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


def fmt_money_short(value: Any, currency: str = "", lang: str = "en") -> str:
    """34631811 -> "34.6M USD" ("34,6 млн USD"): a headline figure, read at a glance."""
    if _is_missing(value):
        return t("not_measured", lang)
    a, sign = abs(value), "-" if value < 0 else ""
    for size, unit in ((1e9, N_("{number}B")), (1e6, N_("{number}M")), (1e3, N_("{number}k"))):
        if a >= size:
            digits = 1 if a < 100 * size else 0
            number = fmt_number(a / size, digits, lang)
            return f"{sign}{tr(unit, lang, number=number)} {currency}".strip()
    return fmt_money(value, currency, lang)


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


def pct_columns(df: pd.DataFrame, columns: Iterable[str], digits: int = 0, lang: str = "en") -> pd.DataFrame:
    """`df` with the share columns among `columns` (0.23) written as percentages (23%)."""
    return df.assign(**{c: [fmt_pct(v, digits, lang) for v in df[c]] for c in columns if c in df.columns})


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _cell(value: Any, lang: str) -> tuple[str, str]:
    """(shown text, sort key) of one cell, both unescaped."""
    if _is_missing(value):
        return t("not_measured", lang), ""
    if isinstance(value, (bool, np.bool_)):
        value = bool(value)
        return (tr("yes", lang) if value else tr("no", lang)), str(int(value))
    if isinstance(value, numbers.Integral):
        return fmt_number(int(value), 0, lang), str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
        return fmt_number(value, digits, lang), repr(value)
    return str(value), str(value)


CLIENT_NAME_COLUMNS = ("client_name", "client")


def client_card_links(df: pd.DataFrame, prefix: str | None = None) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """A table that carries `client_id` next to a client name column shows the name as a link
    to the client's card, and not the id: (the table without client_id, {column: hrefs}).
    The hrefs are card_href's, relative to reports/ unless `prefix` says otherwise."""
    from clientlens.analysis.cards import card_href

    name = next((c for c in CLIENT_NAME_COLUMNS if c in df.columns), None)
    if "client_id" not in df.columns or name is None:
        return df, {}
    hrefs = [None if _is_missing(cid) else card_href(cid) if prefix is None else card_href(cid, prefix)
              for cid in df["client_id"]]
    shown = df.drop(columns=["client_id"])
    return shown, {list(shown.columns).index(name): hrefs}


def table_html(df: pd.DataFrame, *, lang: str = "en", max_rows: int | None = MAX_ROWS_DEFAULT,
               links: dict[str, dict[str, str]] | None = None, caption: str = "",
               searchable: bool | None = None, page_size: int = 50) -> str:
    """An escaped, sortable HTML table; long ones get a filter box and pages of `page_size` rows.

    A client name links to the client's card when the table carries `client_id` (the id column
    itself is not shown). `links` maps a column to {cell value: href} for any other link.
    Only the first `max_rows` rows are shown (all with None), and the table says how many it holds.
    """
    links = links or {}
    df, card_links = client_card_links(df)
    shown = df if max_rows is None else df.head(max_rows)
    return rows_table_html(
        [str(c) for c in shown.columns], list(shown.itertuples(index=False, name=None)), lang=lang,
        total=len(df), card_links=card_links,
        value_links={i: links[c] for i, c in enumerate(shown.columns) if c in links},
        caption=caption, searchable=len(df) > 15 if searchable is None else searchable, page_size=page_size)


def rows_table_html(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, lang: str = "en",
                    total: int | None = None, card_links: dict[int, list[str | None]] | None = None,
                    value_links: dict[int, dict[Any, str]] | None = None, caption: str = "",
                    searchable: bool = False, page_size: int = 50) -> str:
    """table_html() for plain rows (no DataFrame): what ten thousand client cards use, fast.

    `total` is how many rows the full table holds when `rows` are only the first of them;
    card_links: {column position: href per row}; value_links: {column position: {value: href}}."""
    e = escape
    card_links, value_links = card_links or {}, value_links or {}
    total = len(rows) if total is None else total
    head = "".join(f"<th scope=\"col\">{e(tr(str(c), lang))}</th>" for c in columns)
    body = []
    for number, row in enumerate(rows):
        cells = []
        for position, value in enumerate(row):
            text, key = _cell(value, lang)
            inner = e(text)
            missing = _is_missing(value)
            href = value_links[position].get(value) if position in value_links and not missing else None
            if position in card_links:
                href = card_links[position][number]
            if href:
                inner = f'<a href="{e(href)}">{inner}</a>'
            classes = ["cl-not-measured"] if missing else []
            if not missing and _is_number(value):
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
    paged = f' data-page-size="{int(page_size)}"' if len(rows) > page_size else ""
    wrap = "cl-table-wrap cl-table-scroll" if len(rows) > 15 else "cl-table-wrap"
    parts.append(f'<div class="{wrap}"><table class="cl-sortable"{paged}><thead><tr>' + head
                 + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    if total > len(rows):
        note = tr("Showing the first {shown} of {total} rows; every client is on the Clients page.", lang,
                  shown=fmt_number(len(rows), 0, lang), total=fmt_number(total, 0, lang))
        parts.append(f'<p class="cl-note">{e(note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def kpi_html(items: Sequence[tuple[str, ...]], lang: str = "en") -> str:
    """KPI cards from (label, value) or (label, value, key) tuples; a key becomes data-kpi, so
    tests can read a figure off the page and compare it with the stage that computed it.
    Labels are English catalogue keys, shown in `lang`."""
    e = escape
    cards = []
    for label, value, *rest in items:
        key = rest[0] if rest else None
        attr = f' data-kpi="{e(key)}"' if key else ""
        cards.append(f'<div class="cl-kpi"{attr}><div class="cl-kpi-value">{e(value)}</div>'
                     f'<div class="cl-kpi-label">{e(tr(label, lang))}</div></div>')
    return f'<div class="cl-kpis">{"".join(cards)}</div>'


def figures_side_by_side_html(*fragments: str, compact: bool = False) -> str:
    """Two or more figure_html() images in one row (one column on a phone); `compact` keeps
    them short enough to share a first screen with the figures above and the list below."""
    klass = "cl-grid cl-grid-compact" if compact else "cl-grid"
    return f'<div class="{klass}">' + "".join(f"<div>{f}</div>" for f in fragments) + "</div>"


def paragraph_html(text: str, *, note: bool = False) -> str:
    klass = ' class="cl-note"' if note else ""
    return f"<p{klass}>{escape(text)}</p>"


def list_html(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


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
    return f'<img class="cl-figure" src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def show_figure(fig: Any, alt: str = "") -> None:
    """Display a matplotlib figure as an inline PNG, then free it."""
    import matplotlib.pyplot as plt

    show(figure_html(fig, alt))
    plt.close(fig)


def download_link_html(href: str, label: str) -> str:
    """An escaped link that downloads a file published next to the page."""
    e = escape
    return f'<p class="cl-download"><a href="{e(href)}" download>{e(label)}</a></p>'
