"""What notebooks show: escaped tables, KPI cards, notes and figures.

Client names and every other data-derived string are escaped here, once (`escape`), so a
name like `<script>` prints as text and no hidden character reorders or disguises it.
Markdown is never built from data, because the markdown renderer would pass raw HTML
through. Missing values print as "not measured", never as 0; a zero prints as "0", never
"0.00" or "-0". One form per kind of figure: money in a table is the full amount, its currency
in the column's header; money in a headline is short and carries its currency ("34.6M USD");
a share is a percentage ("51%"); a quarter reads "Q4 2026" ("IV кв. 2026"), a day "6 Dec 2026"
("06.12.2026").
"""
from __future__ import annotations

import datetime as dt
import html
import math
import numbers
import re
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from clientlens.i18n import N_, t, tr, tr_plural
from clientlens.quarters import ISO_DAY_RE, date_label, quarter_code, quarter_index_of, quarter_label

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
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:  # NaN of any float type (numpy's float32 is no Python float)
        return isinstance(value, numbers.Real) and math.isnan(value)
    except (TypeError, ValueError):
        return False


def _grouped(value: float, digits: int, lang: str) -> str:
    """`value` with `digits` decimals and thousands grouped; whatever rounds to zero is "0"
    (not "0.00", and never "-0": a sign on nothing reads as a loss)."""
    text = f"{value:,.{digits}f}"
    if not any(ch in "123456789" for ch in text):
        return "0"
    if lang == "ru":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def fmt_money(value: Any, currency: str = "", lang: str = "en", digits: int = 0) -> str:
    """A full amount, for tables (the currency then goes in the column's header): 101,269,980."""
    if _is_missing(value):
        return t("not_measured", lang)
    return f"{_grouped(float(value), digits, lang)} {currency}".strip()


def fmt_money_short(value: Any, currency: str = "", lang: str = "en") -> str:
    """34631811 -> "34.6M USD" ("34,6 млн USD"): a headline figure, read at a glance."""
    if _is_missing(value):
        return t("not_measured", lang)
    a, sign = abs(float(value)), "-" if value < 0 else ""
    for size, unit in ((1e9, N_("{number}B")), (1e6, N_("{number}M")), (1e3, N_("{number}k"))):
        digits = 1 if round(a / size, 1) < 100 else 0
        if round(a / size, digits) >= 1:  # 999,960 is "1.0M", not "1,000k"
            number = fmt_number(a / size, digits, lang)
            return f"{sign}{tr(unit, lang, number=number)} {currency}".strip()
    return fmt_money(value, currency, lang)


def fmt_number(value: Any, digits: int = 1, lang: str = "en", suffix: str = "") -> str:
    if _is_missing(value):
        return t("not_measured", lang)
    return _grouped(float(value), digits, lang) + suffix


def fmt_pct(value: Any, digits: int = 0, lang: str = "en") -> str:
    """A share as a percentage: 0.51 -> "51%", -0.001 -> "0%" (never "-0%")."""
    if _is_missing(value):
        return t("not_measured", lang)
    return fmt_number(100 * float(value), digits, lang, "%")


def pct_columns(df: pd.DataFrame, columns: Iterable[str], digits: int = 0, lang: str = "en") -> pd.DataFrame:
    """`df` with the share columns among `columns` (0.23) written as percentages (23%)."""
    return df.assign(**{c: [fmt_pct(v, digits, lang) for v in df[c]] for c in columns if c in df.columns})


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


QUARTER_COLUMN = re.compile(r"(^|[_ ])(quarters?|period)$|^(year to|expected close)$")
DATE_COLUMN = re.compile(r"(^|[_ ])(date|day)$|[_ ](at|on)$|^date[_ ]")
QUARTER_IN_TEXT = re.compile(r"\b\d{4}Q[1-4]\b")


def is_quarter_column(column: Any) -> bool:
    """A column whose codes like 2026Q4 are quarters to show as "Q4 2026": quarter, period,
    first_quarter, "last active quarter", quarters (spans such as "2024Q1–2024Q3"), ..."""
    return bool(QUARTER_COLUMN.search(str(column).strip().lower()))


def is_date_column(column: Any) -> bool:
    """A column whose ISO texts (2026-12-06) are days to show as "6 Dec 2026"."""
    return bool(DATE_COLUMN.search(str(column).strip().lower()))


def _day(value: Any) -> dt.date | None:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    return None


