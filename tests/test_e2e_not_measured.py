"""Time exports alone, some without money, still give every report; what they lack is "not measured".

One firm runs the whole chain on four time exports of different clients and nothing else (no
invoices, people, requests or surveys): a canonical export with hours only (as Jira or YouTrack
export it), a canonical export that bills but has no cost column, a Russian Redmine export
(hours only, its projects standing for the clients), and a Harvest detailed time report with
money and cost, the minimum input that measures a margin. Each group of clients is measured as
far as its own export allows: no client without money may show a margin of 100% or a revenue
of 0, the billed clients' revenue ties to the cent, the Harvest clients' P&L ties back to their
export to the cent and its planted loss-maker loses money, the portfolio adds up only what is
measured (its margin % is the Harvest clients' alone), the tables no file supplies are not
measured, the hours-based markers still count, and every toxicity score says on how many
markers it rests.
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
from e2e_support import write_harvest_export
from test_adapters_time import REDMINE_RU, write_redmine_firm

from clientlens.analysis.cards import card_slug
from clientlens.publishing.display import fmt_money, fmt_money_short, fmt_pct

pytestmark = pytest.mark.e2e

HOURS_ONLY = ["Acme", "Beta", "Gamma"]
NO_COST = ["Delta", "Epsilon", "Zeta"]
REDMINE = ["Ромашка", "Лютик", "Василёк", "Одуванчик"]  # write_redmine_firm's projects
NO_MONEY = HOURS_ONLY + NO_COST + REDMINE  # no client of these has a margin
# The Harvest clients' bill rates; every hour costs 55/h (e2e_support), so Zeta SA loses money.
HARVEST_RATES = {"Acme Corp": 120.0, "Beta LLC": 110.0, "Gamma GmbH": 95.0, "Delta Inc": 130.0, "Zeta SA": 35.0}
HARVEST = sorted(HARVEST_RATES)
CLIENTS = NO_MONEY + HARVEST
TASKS = ["Feature development", "UX design", "Bug fixing", "Support", "Client call", "Estimate"]
PAGES = {"index.html", "ingest.html", "pnl.html", "toxicity.html", "segments.html", "spiral.html",
         "leadership.html", "clients.html"}
BILL_RATE = 100.0
# The canonical exports cover the Redmine export's two years (2024-01-02 to 2025-12-30), so every
# client is live at the period end, 2025Q4; the billed export also has a few January 2026 entries,
# after the period, which its revenue must leave out. The Harvest export runs from 2024-01-02 into
# early October 2025.
FIRST_DAY, DAYS = dt.date(2024, 1, 2), 728
AFTER_PERIOD = [dt.date(2026, 1, d) for d in (5, 6, 7, 8, 9)]
HOURS_ONLY_FILE, NO_COST_FILE, REDMINE_FILE = "hours_only.csv", "billed_no_cost.csv", "timelog.csv"
HARVEST_FILE = "harvest_detailed_time.csv"
NOT_SUPPLIED = ("days_late_mean", "requests_total", "nps_mean", "team_score_mean", "our_communicator")


def write_time_export(path: Path, clients: list[str], *, billed: bool, n: int, seed: int,
                      extra_days: list[dt.date] = ()) -> None:
    """A canonical time export of `clients` over two years: date, client, project, task, person,
    hours; with `billed`, a billable amount per row. `extra_days` add one entry each."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    days = [FIRST_DAY + dt.timedelta(days=rng.randint(0, DAYS)) for _ in range(n)] + list(extra_days)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "client", "project", "task", "person", "hours"]
                        + (["billable_amount"] if billed else []))
        for day in days:
            client = rng.choice(clients)
            hours = round(rng.uniform(0.5, 8), 2)
            writer.writerow([day.isoformat(), client, f"{client} app", rng.choice(TASKS), rng.choice(["Ann", "Bob"]),
                             hours] + ([round(hours * BILL_RATE, 2)] if billed else []))


