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