def _cell(value: Any, lang: str, kind: str = "") -> tuple[str, str]:
    """(shown text, sort key) of one cell, both unescaped. `kind` is how its column reads:
    "pct" (shares shown as percentages), "quarter" (codes like 2026Q4), "date" (ISO days) or ""."""
    if _is_missing(value):
        return t("not_measured", lang), ""
    if isinstance(value, (bool, np.bool_)):
        value = bool(value)
        return (tr("yes", lang) if value else tr("no", lang)), str(int(value))
    if kind == "pct" and _is_number(value):
        return fmt_pct(value, 0, lang), repr(float(value))
    # Only a code or a Period: a number in a quarter column is a count, not a quarter index.
    quarter = (quarter_code(value) if (kind == "quarter" and isinstance(value, str)) or isinstance(value, pd.Period)
               else None)
    if quarter is not None:  # the sort key is the quarter's index: chronological, and a number
        return quarter_label(quarter, lang), str(quarter_index_of(quarter))
    if kind == "quarter" and isinstance(value, str) and QUARTER_IN_TEXT.search(value):  # spans, lists
        first = QUARTER_IN_TEXT.search(value).group(0)
        return QUARTER_IN_TEXT.sub(lambda m: quarter_label(m.group(0), lang), value), str(quarter_index_of(first))
    day = _day(value)
    if day is None and kind == "date" and isinstance(value, str) and ISO_DAY_RE.match(value):
        day = _day(pd.Timestamp(value))
    if day is not None:
        return date_label(day, lang), day.strftime("%Y%m%d")
    if isinstance(value, numbers.Integral):
        return fmt_number(int(value), 0, lang), str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
        return fmt_number(value, digits, lang), repr(value)
    return str(value), str(value)


def column_kinds(columns: Sequence[Any], pct: Iterable[Any] = ()) -> dict[int, str]:
    """{column position: kind} for _cell: the `pct` columns, and the quarter and date columns
    known by their names."""
    pct = {str(c) for c in pct}
    kinds = {}
    for position, column in enumerate(columns):
        if str(column) in pct:
            kinds[position] = "pct"
        elif is_quarter_column(column):
            kinds[position] = "quarter"
        elif is_date_column(column):
            kinds[position] = "date"
    return kinds


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
               searchable: bool | None = None, page_size: int = 50, pct: Iterable[str] = (),
               money: Iterable[str] = (), currency: str = "") -> str:
    """An escaped, sortable HTML table; long ones get a filter box and pages of `page_size` rows.

    A client name links to the client's card when the table carries `client_id` (the id column
    itself is not shown). `links` maps a column to {cell value: href} for any other link.
    The `pct` columns hold shares (0.51) and show as percentages (51%), sorted by the share.
    The `money` columns' headers name the `currency` ("revenue, USD").
    Quarter and date columns (by their names, see column_kinds) show as the reader writes them.
    Only the first `max_rows` rows are shown (all with None), and the table says how many it holds.
    """
    links = links or {}
    df, card_links = client_card_links(df)
    shown = df if max_rows is None else df.head(max_rows)
    return rows_table_html(
        [str(c) for c in shown.columns], list(shown.itertuples(index=False, name=None)), lang=lang,
        total=len(df), card_links=card_links,
        value_links={i: links[c] for i, c in enumerate(shown.columns) if c in links},
        caption=caption, searchable=len(df) > 15 if searchable is None else searchable, page_size=page_size,
        kinds=column_kinds(list(shown.columns), pct),
        units={i: currency for i, c in enumerate(shown.columns) if c in set(money)} if currency else None)


