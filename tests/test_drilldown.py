"""P&L below the client (issue #29): per project, kind of work and role, summing to the client P&L.

A small firm by hand (two clients billed in two currencies, three projects, one of them with
unbilled hours only, and a third client from an hours-only export), a firm of hours alone, and
random small firms whose rows must tie to the client P&L to the cent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rawfiles import params, write_csv

from clientlens.analysis import drilldown as dd
from clientlens.analysis import pnl
from clientlens.intake.ingest import run_ingest
from clientlens.intake.panel import build_panel
from clientlens.processed import load_panel

TIME = ["entry_id", "date", "client_id", "project", "person", "hours", "billable", "billable_amount",
        "cost_amount", "currency", "work_type"]
HOURS_ONLY = ["entry_id", "date", "client_id", "project", "person", "hours", "work_type"]


def chain(raw: Path, out: Path, **overrides):
    """Ingest, panel, client P&L and the drill-down, as notebooks/02-pnl runs them."""
    p = params(**overrides)
    run_ingest(raw, out, p)
    build_panel(out, "auto", p.office_hours, lapse_quarters=p.lapse_quarters,
                deadline_grace_days=p.deadline_grace_days, anonymize=False)
    panel, meta = load_panel(out)
    clients = pnl.client_pnl(panel, p.overhead_rate, overhead_base=p.overhead_base,
                             lapse_quarters=p.lapse_quarters, period_end=meta["period_end"])
    sums = dd.work_sums(out, panel, meta["period_end"])
    rows = dd.drilldown(sums, clients, panel, overhead_base=p.overhead_base, period_end=meta["period_end"])
    return rows, clients, p


def pick(rows: pd.DataFrame, dimension: str, window: str) -> pd.DataFrame:
    t = rows[(rows.dimension == dimension) & (rows.window == window)]
    return t.assign(key=t.key.fillna("-")).set_index(["client_id", "key"])


@pytest.fixture(scope="module")
def small_firm(tmp_path_factory):
    raw, out = tmp_path_factory.mktemp("drill") / "raw", tmp_path_factory.mktemp("drill") / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["A", "Acme"], ["B", "Beta"], ["H", "Hollow"]])
    write_csv(raw, "people.csv", [["person", "role", "cost_rate", "bill_rate", "currency"],
                                  ["Ann", "developer", 40, 100, "USD"], ["Bob", "designer", 40, 90, "USD"]])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.1"]])
    write_csv(raw, "time_entries.csv", [TIME,
        ["e1", "2025-01-10", "A", "Portal", "Ann", 10, "true", 1000, 400, "USD", "feature"],
        ["e2", "2025-01-11", "A", "Portal", "Bob", 5, "true", 500, 200, "USD", "ux"],
        ["e3", "2025-02-03", "A", "App", "Ann", 4, "true", 200, 100, "EUR", "support"],  # 220 and 110 USD
        ["e4", "2025-02-04", "A", "App", "Bob", 2, "false", 0, 80, "USD", "communication"],
        ["e5", "2025-01-15", "B", "Shop", "Ann", 8, "true", 800, 300, "USD", "feature"],
        ["e6", "2025-02-15", "B", "Research", "Bob", 6, "false", 0, 240, "USD", "presale"],  # never billed
        ["e7", "2024-02-10", "B", "Shop", "Ann", 1, "true", 100, 40, "USD", "feature"]])  # before the last 4
    # an export of hours alone (as Jira or YouTrack give it): its money is not measured
    write_csv(raw, "time_entries_hours_only.csv", [HOURS_ONLY,
        ["h1", "2025-01-20", "H", "Vault", "Hal", 3, "feature"],
        ["h2", "2025-02-20", "H", "Vault", "Hal", 2, "support"]])
    write_csv(raw, "invoices.csv", [["invoice_id", "client_id", "issue_date", "due_date", "amount", "currency"],
        ["i0", "B", "2024-03-31", "2024-04-30", 100, "USD"],
        ["i1", "A", "2025-03-31", "2025-04-30", 1500, "USD"],
        ["i2", "A", "2025-03-31", "2025-04-30", 500, "EUR"],  # 550 USD
        ["i3", "B", "2025-03-31", "2025-04-30", 1000, "USD"]])
    return chain(raw, out)


def test_projects_by_hand(small_firm):
    rows, clients, p = small_firm
    assert p.overhead_base == "delivery_cost"
    oh = p.overhead_rate
    t = pick(rows, "project", "last4")
    # Acme's 2,050 invoiced is split by billable value 1,500 : 220, in cents by largest remainder
    assert t.loc[("A", "Portal"), "revenue"] == pytest.approx(1787.79, abs=1e-9)
    assert t.loc[("A", "App"), "revenue"] == pytest.approx(262.21, abs=1e-9)
    assert t.loc[("A", "App"), "delivery_cost"] == pytest.approx(190.0)  # 110 USD (100 EUR) + 80
    assert t.loc[("A", "Portal"), "overhead"] == pytest.approx(oh * 600)
    assert t.loc[("A", "Portal"), "margin"] == pytest.approx(1787.79 - 600 - oh * 600)
    assert t.loc[("A", "Portal"), "effective_rate"] == pytest.approx(1787.79 / 15)
    assert t.loc[("A", "Portal"), "list_rate"] == pytest.approx((10 * 100 + 5 * 90) / 15)
    # a project with unbilled hours only: revenue 0 (the client's revenue is measured), a loss
    research = t.loc[("B", "Research")]
    assert research["revenue"] == 0 and research["margin"] == pytest.approx(-240 * (1 + oh))
    assert t.loc[("B", "Shop"), "revenue"] == pytest.approx(1000.0)
    # all history: B's 2024 work and invoice join in
    assert pick(rows, "project", "all").loc[("B", "Shop"), "revenue"] == pytest.approx(1100.0)
    assert not rows["unallocated"].any()


def test_kinds_of_work_and_roles_by_hand(small_firm):
    rows, _clients, p = small_firm
    w = pick(rows, "work_type", "last4")
    # 2,050 x (1,000 : 500 : 220) / 1,720 = 1,191.860 / 595.930 / 262.209: the spare cent goes to support
    assert [w.loc[("A", k), "revenue"] for k in ("feature", "ux", "support", "communication")] == \
        pytest.approx([1191.86, 595.93, 262.21, 0.0], abs=1e-9)
    assert w.loc[("B", "presale"), "delivery_cost"] == pytest.approx(240.0)
    r = pick(rows, "role", "last4")
    assert r.loc[("A", "developer"), "delivery_cost"] == pytest.approx(510.0)  # 400 + 110
    assert r.loc[("A", "developer"), "list_rate"] == pytest.approx(100.0)
    assert r.loc[("H", "-"), "hours"] == 5  # Hal is in no people table: role not known


def test_hours_without_money_are_not_measured_never_zero(small_firm):
    rows, clients, _p = small_firm
    hollow = rows[rows.client_id == "H"]
    assert len(hollow) and hollow["revenue"].isna().all() and hollow["margin"].isna().all()
    assert hollow["delivery_cost"].isna().all() and hollow["margin_pct"].isna().all()
    assert set(hollow["revenue_not_measured"]) == {"unpriced_hours"}
    # the portfolio by kind of work leaves the client out rather than counting it at 0
    by_kind = dd.portfolio_by(rows, "work_type", "last4")
    assert by_kind["clients"].max() == 2
    assert by_kind.set_index("key").loc["feature", "hours"] == 18  # Acme 10 and Beta 8, not Hollow's 3


def test_rows_sum_to_the_client_pnl_to_the_cent(small_firm):
    rows, clients, _p = small_firm
    assert dd.check_sums(rows, clients).empty
    off_by_a_cent = rows.copy()
    off_by_a_cent.loc[off_by_a_cent.revenue.notna().idxmax(), "revenue"] += 0.01
    assert len(dd.check_sums(off_by_a_cent, clients)) == 1
    assert len(dd.check_sums(rows[rows.client_id != "B"], clients)) == 2 * 3 * 4  # B's money on no row
    a = rows[(rows.client_id == "A") & (rows.window == "all")]
    for dimension in dd.DIMENSIONS:
        got = a[a.dimension == dimension][["revenue", "delivery_cost", "overhead", "margin"]].sum()
        want = clients.set_index("client_id").loc["A", ["revenue", "delivery_cost", "overhead", "margin"]]
        assert np.allclose(got.to_numpy(float), want.to_numpy(float), atol=0.005, rtol=0)


def test_a_firm_of_hours_alone(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "time_entries.csv", [HOURS_ONLY,
        ["h1", "2025-01-20", "Nord", "Vault", "Hal", 3, "feature"],
        ["h2", "2025-03-31", "Nord", "Gate", "Hal", 2, "support"]])  # the quarter is complete
    rows, clients, _p = chain(raw, out)
    assert clients["revenue"].isna().all()
    assert len(rows) and rows["revenue"].isna().all() and rows["margin"].isna().all()
    assert rows["delivery_cost"].isna().all() and set(rows["revenue_not_measured"]) == {"client"}
    assert pick(rows, "project", "all").loc[("Nord", "Vault"), "hours"] == 3
    assert dd.portfolio_by(rows, "work_type", "last4").empty
    assert dd.portfolio_table(rows, "role", "last4").empty  # the page then says not measured
    assert dd.download_table(rows, "project")["revenue"].isna().all()


def test_revenue_no_hour_carries_gets_a_row_of_its_own():
    """Invoices in a window without billable work go on the unallocated row, not spread by guess."""
    sums = pd.DataFrame({"dimension": "project", "client_id": "A", "key": ["P", "Q"], "window": "all",
                         "hours": [2.0, 1.0], "billable_hours": 0.0, "billable_value": 0.0,
                         "delivery_cost_own": [80.0, 40.0], "list_value": np.nan, "hours_without_list": 0.0})
    clients = pd.DataFrame({"client_id": ["A"], "client_name": ["Acme"], "revenue": [500.0],
                            "delivery_cost": [120.0], "overhead": [12.0], "margin": [368.0],
                            "revenue_last4": [np.nan], "delivery_cost_last4": [np.nan],
                            "overhead_last4": [np.nan], "margin_last4": [np.nan]})
    panel = pd.DataFrame({"client_id": ["A"], "quarter_index": [8100], "hours_without_bill": [0.0]})
    rows = dd.drilldown(sums, clients, panel, overhead_base="delivery_cost", period_end=8100)
    t = rows[(rows.dimension == "project") & (rows.window == "all")]
    spare = t[t.unallocated]
    assert len(spare) == 1 and spare["revenue"].iloc[0] == 500.0 and spare["delivery_cost"].iloc[0] == 0
    assert t.loc[~t.unallocated, "revenue"].eq(0).all()
    assert t["margin"].sum() == pytest.approx(368.0)
    assert dd.check_sums(rows, clients).empty


def random_firm(folder: Path, seed: int):
    """A random small firm as ingest writes it: time entries in whole cents over six quarters,
    a panel of their client-quarter sums with invoiced revenue unrelated to the hours, some
    quarters without revenue or with a credit note, some hours of a client unpriced."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    clients = [f"C{i}" for i in range(int(rng.integers(1, 6)))]
    quarters = np.arange(8096, 8102)
    entries = pd.DataFrame({
        "client_id": rng.choice(clients, n),
        "quarter_index": rng.choice(quarters, n),
        "project": rng.choice(["Alpha", "Beta", "Gamma", None], n),
        "work_type": rng.choice(["feature", "ux", "support", "presale"], n),
        "role": rng.choice(["developer", "designer"], n),
        "person": "X",
        "hours": rng.integers(1, 17, n) / 2,
        "billable": rng.random(n) < 0.7,
    })
    entries["billable_amount"] = np.where(entries["billable"], rng.integers(0, 200_000, n) / 100, 0.0)
    entries["cost_amount"] = rng.integers(1, 100_000, n) / 100
    y, q = np.divmod(entries["quarter_index"].to_numpy(), 4)
    entries["date"] = pd.to_datetime({"year": y, "month": 3 * q + 1, "day": 15})
    (folder / "time_entries.parquet").mkdir(parents=True)
    entries.drop(columns="quarter_index").to_parquet(folder / "time_entries.parquet" / "part-00000.parquet")
    g = entries.groupby(["client_id", "quarter_index"])
    panel = pd.DataFrame({"hours": g["hours"].sum(), "delivery_cost": g["cost_amount"].sum().round(2)}).reset_index()
    panel["revenue"] = rng.integers(-20_000, 500_000, len(panel)) / 100 * (rng.random(len(panel)) < 0.8)
    panel["hours_without_bill"] = np.where(rng.random(len(panel)) < 0.05, 1.0, 0.0)
    panel["billable_value"] = g["billable_amount"].sum().round(2).to_numpy()
    return panel, quarters[-1]


