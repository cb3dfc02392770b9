"""The leadership headline: who is at risk, of what, each client counted once."""
from __future__ import annotations

import pandas as pd

from clientlens.analysis import leadership


def test_each_client_at_risk_is_counted_once_under_its_most_urgent_kind():
    segments = pd.DataFrame({
        "client_id": ["a", "b", "c", "d", "e"], "client_name": list("ABCDE"),
        "segment": ["difficult", "gone_quiet", "toxic_unprofitable", "core", "stale_communicator"],
        "revenue": [100.0, 0.0, 30.0, 999.0, 50.0]})
    warnings = pd.DataFrame({"client_id": ["a", "d"], "client_name": ["A", "D"], "revenue_at_risk": [120.0, 999.0]})
    risk = leadership.at_risk_clients(segments, warnings)
    assert dict(zip(risk.client_id, risk.kind)) == {
        "a": "warning", "b": "gone_quiet", "c": "toxic_unprofitable", "d": "warning", "e": "stale_communicator"}
    assert risk.set_index("client_id").at["a", "revenue"] == 120.0  # the larger of its two figures
    split = leadership.risk_breakdown(risk)
    assert list(split.kind) == ["warning", "gone_quiet", "stale_communicator", "toxic_unprofitable"]
    assert split.clients.sum() == len(risk) and split.revenue.sum() == risk.revenue.sum()
    sentence = leadership.risk_sentence(split, "USD")
    assert sentence.startswith("Of the 5 clients at risk")
    assert "2 show early signs of leaving (1.1k USD)" in sentence and "1 have gone quiet (no revenue in the last four quarters)" in sentence
    assert "(0 USD)" not in sentence
    assert "затихли — 1 (нет выручки за последние четыре квартала)" in leadership.risk_sentence(split, "USD", "ru")


def test_data_quality_line_reads_ingest_and_toxicity_outputs():
    import numpy as np

    from clientlens.analysis.markers import MARKERS
    from clientlens.intake.contract import TABLES

    # b.csv is a helpdesk export feeding two tables: its 1,210 rows are read once.
    summary = pd.DataFrame({"file": ["a.csv", "b.csv", "b.csv"], "rows_read": [3000, 1210, 1210],
                            "rows_quarantined": [10, 2, 0]})
    toxicity = pd.DataFrame({"client_id": ["A", "B"], "n_markers": [18, 18],
                             **{f"sev_{m.name}": [np.nan, np.nan] for m in MARKERS}})
    toxicity["sev_late_payment"] = [0.5, np.nan]
    toxicity["sev_falling_orders"] = [np.nan, 0.0]
    quality = leadership.data_quality(summary, ["time_entries", "invoices"], toxicity)
    assert quality == {"files": 2, "rows_read": 4210, "rows_set_aside": 12, "tables_supplied": 2,
                       "tables": len(TABLES), "markers_measured": 2, "markers": 18}
    line = leadership.data_quality_html(quality)
    assert line == ('<p class="cl-note cl-data-quality"><a href="ingest.html">Built from 2 files (4,210 rows; '
                    f'12 set aside) · 2 of {len(TABLES)} tables supplied · 2 of 18 markers measured</a></p>')
    assert "Собрано из 2 файлов" in leadership.data_quality_html(quality, "ru")


def test_headline_without_revenue_says_not_measured_not_zero():
    clients = pd.DataFrame({"client_id": ["A"], "client_name": ["A"], "status": ["active"], "revenue_last4": [None],
                            "margin_last4": [None], "margin": [None], "revenue": [None]}).astype(
        {"revenue_last4": float, "margin_last4": float, "margin": float, "revenue": float})
    segments = pd.DataFrame({"client_id": ["A"], "client_name": ["A"], "revenue": [None], "segment": ["no_pnl"]})
    warnings = pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])
    head = leadership.headline(clients, segments, warnings, None, level=80)
    assert head.revenue_last4 is None and head.margin_pct_last4 is None and head.revenue_at_risk is None
