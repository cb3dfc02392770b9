"""Client P&L, whale curve, ABC, concentration, waterfall and their charts.

Expected values are worked out by hand in each test from the small panels below, not copied
from the code under test.
"""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from clientlens.analysis import pnl
from clientlens.parameters import load
from clientlens.publishing.plots import pnl_plots

PARAMS = load()
# The overhead base and lapse rule the hand-worked numbers below assume.
BASE, LAPSE = "delivery_cost", 2

Q = {"2025Q1": 2025 * 4, "2025Q2": 2025 * 4 + 1, "2025Q3": 2025 * 4 + 2, "2025Q4": 2025 * 4 + 3}


def row(client, quarter, revenue, billed, collected, hours, billable_hours, split, name=None,
        active=True, exited=False):
    """split = (billable, communication, presale, rework, unbilled scope) costs."""
    return {
        "client_id": client, "client_name": name or client, "quarter": quarter,
        "quarter_index": Q[quarter], "is_active": active, "revenue": revenue,
        "revenue_billed": billed, "revenue_collected": collected, "billable_value": revenue,
        "hours": hours, "billable_hours": billable_hours, "delivery_cost": float(sum(split)),
        "cost_billable": split[0], "cost_communication": split[1], "cost_presale": split[2],
        "cost_rework": split[3], "cost_unbilled_scope": split[4], "exited": exited,
    }


@pytest.fixture
def small_panel() -> pd.DataFrame:
    return pd.DataFrame([
        # A: a good client that started in Q3
        row("A", "2025Q3", 1000.0, 1000.0, 400.0, 10.0, 8.0, (400, 50, 20, 20, 10), name="Acme $Corp"),
        row("A", "2025Q4", 2000.0, 2000.0, 1600.0, 20.0, 20.0, (800, 0, 0, 0, 0), name="Acme $Corp"),
        # B: loses money every quarter
        *[row("B", q, 100.0, 100.0, 100.0, 5.0, 2.0, (100, 100, 50, 30, 20)) for q in Q],
    ])


# --------------------------------------------------------------------------- P&L by hand

def test_client_quarter_pnl_by_hand(small_panel):
    q = pnl.client_quarter_pnl(small_panel, overhead_rate=0.1, overhead_base=BASE)
    a3 = q[(q.client_id == "A") & (q.quarter == "2025Q3")].iloc[0]
    # delivery cost 400+50+20+20+10 = 500; overhead 10% of it = 50; margin 1000-500-50 = 450
    assert a3.delivery_cost == 500
    assert a3.cost_non_billable == 100
    assert a3.cost_unsplit == 0
    assert a3.overhead == pytest.approx(50)
    assert a3.gross_margin == pytest.approx(500)
    assert a3.margin == pytest.approx(450)
    assert a3.margin_pct == pytest.approx(0.45)
    assert a3.effective_rate == pytest.approx(100)  # 1000 / 10 h
    assert a3.bill_rate == pytest.approx(125)  # 1000 / 8 billable h
    # receivables 1000 billed - 400 paid = 600; Q3 has 92 days: 600/1000*92
    assert a3.receivables == pytest.approx(600)
    assert a3.dso == pytest.approx(55.2)
    a4 = q[(q.client_id == "A") & (q.quarter == "2025Q4")].iloc[0]
    # 3000 billed to date - 2000 paid = 1000 outstanding; 1000/2000*92 days
    assert a4.receivables == pytest.approx(1000)
    assert a4.dso == pytest.approx(46.0)
    b1 = q[(q.client_id == "B") & (q.quarter == "2025Q1")].iloc[0]
    # 100 - 300 - 30 = -230
    assert b1.margin == pytest.approx(-230)
    assert b1.margin_pct == pytest.approx(-2.3)
    assert b1.receivables == 0 and b1.dso == 0