@pytest.mark.parametrize("overhead_base", ["delivery_cost", "revenue", "hours"])
def test_rows_of_random_firms_tie_to_the_cent(tmp_path, overhead_base):
    for seed in range(8):
        folder = tmp_path / f"{overhead_base}-{seed}"
        panel, end = random_firm(folder, seed)
        clients = pnl.client_pnl(panel, 0.15, overhead_base=overhead_base, lapse_quarters=2, period_end=end)
        rows = dd.drilldown(dd.work_sums(folder, panel, end), clients, panel, overhead_base=overhead_base,
                            period_end=end)
        problems = dd.check_sums(rows, clients)
        assert problems.empty, (seed, problems)
        # every client measured and priced has rows, and its revenue is in cents
        priced = rows[rows["revenue"].notna()]
        assert np.allclose(priced["revenue"] * 100, (priced["revenue"] * 100).round(), atol=1e-6)
        unpriced = panel.groupby("client_id")["hours_without_bill"].sum() > 0
        assert rows.loc[rows.window.eq("all") & rows.client_id.map(unpriced), "revenue"].isna().all()


def test_the_card_shows_projects_and_kinds_of_work_one_period_a_table(small_firm):
    from bs4 import BeautifulSoup
    from test_cards import stage_tables

    from clientlens.analysis import cards
    from clientlens.publishing import cards as card_pages

    rows, _clients, _p = small_firm
    tables = stage_tables()
    a_rows = rows[rows.client_id == "A"].assign(client_id="A1")  # Acme's split on the card of A1
    # as notebooks/02-pnl saves them
    tables["pnl_projects"] = a_rows[a_rows.dimension == "project"].drop(columns="dimension").rename(
        columns={"key": "project"})
    tables["pnl_work_types"] = a_rows[a_rows.dimension == "work_type"].drop(columns="dimension").rename(
        columns={"key": "work_type"})
    by_id = {c.client_id: c for c in cards.client_cards(tables)}
    for lang, words in (("en", ("By project, last four quarters", "By kind of work, all history",
                                "communication and approvals")),
                        ("ru", ("По проектам, последние четыре квартала", "По видам работ, вся история",
                                "коммуникации и согласования"))):
        page = BeautifulSoup(card_pages.render_card(by_id["A1"], lang, "USD"), "html.parser")
        section = page.select_one("#projects")
        text = section.get_text(" ")
        assert all(w in text for w in words), text
        assert len(section.select("table")) == 4  # projects and kinds of work, each for both periods
        first = [td.get_text() for td in section.select("table")[0].select("tbody tr")[0].select("td")]
        assert first[0] == "Portal" and first[2] in ("1,788", "1\u202f788")  # revenue, in whole units
    # a client without the split, or a run without the tables, says not measured
    assert "not measured" in BeautifulSoup(card_pages.render_card(by_id["B/2"], "en", "USD"),
                                           "html.parser").select_one("#projects").get_text()


def test_the_tables_shown_and_downloaded_name_their_rows_and_period(small_firm):
    rows, _clients, p = small_firm
    shown = dd.portfolio_table(rows, "work_type", "last4", "ru")
    # rows in the page's language; headers are the catalogue's keys, which the page translates
    assert "пресейл и оценки" in set(shown["kind of work"])
    assert shown.set_index("kind of work").loc["пресейл и оценки", "margin"] == pytest.approx(-240 * (1 + p.overhead_rate))
    download = dd.download_table(rows, "project", "en")
    assert set(download["period"]) == {"last four quarters", "all history"}
    assert {"project", "client", "revenue per hour", "list rate"} <= set(download.columns)
    assert "(no project named)" not in set(download["project"])  # every entry of this firm names its project
