"""Client cards: one per client, gathered from the stage tables, safe to open and to forward."""
from __future__ import annotations

import dataclasses
import hashlib
import math
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from clientlens.analysis import cards
from clientlens.publishing import cards as card_pages
from clientlens.publishing import display as d


def stage_tables(name_of_second: str = "Beta LLC") -> dict[str, pd.DataFrame | None]:
    """Two clients as the stages would write them: A loses money and is warned; B is fine."""
    clients = pd.DataFrame({
        "client_id": ["A1", "B/2"], "client_name": ["Alpha Corp", name_of_second], "status": ["active", "active"],
        "exited": [False, False], "first_quarter": ["2025Q1", "2025Q3"], "last_active_quarter": ["2025Q4"] * 2,
        "tenure_quarters": [4, 2], "revenue": [1000.0, 5000.0], "margin": [-300.0, 2000.0],
        "margin_pct": [-0.3, 0.4], "revenue_last4": [1000.0, 5000.0], "margin_last4": [-300.0, 2000.0],
        "effective_rate": [50.0, 100.0], "non_billable_share": [0.2, 0.1], "is_loss_making": [True, False]})
    quarters = pd.DataFrame({
        "client_id": ["A1"] * 4 + ["B/2"] * 2,
        "quarter": ["2025Q2", "2025Q1", "2025Q3", "2025Q4", "2025Q3", "2025Q4"],
        "revenue": [300.0, 200.0, 250.0, 250.0, 2500.0, 2500.0],
        "total_cost": [350.0, 300.0, 300.0, 350.0, 1500.0, 1500.0]})
    quarters["margin"] = quarters.revenue - quarters.total_cost
    quarters["margin_pct"] = quarters.margin / quarters.revenue
    segments = pd.DataFrame({"client_id": ["A1", "B/2"], "segment": ["toxic_unprofitable", "core"],
                             "segment_label": ["Toxic and unprofitable", "Core"],
                             "action": ["Part ways gracefully", "Grow and protect"],
                             "why": ["margin -30%", "margin 40%"], "score": [55.0, 5.0]})
    warnings = pd.DataFrame({"client_id": ["A1"], "revenue_at_risk": [1000.0], "n_signals": [2],
                             "signals": ["Falling orders, Falling NPS"], "reasons": ["orders down 60%"],
                             "first_fired": ["2025Q4"]})
    proposed = pd.DataFrame({"client_id": ["A1", "A1"], "client_name": ["Alpha Corp"] * 2,
                             "kind": ["warning", "part"],
                             "action": ["Meet the decision maker at Alpha Corp", "Part ways with Alpha Corp"],
                             "evidence": ["orders down 60%", "margin -30%"], "value": [1000.0, 300.0],
                             "value_basis": ["revenue at risk", "loss avoided"]})
    return {"pnl_clients": clients, "pnl_quarters": quarters, "segments": segments, "toxicity_clients": None,
            "early_warnings": warnings, "spiral_positions": None, "spiral_mistakes": None, "spiral_clients": None,
            "forecast_clients": None, "client_actions": proposed}


def test_card_file_names_are_safe_and_distinct():
    assert cards.card_slug("C00042") == "c00042-" + hashlib.sha256(b"C00042").hexdigest()[:16]
    assert cards.card_slug("C00042") == cards.card_slug("C00042")  # the same on every page and run
    odd = ["ACME/EU", "a b", "../etc", "<script>", "ACME\\EU", "C00042", "c00042"]
    slugs = [cards.card_slug(o) for o in odd]
    assert len({s.casefold() for s in slugs}) == len(odd)
    assert all(re.fullmatch(r"[a-z0-9_-]+-[0-9a-f]{16}", s) for s in slugs)
    assert cards.card_slug("../etc").startswith("etc-") and cards.card_slug("<script>").startswith("script-")
    assert cards.card_href("B/2") == f"clients/{cards.card_slug('B/2')}.html"