def test_client_pnl_by_hand(small_panel):
    c = pnl.client_pnl(small_panel, overhead_rate=0.1, overhead_base=BASE,
                       lapse_quarters=LAPSE).set_index("client_id")
    a = c.loc["A"]
    assert a.client_name == "Acme $Corp"
    assert a.revenue == 3000 and a.delivery_cost == 1300
    assert a.overhead == pytest.approx(130)
    assert a.margin == pytest.approx(3000 - 1300 - 130)
    assert a.margin_pct == pytest.approx(1570 / 3000)
    assert a.effective_rate == pytest.approx(100)  # 3000 / 30 h
    assert a.cost_communication == 50 and a.cost_unbilled_scope == 10
    assert a.first_quarter == "2025Q3" and a.last_active_quarter == "2025Q4"
    assert a.tenure_quarters == 2 and a.status == "active"
    assert a.quarters_last4 == 2
    assert a.margin_per_quarter_last4 == pytest.approx(1570 / 2)
    # 1000 outstanding / 3000 billed in the last four quarters x 365 days of 2025
    assert a.receivables == pytest.approx(1000)
    assert a.dso == pytest.approx(1000 / 3000 * 365)
    assert not a.is_loss_making
    b = c.loc["B"]
    assert b.margin == pytest.approx(4 * -230)
    assert bool(b.is_loss_making)
    assert b.non_billable_share == pytest.approx(200 / 300)
    assert b.receivables == 0
    # list rate unknown: not measured
    assert math.isnan(a.list_rate) and math.isnan(a.rate_realisation)


def test_list_rate_scalar_and_per_client(small_panel):
    c = pnl.client_pnl(small_panel, 0.1, list_rate=125.0, overhead_base=BASE,
                       lapse_quarters=LAPSE).set_index("client_id")
    assert c.loc["A", "rate_realisation"] == pytest.approx(100 / 125)
    assert c.loc["B", "rate_realisation"] == pytest.approx(20 / 125)  # 400 / 20 h = 20 an hour
    c = pnl.client_pnl(small_panel, 0.1, list_rate={"A": 200.0}, overhead_base=BASE,
                       lapse_quarters=LAPSE).set_index("client_id")
    assert c.loc["A", "rate_realisation"] == pytest.approx(0.5)
    assert math.isnan(c.loc["B", "rate_realisation"])


def test_overhead_bases(small_panel):
    by_rev = pnl.client_pnl(small_panel, 0.2, overhead_base="revenue", lapse_quarters=LAPSE).set_index("client_id")
    assert by_rev.loc["A", "overhead"] == pytest.approx(600)  # 20% of 3000
    by_hours = pnl.client_pnl(small_panel, 2.0, overhead_base="hours", lapse_quarters=LAPSE).set_index("client_id")
    assert by_hours.loc["B", "overhead"] == pytest.approx(40)  # 2 an hour x 20 h
    with pytest.raises(ValueError):
        pnl.client_pnl(small_panel, 0.1, overhead_base="headcount", lapse_quarters=LAPSE)


def test_status_lapsed_and_exited():
    panel = pd.DataFrame([
        row("L", "2025Q1", 10.0, 10.0, 10.0, 1.0, 1.0, (1, 0, 0, 0, 0)),
        row("L", "2025Q2", 10.0, 10.0, 10.0, 1.0, 1.0, (1, 0, 0, 0, 0)),
        row("L", "2025Q3", 0.0, 0.0, 0.0, 0.0, 0.0, (0, 0, 0, 0, 0), active=False),
        row("L", "2025Q4", 0.0, 0.0, 0.0, 0.0, 0.0, (0, 0, 0, 0, 0), active=False),
        row("X", "2025Q1", 10.0, 10.0, 10.0, 1.0, 1.0, (1, 0, 0, 0, 0)),
        row("X", "2025Q2", 10.0, 10.0, 10.0, 1.0, 1.0, (1, 0, 0, 0, 0), exited=True),
        row("K", "2025Q4", 10.0, 10.0, 10.0, 1.0, 1.0, (1, 0, 0, 0, 0)),
    ])
    c = pnl.client_pnl(panel, 0.1, overhead_base=BASE, lapse_quarters=LAPSE).set_index("client_id")
    assert c.loc["L", "status"] == "lapsed"  # nothing in the last two quarters
    assert c.loc["X", "status"] == "exited" and c.loc["X", "tenure_quarters"] == 2
    assert c.loc["K", "status"] == "active" and c.loc["K", "tenure_quarters"] == 1
    assert c.loc["L", "tenure_quarters"] == 4


# --------------------------------------------------------------------------- NULL stays NULL

