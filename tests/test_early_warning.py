"""Early warnings: which signal fires when, ranking, the as-of cut-off, lead times."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientlens.analysis.early_warning import early_warnings, warning_backtest, warning_lead_times, warning_signals
from clientlens.analysis.markers import quarter_index_of, quarter_label
from clientlens.parameters import ConfigError, load, read_file, validate

Q0 = quarter_index_of("2024Q1")
Q = [quarter_label(Q0 + k) for k in range(8)]  # 2024Q1 .. 2025Q4


def client(cid: str, revenue: float, requests=None, late=None, nps=None, changed=None,
           active=None, hours=None, exited_at: int | None = None) -> list[dict]:
    rows = []
    for k in range(8):
        if exited_at is not None and k > exited_at:
            break
        rows.append({
            "client_id": cid, "client_name": f"{cid} $Co", "quarter": Q[k], "quarter_index": Q0 + k,
            "is_active": True if active is None else active[k], "revenue": revenue,
            "billable_hours": 100.0 if hours is None else hours[k], "requests_total": 10 if requests is None else requests[k],
            "invoices_due": 1, "days_late_mean": 0.0 if late is None else late[k],
            "nps_mean": np.nan if nps is None else nps[k],
            "client_contact_changed": False if changed is None else changed[k],
            "exited": exited_at == k, "exit_reason": "churn" if exited_at == k else None,
        })
    return rows


def demo_panel() -> pd.DataFrame:
    falling = [10, 10, 10, 10, 10, 10, 2, 2]
    slower = [0, 0, 0, 0, 0, 30, 30, 30]
    rows = []
    # A: payments slow from 2025Q2 (one signal), requests fall in 2025Q3 (two: warned)
    rows += client("A", 1000.0, requests=falling, late=slower)
    # B: larger; NPS answer drops and the contact changes in 2025Q3
    rows += client("B", 2000.0, nps=[9, np.nan, 9, np.nan, np.nan, np.nan, 6, np.nan],
                   changed=[False] * 6 + [True, False])
    # C: only a contact change: one signal is not enough
    rows += client("C", 5000.0, changed=[False] * 6 + [True, False])
    # D: would be warned, but left in 2025Q3
    rows += client("D", 9000.0, requests=falling, late=slower, exited_at=6)
    # E: goes quiet in 2024Q4 (orders and requests stop: warned), a year later it is gone
    rows += client("E", 500.0, requests=[10, 10, 10, 0, 0, 0, 0, 0],
                   hours=[100.0] * 3 + [0.0] * 5, active=[True] * 3 + [False] * 5)
    return pd.DataFrame(rows)


P = load()


def test_signals_fire_in_order():
    sig = warning_signals(demo_panel(), P).set_index(["client_id", "quarter"])
    a5, a6 = sig.loc[("A", Q[5])], sig.loc[("A", Q[6])]
    # 2025Q2: days late over the last two quarters (0+30)/2 = 15 against 0 before: +15 >= 10
    assert a5["rising_payment_delays"] and a5["rising_payment_delays_value"] == pytest.approx(15.0)
    assert not a5["falling_requests"] and not a5["any_warning"]  # one signal weighs 0.5
    # 2025Q3: requests (10+2)/2 = 6 against 10 before: down 40%
    assert a6["falling_requests"] and a6["falling_requests_value"] == pytest.approx(0.4)
    assert a6["any_warning"] and a6["n_signals"] == 2 and a6["strength"] == pytest.approx(1.0)
    assert a6["first_fired"] == Q[5]
    assert a6["rising_payment_delays_since"] == Q[5] and a6["falling_requests_since"] == Q[6]
    b6 = sig.loc[("B", Q[6])]
    assert b6["falling_nps"] and b6["falling_nps_value"] == pytest.approx(3.0)
    assert b6["contact_change"] and b6["any_warning"]
    assert not sig.loc[("C", Q[6]), "any_warning"]
    assert sig.loc[("E", Q[3]), "any_warning"] and sig.loc[("E", Q[5]), "first_fired"] == Q[3]
    assert not sig.loc[("E", Q[6]), "any_warning"]  # no activity for revenue_quarters: gone
    assert sig.loc[("A", Q[6]), "revenue_at_risk"] == pytest.approx(4000.0)


def test_list_is_ranked_by_revenue_at_risk_and_leaves_out_the_gone():
    ew = early_warnings(demo_panel(), Q[6], P)
    assert list(ew["client_id"]) == ["B", "A"]  # D left, C has one signal, E is quiet
    assert list(ew["rank"]) == [1, 2]
    a = ew.set_index("client_id").loc["A"]
    assert a["reasons"] == ("requests down 40% (since 2025Q3); "
                            "pays 30 days later than before (since 2025Q2)")
    assert a["signals"] == "Falling requests, Rising payment delays"
    ru = early_warnings(demo_panel(), Q[6], P, lang="ru").set_index("client_id")
    assert ru.at["A", "reasons"].startswith("запросов меньше на 40% (с 2025Q3)")


def test_as_of_uses_no_later_data():
    pn = demo_panel()
    assert list(early_warnings(pn, Q[5], P)["client_id"]) == ["E"]  # A has one signal so far
    future = pn.copy()
    later = future["quarter_index"] > Q0 + 6
    future.loc[later, ["requests_total", "days_late_mean"]] = [0, 200.0]
    future.loc[later, "client_contact_changed"] = True
    a = early_warnings(pn, Q[6], P)
    b = early_warnings(future, Q[6], P)
    c = early_warnings(pn.loc[~later], Q[6], P)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert not early_warnings(future, Q[7], P).equals(a)


def test_weights_decide_what_warns_alone():
    p = load(overrides=["EARLY_WARNING__WEIGHTS__CONTACT_CHANGE=1"])
    assert "C" in set(early_warnings(demo_panel(), Q[6], p)["client_id"])
    p = load(overrides=["EARLY_WARNING__LATE_DAYS_RISE=40"])  # A's +30 days no longer counts
    assert "A" not in set(early_warnings(demo_panel(), Q[6], p)["client_id"])
    raw = read_file()
    del raw["early_warning"]["weights"]["falling_nps"]
    with pytest.raises(ConfigError, match="weights: missing falling_nps"):
        validate(raw)


def test_lead_times_and_backtest():
    pn = demo_panel()
    lt = warning_lead_times(pn, {"A": Q[7], "B": Q[6], "Z": Q[7]}, P).set_index("client_id")
    assert lt.at["A", "first_warning_quarter"] == Q[6] and lt.at["A", "lead_quarters"] == 1
    assert bool(lt.at["A", "warned_ahead"])
    assert lt.at["B", "lead_quarters"] == 0 and not bool(lt.at["B", "warned_ahead"])
    assert np.isnan(lt.at["Z", "lead_quarters"]) and not bool(lt.at["Z", "warned_ahead"])
    assert lt.at["A", "signals"] == "falling_requests,rising_payment_delays"
    p = load(overrides=["EARLY_WARNING__LOOKBACK_QUARTERS=1"])
    bt = warning_backtest(pn, pd.Series({"A": Q[7], "E": Q[3]}), p)
    assert bt["recall"] == 0.5 and bt["warned_ahead"] == 1  # E was warned only as it stopped
    # alerts that can be judged (up to 2025Q3): A (stops next quarter) and B (never stops)
    assert bt["warned_clients"] == 2 and bt["precision_clients"] == pytest.approx(0.5)
    assert bt["alerts"] == 2 and bt["precision_alerts"] == pytest.approx(0.5)