def test_a_card_gathers_each_stage_for_its_client():
    by_id = {c.client_id: c for c in cards.client_cards(stage_tables())}
    assert set(by_id) == {"A1", "B/2"}
    a = by_id["A1"]
    assert a.summary["margin_last4"] == -300.0 and a.summary["segment_label"] == "Toxic and unprofitable"
    assert [r["quarter"] for r in a.trend] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert sum(r["revenue"] for r in a.trend) == 1000.0  # ties back to the P&L stage
    assert a.warning["reasons"] == "orders down 60%"
    # an older run's table with two actions for A1: the card takes the one with the most at stake
    assert a.action["action"] == "Meet the decision maker at Alpha Corp" and a.action["value"] == 1000.0
    assert by_id["B/2"].warning is None and by_id["B/2"].action is None


def test_a_card_says_not_measured_for_a_stage_without_data():
    card = next(c for c in cards.client_cards(stage_tables()) if c.client_id == "A1")
    page = BeautifulSoup(card_pages.render_card(card, "en", "USD"), "html.parser")
    for section in ("#markers", "#spiral", "#forecast"):
        assert page.select_one(section).get_text(" ", strip=True).endswith(
            "This part is not measured: the data it needs was not supplied."), section
    assert "orders down 60%" in page.select_one("#warning").get_text()
    # the most valuable action heads the card
    assert page.select_one(".cl-callout strong").get_text() == "Meet the decision maker at Alpha Corp"


def test_card_escapes_the_client_name_and_runs_nothing():
    hostile = "<script>alert(1)</script>"
    card = next(c for c in cards.client_cards(stage_tables(hostile)) if c.client_id == "B/2")
    text = card_pages.render_card(card, "en", "USD")
    assert "<script>" not in text and "&lt;script&gt;" in text
    soup = BeautifulSoup(text, "html.parser")
    assert soup.h1.get_text() == hostile
    policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_loss_quarters_are_drawn_red_and_the_trend_is_scaled_to_fit():
    trend = [{"quarter": "2025Q1", "revenue": 100.0, "total_cost": 150.0},
             {"quarter": "2025Q2", "revenue": 200.0, "total_cost": 120.0}]
    svg = BeautifulSoup(card_pages.trend_svg(trend), "html.parser")
    bars = svg.find_all("rect")
    assert [b["fill"] for b in bars] == [card_pages.LOSS_COLOUR, card_pages.REVENUE_COLOUR]
    assert float(bars[1]["height"]) == pytest.approx(2 * float(bars[0]["height"]), rel=0.01)
    assert card_pages.trend_svg([]) == ""


def test_write_cards_writes_one_page_per_client(tmp_path):
    written = card_pages.write_cards(cards.client_cards(stage_tables()), tmp_path, "en", "USD", "", "")
    assert written == 2
    assert sorted(p.name for p in (tmp_path / "clients").iterdir()) == sorted(
        f"{cards.card_slug(c)}.html" for c in ("A1", "B/2"))


def test_cards_shared_out_between_processes_are_the_cards_one_process_writes(tmp_path, monkeypatch):
    many = [c for n in range(7) for c in cards.client_cards(stage_tables(f"Beta {n}"))]
    many = [dataclasses.replace(c, client_id=f"{c.client_id}-{n}") for n, c in enumerate(many)]
    one = card_pages.write_cards(many, tmp_path / "one", "en", "USD", "css", "footer")
    monkeypatch.setattr(card_pages, "PARALLEL_CARDS", 2)
    monkeypatch.setattr(card_pages.os, "cpu_count", lambda: 3)
    shared = card_pages.write_cards(many, tmp_path / "shared", "en", "USD", "css", "footer")
    pages = lambda root: {p.name: p.read_bytes() for p in (root / "clients").iterdir()}  # noqa: E731
    assert one == shared == len(many) == 14
    assert pages(tmp_path / "one") == pages(tmp_path / "shared")


def test_directory_lists_every_client_largest_first_with_its_best_action():
    directory = cards.client_directory(stage_tables())
    assert list(directory.client_id) == ["B/2", "A1"]
    assert directory.set_index("client_id").at["A1", "action"] == "Meet the decision maker at Alpha Corp"
    assert directory.set_index("client_id").at["B/2", "action"] == "Grow and protect"
    assert math.isnan(directory.set_index("client_id").at["A1", "forecast_next4"])  # not measured, not 0