def test_null_stays_null_without_invoices(small_panel):
    panel = small_panel.copy()
    panel["revenue_billed"] = np.nan
    panel["revenue_collected"] = pd.Series([pd.NA] * len(panel), dtype="Float64")
    panel = panel.drop(columns=["cost_presale"])  # a category the panel did not measure
    q = pnl.client_quarter_pnl(panel, 0.1, overhead_base=BASE)
    c = pnl.client_pnl(panel, 0.1, overhead_base=BASE, lapse_quarters=LAPSE)
    for t in (q, c):
        assert t["revenue_collected"].isna().all()
        assert t["receivables"].isna().all()
        assert t["dso"].isna().all()
        assert t["cost_presale"].isna().all()
        assert t["margin"].notna().all()  # margin does not depend on invoices
    a = c.set_index("client_id").loc["A"]
    assert a.cost_unsplit == pytest.approx(20)  # the presale cost is not split, not lost
    assert a.margin == pytest.approx(1570)
    w = pnl.portfolio_waterfall(c).set_index("step")
    assert not w.loc["cost_presale", "measured"] and math.isnan(w.loc["cost_presale", "amount"])
    assert w.loc["cost_unsplit", "amount"] == pytest.approx(-(20 + 4 * 50))
    assert w.loc["margin", "amount"] == pytest.approx(c["margin"].sum())


def test_zero_hours_and_zero_revenue_give_null_ratios():
    panel = pd.DataFrame([row("Z", "2025Q4", 0.0, 0.0, 0.0, 0.0, 0.0, (0, 0, 0, 0, 0))])
    c = pnl.client_pnl(panel, 0.1, overhead_base=BASE, lapse_quarters=LAPSE).iloc[0]
    assert c.margin == 0
    assert math.isnan(c.margin_pct) and math.isnan(c.effective_rate) and math.isnan(c.dso)


# --------------------------------------------------------------------------- reconciliation

