"""The pipeline: win rates by stage and the weighted pipeline, against sums done by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clientlens.analysis import pipeline as pl

LEVEL = 0.95  # the Wilson intervals' coverage: the sums below are done at z = 1.959964
COLUMNS = ["deal_id", "client_id", "prospect", "stage", "stage_order", "amount", "created_date",
           "expected_close_date", "closed_date", "outcome"]


def table(rows: list[list[object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("created_date", "expected_close_date", "closed_date"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


# Three stages in order. Closed from Discovery (1): 1 won, 3 lost; from Proposal (2): 2 won, 1
# lost; from Negotiation (3): 2 won, 0 lost. Reached Discovery: all 9 closed, 5 won; reached
# Proposal: 5 closed, 4 won; reached Negotiation: 2 closed, 2 won.
SMALL = table([
    ["c1", "Acme", None, "Discovery", 1, 100, "2025-01-05", None, "2025-02-01", "won"],
    ["c2", "Acme", None, "Discovery", 1, 100, "2025-01-05", None, "2025-02-01", "lost"],
    ["c3", "Acme", None, "Discovery", 1, 100, "2025-01-05", None, "2025-03-01", "lost"],
    ["c4", None, "Newco", "Discovery", 1, 100, "2025-01-05", None, "2025-02-01", "lost"],
    ["c5", None, "Newco", "Proposal", 2, 100, "2025-01-05", None, "2025-05-01", "won"],
    ["c6", None, "Newco", "Proposal", 2, 100, "2025-01-05", None, "2025-05-01", "won"],
    ["c7", None, "Other", "Proposal", 2, 100, "2025-01-05", None, "2025-05-01", "lost"],
    ["c8", None, "Other", "Negotiation", 3, 100, "2025-01-05", None, "2025-05-01", "won"],
    ["c9", None, "Other", "Negotiation", 3, 100, "2025-01-05", None, "2025-05-01", "won"],
    # open: Q3 holds a Discovery 1,000 (Acme) and a Negotiation 2,000 (prospect); Q4 a Proposal
    # 400 and one without an amount; one without an expected close; one in a stage nobody closed
    ["o1", "Acme", None, "Discovery", 1, 1000, "2025-06-01", "2025-08-15", None, "open"],
    ["o2", None, "Zed", "Negotiation", 3, 2000, "2025-06-01", "2025-09-30", None, "open"],
    ["o3", None, "Zed", "Proposal", 2, 400, "2025-06-01", "2025-10-01", None, "open"],
    ["o4", None, "Zed", "Proposal", 2, None, "2025-06-01", "2025-12-31", None, "open"],
    ["o5", None, "Yak", "Discovery", 1, 300, "2025-06-01", None, None, "open"],
    ["o6", None, "Yak", "Смотрим бюджет", None, 900, "2025-06-01", "2025-11-01", None, "open"],
])


def test_win_rates_by_stage_by_hand() -> None:
    rates = pl.win_rates(SMALL, LEVEL).set_index("stage")
    assert rates.loc[pl.EVERY_DEAL, ["reached", "won"]].tolist() == [9, 5]
    assert rates.loc["Discovery", ["reached", "won", "lost"]].tolist() == [9, 5, 4]
    assert rates.loc["Proposal", ["reached", "won"]].tolist() == [5, 4]
    assert rates.loc["Negotiation", ["reached", "won"]].tolist() == [2, 2]
    assert rates.loc["Смотрим бюджет", "reached"] == 0 and math.isnan(rates.loc["Смотрим бюджет", "win_rate"])
    assert rates.loc["Proposal", "win_rate"] == pytest.approx(0.8)
    # Wilson at 95%, 4 of 5: centre (0.8 + z²/10) / (1 + z²/5), z = 1.959964
    z = 1.959963984540054
    centre = (0.8 + z * z / 10) / (1 + z * z / 5)
    half = z * math.sqrt(0.8 * 0.2 / 5 + z * z / 100) / (1 + z * z / 5)
    assert rates.loc["Proposal", "win_rate_lo"] == pytest.approx(centre - half)
    assert rates.loc["Proposal", "win_rate_hi"] == pytest.approx(centre + half)
    assert list(rates.index) == [pl.EVERY_DEAL, "Discovery", "Proposal", "Negotiation", "Смотрим бюджет"]


def test_without_stage_order_each_stage_stands_on_its_own() -> None:
    rates = pl.win_rates(SMALL.drop(columns=["stage_order"]), LEVEL).set_index("stage")
    assert rates.loc["Discovery", ["reached", "won"]].tolist() == [4, 1]
    assert rates.loc["Proposal", ["reached", "won"]].tolist() == [3, 2]


def test_weighted_pipeline_by_hand() -> None:
    clients = pd.DataFrame({"client_id": ["Acme"], "client_name": ["Acme Ltd"]})
    out = pl.weighted_pipeline(SMALL, pl.win_rates(SMALL, LEVEL), clients).set_index("quarter", drop=False)
    assert out["quarter"].tolist()[:2] == ["2025Q3", "2025Q4"] and pd.isna(out["quarter"].iloc[2])
    q3, q4, none = out.iloc[0], out.iloc[1], out.iloc[2]
    # Q3: 1000 x 5/9 + 2000 x 2/2
    assert q3.weighted_amount == pytest.approx(1000 * 5 / 9 + 2000)
    assert q3.existing_client_weighted == pytest.approx(1000 * 5 / 9)
    assert q3.prospect_weighted == pytest.approx(2000.0)
    assert q3.open_amount == 3000 and q3.open_deals == 2
    # Q4: 400 x 4/5, the deal without an amount counted but not summed, the unknown stage at
    # every deal's 5/9
    assert q4.open_deals == 3 and q4.deals_without_amount == 1
    assert q4.weighted_amount == pytest.approx(400 * 0.8 + 900 * 5 / 9)
    assert q4.open_amount == 1300
    assert none.open_deals == 1 and none.weighted_amount == pytest.approx(300 * 5 / 9)
    assert out.weighted_lo.iloc[0] < out.weighted_amount.iloc[0] < out.weighted_hi.iloc[0]


def test_an_unknown_stage_is_weighted_by_every_deal_and_says_so() -> None:
    live = pl.open_deals(SMALL, pl.win_rates(SMALL, LEVEL)).set_index("deal_id")
    assert live.loc["o6", "rate_basis"] == pl.BASIS_EVERY_DEAL
    assert live.loc["o3", "rate_basis"] == pl.BASIS_STAGE


def test_no_closed_deal_leaves_the_weighted_pipeline_not_measured() -> None:
    open_only = SMALL[SMALL.outcome == "open"]
    out = pl.weighted_pipeline(open_only, pl.win_rates(open_only, LEVEL))
    assert out.weighted_amount.isna().all() and out.open_amount.notna().any()


def test_a_prospect_named_as_a_client_is_that_clients_deal() -> None:
    clients = pd.DataFrame({"client_id": ["c-1"], "client_name": ["Acme Ltd"]})
    deals = table([["x", None, "  acme   LTD ", "Discovery", 1, 5, "2025-01-01", None, None, "open"],
                   ["y", None, "Nobody", "Discovery", 1, 5, "2025-01-01", None, None, "open"]])
    assert pl.deal_clients(deals, clients).tolist()[0] == "c-1"
    assert pd.isna(pl.deal_clients(deals, clients).tolist()[1])


def test_deals_lost_per_client_and_quarter() -> None:
    clients = pd.DataFrame({"client_id": ["Acme", "Newco"], "client_name": ["Acme", "Newco"]})
    lost = pl.deals_lost(SMALL, clients).set_index(["client_id", "quarter"])
    assert lost.loc[("Acme", "2025Q1"), ["deals_opened", "deals_lost"]].tolist() == [3, 2]
    assert lost.loc[("Acme", "2025Q1"), "amount_lost"] == 200
    assert lost.loc[("Newco", "2025Q1"), ["deals_opened", "deals_lost"]].tolist() == [3, 1]
    assert lost.loc[("Acme", "2025Q2"), ["deals_opened", "deals_lost", "amount_lost"]].tolist() == [1, 0, 0]
    assert "Other" not in lost.index.get_level_values(0)


def test_the_panel_counts_the_deals_lost_the_pipeline_counts(tmp_path) -> None:
    """The estimate-shopping marker reads the panel's deal columns: the same clients' deals
    (a prospect named as a client is its deal), the same lost ones, by the quarter they closed."""
    import datetime as dt
    import json

    from clientlens.intake.panel import PANEL_FILE, build_panel
    from clientlens.parameters import load

    clients = pd.DataFrame({"client_id": ["Acme", "Newco"], "client_name": ["Acme", "Newco"],
                            "exit_date": [None, None], "exit_reason": [None, None]})
    clients.to_parquet(tmp_path / "clients.parquet", index=False)
    pd.DataFrame([{"entry_id": f"{c}{m}", "client_id": c, "date": dt.date(2025, m, 2), "hours": 1.0,
                   "billable": True, "billable_amount": 100.0, "cost_amount": 40.0, "work_type": "feature",
                   "rework": False, "after_hours": False, "person": "ann"}
                  for c in ("Acme", "Newco") for m in (1, 4, 7)]
                 ).to_parquet(tmp_path / "time_entries.parquet", index=False)
    deals = SMALL.copy()
    for c in ("created_date", "expected_close_date", "closed_date"):
        deals[c] = deals[c].dt.date
    deals.to_parquet(tmp_path / "deals.parquet", index=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"data_max_date": "2025-09-30"}))
    params = load()
    build_panel(tmp_path, "2025Q3", params.office_hours, lapse_quarters=params.lapse_quarters,
                deadline_grace_days=params.deadline_grace_days, anonymize=False)
    panel = pd.read_parquet(tmp_path / PANEL_FILE).set_index(["client_id", "quarter"])
    lost = pl.deals_lost(SMALL, clients).set_index(["client_id", "quarter"])["deals_lost"]
    lost = lost[lost > 0]
    assert panel["deals_lost"][panel["deals_lost"] > 0].astype(int).to_dict() == lost.to_dict()
    # closed (won or lost): Acme three in Q1; Newco one lost in Q1, two won in Q2
    assert panel["deals_closed"].astype(int).to_dict() == {
        ("Acme", "2025Q1"): 3, ("Acme", "2025Q2"): 0, ("Acme", "2025Q3"): 0,
        ("Newco", "2025Q1"): 1, ("Newco", "2025Q2"): 2, ("Newco", "2025Q3"): 0}


def test_wilson_interval_of_nothing_is_not_measured() -> None:
    lo, hi = pl.wilson_interval(np.array([0]), np.array([0]), LEVEL)
    assert np.isnan(lo[0]) and np.isnan(hi[0])


# --------------------------------------------------------------------------- the demo's planted rates

def demo_deals(firm: str, tmp_path, clients: int = 1500):
    """The demo generator's deals.csv for `clients` clients active over the whole window (one in
    ten an estimate shopper), read back through ingest, with the truth it planted."""
    from rawfiles import params, write_csv

    from clientlens.demo.deals import deals_table
    from clientlens.demo.firms import FIRMS
    from clientlens.demo.window import make_calendar
    from clientlens.demo.writer import CsvSink
    from clientlens.intake.contract import TABLES
    from clientlens.intake.ingest import run_ingest

    cal = make_calendar("2026Q1", 3)
    truth_clients = {f"C{k:05d}": {"phases": {q: "feature" for q in cal.quarters},
                                   "estimate_shopper": k % 10 == 0} for k in range(clients)}
    rows, truth = deals_table(truth_clients, cal, 7, FIRMS[firm])
    raw = tmp_path / "raw"
    raw.mkdir()
    sink = CsvSink(raw / "deals.csv", TABLES["deals"].column_names)
    sink.write(rows)
    sink.close()
    write_csv(raw, "clients.csv", [["client_id", "client_name"]] + [[c, c] for c in truth_clients])
    write_csv(raw, "time_entries.csv", [["date", "client_id", "hours"], ["2026-03-02", "C00001", 1]])
    run_ingest(raw, tmp_path / "out", params())
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert len(deals) == truth["deals"]
    shoppers = deals.client_id.isin([c for c, v in truth_clients.items() if v["estimate_shopper"]])
    return deals, shoppers, truth


@pytest.mark.parametrize("firm", ["demo", "agency"])
def test_planted_win_rates_are_recovered_within_their_intervals(firm, tmp_path) -> None:
    deals, shoppers, truth = demo_deals(firm, tmp_path)
    for population, planted in ((~shoppers, truth["win_rate_by_stage"]),
                                (shoppers, truth["shopper_win_rate_by_stage"])):
        rates = pl.win_rates(deals[population], LEVEL).set_index("stage")
        for stage, rate in planted.items():
            row = rates.loc[stage]
            assert row.reached > 30, (firm, stage)
            assert row.win_rate_lo <= rate <= row.win_rate_hi, (firm, stage, rate, row.to_dict())
    # estimate shoppers lose most of their deals; new prospects are all in the pipeline
    assert (deals[shoppers & deals.outcome.isin(["won", "lost"])].outcome == "lost").mean() > 0.8
    prospects = deals[deals.client_id.isna()]
    assert len(prospects) == truth["prospect_deals"] > 0 and (prospects.outcome == "open").all()
    pipeline = pl.weighted_pipeline(deals, pl.win_rates(deals, LEVEL))
    assert pipeline.open_deals.sum() == truth["open_deals"] and pipeline.weighted_amount.notna().all()
