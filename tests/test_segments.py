"""Segments, actions, migration, and the toxicity charts, on hand-made tables."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from clientlens.analysis import pnl as pnl_stage
from clientlens.analysis.markers import quarter_index_of, quarter_label
from clientlens.analysis.segments import (
    SEGMENT_BY_KEY,
    assign_segments,
    migration_matrix,
    segment_history,
    segment_moves,
    segment_summary,
)
from clientlens.analysis.toxicity import current_toxicity, toxicity_scores
from clientlens.parameters import load
from clientlens.publishing.plots.toxicity_plots import plot_marker_heatmap, plot_migration_matrix, plot_segment_map

Q0 = quarter_index_of("2024Q1")


def params(*overrides: str):
    # toxicity_red 30, profitable at margin_pct >= 10%, communicator 8 quarters
    return load(overrides=["OVERHEAD_RATE=0.1", *overrides])


def tables():
    #            id                margin_pct score tenure role         pts (relationship?)
    spec = [("core",               0.30, 10, 3,  "project_manager", {}),
            ("difficult",          0.30, 60, 3,  "project_manager", {"pts_late_payment": 60}),
            ("costly",             0.05, 10, 3,  "account_manager", {}),
            ("toxic_unprofitable", -0.20, 60, 2, "account_manager", {"pts_late_payment": 60}),
            ("stale_tenure",       0.30, 60, 10, "project_manager", {"pts_team_score": 40,
                                                                     "pts_late_payment": 20}),
            ("stale_technical",   -0.20, 60, 2,  "technical", {"pts_urgent_after_hours": 30,
                                                               "pts_gross_margin": 30}),
            ("not_driven",         0.30, 60, 10, "project_manager", {"pts_late_payment": 60}),
            ("insourced",          0.20, 60, 4,  "project_manager", {}),
            ("churned",            0.20, 10, 4,  "project_manager", {}),
            ("quiet",              0.20, 10, 4,  "project_manager", {})]
    tox, pnl = [], []
    for cid, mp, score, tenure, role, pts in spec:
        tox.append({"client_id": cid, "client_name": f"{cid} $Corp", "score": float(score),
                    "communicator_tenure_quarters": tenure, "communicator_role": role,
                    "exited": cid in ("insourced", "churned"),
                    "exit_reason": {"insourced": "insourcing", "churned": "churn"}.get(cid),
                    "quarters_inactive": 3 if cid == "quiet" else 0,
                    "reasons": "", **pts})
        pnl.append({"client_id": cid, "margin": mp * 1000, "margin_pct": mp, "revenue": 1000.0})
    tox.append({"client_id": "nopnl", "client_name": "No PnL", "score": 5.0, "exited": False,
                "quarters_inactive": 0})
    return pd.DataFrame(tox), pd.DataFrame(pnl)


def test_segment_assignment_by_hand():
    tox, pnl = tables()
    seg = assign_segments(tox, pnl, params()).set_index("client_id")
    expected = {"core": "core", "difficult": "difficult", "costly": "costly",
                "toxic_unprofitable": "toxic_unprofitable", "stale_tenure": "stale_communicator",
                "stale_technical": "stale_communicator", "not_driven": "difficult",
                "insourced": "healthy_exit", "churned": "left", "quiet": "gone_quiet",
                "nopnl": "no_pnl"}
    assert seg["segment"].to_dict() == expected
    assert seg.at["core", "action"] == "Grow and protect"
    assert seg.at["difficult", "action"] == "Renegotiate or reprice"
    assert seg.at["stale_tenure", "action"] == "Rotate the communicator"
    assert seg.at["costly", "action"] == "Reduce cost to serve"
    assert seg.at["toxic_unprofitable", "action"] == ("Part ways gracefully and recommend an "
                                                      "alternative")
    assert seg.at["insourced", "segment_label"] == "Healthy exit (in-sourcing)"
    assert "same communicator for 10 quarters" in seg.at["stale_tenure", "why"]
    assert "technical specialist" in seg.at["stale_technical", "why"]
    assert seg.at["core", "why"] == "margin 30%; toxicity 10 of 100"
    assert bool(seg.at["not_driven", "rotation_due"]) and not bool(seg.at["core", "rotation_due"])
    assert seg.at["nopnl", "client_name"] == "No PnL"
    ru = assign_segments(tox, pnl, params(), lang="ru").set_index("client_id")
    assert ru.at["core", "action"] == "Развивать и беречь"
    assert ru.at["core", "why"] == "маржа 30%; токсичность 10 из 100"


def test_config_change_moves_clients_on_the_map():
    tox, pnl = tables()
    p = params("SEGMENTS__PROFITABLE_MARGIN_PCT=0")
    seg = assign_segments(tox, pnl, p).set_index("client_id")
    assert seg.at["costly", "segment"] == "core"
    p = params("TOXICITY_RED=70")
    seg = assign_segments(tox, pnl, p).set_index("client_id")
    assert seg.at["difficult", "segment"] == "core"
    assert seg.at["toxic_unprofitable", "segment"] == "costly"
    p = params("COMMUNICATOR_MAX_QUARTERS=12")
    assert assign_segments(tox, pnl, p).set_index("client_id").at["stale_tenure", "segment"] == \
        "difficult"


@pytest.mark.parametrize(("above_red", "n_full", "segment"), [
    (-0.01, 0, "core"), (0.0, 0, "difficult"), (0.01, 0, "difficult"),  # the score's cut-off
    (-18.0, 1, "core"), (-18.0, 2, "difficult"),  # two markers at full severity, on a low score
])
def test_a_red_client_is_never_core_nor_told_to_grow(above_red, n_full, segment):
    assert params().toxicity.red_full_markers == 2
    score = params().toxicity_red + above_red
    tox = pd.DataFrame([{"client_id": "x", "client_name": "X", "score": score, "n_full": n_full,
                         "communicator_tenure_quarters": 2, "communicator_role": "project_manager",
                         "exited": False, "exit_reason": None, "quarters_inactive": 0, "reasons": ""}])
    pnl = pd.DataFrame([{"client_id": "x", "margin": 300.0, "margin_pct": 0.30, "revenue": 1000.0}])
    seg = assign_segments(tox, pnl, params()).set_index("client_id")
    assert seg.at["x", "segment"] == segment
    assert (seg.at["x", "action"] == "Grow and protect") is (segment == "core")


def test_segment_summary_adds_up():
    tox, pnl = tables()
    seg = assign_segments(tox, pnl, params())
    summary = segment_summary(seg).set_index("segment")
    assert summary["clients"].sum() == len(seg)
    assert summary.at["stale_communicator", "clients"] == 2
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


def history() -> pd.DataFrame:
    rows = [("A", "2024Q1", "core"), ("B", "2024Q1", "core"), ("C", "2024Q1", "difficult"),
            ("D", "2024Q1", "costly"),
            ("A", "2024Q2", "core"), ("B", "2024Q2", "difficult"), ("C", "2024Q2", "core"),
            ("E", "2024Q2", "core")]
    return pd.DataFrame([{"client_id": c, "client_name": f"{c} Ltd", "quarter": q, "segment": s,
                          "score": 1.0, "margin_pct": 0.2, "revenue": {"A": 5, "B": 4, "C": 3,
                                                                       "D": 2, "E": 1}[c]}
                         for c, q, s in rows])


def test_migration_matrix_counts():
    m = migration_matrix(history(), "2024Q1", "2024Q2")
    assert m.loc["Core", "Core"] == 1
    assert m.loc["Core", "Profitable but difficult"] == 1
    assert m.loc["Profitable but difficult", "Core"] == 1
    assert m.loc["Costly to serve", "No longer in the panel"] == 1
    assert m.loc["New client", "Core"] == 1
    assert m.to_numpy().sum() == 5
    assert m.index.name == "from Q1 2024" and m.columns.name == "to Q2 2024"
    ru = migration_matrix(history(), "2024Q1", "2024Q2", lang="ru")
    assert ru.loc["Ядро", "Ядро"] == 1
    with pytest.raises(ValueError):
        migration_matrix(history(), "2024Q2", "2024Q1")


def test_segment_moves_list():
    moves = segment_moves(history(), "2024Q1", "2024Q2").set_index("client_id")
    assert list(moves.index) == ["B", "C", "D", "E"]  # A stayed; largest revenue first
    assert moves.at["B", "direction"] == "worse" and moves.at["C", "direction"] == "better"
    assert moves.at["D", "to_segment"] == "gone" and moves.at["E", "from_segment"] == "new"
    assert moves.at["D", "to_label"] == "No longer in the panel"


def small_panel() -> pd.DataFrame:
    rows = []
    for k in range(4):
        base = {"quarter": quarter_label(Q0 + k), "quarter_index": Q0 + k, "is_active": True,
                "hours": 100.0, "billable_hours": 90.0, "cost_presale": 0.0,
                "invoices_due": 1, "days_late_mean": 0.0, "communicator_tenure_quarters": k + 1,
                "communicator_role": "account_manager"}
        rows.append({**base, "client_id": "Y", "client_name": "Y $Inc", "revenue": 1000.0,
                     "delivery_cost": 500.0, "exited": False, "exit_reason": None})
        if k <= 2:
            rows.append({**base, "client_id": "X", "client_name": "X", "revenue": 1000.0,
                         "delivery_cost": 1000.0, "exited": k == 2,
                         "exit_reason": "insourcing" if k == 2 else None})
    return pd.DataFrame(rows)


def test_segment_history_reads_the_stages_scores_and_pnl():
    pn = small_panel()
    p = params()
    scores = toxicity_scores(pn, p)
    quarters = pnl_stage.client_quarter_pnl(pn, p.overhead_rate, overhead_base=p.overhead_base, period_end="2024Q4")
    trailing = pnl_stage.trailing_pnl(quarters, window=2).set_index(["client_id", "quarter"])
    # Y over two quarters: 2000 - 1000 * 1.1 = 900
    assert trailing.at[("Y", "2024Q2"), "margin"] == pytest.approx(900.0)
    assert trailing.at[("Y", "2024Q2"), "margin_pct"] == pytest.approx(0.45)
    by_quarter = pnl_stage.trailing_pnl(quarters, window=p.toxicity.window_quarters)
    h = segment_history(pn, scores, by_quarter, p).set_index(["client_id", "quarter"])
    assert h.at[("Y", "2024Q4"), "segment"] == "core"
    assert h.at[("X", "2024Q1"), "segment"] == "costly"  # margin -10% after overhead
    assert h.at[("X", "2024Q3"), "segment"] == "healthy_exit"
    assert (h["margin"].dropna() == by_quarter.set_index(["client_id", "quarter"])["margin"]
            .reindex(h.index).dropna()).all()  # the P&L stage's margin, not a second formula
    m = migration_matrix(h.reset_index(), "2024Q3", "2024Q4")
    assert m.loc["Healthy exit (in-sourcing)", "No longer in the panel"] == 1
    given = pd.DataFrame({"client_id": ["Y"] * 4, "quarter": [quarter_label(Q0 + k) for k in range(4)],
                          "margin": [-1.0] * 4, "margin_pct": [-0.5] * 4, "revenue": [1.0] * 4})
    h2 = segment_history(pn, scores, given, p).set_index(["client_id", "quarter"])
    assert h2.at[("Y", "2024Q4"), "segment"] == "costly"
    assert h2.at[("X", "2024Q1"), "segment"] == "no_pnl"


def test_every_segment_has_words_in_both_languages():
    for s in SEGMENT_BY_KEY.values():
        assert s.label("en") and s.label("ru") and s.action("en") and s.action("ru")
        assert s.detail("en") and s.detail("ru")


# --------------------------------------------------------------------------- charts
def _texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text()]


def _check_names_are_literal(fig, name: str) -> None:
    with matplotlib.rc_context({"text.parse_math": True}):
        fig.savefig(io.BytesIO(), format="png")  # mathtext would choke on an odd "$"
    texts = _texts(fig)
    assert any(name in t.get_text() for t in texts)
    for t in texts:
        if "$" in t.get_text():
            assert t.get_parse_math() is False, t.get_text()


def test_segment_map_names_only_a_few_and_prints_dollars():
    tox, pnl = tables()
    seg = assign_segments(tox, pnl, params())
    fig = plot_segment_map(seg, params(), label_top=3)
    _check_names_are_literal(fig, "difficult $Corp")
    ax = fig.axes[0]
    assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) == 3
    fig = plot_segment_map(seg, params(), lang="ru", include_endings=True)
    assert any("Прибыльность" in t.get_text() for t in _texts(fig))


def test_segment_map_at_ten_thousand_clients():
    rng = np.random.default_rng(0)
    n = 10_000
    keys = ["core", "difficult", "costly", "toxic_unprofitable"]
    seg = pd.DataFrame({"client_id": np.arange(n), "client_name": [f"$C{i}" for i in range(n)],
                        "segment": rng.choice(keys, n), "margin_pct": rng.normal(0.2, 0.5, n),
                        "score": rng.uniform(0, 100, n), "revenue": rng.lognormal(10, 1, n)})
    fig = plot_segment_map(seg, params(), label_top=8)
    ax = fig.axes[0]
    assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) == 8
    fig.savefig(io.BytesIO(), format="png")


def test_marker_heatmap_top_n_and_migration_chart():
    pn = small_panel()
    cur = current_toxicity(pn, params())
    fig = plot_marker_heatmap(cur, top_n=1)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 1
    fig = plot_marker_heatmap(cur, top_n=30, value="points", lang="ru")
    _check_names_are_literal(fig, "Y $Inc")
    fig = plot_migration_matrix(migration_matrix(history(), "2024Q1", "2024Q2"))
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "New client" in ticks and "Left" not in ticks  # empty rows dropped
    fig.savefig(io.BytesIO(), format="png")


def test_a_margin_not_measured_is_no_pnl_with_its_reason_and_the_score_its_basis():
    tox = pd.DataFrame([{"client_id": "A", "client_name": "A", "score": 40.0, "n_measured": 3, "n_markers": 18,
                         "exited": False, "quarters_inactive": 0}])
    money = pd.DataFrame([{"client_id": "A", "margin": np.nan, "margin_pct": np.nan, "revenue": 5000.0,
                           "margin_note": "cost not measured: 10 of 10 hours have no cost amount or rate"}])
    placed = assign_segments(tox, money, params()).iloc[0]
    assert placed.segment == "no_pnl" and placed.profitable is None
    assert placed.why == ("cost not measured: 10 of 10 hours have no cost amount or rate; "
                          "toxicity 40 of 100 (3 of 18 markers)")
    ru = assign_segments(tox, money.assign(margin_note="себестоимость не измеряется"), params(), lang="ru").iloc[0]
    assert ru.why.endswith("(3 из 18 маркеров)")