def random_panel(n_clients: int, seed: int = 1, quarters: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    end = 2026 * 4 + 2
    first = end - rng.integers(0, quarters, n_clients)
    cid = np.repeat(np.arange(n_clients), end - first + 1)
    qidx = np.concatenate([np.arange(f, end + 1) for f in first])
    n = len(cid)
    scale = np.repeat(rng.lognormal(8, 1.2, n_clients), end - first + 1)
    kind = np.repeat(rng.choice([0, 1, 2], n_clients, p=[0.8, 0.15, 0.05]), end - first + 1)
    hours = rng.gamma(3, 1, n) * scale / 100
    split = np.round(hours[:, None] * rng.uniform(5, 15, (n, 5)) * np.where(
        kind[:, None] == 1, [1, 3, 3, 3, 3], [6, 0.5, 0.3, 0.3, 0.3]), 2)
    revenue = np.round(hours * np.where(kind == 1, 30, np.where(kind == 2, 160, 95)), 2)
    names = np.array([f"${i} Corp" if i % 5 == 0 else f"Client {i}" for i in range(n_clients)])
    return pd.DataFrame({
        "client_id": [f"c{i:05d}" for i in cid], "client_name": names[cid],
        "quarter": [f"{i // 4}Q{i % 4 + 1}" for i in qidx], "quarter_index": qidx,
        "is_active": True, "revenue": revenue, "revenue_billed": revenue,
        "revenue_collected": np.round(revenue * rng.uniform(0.6, 1.0, n), 2),
        "billable_value": revenue, "hours": hours, "billable_hours": hours * 0.8,
        "delivery_cost": np.round(split.sum(axis=1), 2), "cost_billable": split[:, 0],
        "cost_communication": split[:, 1], "cost_presale": split[:, 2],
        "cost_rework": split[:, 3], "cost_unbilled_scope": split[:, 4], "exited": False,
    })


def test_reconciles_to_the_cent():
    panel = random_panel(600)
    rate = 0.12
    q = pnl.client_quarter_pnl(panel, rate, overhead_base=PARAMS.overhead_base)
    c = pnl.client_pnl(panel, rate, overhead_base=PARAMS.overhead_base, lapse_quarters=PARAMS.lapse_quarters)
    cents = 0.005
    for col in ("revenue", "revenue_collected", "delivery_cost", "cost_billable",
                "cost_communication", "cost_presale", "cost_rework", "cost_unbilled_scope"):
        assert abs(c[col].sum() - panel[col].sum()) < cents, col
        assert abs(q[col].sum() - panel[col].sum()) < cents, col
    # the split covers delivery cost exactly
    assert abs(c["cost_unsplit"].sum()) < cents
    expected_margin = panel["revenue"].sum() - (1 + rate) * panel["delivery_cost"].sum()
    assert abs(c["margin"].sum() - expected_margin) < cents
    assert abs(q["margin"].sum() - expected_margin) < cents
    w = pnl.portfolio_waterfall(c)
    assert list(w["step"]) == ["revenue", "cost_billable", "cost_communication", "cost_presale",
                               "cost_rework", "cost_unbilled_scope", "overhead", "margin"]
    steps = w.iloc[:-1]["amount"].sum()
    assert abs(steps - w.iloc[-1]["amount"]) < cents  # revenue + cost steps == margin
    assert abs(w.iloc[-1]["amount"] - expected_margin) < cents
    assert abs(w.iloc[-2]["end"] - expected_margin) < cents  # the running total lands on it
    assert abs(w.iloc[0]["amount"] - panel["revenue"].sum()) < cents


# --------------------------------------------------------------------------- whale, top 20%, ABC

def table(margins, revenues=None):
    ids = [f"k{i}" for i in range(len(margins))]
    return pd.DataFrame({"client_id": ids, "client_name": ids, "margin": margins,
                         "revenue": revenues if revenues is not None else [100.0] * len(margins)})


def test_whale_curve_hump_and_tail():
    # total profit 60+30+20-10 = 100: cumulative 60%, 90%, 110% (the hump), back to 100%
    w = pnl.whale_curve(table([30.0, -10.0, 60.0, 20.0]))
    assert list(w["client_id"]) == ["k2", "k0", "k3", "k1"]
    assert list(w["rank"]) == [1, 2, 3, 4]
    assert np.allclose(w["cum_profit_share"], [0.6, 0.9, 1.1, 1.0])
    assert list(w["segment"]) == ["hump", "hump", "hump", "tail"]
    s = pnl.whale_summary(w)
    assert s["peak_share"] == pytest.approx(1.1)
    assert s["peak_rank"] == 3 and s["peak_client_share"] == pytest.approx(0.75)
    assert s["n_loss_making"] == 1 and s["loss_margin"] == pytest.approx(-10)
    assert s["tail_destroys"] == pytest.approx(10 / 110)


def test_whale_curve_skips_unmeasured_and_handles_total_loss():
    w = pnl.whale_curve(table([10.0, np.nan, -30.0]))
    assert len(w) == 2
    assert w["cum_profit_share"].isna().all()  # total profit is negative: no % of it
    assert np.allclose(w["cum_positive_share"], [1.0, -2.0])


def test_top_share():
    # 10 clients; top 20% = 2 clients with margins 50 and 20 of total 100
    margins = [50.0, 20.0, 10.0, 10.0, 5.0, 5.0, 5.0, 5.0, 0.0, -10.0]
    revenues = [200.0, 100.0] + [50.0] * 8
    s = pnl.top_share(table(margins, revenues), share=0.2)
    assert s["n_top"] == 2 and s["n_clients"] == 10
    assert s["profit_share"] == pytest.approx(70 / 100)
    assert s["revenue_share"] == pytest.approx(300 / 700)


def test_abc_on_a_known_set():
    # positive profit 100: cumulative before each client 0, .5, .8, .9, .95, .98, 1.0
    margins = [30.0, 50.0, 10.0, 5.0, 3.0, 2.0, 0.0, -4.0, np.nan]
    a = pnl.abc_classes(table(margins), cutoffs=[0.8, 0.95]).set_index("client_id")
    expected = {"k1": "A", "k0": "A",            # 50 + 30 make the first 80%
                "k2": "B", "k3": "B",            # to 95%
                "k4": "C", "k5": "C", "k6": "C",  # the rest with profit >= 0
                "k7": pnl.ABC_LOSS}              # loss-making
    for client, cls in expected.items():
        assert a.loc[client, "abc_class"] == cls, client
    assert pd.isna(a.loc["k8", "abc_class"])
    summary = pnl.abc_summary(a.reset_index()).set_index("abc_class")
    assert summary.loc["A", "clients"] == 2 and summary.loc["A", "margin"] == 80
    assert summary.loc[pnl.ABC_LOSS, "margin"] == -4


def test_a_single_whale_is_class_a():
    a = pnl.abc_classes(table([90.0, 5.0, 5.0]), cutoffs=[0.8, 0.95]).set_index("client_id")
    assert a.loc["k0", "abc_class"] == "A"  # crosses 80% on its own
    assert a.loc["k1", "abc_class"] == "B"  # 90% before it, below 95%
    assert a.loc["k2", "abc_class"] == "C"


def test_planted_whales_in_a_and_loss_makers_in_tail():
    panel = random_panel(300, seed=7)
    c = pnl.client_pnl(panel, 0.12, overhead_base=PARAMS.overhead_base, lapse_quarters=PARAMS.lapse_quarters)
    a = pnl.abc_classes(c, PARAMS.abc_cutoffs).set_index("client_id")
    w = pnl.whale_curve(c).set_index("client_id")
    losers = c.loc[c["margin"] < 0, "client_id"]
    assert len(losers) > 10
    assert (w.loc[losers, "segment"] == "tail").all()
    assert (a.loc[losers, "abc_class"] == pnl.ABC_LOSS).all()
    top = c.nlargest(3, "margin")["client_id"]
    assert (a.loc[top, "abc_class"] == "A").all()


# --------------------------------------------------------------------------- concentration

def test_concentration_hhi_known_value():
    t = table([10.0, 5.0, 1.0, -3.0], revenues=[50.0, 30.0, 20.0, 0.0])
    t["hours"] = [10.0, 60.0, 20.0, 10.0]
    c = pnl.concentration(t)
    # shares 50%, 30%, 20%: 2500 + 900 + 400
    assert c["hhi"] == pytest.approx(3800)
    assert c["effective_clients"] == pytest.approx(10000 / 3800)
    assert c["hhi_band"] == "high"
    assert c["largest_client_id"] == "k0" and c["largest_revenue_share"] == pytest.approx(0.5)
    assert c["n_clients"] == 3  # the client without revenue has no share
    assert c["largest_profit_share"] == pytest.approx(10 / 13)
    assert c["largest_hours_share"] == pytest.approx(0.6)
    flat = pnl.concentration(table([1.0] * 100, [1.0] * 100))
    assert flat["hhi"] == pytest.approx(100) and flat["hhi_band"] == "unconcentrated"


# --------------------------------------------------------------------------- charts

def _texts(fig: Figure) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_xticklabels()]
        out.append(ax.get_title(loc="left"))
    return out


