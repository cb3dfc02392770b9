"""The page checks of tests/page_checks.py, on small pages: each catches the problem planted in
it and passes the same page written right. No browser: the structure comes from the HTML."""
from __future__ import annotations

import pytest
from page_checks import check_page, structure_from_html, structure_from_raw


def page(body: str, lang: str = "en") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><title>t</title><style>p {{}}</style></head><body>'
            f'<main>{body}</main><footer class="cl-lineage"><h2>Lineage</h2><p>Built 2026-12-06 from 2026Q4 '
            f'data, client_quarter.parquet, -0.00</p><table><thead><tr><th>share %</th></tr></thead>'
            f'<tbody><tr><td>0.5</td></tr></tbody></table></footer></body></html>')


def table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="cl-table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def problems(body: str, lang: str = "en") -> list[str]:
    return check_page("p.html", structure_from_html(page(body, lang)))


def kpis(n: int) -> str:
    return '<div class="cl-kpis">' + '<div class="cl-kpi"><span class="cl-kpi-value">1</span></div>' * n + "</div>"


def method(text: str) -> str:
    return f'<details class="cl-method" id="method"><summary>Method and sources</summary><p>{text}</p></details>'


# (what is checked, a page with the problem, the page written right, a word of the problem's line)
CASES = [
    ("fraction under %", table(["client", "margin %"], [["A", "0.51"], ["B", "-0.12"]]),
     table(["client", "margin %"], [["A", "51%"], ["B", "-12%"]]), "fraction"),
    ("fraction under share", table(["share of revenue"], [["0.65"]]), table(["share of revenue"], [["65%"]]),
     "fraction"),
    ("fraction under доля", table(["доля выручки"], [["0,65"]]), table(["доля выручки"], [["65 %"]]), "fraction"),
    ("negative zero", "<p>Loss-makers give back -0 USD.</p>", "<p>Loss-makers give back 0 USD.</p>", "negative zero"),
    ("negative zero in a cell", table(["margin"], [["-0.00"]]), table(["margin"], [["0"]]), "negative zero"),
    ("negative zero, minus sign", "<p>margin \u22120%</p>", "<p>margin 0%</p>", "negative zero"),
    ("negative zero, comma", table(["маржа"], [["-0,0"]]), table(["маржа"], [["-0,4"]]), "negative zero"),
    ("zero with decimals", table(["revenue, USD"], [["0.00"]]), table(["revenue, USD"], [["0"]]), "zero written"),
    ("empty list", "<p>Of the 5 clients at risk, by the most urgent risk of each: .</p>",
     "<p>Of the 5 clients at risk, by the most urgent risk of each: 5 have gone quiet.</p>", "list left empty"),
    ("a sentence about none", "<p>Of the 0 clients at risk, most are new.</p>", "<p>No client is at risk.</p>",
     "about none"),
    ("empty brackets", "<p>Revenue ( ) fell.</p>", "<p>Revenue (USD) fell.</p>", "empty brackets"),
    ("label repeated", "<p>No backtest yet: backtest: no history up to 2025Q2.</p>",
     "<p>No backtest yet: a year of history is needed.</p>", "label repeated"),
    ("word doubled", "<p>Revenue of the the client.</p>", "<p>Revenue of the client.</p>", "word doubled"),
    ("empty paragraph", "<p>Text.</p><p> </p>", '<p>Text.</p><p><img alt="chart. x: quarter"></p>', "empty paragraph"),
    ("one turns", "<p>Phase now: support (turn 2, 1 turns completed).</p>",
     "<p>Phase now: support (turn 2, 1 turn completed, 2 quarters, 1 of 14 tables).</p>", "wrong plural"),
    ("of the 1 clients", "<p>Of the 1 clients at risk, 1 are quiet.</p>", "<p>The one client at risk is quiet.</p>",
     "wrong plural"),
    ("1 are", "<p>1 are quiet.</p>", "<p>1 is quiet.</p>", "wrong plural"),
    ("money axis", '<img alt="Whale curve. x: share of clients. y: cumulative profit">',
     '<img alt="Whale curve. x: share of clients. y: cumulative profit, USD">', "money axis"),
    ("money axis, not a count", '<img alt="Whale curve. x: share of clients. y: profit">',
     '<img alt="Whale curve. x: clients ranked by profit (n = 3). y: share of profit. colour: quarters since the '
     'first revenue">', "money axis"),
    ("money colour scale", '<img alt="Heat map. x: quarter. y: client. colour: margin">',
     '<img alt="Heat map. x: quarter. y: client. colour: margin, %">', "money axis"),
    ("money axis, Russian", '<img alt="Кривая. ось x: доля клиентов. ось y: выручка">',
     '<img alt="Кривая. ось x: доля клиентов. ось y: выручка, RUB">', "money axis"),
    ("chart without alt", '<img alt="">', '<img alt="Revenue by quarter. x: quarter. y: revenue, USD">',
     "text alternative"),
    ("svg chart without a label", '<svg role="img"><text>0</text></svg>',
     '<svg role="img" aria-label="Revenue and cost by quarter"><text>0</text></svg>', "text alternative"),
    ("heading counts boxes", "<h2>The portfolio in four numbers</h2>" + kpis(5),
     "<h2>The portfolio in five numbers</h2>" + kpis(5), "miscounts"),
    ("jargon", "<p><strong>Reads:</strong> <code>client_quarter.parquet</code></p>",
     "<p>Who makes money.</p>" + method("<strong>Reads:</strong> <code>client_quarter.parquet</code>, HHI"),
     "jargon"),
    ("jargon in a table", table(["HHI of revenue"], [["1,200"]]), table(["concentration"], [["1,200"]]), "jargon"),
    ("formula", "<p>V = (I - P/(1+d))^-1 R</p>", "<p>What a phase is worth.</p>" + method("V = (I - P/(1+d))^-1 R"),
     "jargon"),
]

