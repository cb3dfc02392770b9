"""Exports without money still give every report: revenue, cost and margin "not measured".

Two firms run the whole chain: one whose time export has hours only (as Redmine, Jira or
YouTrack export it: no amounts, rates or people table), and one whose export bills but has no
cost column. Neither may publish a margin of 100% or a revenue of 0; the hours-based markers
still count, and every toxicity score says on how many markers it rests.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.e2e

CLIENTS = ["Acme", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
TASKS = ["Feature development", "UX design", "Bug fixing", "Support", "Client call", "Estimate"]
PAGES = {"index.html", "ingest.html", "pnl.html", "toxicity.html", "segments.html", "spiral.html",
         "leadership.html", "clients.html"}
BILL_RATE = 100.0


def write_time_export(path: Path, *, billed: bool, n: int = 1500, seed: int = 5) -> None:
    """A canonical time export of six clients over two and a half years (2023-01 to 2025-06):
    date, client, project, task, person, hours; with `billed`, a billable amount per row."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "client", "project", "task", "person", "hours"]
                        + (["billable_amount"] if billed else []))
        for _ in range(n):
            client = rng.choice(CLIENTS)
            day = dt.date(2023, 1, 2) + dt.timedelta(days=rng.randint(0, 910))
            hours = round(rng.uniform(0.5, 8), 2)
            writer.writerow([day.isoformat(), client, f"{client} app", rng.choice(TASKS), rng.choice(["Ann", "Bob"]),
                             hours] + ([round(hours * BILL_RATE, 2)] if billed else []))


@pytest.fixture(scope="module")
def hours_only(build_project) -> Path:
    root, _run = build_project("hours-only", what="an hours-only time export", prepare=lambda root: write_time_export(
        root / "data" / "raw" / "time_entries.csv", billed=False))
    return root


@pytest.fixture(scope="module")
def without_cost(build_project) -> Path:
    root, _run = build_project("no-cost", what="a time export without cost", prepare=lambda root: write_time_export(
        root / "data" / "raw" / "time_entries.csv", billed=True))
    return root


def text(project: Path, page: str) -> str:
    return BeautifulSoup((project / "reports" / page).read_text(encoding="utf-8"), "html.parser").get_text(" ")


def kpi(project: Path, page: str, key: str) -> str:
    soup = BeautifulSoup((project / "reports" / page).read_text(encoding="utf-8"), "html.parser")
    return soup.select_one(f'[data-kpi="{key}"] .cl-kpi-value').get_text(strip=True)


def kpis(project: Path, page: str) -> dict[str, str]:
    soup = BeautifulSoup((project / "reports" / page).read_text(encoding="utf-8"), "html.parser")
    return {k.select_one(".cl-kpi-label").get_text(strip=True): k.select_one(".cl-kpi-value").get_text(strip=True)
            for k in soup.select(".cl-kpi")}


def column(project: Path, page: str, header: str) -> list[str]:
    """Every cell under `header` in the page's tables."""
    soup = BeautifulSoup((project / "reports" / page).read_text(encoding="utf-8"), "html.parser")
    cells = []
    for table in soup.select("table"):
        heads = [th.get_text(strip=True) for th in table.select("thead th")]
        if header in heads:
            i = heads.index(header)
            cells += [row.select("td")[i].get_text(strip=True) for row in table.select("tbody tr")]
    return cells


def cards(project: Path) -> list[str]:
    return [BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser").get_text(" ")
            for p in sorted((project / "reports" / "clients").glob("*.html"))]


@pytest.mark.parametrize("firm", ["hours_only", "without_cost"])
def test_every_page_is_published(firm, request):
    project = request.getfixturevalue(firm)
    assert PAGES <= {p.name for p in (project / "reports").glob("*.html")}
    assert len(cards(project)) == len(CLIENTS)
    for log in (project / "build" / "executed").glob("*.ipynb"):
        assert "RuntimeWarning" not in log.read_text(encoding="utf-8"), log.name


def test_hours_only_revenue_and_margin_are_not_measured(hours_only):
    pnl = pd.read_parquet(hours_only / "data" / "processed" / "pnl_clients.parquet")
    assert pnl.revenue.isna().all() and pnl.delivery_cost.isna().all() and pnl.margin.isna().all()
    assert pnl.margin_pct.isna().all() and pnl.ltv_total.isna().all()
    assert (pnl.hours_without_bill == pnl.hours).all() and (pnl.hours_without_cost == pnl.hours).all()
    assert pnl.hours.sum() > 0
    for key in ("revenue_last4", "margin_pct_last4"):
        assert kpi(hours_only, "leadership.html", key) == "not measured"
    figures = kpis(hours_only, "pnl.html")
    for label in ("revenue, lifetime", "margin after every cost", "margin %"):
        assert figures[label] == "not measured", label
    for header in ("revenue", "margin", "margin %", "lifetime profit"):
        cells = column(hours_only, "pnl.html", header)
        assert cells and set(cells) == {"not measured"}, header
    assert "revenue not measured: " in text(hours_only, "pnl.html")
    forecast = pd.read_parquet(hours_only / "data" / "processed" / "forecast_portfolio.parquet")
    assert forecast.revenue_mean.isna().all() and forecast.live_clients_mean.notna().all()
    for card in cards(hours_only):
        assert "100.0%" not in card and "0 USD" not in card and "revenue not measured" in card
        # a spiral mistake read from hours says hours, and its money at stake is not measured
        if "value meanwhile" in card:
            assert re.search(r"value meanwhile: [\d,.]+ hours?\)", card), card
            assert "at stake: not measured" in card


