"""CRM deal exports and the deals table: HubSpot's deals export, a canonical deals file, bad input.

Each sample below is written here from the export's documented header row.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from rawfiles import params, quarantine, read, summary, time_rows, write_csv, write_xlsx

from clientlens.intake.ingest import run_ingest
from clientlens.intake.readers.errors import IngestError
from clientlens.publishing.reasons import reason_text

# HubSpot, CRM > Deals > Export (CSV or XLSX), one row per deal, headed by the property labels
# of https://knowledge.hubspot.com/crm-deals/hubspots-default-deal-properties ("Deal name",
# "Deal stage", "Pipeline", "Amount", "Close date" - "the day the deal is expected to close,
# or was closed" -, "Create date", "Deal owner", "Closed lost reason"), with the record's id
# ("Record ID") and its associated company as the export adds them
# (https://knowledge.hubspot.com/import-and-export/export-records: the export can include
# associated records). Published header rows of real exports read the same, e.g.
# "Record ID,Deal Name,Deal Stage,Amount,Deal owner,Associated Company IDs,..." and
# "Record ID,Deal Name,Amount,Deal Stage,Close Date,Deal Owner,Company Name,Pipeline,Create Date"
# in public repositories that parse them.
HUBSPOT = ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Create Date",
           "Deal owner", "Associated Company", "Closed Lost Reason"]

CANONICAL = ["deal_id", "client_id", "prospect", "deal_name", "stage", "stage_order", "amount",
             "currency", "created_date", "expected_close_date", "closed_date", "outcome", "lost_reason"]


def ingest(raw: Path, tmp_path: Path):
    write_csv(raw, "time_entries.csv", time_rows(2, client="Acme Ltd"))
    out = tmp_path / "out"
    run_ingest(raw, out, params())
    return out


def test_hubspot_deals_export_maps_stage_outcome_and_close_date(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "hubspot-deals-export.csv", [
        HUBSPOT,
        ["9001", "Acme - redesign", "Proposal", "Sales Pipeline", "12000.50", "2026-09-30 00:00",
         "2026-03-02 10:15", "Sam Sales", "Acme Ltd", ""],
        ["9002", "Newco - MVP", "Closed Won", "Sales Pipeline", "30000", "2026-05-14",
         "2026-01-10", "Sam Sales", "Newco GmbH", ""],
        ["9003", "Other - audit", "closedlost", "Sales Pipeline", "5000", "2026-04-01",
         "2026-02-01", "Sam Sales", "Other Inc", "Went with a cheaper bid"],
    ])
    out = ingest(raw, tmp_path)
    deals = read(out, "deals").set_index("deal_id")
    assert list(deals.index) == ["9001", "9002", "9003"]
    assert deals.outcome.tolist() == ["open", "won", "lost"]
    assert deals.stage.tolist()[0] == "Proposal" and deals.stage.iloc[1:].isna().all()
    assert str(deals.expected_close_date["9001"])[:10] == "2026-09-30" and deals.closed_date.isna()["9001"]
    assert str(deals.closed_date["9002"])[:10] == "2026-05-14" and deals.expected_close_date.isna()["9002"]
    assert deals.amount.tolist() == [12000.50, 30000.0, 5000.0]
    assert deals.prospect.tolist() == ["Acme Ltd", "Newco GmbH", "Other Inc"]
    assert deals.lost_reason["9003"] == "Went with a cheaper bid"
    s = summary(out).set_index("table").loc["deals"]
    assert s.format == "hubspot" and s.rows_read == 3 == s.rows_accepted


def test_hubspot_xlsx_export_is_recognised_by_its_header(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_xlsx(raw, "export.xlsx", [HUBSPOT, ["1", "A", "Qualified", "P", "100", "2026-07-01",
                                               "2026-06-01", "", "", ""]])
    deals = read(ingest(raw, tmp_path), "deals")
    assert deals.outcome.tolist() == ["open"] and deals.stage.tolist() == ["Qualified"]


def test_bad_deals_are_quarantined_with_reasons(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    rows = [CANONICAL,
            ["d1", "Acme Ltd", "", "ok", "Discovery", 1, 100, "USD", "2026-01-05", "2026-07-01", "", "open", ""],
            ["d2", "Acme Ltd", "", "won, no close", "Proposal", 2, 100, "USD", "2026-01-05", "", "", "won", ""],
            ["d3", "", "Newco", "negative", "Proposal", 2, -5, "USD", "2026-01-05", "", "2026-02-01", "won", ""],
            ["d4", "", "Newco", "closed first", "Proposal", 2, 10, "USD", "2026-03-05", "", "2026-02-01", "lost", ""],
            ["d5", "", "Newco", "odd stage", "Смотрим бюджет", "", 10, "USD", "2026-03-05", "", "", "open", ""],
            ["d6", "", "Newco", "bad outcome", "Proposal", 2, 10, "USD", "2026-03-05", "", "", "maybe", ""],
            ["d7", "", "Newco", "lost, no close", "Proposal", 2, 10, "USD", "2026-03-05", "", "", "lost", ""],
            ["d1", "Acme Ltd", "", "again", "Discovery", 1, 100, "USD", "2026-01-05", "", "", "open", ""]]
    write_csv(raw, "deals.csv", rows)
    out = ingest(raw, tmp_path)
    kept = read(out, "deals")
    assert sorted(kept.deal_id) == ["d1", "d5"]  # an unknown stage is data
    q = quarantine(out)
    q = q[q.table == "deals"].set_index("row")
    reasons = dict(zip(q.index, q.reason))
    assert reasons[3] == "closed_date is empty while outcome is won"
    assert reasons[4] == "amount below 0"
    assert reasons[5] == "closed_date before created_date"
    assert reasons[7].startswith("not one of")
    assert reasons[8] == "closed_date is empty while outcome is lost"
    assert reasons[9].startswith("duplicate deal_id")
    s = summary(out).set_index("table").loc["deals"]
    assert s.rows_read == len(rows) - 1 == s.rows_accepted + s.rows_quarantined
    assert reason_text(reasons[3], "ru") != reasons[3]


def test_a_deal_without_its_required_columns_stops_with_one_line(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "deals.csv", [["deal_id", "amount", "outcome"], ["d1", "5", "open"]])
    with pytest.raises(IngestError, match="deals.csv: missing required column 'created_date'"):
        ingest(raw, tmp_path)
