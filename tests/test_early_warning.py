"""Early warnings: which signal fires when, ranking, the as-of cut-off, the spiral's support phase,
the warning history and its backtest."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientlens.analysis.early_warning import (
    backtest_table,
    early_warnings,
    insourcing_exits,
    warning_backtest,
    warning_history,
    warning_lead_times,
    warning_signals,
)
from clientlens.analysis.markers import quarter_index_of, quarter_label
from clientlens.parameters import ConfigError, load, read_file, validate

Q0 = quarter_index_of("2024Q1")
Q = [quarter_label(Q0 + k) for k in range(8)]  # 2024Q1 .. 2025Q4
PHASE_COLUMNS = ("feature", "ux", "stability", "support")


def client(cid: str, revenue: float, requests=None, late=None, nps=None, csat=None, changed=None,
           active=None, hours=None, phases=None, exited_at: int | None = None,
           exit_reason: str = "churn", quarters: int = 8) -> list[dict]:
    """One client's panel rows; `phases` names each quarter's kind of work (its billable value)."""
    rows = []
    for k in range(quarters):
        if exited_at is not None and k > exited_at:
            break
        row = {
            "client_id": cid, "client_name": f"{cid} $Co", "quarter": quarter_label(Q0 + k),
            "quarter_index": Q0 + k, "is_active": True if active is None else active[k], "revenue": revenue,
            "billable_hours": 100.0 if hours is None else hours[k],
            "requests_total": 10 if requests is None else requests[k],
            "invoices_due": 1, "days_late_mean": 0.0 if late is None else late[k],
            "nps_mean": np.nan if nps is None else nps[k], "csat_mean": np.nan if csat is None else csat[k],
            "client_contact_changed": False if changed is None else changed[k],
            "exited": exited_at == k, "exit_reason": exit_reason if exited_at == k else None,
        }
        if phases is not None:
            row.update({f"value_{p}": 1000.0 if phases[k] == p else 0.0 for p in PHASE_COLUMNS})
        rows.append(row)
    return rows


def demo_panel() -> pd.DataFrame:
    falling = [10, 10, 10, 10, 10, 10, 0, 0]
    slower = [0, 0, 0, 0, 0, 30, 30, 30]
    rows = []
    # A: payments slow from 2025Q2 (one signal), requests fall in 2025Q3 (two: warned)
    rows += client("A", 1000.0, requests=falling, late=slower)
    # B: larger; NPS answer drops and the contact changes twice within a year, by 2025Q3
    rows += client("B", 2000.0, nps=[9, np.nan, 9, np.nan, np.nan, np.nan, 6, np.nan],
                   changed=[False] * 5 + [True, True, False])
    # C: only its contact changes: one signal is not enough
    rows += client("C", 5000.0, changed=[False] * 5 + [True, True, False])
    # D: would be warned, but left in 2025Q3
    rows += client("D", 9000.0, requests=falling, late=slower, exited_at=6)
    # E: goes quiet in 2024Q4 (orders and requests stop: warned), lapse_quarters later it is gone
    rows += client("E", 500.0, requests=[10, 10, 10, 0, 0, 0, 0, 0],
                   hours=[100.0] * 3 + [0.0] * 5, active=[True] * 3 + [False] * 5)
    return pd.DataFrame(rows)


# The hand-built panels below are drawn for a two-quarter recent window, whatever the
# config's default: each load pins it.
WINDOW = "EARLY_WARNING__RECENT_QUARTERS=2"
P = load(overrides=[WINDOW])


def test_signals_fire_in_order():
    sig = warning_signals(demo_panel(), P).set_index(["client_id", "quarter"])
    a5, a6 = sig.loc[("A", Q[5])], sig.loc[("A", Q[6])]
    # 2025Q2: days late over the last two quarters (0+30)/2 = 15 against 0 before: +15 >= 10
    assert a5["rising_payment_delays"] and a5["rising_payment_delays_value"] == pytest.approx(15.0)
    assert not a5["falling_requests"] and not a5["any_warning"]  # one signal weighs 0.5
    # 2025Q3: requests (10+0)/2 = 5 against 10 before: down 50%
    assert a6["falling_requests"] and a6["falling_requests_value"] == pytest.approx(0.5)
    assert a6["any_warning"] and a6["n_signals"] == 2 and a6["strength"] == pytest.approx(1.0)
    assert a6["first_fired"] == Q[5]
    assert a6["rising_payment_delays_since"] == Q[5] and a6["falling_requests_since"] == Q[6]
    b6 = sig.loc[("B", Q[6])]
    assert b6["falling_nps"] and b6["falling_nps_value"] == pytest.approx(3.0)
    assert b6["contact_change"] and b6["contact_change_value"] == 2 and b6["any_warning"]
    assert not sig.loc[("B", Q[5]), "contact_change"]  # one change within a year is ordinary
    assert not sig.loc[("C", Q[6]), "any_warning"]
    assert sig.loc[("E", Q[3]), "any_warning"] and sig.loc[("E", Q[3]), "first_fired"] == Q[3]
    # quiet for lapse_quarters (no work, no invoice): gone, not at risk (analysis.activity)
    quiet_from = 3
    for k in range(quiet_from, 8):
        assert bool(sig.loc[("E", Q[k]), "any_warning"]) is (k - quiet_from + 1 < P.lapse_quarters), k
    assert sig.loc[("A", Q[6]), "revenue_at_risk"] == pytest.approx(4000.0)


def test_revenue_at_risk_not_measured_is_not_zero():
    """A client whose revenue no export measures (hours only) has no revenue at risk to state:
    "not measured", never 0."""
    panel = demo_panel()
    panel.loc[panel["client_id"] == "B", "revenue"] = np.nan
    sig = warning_signals(panel, P).set_index(["client_id", "quarter"])
    assert np.isnan(sig.loc[("B", Q[6]), "revenue_at_risk"])
    assert sig.loc[("A", Q[6]), "revenue_at_risk"] == pytest.approx(4000.0)


def test_list_is_ranked_by_revenue_at_risk_and_leaves_out_the_gone():
    ew = early_warnings(demo_panel(), Q[6], P)
    assert list(ew["client_id"]) == ["B", "A"]  # D left, C has one signal, E is quiet
    assert list(ew["rank"]) == [1, 2]
    a = ew.set_index("client_id").loc["A"]
    assert a["reasons"] == ("requests down 50% (since Q3 2025); "
                            "pays 30 days later than before (since Q2 2025)")
    assert a["falling_requests_since"] == "2025Q3"  # the stored quarter stays the code later steps read
    assert a["signals"] == "Falling requests, Rising payment delays"
    ru = early_warnings(demo_panel(), Q[6], P, lang="ru").set_index("client_id")
    assert ru.at["A", "reasons"].startswith("запросов меньше на 50% (с III кв. 2025)")
    assert "2025Q" not in ru.at["A", "reasons"]


def test_as_of_uses_no_later_data():
    pn = demo_panel()
    assert list(early_warnings(pn, Q[3], P)["client_id"]) == ["E"]
    assert list(early_warnings(pn, Q[5], P)["client_id"]) == []  # A has one signal so far; E has gone quiet
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
    p = load(overrides=[WINDOW, "EARLY_WARNING__WEIGHTS__CONTACT_CHANGE=1"])
    assert "C" in set(early_warnings(demo_panel(), Q[6], p)["client_id"])
    p = load(overrides=[WINDOW, "EARLY_WARNING__LATE_DAYS_RISE=40"])  # A's +30 days no longer counts
    assert "A" not in set(early_warnings(demo_panel(), Q[6], p)["client_id"])
    raw = read_file()
    del raw["early_warning"]["weights"]["falling_nps"]
    with pytest.raises(ConfigError, match="weights: missing falling_nps"):
        validate(raw)


# --- the spiral's phases --------------------------------------------------------------------------

SLOWER = [0, 0, 0, 0, 0, 0, 30, 30]  # a second signal, rising payment delays, from 2025Q3
INTO_SUPPORT = ["feature", "ux", "stability", "feature", "ux", "stability", "stability", "support"]
FEW = load(overrides=[WINDOW, "EARLY_WARNING__PHASE_MIN_QUARTERS=3"])  # a small portfolio learns its usual falls


def falling_to(level: float, start: float = 100.0) -> list[float]:
    """`start` a quarter, then `level` in the last two: at 2025Q4 the recent window's mean is
    `level` against `start` before it, a fall of 1 - level/start (half that at 2025Q3)."""
    return [start] * 6 + [level, level]


def portfolio(n: int = 4) -> list[dict]:
    """Clients whose orders and requests fall 40% as they move into support in 2025Q4: the
    usual fall of the support phase. Their other quarters hold steady."""
    rows = []
    for k in range(n):
        rows += client(f"P{k}", 100.0, hours=[100.0] * 6 + [80.0, 40.0], requests=[10] * 6 + [8, 4],
                       phases=INTO_SUPPORT)
    return rows


def last_quarter(rows: list[dict], params=FEW) -> pd.DataFrame:
    return warning_signals(pd.DataFrame(rows), params).set_index(["client_id", "quarter"]).xs(Q[7], level=1)


def test_a_fall_the_support_phase_explains_is_no_warning():
    rows = portfolio()
    # S moves into support with the usual fall in orders, and pays later: one signal
    rows += client("S", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=INTO_SUPPORT)
    # F has the same fall while building new functionality: two signals, warned
    rows += client("F", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=["feature"] * 8)
    # X falls in support far more than the spiral explains: warned
    rows += client("X", 3000.0, hours=falling_to(20.0), late=SLOWER, phases=INTO_SUPPORT)
    sig = last_quarter(rows)
    s, f, x = sig.loc["S"], sig.loc["F"], sig.loc["X"]
    assert s["phase"] == "support" and s["falling_orders_value"] == pytest.approx(0.4)
    assert not s["falling_orders"] and s["explained_by_phase"] and not s["any_warning"]
    assert f["falling_orders"] and not f["explained_by_phase"] and f["any_warning"]
    assert x["falling_orders"] and x["falling_orders_value"] == pytest.approx(0.8) and x["any_warning"]
    assert not x["explained_by_phase"]
    assert list(early_warnings(pd.DataFrame(rows), Q[7], FEW)["client_id"]) == ["X", "F"]


def test_the_usual_fall_is_the_firms_own():
    rows = portfolio() + client("S", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=INTO_SUPPORT)
    sig = last_quarter(rows)
    # the support quarters so far (the 4 clients' and S's) all fell 40%
    assert sig.loc["S", "falling_orders_usual"] == pytest.approx(0.4)
    assert sig.loc["S", "falling_requests_usual"] == pytest.approx(0.4)  # S's own 0% among the four 40%
    # a firm whose clients order the same in support shows no usual fall there: S is warned
    steady = [{**r, "billable_hours": 100.0, "requests_total": 10} for r in portfolio()]
    sig = last_quarter(steady + client("S", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=INTO_SUPPORT))
    assert sig.loc["S", "falling_orders"] and sig.loc["S", "any_warning"]
    # and with too little history of the phase, the drop thresholds alone decide
    sig = last_quarter(rows, P)
    assert np.isnan(sig.loc["S", "falling_orders_usual"]) and sig.loc["S", "any_warning"]


def test_the_phase_is_read_from_its_own_quarter():
    """Support from 2025Q4 only: the fall in 2025Q3 fires, the 2025Q4 fall is the spiral."""
    rows = portfolio() + client("S", 1000.0, hours=[100.0] * 6 + [40.0, 80.0], phases=INTO_SUPPORT)
    sig = warning_signals(pd.DataFrame(rows), FEW).set_index(["client_id", "quarter"]).loc["S"]
    # 2025Q3: (100+40)/2 = 70 against 100, in stability, whatever the next quarter brings
    assert sig.at[Q[6], "phase"] == "stability" and sig.at[Q[6], "falling_orders"]
    # 2025Q4: (40+80)/2 = 60 against 100, in support, where falls of 40% are usual
    assert sig.at[Q[7], "explained_by_phase"] and not sig.at[Q[7], "falling_orders"]


def test_requests_falling_in_support_are_explained_too():
    rows = portfolio()
    rows += client("R", 1000.0, requests=[10] * 6 + [6, 6], late=SLOWER, phases=INTO_SUPPORT)
    rows += client("N", 1000.0, requests=[10] * 6 + [6, 6], late=SLOWER, phases=["ux"] * 8)
    sig = last_quarter(rows)
    assert sig.loc["R", "falling_requests_value"] == pytest.approx(0.4)
    assert sig.loc["R", "explained_by_phase"] and not sig.loc["R", "falling_requests"]
    assert sig.loc["N", "falling_requests"] and sig.loc["N", "any_warning"]


@pytest.mark.parametrize("level, explained", [
    (60.0, True),    # a fall of exactly the usual 40% is the spiral
    (61.0, True),    # just below: 39%
    (59.0, False),   # just above: 41% is more than the spiral explains
])
def test_usual_fall_boundary(level, explained):
    rows = portfolio() + client("S", 1000.0, hours=falling_to(level), late=SLOWER, phases=INTO_SUPPORT)
    s = last_quarter(rows).loc["S"]
    assert s["falling_orders_value"] == pytest.approx(1 - level / 100)
    assert bool(s["explained_by_phase"]) is explained
    assert bool(s["falling_orders"]) is not explained
    assert bool(s["any_warning"]) is not explained


@pytest.mark.parametrize("min_quarters, explained", [
    (4, True),    # just below the 5 support quarters the portfolio has by 2025Q4
    (5, True),    # at: the usual fall is known
    (6, False),   # just above: not known yet, the drop threshold alone decides
])
def test_phase_min_quarters_boundary(min_quarters, explained):
    p = load(overrides=[WINDOW, f"EARLY_WARNING__PHASE_MIN_QUARTERS={min_quarters}"])
    rows = portfolio() + client("S", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=INTO_SUPPORT)
    s = last_quarter(rows, p).loc["S"]
    assert bool(s["explained_by_phase"]) is explained and bool(s["any_warning"]) is not explained


@pytest.mark.parametrize("quantile, explained", [
    (0.95, True),
    (0.5, True),    # every support fall so far is 40%: any quantile of them is 40%
    (0.0, True),
    (1.0, True),
])
def test_phase_fall_quantile_reads_the_firms_falls(quantile, explained):
    p = load(overrides=[WINDOW, "EARLY_WARNING__PHASE_MIN_QUARTERS=3", f"EARLY_WARNING__PHASE_FALL_QUANTILE={quantile}"])
    rows = portfolio() + client("S", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=INTO_SUPPORT)
    assert bool(last_quarter(rows, p).loc["S", "explained_by_phase"]) is explained
    # with a larger fall of S's own among them, a high quantile reaches it and a low one does not
    rows = portfolio() + client("S", 1000.0, hours=falling_to(45.0), late=SLOWER, phases=INTO_SUPPORT)
    assert bool(last_quarter(rows, p).loc["S", "explained_by_phase"]) is (quantile >= 1.0)


# --- the warning history ------------------------------------------------------------------------

def replayed(panel: pd.DataFrame, params) -> pd.DataFrame:
    """early_warnings() as of every quarter, one call per quarter, stacked."""
    lists = [early_warnings(panel, q, params) for q in sorted(set(panel["quarter"]))]
    return pd.concat([x for x in lists if len(x)], ignore_index=True)


def history_panel() -> pd.DataFrame:
    rows = demo_panel().to_dict("records") + portfolio()
    rows += client("S", 1000.0, hours=falling_to(60.0), late=SLOWER, phases=INTO_SUPPORT)
    rows += client("X", 3000.0, hours=falling_to(20.0), late=SLOWER, phases=INTO_SUPPORT)
    return pd.DataFrame(rows)


def test_history_is_the_quarter_by_quarter_replay():
    pn = history_panel()
    history = warning_history(pn, FEW)
    assert set(history["quarter"]) >= {Q[3], Q[6], Q[7]}
    assert "X" in set(history["client_id"]) and "S" not in set(history["client_id"])  # the usual fall, learned
    pd.testing.assert_frame_equal(history, replayed(pn, FEW))
    q6 = history.loc[history["quarter"] == Q[6]]
    pd.testing.assert_frame_equal(q6.reset_index(drop=True), early_warnings(pn, Q[6], FEW))
    ru = warning_history(pn, FEW, lang="ru")
    assert ru["reasons"].str.contains("запросов меньше").any()


def test_later_quarters_never_change_an_earlier_quarters_warnings():
    pn = history_panel()
    cut = Q0 + 6
    past = pn.loc[pn["quarter_index"] <= cut]
    before = warning_history(past, FEW)
    assert len(before)
    rng = np.random.default_rng(26)
    for _ in range(5):
        future = pn.loc[pn["quarter_index"] > cut].copy()
        n = len(future)
        future["billable_hours"] = rng.uniform(0, 200, n)
        future["requests_total"] = rng.integers(0, 20, n)
        future["days_late_mean"] = rng.uniform(0, 90, n)
        future["client_contact_changed"] = rng.random(n) < 0.5
        future["nps_mean"] = rng.integers(0, 11, n).astype(float)
        future["exited"] = rng.random(n) < 0.2
        for p in PHASE_COLUMNS:
            future[f"value_{p}"] = rng.uniform(0, 1000, n)
        newcomer = pd.DataFrame(client("NEW", 700.0, phases=["support"] * 8)).loc[
            lambda d: d["quarter_index"] > cut]
        after = warning_history(pd.concat([past, future, newcomer], ignore_index=True), FEW)
        pd.testing.assert_frame_equal(after.loc[after["quarter_index"] <= cut].reset_index(drop=True), before)


# --- lead times and the backtest ------------------------------------------------------------------

def test_lead_times_and_backtest():
    pn = demo_panel()
    lt = warning_lead_times(pn, {"A": Q[7], "B": Q[6], "Z": Q[7]}, P).set_index("client_id")
    assert lt.at["A", "first_warning_quarter"] == Q[6] and lt.at["A", "lead_quarters"] == 1
    assert bool(lt.at["A", "warned_ahead"])
    # A still worked in 2025Q4, the quarter it stopped: 2025Q3 is a whole quarter before that
    assert lt.at["A", "last_active_quarter"] == Q[7] and bool(lt.at["A", "warned_full_quarter_ahead"])
    assert lt.at["B", "lead_quarters"] == 0 and not bool(lt.at["B", "warned_ahead"])
    assert np.isnan(lt.at["Z", "lead_quarters"]) and not bool(lt.at["Z", "warned_ahead"])
    assert lt.at["A", "signals"] == "falling_requests,rising_payment_delays"
    p = load(overrides=[WINDOW, "EARLY_WARNING__LOOKBACK_QUARTERS=1"])
    bt = warning_backtest(pn, pd.Series({"A": Q[7], "E": Q[3]}), p)
    assert bt["recall"] == 0.5 and bt["warned_ahead"] == 1  # E was warned only as it stopped
    # alerts that can be judged (up to 2025Q3): A (stops next quarter) and B (never stops)
    assert bt["warned_clients"] == 2 and bt["precision_clients"] == pytest.approx(0.5)
    assert bt["alerts"] == 2 and bt["precision_alerts"] == pytest.approx(0.5)


def backtest_panel() -> pd.DataFrame:
    """Six clients over 2024Q1-2025Q4, warned (payments later and requests halved) in a chosen
    quarter k, or never; each stops (no work, no invoice) from a chosen quarter, or never."""
    def fading(cid: str, warned_at: int | None, stop_at: int | None, revenue: float = 1000.0,
               exited_at: int | None = None, exit_reason: str = "churn") -> list[dict]:
        late = [0.0] * 8 if warned_at is None else [0.0] * warned_at + [60.0] * (8 - warned_at)
        requests = [10] * 8 if warned_at is None else [10] * warned_at + [0] * (8 - warned_at)
        active = [True] * 8 if stop_at is None else [True] * stop_at + [False] * (8 - stop_at)
        hours = [100.0 if a else 0.0 for a in active]
        rows = client(cid, revenue, requests=requests, late=late, active=active, hours=hours,
                      exited_at=exited_at, exit_reason=exit_reason)
        for row, a in zip(rows, active):
            row["revenue"] = revenue if a else 0.0
        return rows

    rows = []
    rows += fading("early", warned_at=3, stop_at=6)      # warned 2024Q4, last active 2025Q2, stop 2025Q3
    rows += fading("late", warned_at=5, stop_at=6)       # warned 2025Q2, its last active quarter
    rows += fading("missed", warned_at=None, stop_at=5)  # never warned
    rows += fading("false", warned_at=2, stop_at=None)   # warned from 2024Q4 (a trend needs 2 quarters), stays
    rows += fading("steady", warned_at=None, stop_at=None)
    rows += fading("insourced", warned_at=2, stop_at=None, exited_at=4, exit_reason="insourcing")
    return pd.DataFrame(rows)


def test_backtest_numbers_by_hand():
    pn = backtest_panel()
    stops = pd.Series({"early": Q[6], "late": Q[6], "missed": Q[5]})
    insourced = insourcing_exits(pn)
    assert insourced.to_dict() == {"insourced": Q[4]}
    sig = warning_signals(pn, P).set_index(["client_id", "quarter"])
    assert sig.loc[("early", Q[3]), "any_warning"] and not sig.loc[("early", Q[2]), "any_warning"]
    assert sig.loc[("late", Q[5]), "any_warning"] and not sig.loc[("late", Q[4]), "any_warning"]
    bt = warning_backtest(pn, stops, P, insourced=insourced)
    # recall: early warned 3 quarters ahead (2 before its last active quarter), late 1 (0), missed never
    assert bt["stopped_clients"] == 3
    assert bt["warned_full_quarter_ahead"] == 1 and bt["recall_full_quarter"] == pytest.approx(1 / 3)
    assert bt["warned_ahead"] == 2 and bt["recall"] == pytest.approx(2 / 3)
    assert bt["median_lead_quarters"] == pytest.approx(2.0)  # leads 3 and 1
    # judged alerts: quarters up to 2024Q4 (last quarter 2025Q4 minus lookback 4), before any stop:
    # early in 2024Q4 (stops 2 quarters later: right), false in 2024Q4 (never stops: wrong);
    # insourced in 2024Q4, a quarter before its in-sourcing exit: left out
    assert bt["warned_clients"] == 2 and bt["warned_clients_that_stopped"] == 1
    assert bt["precision_clients"] == pytest.approx(0.5)
    assert bt["alerts"] == 2 and bt["alerts_that_stopped"] == 1
    assert bt["precision_alerts"] == pytest.approx(0.5)
    assert bt["alerts_before_insourcing"] == 1
    counted_wrong = warning_backtest(pn, stops, P)
    assert counted_wrong["warned_clients"] == 3 and counted_wrong["precision_clients"] == pytest.approx(1 / 3)


def test_backtest_table_says_it_in_words():
    bt = warning_backtest(backtest_panel(), pd.Series({"early": Q[6], "late": Q[6], "missed": Q[5]}), P,
                          insourced=insourcing_exits(backtest_panel()))
    en = backtest_table(bt).set_index("measure")["value"]
    assert en["Warned at least a full quarter before their last active quarter"] == "1 of 3 (33%)"
    assert en["Warned clients that stopped within 4 quarters of a warning (client precision)"] == "1 of 2 (50%)"
    assert en["Median lead: quarters from the first warning to the stop"] == "2"
    ru = backtest_table(bt, lang="ru")
    assert ru["value"].iloc[1] == "1 из 3 (33%)" and ru["measure"].iloc[0] != en.index[0]