def test_tables_link_client_names_to_cards_and_hide_the_id():
    frame = pd.DataFrame({"client_id": ["A1", "B/2"], "client": ["Alpha Corp", "<b>Beta</b>"], "x": [1, 2]})
    soup = BeautifulSoup(d.table_html(frame), "html.parser")
    assert [th.get_text() for th in soup.select("th")] == ["client", "x"]
    links = soup.select("tbody a")
    assert [a["href"] for a in links] == [cards.card_href("A1"), cards.card_href("B/2")]
    assert links[1].get_text() == "<b>Beta</b>"  # escaped, shown as text
    # without client_id nothing is linked
    assert not BeautifulSoup(d.table_html(frame.drop(columns="client_id")), "html.parser").select("a")


def test_long_tables_are_paged_and_can_show_every_row():
    frame = pd.DataFrame({"client": [f"c{i}" for i in range(120)]})
    soup = BeautifulSoup(d.table_html(frame, max_rows=None), "html.parser")
    assert len(soup.select("tbody tr")) == 120
    assert soup.select_one("table")["data-page-size"] == "50"
    assert not BeautifulSoup(d.table_html(frame.head(20)), "html.parser").select_one("table").has_attr(
        "data-page-size")


@pytest.mark.parametrize("value,lang,expected", [
    (34_631_811, "en", "34.6M USD"), (34_631_811, "ru", "34,6 млн USD"), (164_043.75, "en", "164k USD"),
    (-2_300_000, "en", "-2.3M USD"), (950, "en", "950 USD"), (None, "en", "not measured"),
    (1_234_000_000, "en", "1.2B USD")])
def test_headline_money_is_short(value, lang, expected):
    assert d.fmt_money_short(value, "USD", lang) == expected


def deal_tables() -> dict[str, pd.DataFrame | None]:
    """stage_tables with a CRM: A1 has deals of every kind, B/2 none. The period ends 2025Q4."""
    from clientlens.analysis import pipeline as pl

    rows = [
        # id, client, prospect, name, stage, amount, expected close, closed, outcome
        ("d1", "A1", None, "Redesign", "Proposal", 1000.0, "2026-02-15", None, "open"),
        ("d2", None, "alpha corp", "Audit", "Discovery", 400.0, "2026-01-10", None, "open"),  # named as A1
        ("d3", "A1", None, "Portal", "Proposal", 2000.0, None, "2025-11-03", "won"),
        ("d4", "A1", None, "App", "Discovery", 500.0, None, "2025-05-20", "lost"),
        ("d5", "A1", None, "Old one", "Proposal", 900.0, None, "2024-12-01", "lost"),  # before the last four
        ("d6", None, "Newco", "Site", "Proposal", 700.0, "2026-01-01", None, "open"),  # a prospect's
        ("d7", None, "Other", "Shop", "Discovery", 100.0, None, "2025-06-01", "lost"),
    ]
    deals = pd.DataFrame(rows, columns=["deal_id", "client_id", "prospect", "deal_name", "stage", "amount",
                                        "expected_close_date", "closed_date", "outcome"])
    deals["stage_order"] = deals["stage"].map({"Discovery": 1, "Proposal": 2})
    deals["lost_reason"] = ["", "", "", "Price", "Timing", "", ""]
    deals["created_date"] = "2024-10-01"
    for column in ("expected_close_date", "closed_date", "created_date"):
        deals[column] = pd.to_datetime(deals[column]).dt.date
    tables = stage_tables()
    tables["deals"] = deals
    tables["clients"] = tables["pnl_clients"][["client_id", "client_name"]]
    tables["pipeline_win_rates"] = pl.win_rates(deals, 0.9)
    return tables


def test_a_card_lists_the_clients_open_deals_weighted_and_its_recent_closed_ones():
    by_id = {c.client_id: c for c in cards.client_cards(deal_tables())}
    a = by_id["A1"]
    # Closed: d3 won from Proposal, d4 lost at Discovery, d5 lost at Proposal, d7 lost at
    # Discovery. Proposal was reached by d3 and d5: 1 of 2 won. Discovery by all four: 1 of 4.
    assert [r["deal_name"] for r in a.open_deals] == ["Audit", "Redesign"]  # soonest to close first
    audit, redesign = a.open_deals
    assert redesign["win_rate"] == pytest.approx(0.5) and redesign["weighted_amount"] == pytest.approx(500.0)
    assert audit["win_rate"] == pytest.approx(0.25) and audit["weighted_amount"] == pytest.approx(100.0)
    assert redesign["expected_close_date"] == "2026-02-15"
    # the last four quarters to 2025Q4: d3 and d4, the latest first; d5 closed in 2024Q4
    assert [(r["deal_name"], r["outcome"]) for r in a.closed_deals] == [("Portal", "won"), ("App", "lost")]
    assert a.closed_deals[1]["lost_reason"] == "Price"
    assert by_id["B/2"].open_deals == [] and by_id["B/2"].closed_deals == []