@pytest.mark.parametrize("n_clients", [200, 10_000])
def test_charts_draw_and_name_only_a_few(n_clients):
    panel = random_panel(n_clients, seed=3, quarters=4)
    c = pnl.client_pnl(panel, 0.12, overhead_base=PARAMS.overhead_base, lapse_quarters=PARAMS.lapse_quarters)
    classes = pnl.abc_classes(c, PARAMS.abc_cutoffs)
    figs = [pnl_plots.plot_whale_curve(pnl.whale_curve(c)),
            pnl_plots.plot_waterfall(pnl.portfolio_waterfall(c)),
            pnl_plots.plot_margin_scatter(c, classes)]
    for fig in figs:
        assert isinstance(fig, Figure)
        FigureCanvasAgg(fig).draw()  # renders, mathtext never sees a "$"
    scatter = figs[2]
    names = [t for t in scatter.axes[0].texts if t.get_text() in set(c["client_name"])]
    assert 5 <= len(names) <= 8
    worst = c.loc[c["margin"].idxmin(), "client_name"]
    assert worst in {t.get_text() for t in names}


def test_dollar_names_are_drawn_as_written():
    t = table([100.0, 50.0, -30.0, -60.0, 20.0, 10.0], [400.0, 300.0, 200.0, 150.0, 90.0, 60.0])
    t["client_name"] = ["$Corp$ & Sons", "Cost $5 $10", "A_b^c", r"\$escaped", "x", "y"]
    fig = pnl_plots.plot_margin_scatter(t, n_labels=6)
    FigureCanvasAgg(fig).draw()
    drawn = set(_texts(fig))
    for name in t["client_name"][:4]:
        assert name in drawn
    for text in fig.axes[0].texts:
        assert not text.get_usetex()
        assert not text.get_parse_math()
    whale = pnl_plots.plot_whale_curve(pnl.whale_curve(t))
    FigureCanvasAgg(whale).draw()
    assert any("$Corp$ & Sons" in s for s in _texts(whale))


# --------------------------------------------------------------------------- not measured

