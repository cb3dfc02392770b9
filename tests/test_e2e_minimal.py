"""The minimum input: one Harvest time export, nothing else, still gives every report.

Markers whose data is missing must say "not measured", and the P&L must tie back to the
export to the cent.
"""
from __future__ import annotations

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from e2e_support import write_harvest_export

pytestmark = pytest.mark.e2e

CLIENTS = {"Acme Corp": 120.0, "Beta LLC": 110.0, "Gamma GmbH": 95.0, "Delta Inc": 130.0, "Zeta SA": 35.0}


@pytest.fixture(scope="module")
def project(build_project):
    root, _run = build_project("time-only", what="a time-only input", prepare=lambda root: write_harvest_export(
        root / "data" / "raw" / "harvest_detailed_time.csv", CLIENTS, n=1500, seed=3))
    return root


def test_every_page_is_published(project):
    names = {p.name for p in (project / "reports").glob("*.html")}
    assert {"index.html", "ingest.html", "pnl.html", "toxicity.html", "segments.html", "spiral.html",
            "leadership.html"} <= names
    assert not (project / "data" / "raw" / "time_entries.csv").exists(), "no demo data was added"


def test_pnl_ties_back_to_the_export_to_the_cent(project):
    raw = pd.read_csv(project / "data" / "raw" / "harvest_detailed_time.csv")
    pnl = pd.read_parquet(project / "data" / "processed" / "pnl_clients.parquet")
    panel = pd.read_parquet(project / "data" / "processed" / "client_quarter.parquet")
    in_period = pd.to_datetime(raw["Date"]) <= pd.Timestamp(panel.quarter_start.max()) + pd.offsets.QuarterEnd(0)
    billed = raw.loc[in_period & (raw["Billable?"] == "Yes"), "Billable Amount"].sum()
    cost = raw.loc[in_period, "Cost Amount"].sum()
    assert round(pnl.revenue.sum(), 2) == round(billed, 2)
    assert round(pnl.delivery_cost.sum(), 2) == round(cost, 2)
    assert set(pnl.client_name) == set(CLIENTS)
    assert pnl.set_index("client_name").loc["Zeta SA", "margin"] < 0  # billed at 35/h, costs 55/h


def test_missing_tables_are_not_measured_not_zero(project):
    pnl = pd.read_parquet(project / "data" / "processed" / "pnl_clients.parquet")
    assert pnl.revenue_collected.isna().all() and pnl.dso.isna().all()
    page = BeautifulSoup((project / "reports" / "pnl.html").read_text(), "html.parser")
    assert page.select("td.cl-not-measured") and "not measured" in page.get_text()  # DSO without invoices
    panel = pd.read_parquet(project / "data" / "processed" / "client_quarter.parquet")
    for column in ("days_late_mean", "requests_total", "nps_mean", "team_score_mean", "our_communicator"):
        assert panel[column].isna().all(), column