def write_mixed_firm(root: Path) -> None:
    raw = root / "data" / "raw"
    write_time_export(raw / HOURS_ONLY_FILE, HOURS_ONLY, billed=False, n=700, seed=5)
    write_time_export(raw / NO_COST_FILE, NO_COST, billed=True, n=700, seed=6, extra_days=AFTER_PERIOD)
    write_redmine_firm(raw)
    assert (raw / REDMINE_FILE).exists()
    write_harvest_export(raw / HARVEST_FILE, HARVEST_RATES, n=1500, seed=3)


@pytest.fixture(scope="module")
def firm(build_project) -> Path:
    root, _run = build_project("no-money", "SECOND_REPORT_LANG=",
                               what="a firm of hours-only, uncosted, Redmine and Harvest exports", prepare=write_mixed_firm)
    return root


def processed(project: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(project / "data" / "processed" / f"{table}.parquet")


def by_client(frame: pd.DataFrame, clients: list[str]) -> pd.DataFrame:
    part = frame.loc[frame.client_id.isin(clients)]
    assert set(part.client_id) == set(clients), f"missing: {set(clients) - set(part.client_id)}"
    return part


def soup(project: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((project / "reports" / page).read_text(encoding="utf-8"), "html.parser")


def text(project: Path, page: str) -> str:
    return soup(project, page).get_text(" ")


def kpi(project: Path, page: str, key: str) -> str:
    return soup(project, page).select_one(f'[data-kpi="{key}"] .cl-kpi-value').get_text(strip=True)


def kpis(project: Path, page: str) -> dict[str, str]:
    return {k.select_one(".cl-kpi-label").get_text(strip=True): k.select_one(".cl-kpi-value").get_text(strip=True)
            for k in soup(project, page).select(".cl-kpi")}


def column(project: Path, page: str, header: str, clients: list[str]) -> list[str]:
    """The cells under `header` in the rows of `clients` (named in a "client" column) of the
    page's tables; every one of the clients must have a row. A money column's header names its
    currency ("revenue, USD"): `header` matches it without."""
    cells, seen = [], set()
    for table in soup(project, page).select("table"):
        heads = [re.sub(r", [A-Z]{3}$", "", th.get_text(strip=True)) for th in table.select("thead th")]
        if header in heads and "client" in heads:
            i, c = heads.index(header), heads.index("client")
            for row in table.select("tbody tr"):
                tds = row.select("td")
                if tds[c].get_text(strip=True) in clients:
                    seen.add(tds[c].get_text(strip=True))
                    cells.append(tds[i].get_text(strip=True))
    assert seen == set(clients), f"{page}: no '{header}' row for {set(clients) - seen}"
    return cells


def cards(project: Path, clients: list[str]) -> list[str]:
    return [BeautifulSoup((project / "reports" / "clients" / f"{card_slug(c)}.html").read_text(encoding="utf-8"),
                          "html.parser").get_text(" ") for c in clients]


def money_of(card: str) -> None:
    """A card of a client whose margin is not measured: never a 100% margin, never a revenue or
    margin of zero (its figures read "58,860 USD revenue, last 4 quarters")."""
    assert "100.0%" not in card and "100%" not in card
    assert not re.search(r"(?<![\d,.])0(?:\.0+)? USD (?:revenue|margin)", card), card


def redmine_export(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "data" / "raw" / REDMINE_FILE, sep=";", encoding="utf-8-sig", dtype=str)


def period_end(project: Path) -> pd.Timestamp:
    return pd.Timestamp(processed(project, "client_quarter").quarter_start.max()) + pd.offsets.QuarterEnd(0)


def harvest_in_period(project: Path) -> pd.DataFrame:
    """The Harvest export's rows up to the period end."""
    raw = pd.read_csv(project / "data" / "raw" / HARVEST_FILE)
    return raw.loc[pd.to_datetime(raw["Date"]) <= period_end(project)]


def in_last4(dates: pd.Series) -> pd.Series:
    """The dates in the last four quarters of the period, 2025Q1 to 2025Q4."""
    return pd.to_datetime(dates).between("2025-01-01", "2025-12-31")


def billed(rows: pd.DataFrame) -> pd.Series:
    """The Harvest rows' billable amounts, the non-billable rows left out."""
    return rows.loc[rows["Billable?"] == "Yes", "Billable Amount"]


def test_every_page_and_card_is_published(firm):
    assert PAGES <= {p.name for p in (firm / "reports").glob("*.html")}
    assert not (firm / "data" / "raw" / "time_entries.csv").exists(), "no demo data was added"
    assert len(list((firm / "reports" / "clients").glob("*.html"))) == len(CLIENTS)
    assert len(cards(firm, CLIENTS)) == len(CLIENTS)
    for log in (firm / "build" / "executed").glob("*.ipynb"):
        assert "RuntimeWarning" not in log.read_text(encoding="utf-8"), log.name


def test_every_redmine_entry_lands_without_money(firm):
    expected = redmine_export(firm)
    assert list(expected.columns) == REDMINE_RU
    te = by_client(processed(firm, "time_entries"), REDMINE)
    assert len(te) == len(expected)
    assert round(te["hours"].sum(), 2) == round(expected["час(а,ов)"].str.replace(",", ".").astype(float).sum(), 2)
    assert te.groupby("client_id").size().to_dict() == expected.groupby("Проект").size().to_dict()
    assert te["cost_amount"].isna().all()
    pnl = by_client(processed(firm, "pnl_clients"), REDMINE)
    assert pnl.revenue.isna().all() and pnl.delivery_cost.isna().all() and pnl.margin.isna().all()
    assert pnl.margin_pct.isna().all() and pnl.revenue_last4.isna().all() and pnl.ltv_total.isna().all()
    assert (pnl.hours_without_bill == pnl.hours).all() and (pnl.hours_without_cost == pnl.hours).all()


@pytest.mark.parametrize("group", ["hours_only", "redmine"])
def test_hours_only_clients_measure_no_money(firm, group):
    clients = {"hours_only": HOURS_ONLY, "redmine": REDMINE}[group]
    pnl = by_client(processed(firm, "pnl_clients"), clients)
    assert pnl.revenue.isna().all() and pnl.delivery_cost.isna().all() and pnl.margin.isna().all()
    assert pnl.margin_pct.isna().all() and pnl.ltv_total.isna().all() and pnl.revenue_last4.isna().all()
    assert (pnl.hours_without_bill == pnl.hours).all() and (pnl.hours_without_cost == pnl.hours).all()
    assert (pnl.hours > 0).all()
    assert pnl.margin_note.str.startswith("revenue not measured: ").all()
    for header in ("revenue", "margin", "margin %", "lifetime profit"):
        assert set(column(firm, "pnl.html", header, clients)) == {"not measured"}, header
    for card in cards(firm, clients):
        money_of(card)
        assert "revenue not measured" in card
        if "value meanwhile" in card:
            assert "at stake: not measured" in card.lower()


@pytest.mark.parametrize("group", ["hours_only", "redmine"])
def test_spiral_mistakes_read_from_hours_say_hours(firm, group):
    clients = {"hours_only": HOURS_ONLY, "redmine": REDMINE}[group]
    evidence = [card for card in cards(firm, clients) if "value meanwhile" in card]
    assert evidence, "the planted hours make spiral mistakes"
    for card in evidence:
        assert re.search(r"value meanwhile: [\d,.]+ hours?\)", card), card


def test_hours_only_clients_keep_every_hours_based_measure(firm):
    panel = by_client(processed(firm, "client_quarter"), HOURS_ONLY + REDMINE)
    assert panel.revenue.isna().all()
    assert panel.hours_feature.sum() > 0 and panel.hours_presale.sum() > 0
    positions = by_client(processed(firm, "spiral_positions"), HOURS_ONLY + REDMINE)
    assert positions.current_phase.notna().any(), "spiral phases come from the hours"
    toxicity = processed(firm, "toxicity_clients")
    assert (toxicity.n_markers == 18).all() and (toxicity.n_measured >= 1).all()
    assert toxicity.falling_orders.notna().any(), "falling orders are read from all hours"
    unbilled = by_client(toxicity, HOURS_ONLY + REDMINE)
    assert unbilled.non_billable_share.isna().all() and unbilled.gross_margin.isna().all()


def test_billed_clients_revenue_is_measured_margin_is_not(firm):
    raw = pd.read_csv(firm / "data" / "raw" / NO_COST_FILE)
    pnl = by_client(processed(firm, "pnl_clients"), NO_COST)
    end = period_end(firm)
    in_period = pd.to_datetime(raw["date"]) <= end
    assert end == pd.Timestamp("2025-12-31") and (~in_period).sum() == len(AFTER_PERIOD)
    billed = round(raw.loc[in_period, "billable_amount"].sum(), 2)
    assert round(pnl.revenue.sum(), 2) == billed
    per_client = raw.loc[in_period].groupby("client")["billable_amount"].sum().round(2)
    assert pnl.set_index("client_id").revenue.round(2).to_dict() == per_client.to_dict()
    assert pnl.revenue_last4.notna().all()
    assert pnl.delivery_cost.isna().all() and pnl.margin.isna().all() and pnl.margin_pct.isna().all()
    assert pnl.is_loss_making.isna().all() and pnl.ltv_total.isna().all() and pnl.abc_class.isna().all()
    assert pnl.margin_note.str.startswith("cost not measured").all()
    assert set(column(firm, "pnl.html", "revenue", NO_COST)) & {"not measured", "0 USD"} == set()
    assert set(column(firm, "pnl.html", "margin", NO_COST)) == {"not measured"}
    toxicity = by_client(processed(firm, "toxicity_clients"), NO_COST)
    assert toxicity.gross_margin.isna().all() and toxicity.non_billable_share.notna().any()
    for card in cards(firm, NO_COST):
        money_of(card)
        # the card's note says why the margin is not measured ("cost not measured: ...")
        assert "cost not measured" in card and "revenue not measured:" not in card


def test_harvest_pnl_ties_back_to_the_export_to_the_cent(firm):
    raw = harvest_in_period(firm)
    pnl = processed(firm, "pnl_clients")
    assert set(pnl.client_name) == set(CLIENTS)
    harvest = by_client(pnl, HARVEST)
    assert round(harvest.revenue.sum(), 2) == round(billed(raw).sum(), 2)
    assert round(harvest.delivery_cost.sum(), 2) == round(raw["Cost Amount"].sum(), 2)
    per_client = raw.loc[raw["Billable?"] == "Yes"].groupby("Client")["Billable Amount"].sum().round(2)
    assert harvest.set_index("client_id").revenue.round(2).to_dict() == per_client.to_dict()
    # the only cost the firm measures is Harvest's
    assert round(pnl.delivery_cost.sum(min_count=1), 2) == round(raw["Cost Amount"].sum(), 2)
    assert harvest.margin.notna().all() and harvest.margin_pct.notna().all()
    assert (harvest.margin_note.fillna("") == "").all(), "a measured margin needs no note"
    for card in cards(firm, HARVEST):
        assert "revenue not measured:" not in card and "cost not measured" not in card


def test_the_planted_loss_maker_loses_money(firm):
    harvest = by_client(processed(firm, "pnl_clients"), HARVEST).set_index("client_id")
    assert harvest.loc["Zeta SA", "margin"] < 0  # billed at 35/h, costs 55/h
    assert bool(harvest.loc["Zeta SA", "is_loss_making"])
    assert harvest.loc["Acme Corp", "margin"] > 0  # billed at 120/h


def test_missing_tables_are_not_measured_not_zero(firm):
    pnl = processed(firm, "pnl_clients")
    assert pnl.revenue_collected.isna().all() and pnl.dso.isna().all()
    page = soup(firm, "pnl.html")
    assert page.select("td.cl-not-measured") and "not measured" in page.get_text()  # DSO without invoices
    panel = processed(firm, "client_quarter")
    for name in NOT_SUPPLIED:
        assert panel[name].isna().all(), name


def test_portfolio_adds_up_only_what_is_measured(firm):
    pnl = processed(firm, "pnl_clients")
    raw = pd.read_csv(firm / "data" / "raw" / NO_COST_FILE)
    in_period = pd.to_datetime(raw["date"]) < pd.Timestamp("2026-01-01")
    harvest_raw = harvest_in_period(firm)
    # the period's revenue is the billed and the Harvest clients', shown to the dollar
    figures = kpis(firm, "pnl.html")
    revenue = raw.loc[in_period, "billable_amount"].sum() + billed(harvest_raw).sum()
    assert figures["revenue"] == f"{revenue:,.0f} USD"  # under "The portfolio over all history"
    # the margin is the Harvest clients' alone: the billed clients' revenue without cost never lifts it
    harvest = by_client(pnl, HARVEST)
    margin, measured_revenue = harvest.margin.sum(), harvest.revenue.sum()
    assert figures["margin after every cost"] == fmt_money(margin, "USD")
    assert figures["margin %"] == fmt_pct(margin / measured_revenue, 1)
    assert figures["margin %"] not in ("100.0%", fmt_pct(margin / revenue, 1), "not measured")
    assert f"Margin is measured for {len(HARVEST)} of {len(CLIENTS)} clients" in text(firm, "pnl.html")
    assert "revenue not measured: " in text(firm, "pnl.html") and "cost not measured: " in text(firm, "pnl.html")
    # the last four quarters: the billed and the Harvest clients' revenue; the margin %, the Harvest clients'
    last4 = (raw.loc[in_last4(raw["date"]), "billable_amount"].sum()
             + billed(harvest_raw.loc[in_last4(harvest_raw["Date"])]).sum())
    assert round(pnl.revenue_last4.sum(min_count=1), 2) == round(last4, 2)
    assert kpi(firm, "leadership.html", "revenue_last4") == fmt_money_short(last4, "USD")
    margin_pct_last4 = harvest.margin_last4.sum() / harvest.revenue_last4.sum()
    assert kpi(firm, "leadership.html", "margin_pct_last4") == fmt_pct(margin_pct_last4, 1)
    assert kpi(firm, "leadership.html", "margin_pct_last4") not in ("100.0%", "not measured")
    for page, header in (("pnl.html", "margin %"), ("segments.html", "margin %"), ("clients.html", "margin, %")):
        assert set(column(firm, page, header, NO_MONEY)) <= {"not measured"}, page
    assert "not measured" not in column(firm, "pnl.html", "margin %", HARVEST)
    for page in ("leadership.html", "segments.html", "clients.html"):
        assert "100.0%" not in text(firm, page), page
    segments = processed(firm, "segments")
    live = segments.loc[~segments.segment.isin(["left", "healthy_exit", "gone_quiet"])
                        & segments.client_id.isin(NO_MONEY)]
    assert set(live.client_id) >= set(NO_COST), "the billed clients are live at the period end"
    assert (live.segment == "no_pnl").all() and live.why.str.contains("cost not measured").all()
    assert not segments.loc[segments.client_id.isin(HARVEST)].segment.isin(["no_pnl"]).any()
    # a revenue forecast would count the hours-only clients' quarters as no revenue
    forecast = processed(firm, "forecast_portfolio")
    assert forecast.revenue_mean.isna().all() and forecast.live_clients_mean.notna().all()


def test_every_score_says_what_it_rests_on(firm):
    toxicity = processed(firm, "toxicity_clients")
    expected = f"{int(toxicity.n_measured.max())} of 18 markers"
    for page in ("toxicity.html", "clients.html", "leadership.html"):
        assert expected in text(firm, page), page
    assert all(re.search(r"\d+ of 18 markers", card) for card in cards(firm, CLIENTS))
    # the billed clients rest on more markers than the hours-only ones: billable share is theirs
    rests = toxicity.set_index("client_id").n_measured
    assert rests[NO_COST].min() > rests[HOURS_ONLY + REDMINE].max()


def test_leadership_page_says_what_it_is_built_from(firm):
    line = soup(firm, "leadership.html").select_one(".cl-data-quality a")
    assert line is not None and line["href"] == "ingest.html"
    raw = firm / "data" / "raw"
    rows = (sum(len(pd.read_csv(raw / name)) for name in (HOURS_ONLY_FILE, NO_COST_FILE, HARVEST_FILE))
            + len(redmine_export(firm)))
    toxicity = processed(firm, "toxicity_clients")
    measured = sum(toxicity[c].notna().any() for c in toxicity.columns if c.startswith("sev_"))
    assert re.fullmatch(rf"Built from 4 files \({rows:,} rows; 0 set aside\) · 1 of \d+ tables supplied · "
                        rf"{measured} of 18 markers measured", line.get_text(strip=True)), line.get_text()