RUSSIAN_CASES = [
    ("English quarter", "<p>Прогноз на 2026Q4.</p>", "<p>Прогноз на IV кв. 2026.</p>", "English quarter"),
    ("ISO date", table(["дата"], [["2026-12-06"]]), table(["дата"], [["06.12.2026"]]), "ISO date"),
    ("5 клиента", "<p>Под угрозой 5 клиента.</p>", "<p>Под угрозой 5 клиентов, у 2 клиентов и у 1 клиента.</p>",
     "wrong plural"),
    ("21 клиентов", "<p>Всего 21 клиентов.</p>", "<p>Всего 21 клиент, 3 квартала, 11 кварталов, 12 строк.</p>",
     "wrong plural"),
    ("2 квартал", "<p>За 2 квартал.</p>", "<p>За 2 квартала.</p>", "wrong plural"),
    ("heading in Russian", "<h2>Портфель в четырёх цифрах</h2>" + kpis(5), "<h2>Портфель в пяти цифрах</h2>" + kpis(5),
     "miscounts"),
    ("jargon in Russian", "<p><strong>Читает:</strong> client_quarter</p>",
     "<p>Кто приносит прибыль.</p>" + method("<strong>Читает:</strong> client_quarter"), "jargon"),
]


@pytest.mark.parametrize("lang, what, wrong, right, word",
                         [("en", *c) for c in CASES] + [("ru", *c) for c in RUSSIAN_CASES],
                         ids=[c[0] for c in CASES] + [c[0] for c in RUSSIAN_CASES])
def test_each_check_catches_its_problem_and_passes_the_page_written_right(lang, what, wrong, right, word):
    found = problems(wrong, lang)
    assert found and all(p.startswith("p.html: ") for p in found), found
    assert any(word in p for p in found), found
    assert problems(right, lang) == []


def test_a_clean_page_passes_and_the_lineage_footer_is_not_checked():
    body = ("<h1>Client P&amp;L</h1><h2>The portfolio in five numbers</h2>" + kpis(5)
            + "<p>Of the 12 clients at risk, 5 have gone quiet (1.2M USD) and 1 client is difficult.</p>"
            + table(["client", "margin %", "80% low, USD", "revenue, USD", "bill rate, USD"],
                    [["A", "51%", "0.50", "1,200", "120.50"], ["B", "-3%", "0", "0", "95.00"]])
            + '<img alt="Whale curve. x: share of clients, %. y: cumulative profit, USD">'
            + method("Reads: client_quarter.parquet. Writes: pnl_clients.parquet. HHI; shifted-beta-geometric."))
    assert problems(body) == []
    assert problems(body.replace("Client P&amp;L", "Клиенты"), "ru") == []


def test_a_russian_check_leaves_an_english_page_alone():
    assert problems("<p>Forecast 2026Q4, built 2026-12-06.</p>") == []


def test_a_table_cut_by_its_scroll_box_is_caught_unless_it_pages():
    raw = {"lang": "en", "text": "", "reader_text": "", "kpi_groups": [], "images": [], "empty_paragraphs": 0,
           "tables": [{"headers": ["client"], "rows": [["A"]], "paged": False, "in_method": False,
                       "box": {"client_height": 544, "scroll_height": 900}}]}
    assert ["p.html: a table cut by its scroll box (544 of 900 px shown): client"] == check_page(
        "p.html", structure_from_raw(raw))
    for fits in ({"paged": True}, {"box": {"client_height": 900, "scroll_height": 900}}, {"box": None}):
        raw["tables"][0].update({"paged": False, "box": {"client_height": 544, "scroll_height": 900}} | fits)
        assert check_page("p.html", structure_from_raw(raw)) == []


def test_a_legend_is_read_item_by_item():
    legend = ('<p class="cl-legend"><span class="cl-swatch"></span>revenue <span class="cl-swatch"></span>'
              "revenue, a quarter that lost money</p>")
    assert problems(legend) == []
    assert structure_from_html(page(legend))["lines"][:2] == ["revenue", "revenue, a quarter that lost money"]