@pytest.mark.parametrize("lang, open_caption, empty", [
    ("en", "Open deals", "No open deal, and no deal won or lost in the last four quarters."),
    ("ru", "Открытые сделки", "Открытых сделок нет, и за последние четыре квартала ни одна сделка не выиграна "
                              "и не проиграна.")])
def test_the_deals_section_renders_in_both_languages(lang, open_caption, empty):
    by_id = {c.client_id: c for c in cards.client_cards(deal_tables(), lang)}
    section = BeautifulSoup(card_pages.render_card(by_id["A1"], lang, "USD"), "html.parser").select_one("#deals")
    text = section.get_text(" ")
    assert open_caption in text and "Redesign" in text and "Portal" in text
    assert len(section.select("table")) == 2
    assert ("проиграно" if lang == "ru" else "lost") in text
    empty_section = BeautifulSoup(card_pages.render_card(by_id["B/2"], lang, "USD"), "html.parser").select_one("#deals")
    assert empty_section.get_text(" ").strip().endswith(empty)
    assert not empty_section.select("table")


def test_the_deals_section_says_not_measured_without_a_deals_table():
    card = next(c for c in cards.client_cards(stage_tables()) if c.client_id == "A1")
    section = BeautifulSoup(card_pages.render_card(card, "en", "USD"), "html.parser").select_one("#deals")
    assert "not measured" in section.get_text()


def card_page(tables: dict[str, pd.DataFrame | None], client_id: str, lang: str = "en") -> BeautifulSoup:
    card = next(c for c in cards.client_cards(tables, lang) if c.client_id == client_id)
    return BeautifulSoup(card_pages.render_card(card, lang, "USD"), "html.parser")


def test_each_row_of_figures_names_its_period_once_and_holds_one_margin():
    tables = stage_tables()
    # A1 over the last four quarters loses 300 of 1,000; over the whole relationship 300 of 2,000
    tables["pnl_clients"].loc[0, ["revenue", "margin", "margin_pct"]] = [2000.0, -300.0, -0.15]
    page = card_page(tables, "A1")
    rows = {row["data-period"]: row for row in page.select(".cl-period")}
    assert list(rows) == ["last4", "whole"]  # no forecast measured: no row ahead
    assert rows["last4"].select_one(".cl-kpi-title").get_text() == "Last four quarters, Q1 2025 to Q4 2025"
    assert rows["whole"].select_one(".cl-kpi-title").get_text() == "Whole relationship, Q1 2025 to Q4 2025 (4 quarters)"
    margins = {key: [k.select_one(".cl-kpi-value").get_text() for k in row.select(".cl-kpi")
                     if "margin" in k.select_one(".cl-kpi-label").get_text()] for key, row in rows.items()}
    # the last four quarters' margin is the segments page's (margin_last4 / revenue_last4)
    assert margins == {"last4": ["-300 USD (-30% of revenue)"], "whole": ["-300 USD (-15% of revenue)"]}
    # and no other margin anywhere above the P&L: one figure per period, said once
    above = "".join(str(s) for s in page.select_one("#pnl").find_all_previous(string=re.compile("%")))
    assert above.count("% of revenue") == 2


def test_a_one_quarter_client_and_a_client_with_half_a_relationship_say_their_own_periods():
    page = card_page(stage_tables(), "B/2", "ru")
    rows = [r.select_one(".cl-kpi-title").get_text() for r in page.select(".cl-period")]
    assert rows == ["Последние четыре квартала: I кв. 2025 — IV кв. 2025",
                    "Всё время работы: III кв. 2025 — IV кв. 2025 (2 квартала)"]


