"""Small functions the notebooks lean on, checked on hand-made tables."""
import pandas as pd
import pytest

from clientlens.analysis.early_warning import observed_stops
from clientlens.analysis.pnl import trailing_pnl


def test_trailing_pnl_sums_the_window_by_hand():
    quarters = pd.DataFrame({
        "client_id": ["A"] * 5 + ["B"],
        "quarter": ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2025Q1"],
        "quarter_index": [8100, 8101, 8102, 8103, 8104, 8100],
        "revenue": [100.0, 0.0, 50.0, 50.0, 200.0, 0.0],
        "margin": [10.0, -20.0, 5.0, 5.0, 60.0, -5.0],
    })
    out = trailing_pnl(quarters, window=4).set_index(["client_id", "quarter"])
    assert out.loc[("A", "2025Q2"), "revenue"] == 100 and out.loc[("A", "2025Q2"), "margin"] == -10
    # 2026Q1 window: Q2..Q1 = 0+50+50+200 revenue, -20+5+5+60 margin
    assert out.loc[("A", "2026Q1"), "revenue"] == 300 and out.loc[("A", "2026Q1"), "margin"] == 50
    assert out.loc[("A", "2026Q1"), "margin_pct"] == pytest.approx(50 / 300)
    assert pd.isna(out.loc[("B", "2025Q1"), "margin_pct"])  # no revenue: margin % not defined


def panel_rows(client, active, exited_at=None, reason=None):
    rows = []
    for i, is_active in enumerate(active):
        q = f"2025Q{i + 1}" if i < 4 else f"2026Q{i - 3}"
        rows.append({"client_id": client, "quarter": q, "quarter_index": 8100 + i, "is_active": is_active,
                     "exited": exited_at == q, "exit_reason": reason if exited_at == q else None})
    return rows


def test_observed_stops_from_exits_and_lapses():
    panel = pd.DataFrame(
        panel_rows("steady", [True] * 6)
        + panel_rows("lapsed", [True, True, True, True, False, False])
        + panel_rows("paused", [True, True, True, True, True, False])
        + panel_rows("churned", [True, True, True], exited_at="2025Q3", reason="churn")
        + panel_rows("insourced", [True, True], exited_at="2025Q2", reason="insourcing"))
    stops = observed_stops(panel, lapse_quarters=2)
    assert stops.to_dict() == {"lapsed": "2026Q1", "churned": "2025Q3"}
    assert observed_stops(panel, 2, include_insourcing=True)["insourced"] == "2025Q2"


def test_warning_backtest_with_no_client_stopping():
    from clientlens.analysis.early_warning import warning_backtest
    from clientlens.parameters import load

    panel = pd.DataFrame(panel_rows("steady", [True] * 6)).assign(client_name="Steady", revenue=100.0,
                                                                   billable_hours=10.0)
    quality = warning_backtest(panel, observed_stops(panel, 2), load())
    assert quality["stopped_clients"] == 0 and pd.isna(quality["recall"])


def test_backtest_on_a_short_history_says_why_not():
    from clientlens.analysis.forecast import backtest_if_possible

    panel = pd.DataFrame(panel_rows("steady", [True] * 3)).assign(
        client_name="Steady", revenue=100.0, hours=10.0, value_feature=100.0, value_ux=0.0, value_stability=0.0,
        value_support=0.0, value_other=0.0)
    short = dict(holdout=4, runs=10, seed=1, levels=(0.8,), churn_after_quarters=2)
    result, why = backtest_if_possible(panel, **short)
    assert result is None and "history" in why
    assert "истории" in backtest_if_possible(panel, "ru", **short)[1]


def test_client_forecast_table_sums_the_four_quarters_and_drops_churned():
    """The mean adds up over the quarters; the 80% range is the one of the sum, not a sum of ranges."""
    from clientlens.analysis.spiral import client_forecast_table

    positions = pd.DataFrame({"client_id": ["A", "B"], "client_name": ["Acme", "Beta"], "state": ["ux", "churned"],
                              "current_phase": ["ux", "support"], "turns_completed": [1, 0],
                              "revenue_last_4q": [400.0, 50.0]})
    fc = pd.DataFrame({"client_id": ["A"] * 4, "revenue_mean": [100.0, 110.0, 90.0, 100.0],
                       "revenue_lo_80": [80.0] * 4, "revenue_hi_80": [120.0] * 4,
                       "horizon_revenue_lo_80": [350.0] * 4, "horizon_revenue_hi_80": [450.0] * 4})
    clv = pd.DataFrame({"client_id": ["A", "B"], "future_value": [900.0, 0.0]})
    table = client_forecast_table(positions, fc, clv)
    assert table.client_id.tolist() == ["A"]
    assert table.loc[0, "forecast, next 4 quarters"] == 400
    assert (table.loc[0, "80% low"], table.loc[0, "80% high"]) == (350, 450)
    assert table.loc[0, "revenue still to come, discounted (spiral)"] == 900