def rows_table_html(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, lang: str = "en",
                    total: int | None = None, card_links: dict[int, list[str | None]] | None = None,
                    value_links: dict[int, dict[Any, str]] | None = None, caption: str = "",
                    searchable: bool = False, page_size: int = 50, kinds: dict[int, str] | None = None,
                    units: dict[int, str] | None = None) -> str:
    """table_html() for plain rows (no DataFrame): what ten thousand client cards use, fast.

    `total` is how many rows the full table holds when `rows` are only the first of them;
    card_links: {column position: href per row}; value_links: {column position: {value: href}};
    units: {column position: the unit its header names (a currency)};
    kinds: {column position: "pct" | "quarter" | "date"} (column_kinds), by default read off the
    column names (no percentages then)."""
    e = escape
    card_links, value_links = card_links or {}, value_links or {}
    kinds = column_kinds(columns) if kinds is None else kinds
    total = len(rows) if total is None else total
    units = units or {}
    head = "".join(f"<th scope=\"col\">{e(tr(str(c), lang))}{e(', ' + units[i]) if i in units else ''}</th>"
                   for i, c in enumerate(columns))
    body = []
    for number, row in enumerate(rows):
        cells = []
        for position, value in enumerate(row):
            text, key = _cell(value, lang, kinds.get(position, ""))
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
            elif not missing and kinds.get(position) in ("quarter", "date") and len(text) <= 12:
                classes.append("cl-nowrap")  # "Q4 2026" on one line, not "Q4" above "2026"
            klass = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f'<td data-sort="{e(key)}"{klass}>{inner}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = ['<div class="cl-table-block">']
    if caption:
        parts.append(f'<p class="cl-note">{e(caption)}</p>')
    if searchable:
        parts.append(f'<div class="cl-table-tools"><input class="cl-filter" type="search" '
                     f'placeholder="{e(t("filter", lang))}" aria-label="{e(t("filter", lang))}"></div>')
    # A long table pages (report.js) rather than scrolling in a box of fixed height: a box
    # cuts its last visible row in half, and a page shows whole rows.
    paged = f' data-page-size="{int(page_size)}"' if len(rows) > page_size else ""
    parts.append(f'<div class="cl-table-wrap"><table class="cl-sortable"{paged}><thead><tr>' + head
                 + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    if total > len(rows):
        note = tr_plural("Showing the first {shown} of {total} row{s}; every client is on the Clients page.",
                         total, lang, shown=fmt_number(len(rows), 0, lang), total=fmt_number(total, 0, lang),
                         s="" if total == 1 else "s")
        parts.append(f'<p class="cl-note">{e(note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def kpi_html(items: Sequence[tuple[str, ...]], lang: str = "en", title: str = "") -> str:
    """KPI cards from (label, value), (label, value, key) or (label, value, key, href) tuples; a
    key becomes data-kpi, so tests can read a figure off the page and compare it with the stage
    that computed it; an href makes the card a link to the list of what the figure counts.
    Labels are English catalogue keys, shown in `lang`; `title` (already in `lang`) says once
    the period every figure of the row is for."""
    e = escape
    cards = []
    for label, value, *rest in items:
        key = rest[0] if rest else None
        href = rest[1] if len(rest) > 1 else None
        attr = f' data-kpi="{e(key)}"' if key else ""
        inner = (f'<div class="cl-kpi-value">{e(value)}</div>'
                 f'<div class="cl-kpi-label">{e(tr(label, lang))}</div>')
        if href:
            cards.append(f'<a class="cl-kpi cl-kpi-link" href="{e(href)}"{attr}>{inner}</a>')
        else:
            cards.append(f'<div class="cl-kpi"{attr}>{inner}</div>')
    heading = f'<p class="cl-kpi-title">{e(title)}</p>' if title else ""
    return f'{heading}<div class="cl-kpis">{"".join(cards)}</div>'


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


def figure_alt(fig: Any, lang: str = "en") -> str:
    """What a chart shows, in words, read off the figure itself: its title, then each axis's
    label and the colour scale's, "Whale curve. x: share of clients. y: cumulative profit, USD".
    A reader who cannot see the image learns what it plots; a check can find a money axis that
    names no currency."""
    titles, axes = [], []
    for ax in fig.get_axes():
        title = next((ax.get_title(loc) for loc in ("left", "center", "right") if ax.get_title(loc).strip()), "")
        if title:
            titles.append(title)
        if getattr(ax, "_colorbar", None) is not None:  # a colour scale: its one label says what colour means
            label = ax.get_ylabel().strip() or ax.get_xlabel().strip()
            if label:
                axes.append(tr("colour: {label}", lang, label=label))
            continue
        for axis, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if label.strip():
                axes.append(tr("{axis}: {label}", lang, axis=axis, label=label.strip()))
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    # Line breaks become spaces; only ASCII white space, so a hidden character in a name stays
    # there for escape() to show.
    parts = [re.sub(r"[ \t\r\n]+", " ", p).strip().rstrip(".")
             for p in ([suptitle] if suptitle else []) + titles or [tr("chart", lang)]]
    return ". ".join(parts + [re.sub(r"[ \t\r\n]+", " ", a).strip() for a in axes])


def figure_html(fig: Any, alt: str = "", lang: str = "en") -> str:
    """A figure as an inline PNG <img>; its alt text, unless given, is figure_alt()'s."""
    import base64
    import io

    if not alt:
        alt = figure_alt(fig, lang)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight",
                metadata={"Software": None})  # no version stamp: identical runs, identical bytes
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="cl-figure" src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def show_figure(fig: Any, alt: str = "", lang: str = "en") -> None:
    """Display a matplotlib figure as an inline PNG, then free it."""
    import matplotlib.pyplot as plt

    show(figure_html(fig, alt, lang))
    plt.close(fig)


def download_link_html(href: str, label: str) -> str:
    """An escaped link that downloads a file published next to the page."""
    e = escape
    return f'<p class="cl-download"><a href="{e(href)}" download>{e(label)}</a></p>'