def test_hours_only_keeps_every_hours_based_measure(hours_only):
    panel = pd.read_parquet(hours_only / "data" / "processed" / "client_quarter.parquet")
    assert panel.hours_feature.sum() > 0 and panel.hours_presale.sum() > 0 and panel.revenue.isna().all()
    positions = pd.read_parquet(hours_only / "data" / "processed" / "spiral_positions.parquet")
    assert positions.current_phase.notna().any(), "spiral phases come from the hours"
    toxicity = pd.read_parquet(hours_only / "data" / "processed" / "toxicity_clients.parquet")
    assert toxicity.falling_orders.notna().any(), "falling orders are read from all hours"
    assert toxicity.non_billable_share.isna().all() and toxicity.gross_margin.isna().all()
    assert (toxicity.n_markers == 18).all() and (toxicity.n_measured >= 1).all()


@pytest.mark.parametrize("firm", ["hours_only", "without_cost"])
def test_every_score_says_what_it_rests_on(firm, request):
    project = request.getfixturevalue(firm)
    toxicity = pd.read_parquet(project / "data" / "processed" / "toxicity_clients.parquet")
    n = int(toxicity.n_measured.max())
    expected = f"{n} of 18 markers"
    for page in ("toxicity.html", "clients.html", "leadership.html"):
        assert expected in text(project, page), page
    assert all(re.search(r"\d+ of 18 markers", card) for card in cards(project))


@pytest.mark.parametrize("firm", ["hours_only", "without_cost"])
def test_leadership_page_says_what_it_is_built_from(firm, request):
    project = request.getfixturevalue(firm)
    soup = BeautifulSoup((project / "reports" / "leadership.html").read_text(encoding="utf-8"), "html.parser")
    line = soup.select_one(".cl-data-quality a")
    assert line is not None and line["href"] == "ingest.html"
    toxicity = pd.read_parquet(project / "data" / "processed" / "toxicity_clients.parquet")
    measured = sum(toxicity[c].notna().any() for c in toxicity.columns if c.startswith("sev_"))
    assert re.fullmatch(r"Built from 1 file \(1,500 rows; 0 set aside\) · 1 of \d+ tables supplied · "
                        rf"{measured} of 18 markers measured", line.get_text(strip=True)), line.get_text()


def test_without_cost_margin_is_not_measured_revenue_is(without_cost):
    raw = pd.read_csv(without_cost / "data" / "raw" / "time_entries.csv")
    pnl = pd.read_parquet(without_cost / "data" / "processed" / "pnl_clients.parquet")
    panel = pd.read_parquet(without_cost / "data" / "processed" / "client_quarter.parquet")
    in_period = pd.to_datetime(raw["date"]) <= pd.Timestamp(panel.quarter_start.max()) + pd.offsets.QuarterEnd(0)
    assert round(pnl.revenue.sum(), 2) == round(raw.loc[in_period, "billable_amount"].sum(), 2)
    assert pnl.delivery_cost.isna().all() and pnl.margin.isna().all() and pnl.margin_pct.isna().all()
    assert pnl.is_loss_making.isna().all() and pnl.ltv_total.isna().all() and pnl.abc_class.isna().all()
    assert (pnl.margin_note.str.startswith("cost not measured")).all()
    assert kpi(without_cost, "leadership.html", "margin_pct_last4") == "not measured"
    assert kpi(without_cost, "leadership.html", "revenue_last4") != "not measured"
    segments = pd.read_parquet(without_cost / "data" / "processed" / "segments.parquet")
    live = segments.loc[~segments.segment.isin(["left", "healthy_exit", "gone_quiet"])]
    assert (live.segment == "no_pnl").all() and live.why.str.contains("cost not measured").all()
    assert kpis(without_cost, "pnl.html")["margin %"] == "not measured"
    assert kpis(without_cost, "pnl.html")["revenue, lifetime"] != "not measured"
    for page, header in (("pnl.html", "margin %"), ("segments.html", "margin %"), ("clients.html", "margin, %")):
        cells = column(without_cost, page, header)
        assert cells and set(cells) == {"not measured"}, page
    for page in ("leadership.html", "segments.html", "clients.html"):
        assert "100.0%" not in text(without_cost, page), page
    for card in cards(without_cost):
        assert "100%" not in card and "cost not measured" in card
    toxicity = pd.read_parquet(without_cost / "data" / "processed" / "toxicity_clients.parquet")
    assert toxicity.gross_margin.isna().all() and toxicity.non_billable_share.notna().any()
