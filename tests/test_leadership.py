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
    # the order of the actions' precedence: toxic and unprofitable first, then may be leaving
    assert list(split.kind) == ["toxic_unprofitable", "warning", "gone_quiet", "stale_communicator"]
    assert split.clients.sum() == len(risk) and split.revenue.sum() == risk.revenue.sum()
    sentence = leadership.risk_sentence(split, "USD")
    assert sentence.startswith("Of the 5 clients at risk")
    assert "early signs of leaving, 2 (1.1k USD)" in sentence
    assert "gone quiet, 1 (no revenue in the last four quarters)" in sentence
    assert "(0 USD)" not in sentence
    ru = leadership.risk_sentence(split, "USD", "ru")
    assert "пропали — 1 (нет выручки за последние четыре квартала)" in ru and "(5)" in ru


def test_risk_sentence_for_none_and_for_one():
    none = leadership.risk_breakdown(leadership.at_risk_clients(
        pd.DataFrame({"client_id": ["a"], "client_name": ["A"], "segment": ["core"], "revenue": [5.0]}),
        pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])))
    assert leadership.risk_sentence(none, "USD").startswith("No client is at risk")
    one = leadership.risk_breakdown(leadership.at_risk_clients(
        pd.DataFrame({"client_id": ["a"], "client_name": ["A"], "segment": ["difficult"], "revenue": [2500.0]}),
        pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])))
    assert leadership.risk_sentence(one, "USD") == "One client is at risk: profitable but difficult (2.5k USD)."
    assert ":" in leadership.risk_sentence(one, "USD", "ru") and "One client" not in leadership.risk_sentence(one, "USD", "ru")


def test_a_client_at_risk_whose_revenue_is_not_measured_is_not_one_without_revenue():
    segments = pd.DataFrame({"client_id": ["a", "b"], "client_name": ["A", "B"],
                             "segment": ["difficult", "gone_quiet"], "revenue": [float("nan"), 0.0]})
    warnings = pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])
    split = leadership.risk_breakdown(leadership.at_risk_clients(segments, warnings))
    sentence = leadership.risk_sentence(split, "USD")
    assert "gone quiet, 1 (no revenue in the last four quarters)" in sentence
    assert "(not measured)" in sentence and sentence.count("no revenue") == 1


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
                            "margin_last4": [None], "margin_pct_last4": [None], "margin": [None],
                            "revenue": [None]}).astype(
        {"revenue_last4": float, "margin_last4": float, "margin_pct_last4": float, "margin": float, "revenue": float})
    segments = pd.DataFrame({"client_id": ["A"], "client_name": ["A"], "revenue": [None], "segment": ["no_pnl"]})
    warnings = pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])
    head = leadership.headline(clients, segments, warnings, None, level=80)
    assert head.revenue_last4 is None and head.margin_pct_last4 is None and head.revenue_at_risk is None


def test_headline_of_a_firm_whose_revenue_is_partly_measured():
    # A bills but logs no cost; B logs hours only: the revenue is A's alone, and with no margin
    # measured there is no margin %, never A's revenue over nothing read as 100%
    from clientlens.analysis import pnl

    clients = pd.DataFrame({"client_id": ["A", "B"], "client_name": ["A", "B"], "status": ["active", "active"],
                            "revenue_last4": [1200.0, None], "margin_last4": [None, None],
                            "margin_pct_last4": [None, None], "revenue": [3000.0, None], "margin": [None, None]}).astype(
        {"revenue_last4": float, "margin_last4": float, "margin_pct_last4": float, "margin": float, "revenue": float})
    segments = pd.DataFrame({"client_id": ["A", "B"], "client_name": ["A", "B"], "revenue": [1200.0, None],
                             "segment": ["no_pnl", "no_pnl"]})
    warnings = pd.DataFrame(columns=["client_id", "client_name", "revenue_at_risk"])
    head = leadership.headline(clients, segments, warnings, None, level=80)
    assert head.revenue_last4 == 1200.0
    assert head.margin_last4 is None and head.margin_pct_last4 is None and head.top20_profit_share is None
    totals = pnl.portfolio_totals(clients)
    assert totals["revenue"] == 3000.0 and pd.isna(totals["margin"]) and pd.isna(totals["margin_pct"])
    assert (totals["clients"], totals["clients_revenue_measured"], totals["clients_margin_measured"]) == (2, 1, 0)


def test_captions_say_one_client_in_the_singular():
    one = pd.DataFrame({"client_id": ["a"], "client_name": ["A"], "revenue": [6830.0], "kind": ["difficult"]})
    assert leadership.at_risk_caption(one, "USD").startswith("1 client at risk, 6,830 USD")
    two = pd.concat([one, one.assign(client_id="b")])
    assert leadership.at_risk_caption(two, "USD").startswith("2 clients at risk")
    assert leadership.at_risk_caption(one, "USD", "ru").startswith("1 клиент в зоне риска")


def test_the_count_and_its_label_agree_and_a_range_not_measured_is_said():
    assert leadership.clients_at_risk_label(1) == "client at risk"
    assert leadership.clients_at_risk_label(3) == "clients at risk"
    assert [leadership.clients_at_risk_label(n, "ru") for n in (1, 3, 5, 21)] == [
        "клиент в зоне риска", "клиента в зоне риска", "клиентов в зоне риска", "клиент в зоне риска"]
    import dataclasses

    head = leadership.Headline(None, None, None, None, 3, 0, 0.0, {}, "2025Q4", 29_900.0, None, None, 80)
    figure, label = leadership.forecast_figure(head, "USD")
    assert figure == "29.9k USD" and "not measured" in label and "–" not in figure
    figure, label = leadership.forecast_figure(dataclasses.replace(head, forecast_lo=20_000.0, forecast_hi=40_000.0),
                                               "USD")
    assert figure == "29.9k USD (20.0k–40.0k)" and label == "forecast, 80% range"