def test_the_trend_names_its_currency_and_draws_its_legend_beside_the_chart():
    trend = [{"quarter": "2025Q1", "revenue": 100_000.0, "total_cost": 150_000.0},
             {"quarter": "2025Q2", "revenue": 200_000.0, "total_cost": 120_000.0}]
    svg = BeautifulSoup(card_pages.trend_svg(trend, "en", "USD"), "html.parser")
    assert svg.select_one(".cl-axis-title").get_text() == "USD"
    assert svg.svg["aria-label"] == "Revenue and total cost by quarter, USD"
    ticks = [t.get_text() for t in svg.svg.find_all("text", recursive=False)][1:]
    assert ticks[:5] == ["0", "50k", "100k", "150k", "200k"] or ticks[:5] == ["0", "50.0k", "100k", "150k", "200k"]
    assert "Q1 2025" in ticks and "Q2 2025" in ticks
    legend = svg.select_one(".cl-legend").get_text(" ")
    assert "revenue" in legend and "a quarter that lost money" in legend and "total cost" in legend
    assert svg.select_one(".cl-legend").find_parent("svg") is None  # beside the chart, not over it
    # no quarter lost money: the legend does not name a colour the chart does not use
    fine = [dict(r, total_cost=50_000.0) for r in trend]
    assert "lost money" not in BeautifulSoup(card_pages.trend_svg(fine, "en", "USD"), "html.parser").get_text()


def test_zeros_read_as_zero_never_0_00_or_minus_0():
    tables = stage_tables()
    quarters = tables["pnl_quarters"]
    quarters.loc[quarters.client_id == "B/2", ["revenue", "total_cost", "margin"]] = [0.0, 0.0, -0.0]
    quarters.loc[quarters.client_id == "B/2", "margin_pct"] = float("nan")
    tables["pnl_clients"].loc[1, ["revenue", "margin", "revenue_last4", "margin_last4"]] = [0.0, -0.0, 0.0, -0.0]
    tables["pnl_clients"].loc[1, "margin_pct"] = float("nan")
    tables["forecast_clients"] = pd.DataFrame({"client_id": ["B/2"], "quarter": ["2026Q1"], "revenue_mean": [0.0],
                                               "revenue_lo_80": [-0.0], "revenue_hi_80": [0.004]})
    for lang in ("en", "ru"):
        text = card_page(tables, "B/2", lang).get_text(" ")
        assert not re.search(r"0[.,]00|-0\b|−0\b", text), text


def empty_tables() -> dict[str, pd.DataFrame | None]:
    """Clients at the edges: N1 with no revenue at all, O1 with one quarter, and every table a
    card reads supplied but holding nothing for them (no deals, no project, no marker)."""
    clients = pd.DataFrame({
        "client_id": ["N1", "O1"], "client_name": ["Nought Ltd", "Once Ltd"], "status": ["active"] * 2,
        "exited": [False] * 2, "first_quarter": ["2025Q3", "2025Q4"], "last_active_quarter": ["2025Q4"] * 2,
        "tenure_quarters": [2, 1], "revenue": [0.0, 800.0], "margin": [-500.0, 200.0],
        "margin_pct": [float("nan"), 0.25], "revenue_last4": [0.0, 800.0], "margin_last4": [-500.0, 200.0]})
    quarters = pd.DataFrame({"client_id": ["N1", "N1", "O1"], "quarter": ["2025Q3", "2025Q4", "2025Q4"],
                             "revenue": [0.0, 0.0, 800.0], "total_cost": [200.0, 300.0, 600.0]})
    quarters["margin"] = quarters.revenue - quarters.total_cost
    quarters["margin_pct"] = [float("nan"), float("nan"), 0.25]
    nothing = pd.DataFrame({"client_id": pd.Series(dtype=str)})
    return {"pnl_clients": clients, "pnl_quarters": quarters, "segments": None,
            "toxicity_clients": nothing.assign(quarter=None, window=None),
            "early_warnings": nothing, "spiral_positions": nothing, "spiral_mistakes": None, "spiral_clients": None,
            "forecast_clients": nothing, "client_actions": nothing,
            "pnl_projects": nothing.assign(window=None, project=None), "pnl_work_types": None,
            "deals": pd.DataFrame({"client_id": pd.Series(dtype=str), "outcome": pd.Series(dtype=str)})}


