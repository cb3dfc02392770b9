"""The form of the figures a page prints: zeros as 0 and never a negative zero, shares as
percentages, quarters and days as a reader writes them in each language, plurals right, and
tables whose box shows whole rows (they page instead of scrolling in a box of fixed height)."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from clientlens.publishing import display as d
from clientlens.publishing.publish import STATIC_DIR
from clientlens.quarters import date_label, quarter_label

NEGATIVE_ZERO = re.compile(r"(^|[^\d.,])[-\u2212]0([.,]0+)?(%|\b|$)")


def cells(html: str) -> list[tuple[str, str]]:
    """(shown text, sort key) of every body cell."""
    return [(td.get_text(), td["data-sort"]) for td in BeautifulSoup(html, "html.parser").select("tbody td")]


@pytest.mark.parametrize("value", [0, 0.0, -0.0, -0.004, 0.004, -1e-12])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_zero_is_0_never_0_00_nor_minus_0(value, lang):
    assert d._cell(value, lang)[0] == "0"
    assert d.fmt_number(value, 2, lang) == "0"
    assert d.fmt_money(value, "", lang) == "0"
    assert d.fmt_money(value, "USD", lang) == "0 USD"
    assert d.fmt_money_short(value, "USD", lang) == "0 USD"
    assert d.fmt_pct(value / 100, 0, lang) == "0%"
    assert d.fmt_pct(value / 100, 1, lang) == "0%"


def test_small_figures_that_are_not_zero_keep_their_sign_and_digits():
    assert d._cell(-0.5, "en")[0] == "-0.50"
    assert d.fmt_pct(-0.004, 1, "en") == "-0.4%"
    assert d.fmt_money(-12.4, "USD", "en") == "-12 USD"
    assert d.fmt_number(-1234.5, 1, "ru") == "-1\u202f234,5"


@pytest.mark.parametrize("value,lang,expected", [
    (999_960, "en", "1.0M USD"), (99_960, "en", "100k USD"), (999.7, "en", "1.0k USD"),
    (34_631_811, "ru", "34,6 млн USD"), (float("nan"), "en", "not measured"), (None, "ru", "не измерено")])
def test_headline_money_is_short_and_names_its_currency(value, lang, expected):
    if expected == "не измерено":
        expected = d.t("not_measured", "ru")
    assert d.fmt_money_short(value, "USD", lang) == expected


def test_a_table_has_no_negative_zero_and_a_nan_is_not_measured():
    frame = pd.DataFrame({"client": ["A", "B", "C"], "margin": [-0.0, -0.003, float("nan")],
                          "hours": [0, 3, 4]})
    shown = cells(d.table_html(frame))
    texts = [text for text, _ in shown]
    assert texts[1] == "0" and texts[4] == "0" and texts[7] == d.t("not_measured", "en")
    assert not [text for text in texts if NEGATIVE_ZERO.search(text)]


@pytest.mark.parametrize("lang,shown", [("en", ["51%", "0%", "100%", "7%"]), ("ru", ["51%", "0%", "100%", "7%"])])
def test_pct_columns_show_shares_as_percentages_sorted_by_the_share(lang, shown):
    frame = pd.DataFrame({"client": list("ABCD"), "margin %": [0.51, -0.001, 1.0, 0.0712],
                          "revenue": [0.51, 2.0, 3.0, 4.0]})
    table = cells(d.table_html(frame, lang=lang, pct=["margin %"]))
    pct = table[1::3]
    assert [text for text, _ in pct] == shown
    assert [float(key) for _, key in pct] == [0.51, -0.001, 1.0, 0.0712]
    assert [text for text, _ in table[2::3]][0] == ("0.51" if lang == "en" else "0,51")  # not a pct column
    assert d.fmt_pct(-0.0001, 0, lang) == "0%"


def test_rows_table_html_takes_the_same_column_kinds():
    html = d.rows_table_html(["client", "share", "quarter"], [("A", 0.25, "2026Q4")], lang="ru",
                             kinds=d.column_kinds(["client", "share", "quarter"], pct=["share"]))
    assert [text for text, _ in cells(html)] == ["A", "25%", "IV кв. 2026"]


@pytest.mark.parametrize("code,lang,label", [
    ("2026Q4", "en", "Q4 2026"), ("2026Q4", "ru", "IV кв. 2026"), ("2025Q1", "ru", "I кв. 2025"),
    ("2024Q2", "ru", "II кв. 2024"), ("2024Q3", "en", "Q3 2024"), (pd.Period("2023Q3", freq="Q"), "ru", "III кв. 2023")])
def test_quarter_label_in_both_languages(code, lang, label):
    assert quarter_label(code, lang) == label


def test_quarter_label_without_a_language_still_names_an_index():
    from clientlens.quarters import quarter_index_of

    assert quarter_label(quarter_index_of("2025Q3")) == "2025Q3"
    assert quarter_label(quarter_index_of("2025Q3"), "en") == "Q3 2025"


@pytest.mark.parametrize("day,lang,label", [
    ("2026-12-06", "en", "6 Dec 2026"), ("2026-12-06", "ru", "06.12.2026"), (dt.date(2025, 3, 1), "ru", "01.03.2025"),
    (pd.Timestamp("2025-07-14 10:30"), "en", "14 Jul 2025")])
def test_date_label_in_both_languages(day, lang, label):
    assert date_label(day, lang) == label


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_quarter_and_date_cells_read_as_written_and_sort_by_time(lang):
    frame = pd.DataFrame({"client": ["A", "B", "C"], "first_quarter": ["2025Q4", "2026Q1", "2024Q2"],
                          "period": [pd.Period("2025Q4", freq="Q"), pd.Period("2026Q1", freq="Q"),
                                     pd.Period("2024Q2", freq="Q")],
                          "closed_on": ["2025-12-06", "2026-01-02", "2024-05-31"],
                          "last_quarter_revenue": [2025, 2026, 2024]})
    table = cells(d.table_html(frame, lang=lang))
    by_column = [table[i::5] for i in range(5)]
    assert [text for text, _ in by_column[1]] == [quarter_label(q, lang) for q in frame.first_quarter]
    assert [text for text, _ in by_column[2]] == [quarter_label(q, lang) for q in frame.first_quarter]
    assert [text for text, _ in by_column[3]] == [date_label(day, lang) for day in frame.closed_on]
    assert [text for text, _ in by_column[4]][0] == ("2,025" if lang == "en" else "2\u202f025")  # money, not a quarter
    for column in by_column[1:4]:  # chronological order of the keys, compared as numbers (report.js does)
        keys = [float(key) for _, key in column]
        assert sorted(range(3), key=keys.__getitem__) == [2, 0, 1]


def test_a_long_table_shows_whole_rows_in_pages_not_in_a_box_of_fixed_height():
    frame = pd.DataFrame({"client": [f"c{i}" for i in range(120)], "x": range(120)})
    soup = BeautifulSoup(d.table_html(frame, max_rows=None), "html.parser")
    assert soup.select_one("table").has_attr("data-page-size")
    assert not soup.select(".cl-table-scroll")
    css = (STATIC_DIR / "report.css").read_text(encoding="utf-8")
    rules = {selector.strip(): body for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)}
    for selector, body in rules.items():
        if "cl-table" in selector:
            assert "max-height" not in body.replace("max-height:none", ""), selector


@pytest.mark.parametrize("total,lang,words", [(21, "ru", "из 21 строки"), (25, "ru", "из 25 строк"),
                                              (3, "ru", "из 3 строк"), (7, "en", "of 7 rows")])
def test_the_rows_note_says_its_count_in_the_right_form(total, lang, words):
    html = d.rows_table_html(["client"], [("A",)], lang=lang, total=total)
    assert words in BeautifulSoup(html, "html.parser").get_text()


def test_figure_alt_text_says_title_and_every_axis():
    from clientlens.publishing.plots.theme import new_figure

    fig, ax = new_figure((4, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_title("Whale curve", loc="left")
    ax.set_xlabel("share of clients")
    ax.set_ylabel("cumulative profit, USD")
    assert d.figure_alt(fig) == "Whale curve. x: share of clients. y: cumulative profit, USD"
    assert 'alt="Whale curve. x: share of clients. y: cumulative profit, USD"' in d.figure_html(fig)
    assert d.figure_alt(fig, "ru").startswith("Whale curve. ось x: share of clients")


def test_spans_of_quarters_read_as_written_too():
    html = d.table_html(pd.DataFrame({"client": ["A"], "quarters": ["2024Q1–2024Q3, 2025Q2"],
                                      "closed on": ["2025-02-03"]}), lang="ru")
    assert [text for text, _ in cells(html)] == ["A", "I кв. 2024–III кв. 2024, II кв. 2025", "03.02.2025"]


def test_money_columns_name_their_currency_in_the_header():
    import pandas as pd

    from clientlens.publishing.display import table_html

    html = table_html(pd.DataFrame({"revenue": [1200.0], "clients": [3]}), money=["revenue"], currency="EUR")
    assert ">revenue, EUR</th>" in html and ">clients</th>" in html
    assert "EUR" not in table_html(pd.DataFrame({"revenue": [1200.0]}))