def test_a_quarter_without_cost_leaves_the_clients_margin_not_measured(small_panel):
    # B's 2025Q2 has hours with no cost: the panel leaves its delivery cost (and split) NULL
    gap = small_panel.copy()
    at = (gap.client_id == "B") & (gap.quarter == "2025Q2")
    gap.loc[at, ["delivery_cost", "cost_billable", "cost_communication", "cost_presale", "cost_rework",
                 "cost_unbilled_scope"]] = np.nan
    gap["hours_without_cost"] = np.where(at, 5.0, 0.0)
    gap["hours_without_bill"] = 0.0
    t = pnl.client_pnl(gap, 0.1, overhead_base=BASE, lapse_quarters=LAPSE).set_index("client_id")
    # never the sum of the three costed quarters (3 x 300 = 900), which would flatter B
    for col in ("delivery_cost", "overhead", "margin", "margin_pct", "gross_margin", "cost_presale"):
        assert np.isnan(t.at["B", col]), col
    assert pd.isna(t.at["B", "is_loss_making"])
    assert t.at["B", "revenue"] == pytest.approx(400.0) and t.at["B", "hours_without_cost"] == 5.0
    assert t.at["A", "margin"] == pytest.approx(3000 - 1300 - 130)  # A is untouched
    note = pnl.margin_notes(t.reset_index(), "en")
    assert list(note) == ["", "cost not measured: 5 of 20 hours have no cost amount or rate"]
    # the last four quarters hold 2025Q2 too
    assert np.isnan(t.at["B", "margin_last4"]) and t.at["A", "margin_last4"] == pytest.approx(1570.0)
    totals = pnl.portfolio_totals(t.reset_index())
    # over A alone, the one client measured: never B's revenue against A's margin
    assert totals["margin"] == pytest.approx(1570.0) and totals["margin_pct"] == pytest.approx(1570 / 3000)
    assert totals["revenue"] == pytest.approx(3400.0) and totals["clients_margin_measured"] == 1
    waterfall = pnl.portfolio_waterfall(t.reset_index())
    assert waterfall.set_index("step").at["margin", "amount"] == pytest.approx(1570.0)


def test_hours_only_panel_measures_no_money(small_panel):
    hours_only = small_panel.copy()
    money = ["revenue", "revenue_billed", "revenue_collected", "billable_value", "billable_hours", "delivery_cost",
             "cost_billable", "cost_communication", "cost_presale", "cost_rework", "cost_unbilled_scope"]
    hours_only[money] = np.nan
    hours_only["hours_without_bill"] = hours_only["hours_without_cost"] = hours_only["hours"]
    t = pnl.client_pnl(hours_only, 0.1, overhead_base=BASE, lapse_quarters=LAPSE)
    assert t[["revenue", "delivery_cost", "margin", "margin_pct", "margin_last4", "effective_rate"]].isna().all().all()
    assert t.hours.tolist() == [30.0, 20.0]
    totals = pnl.portfolio_totals(t)
    assert all(pd.isna(totals[k]) for k in ("revenue", "margin", "margin_pct"))
    assert pnl.whale_curve(t).empty and pd.isna(pnl.top_share(t)["profit_share"])
    abc = pnl.abc_summary(pnl.abc_classes(t, [0.8, 0.95]))
    assert abc[["margin", "client_share", "revenue_share"]].isna().all().all()  # not 0
    waterfall = pnl.portfolio_waterfall(t)
    assert not waterfall.measured.any() and waterfall.amount.isna().all()
    notes = pnl.margin_notes(t, "en")
    assert notes.iloc[1] == ("revenue not measured: 20 of 20 hours have no billable amount or rate; "
                             "cost not measured: 20 of 20 hours have no cost amount or rate")
    assert pnl.margin_notes(t, "ru").iloc[1].startswith("выручка не измеряется: у 20 из 20 ч")
    for fig in (pnl_plots.plot_waterfall(waterfall), pnl_plots.plot_whale_curve(pnl.whale_curve(t)),
                pnl_plots.plot_margin_scatter(t)):
        assert any("not measured" == x.get_text() for x in fig.axes[0].texts)


def test_trailing_window_with_a_quarter_not_measured_is_not_measured(small_panel):
    q = pnl.client_quarter_pnl(small_panel, 0.1, overhead_base=BASE)
    q.loc[(q.client_id == "B") & (q.quarter == "2025Q2"), ["revenue", "margin"]] = np.nan
    t = pnl.trailing_pnl(q, 2).set_index(["client_id", "quarter"])
    assert np.isnan(t.at[("B", "2025Q2"), "margin"]) and np.isnan(t.at[("B", "2025Q3"), "margin"])
    assert t.at[("B", "2025Q4"), "revenue"] == pytest.approx(200.0)