@pytest.mark.parametrize("client_id, pnl_sentence", [
    ("N1", "No revenue is recorded for this client: its quarters show cost only."),
    ("O1", "One quarter so far, Q4 2025: revenue 800 USD, total cost 600 USD, margin 200 USD.")])
def test_every_section_of_an_edge_client_says_a_sentence_never_an_empty_table_or_chart(client_id, pnl_sentence):
    page = card_page(empty_tables(), client_id)
    for section in page.select("section"):
        assert section.find("p"), section["id"]
        for table in section.select("table"):
            assert table.select("tbody tr"), f"{section['id']}: an empty table"
    assert pnl_sentence in page.select_one("#pnl").get_text(" ")
    assert (page.select_one("#pnl svg") is None) == (client_id == "O1")  # one quarter: a sentence, no chart
    texts = {s["id"]: s.get_text(" ", strip=True) for s in page.select("section")}
    assert texts["projects"].endswith("none of its hours names a project.")
    assert texts["markers"].endswith("No marker could be measured for this client.")
    assert texts["deals"].endswith("No open deal, and no deal won or lost in the last four quarters.")
    assert texts["action"].endswith("No action is needed for this client now.")


def test_a_card_without_the_tables_says_so_in_each_section():
    tables = {name: None for name in cards.CARD_TABLES}
    tables.update(pnl_clients=empty_tables()["pnl_clients"])
    page = card_page(tables, "O1")
    for section in ("projects", "markers", "warning", "spiral", "forecast", "deals"):
        assert page.select_one(f"#{section}").get_text(" ", strip=True).endswith(
            "This part is not measured: the data it needs was not supplied."), section
    assert page.select_one("#pnl").get_text(" ", strip=True).endswith(
        "No work or invoice is recorded for this client in any quarter.")
    assert not page.select("table") and not page.select("svg")


def test_the_card_shows_the_one_action_with_its_step_stake_and_basis():
    tables = stage_tables()
    tables["client_actions"] = pd.DataFrame({
        "client_id": ["A1"], "client_name": ["Alpha Corp"], "kind": ["warning"],
        "action": ["Keep Alpha Corp"], "step": ["Meet the decision maker at Alpha Corp this quarter"],
        "evidence": ["orders down 60%"], "value": [640.0], "value_basis": ["64% of a year's revenue"]})
    page = card_page(tables, "A1")
    action = page.select_one("#action")
    assert len(action.select(".cl-callout")) == 1 and len(page.select(".cl-callout")) == 1
    text = action.get_text(" ", strip=True)
    assert action.select_one("strong").get_text() == "Keep Alpha Corp"
    assert "Next step: Meet the decision maker at Alpha Corp this quarter" in text
    assert "Why: orders down 60%" in text and "At stake: 640 USD (64% of a year's revenue)" in text
    assert not page.find(string=re.compile("Every action proposed"))
    # the lead's table: the action is the step, with the other findings and the relationships ended
    lead_shape = stage_tables()
    lead_shape["client_actions"] = pd.DataFrame({
        "rank": [1, None], "client_id": ["A1", "B/2"], "client_name": ["Alpha Corp", "Beta LLC"],
        "kind": ["warning", "review"], "action": ["Meet the decision maker at Alpha Corp", "Ask Beta LLC why"],
        "evidence": ["orders down 60%", "left in 2025Q4"], "also": ["toxic and unprofitable", ""],
        "value": [640.0, float("nan")], "value_basis": ["64% of a year's revenue", ""], "ended": [False, True]})
    a_text = card_page(lead_shape, "A1").select_one("#action").get_text(" ", strip=True)
    assert "Also found: toxic and unprofitable" in a_text and "Next step" not in a_text
    ended = card_page(lead_shape, "B/2").select_one("#action")
    assert ended.select_one("strong").get_text() == "Ask Beta LLC why" and "At stake" not in ended.get_text()
    # the client without an action says so plainly, and is not handed the segment's as its own
    b = card_page(tables, "B/2").select_one("#action")
    assert not b.select(".cl-callout")
    assert b.find("p").get_text(" ", strip=True) == ("No action is needed for this client now. "
                                          "The standing advice for its segment (Core): Grow and protect.")
