"""The quarterly spiral on panels small enough to check by hand: phases, states, turns, mistakes."""
from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

from clientlens.analysis import spiral as sp
from clientlens.parameters import load

matplotlib.use("Agg")

PARAMS = load()
BASE = 2024 * 4  # 2024Q1
# The thresholds the hand-made panels below are built around.
THRESHOLDS = dict(communicator_max_quarters=8, unplanned_min=3, unplanned_share=0.5, early_free_min=2,
                  followup_min=3, mix_min_quarters=3, churn_after_quarters=2)
CHURN_AFTER = THRESHOLDS["churn_after_quarters"]


def Q(i: int) -> str:
    return sp.quarter_label(BASE + i)


def row(cid: str, i: int, phase: str | None = None, value: float = 100.0, **extra) -> dict:
    """A panel row: `value` billed as `phase` work in quarter 2024Q1 + i (no work when phase is None)."""
    r = {"client_id": cid, "client_name": cid.upper(), "quarter": Q(i), "quarter_index": BASE + i,
         "hours": 10.0 if phase else 0.0, "billable_value": value if phase else 0.0,
         "revenue": value if phase else 0.0, "exited": False, "exit_reason": None,
         "value_feature": 0.0, "value_ux": 0.0, "value_stability": 0.0, "value_support": 0.0,
         "value_other": 0.0}
    if phase:
        r[f"value_{phase}"] = value
    r.update(extra)
    return r


def seq(cid: str, phases: list, start: int = 0, **extra) -> list[dict]:
    return [row(cid, start + k, p, **extra) for k, p in enumerate(phases)]


# --- phases -------------------------------------------------------------------------------

def test_phase_split_by_hand():
    panel = pd.DataFrame([
        row("a", 0, value_feature=60.0, value_ux=30.0, value_other=10.0, revenue=200.0),
        row("a", 1, revenue=50.0),  # an invoice for earlier work, no billable value this quarter
        row("a", 2, value_stability=40.0, value_support=40.0, revenue=80.0),  # tie: earlier phase
    ])
    s = sp.phase_split(panel)
    r0 = s.iloc[0]
    assert r0.phase == "feature"
    assert r0.share_feature == pytest.approx(0.6) and r0.share_ux == pytest.approx(0.3)
    assert r0.share_other == pytest.approx(0.1)
    assert r0.revenue_feature == pytest.approx(120) and r0.revenue_ux == pytest.approx(60)
    assert r0.revenue_other == pytest.approx(20) and r0.revenue_unassigned == 0
    assert r0.phase_share == pytest.approx(60 / 90)
    r1 = s.iloc[1]
    assert pd.isna(r1.phase) and r1.revenue_unassigned == pytest.approx(50)
    assert r1.revenue_feature == 0
    assert s.iloc[2].phase == "stability"
    # the split is a split: phase revenues add up to revenue
    parts = s[[f"revenue_{p}" for p in sp.PHASES + ("other", "unassigned")]].sum(axis=1)
    assert np.allclose(parts, s["revenue"])
    mix = sp.phase_revenue_by_quarter(s)
    assert mix.loc[(mix.quarter == Q(0)) & (mix.phase == "feature"), "revenue"].item() == pytest.approx(120)


def test_client_states_churn_and_dormant_rules():
    F, U, S = "feature", "ux", "stability"
    rows = (seq("a", [F, U, S]) + seq("b", [F, U, None, None, None]) + seq("c", [F, U, S, F, None])
            + seq("d", [F, None, U, S, F]) + seq("e", [F, U, S, F, U]) + seq("f", [F, U, S, None]))
    panel = pd.DataFrame(rows)
    panel.loc[(panel.client_id == "a") & (panel.quarter == Q(2)), "exited"] = True  # exit with work
    panel.loc[(panel.client_id == "e") & (panel.quarter == Q(4)), "exited"] = True  # exit in the last quarter
    panel.loc[(panel.client_id == "f") & (panel.quarter == Q(3)), "exited"] = True  # exit after silence
    st = sp.client_states(panel, churn_after_quarters=CHURN_AFTER)
    by = {c: list(g.sort_values("quarter_index")["state"]) for c, g in st.groupby("client_id")}
    assert by["a"] == [F, U, S, "churned", "churned"]          # rows after the exit are added
    assert list(st[st.client_id == "a"]["synthetic"]) == [False, False, False, True, True]
    assert by["b"] == [F, U, "churned", "churned", "churned"]  # 3 silent quarters >= 2: churned
    assert by["c"] == [F, U, S, F, "dormant"]                  # 1 silent quarter: too early to tell
    assert by["d"] == [F, "dormant", U, S, F]                  # a gap is dormant
    assert by["e"] == [F, U, S, F, U]
    assert by["f"] == [F, U, S, "churned", "churned"]
    assert st["left_censored"].all()
    pairs = sp.phase_transitions(st)
    e = pairs[pairs.client_id == "e"]
    assert list(e.to_state)[-1] == "churned" and e.from_state.iloc[-1] == U  # exit after the last row
    a = pairs[pairs.client_id == "a"]
    assert list(zip(a.from_state, a.to_state)) == [(F, U), (U, S), (S, "churned")]
    assert len(pairs[pairs.client_id == "c"]) == 4  # into dormant counts; nothing out of churned
    # a shorter churn rule turns c's last quarter into churn
    st1 = sp.client_states(panel, churn_after_quarters=1)
    assert list(st1[st1.client_id == "c"]["state"])[-1] == "churned"
    # period end in the past cuts the rows
    st2 = sp.client_states(panel, period_end=Q(2), churn_after_quarters=CHURN_AFTER)
    assert st2["quarter_index"].max() == BASE + 2
    assert list(st2[st2.client_id == "b"]["state"]) == [F, U, "dormant"]


def test_turns_and_positions_by_hand():
    F, U, S, P = "feature", "ux", "stability", "support"
    rows = (seq("full", [F, U, S, P, F, U]) + seq("slow", [F, F, U, None, S, P, P, F])
            + seq("skip", [F, S, P, F]) + seq("mid", [U, S, P, F, U, S, P, F]))
    pos = sp.spiral_positions(sp.client_states(pd.DataFrame(rows), churn_after_quarters=9))
    get = lambda c, col: list(pos[pos.client_id == c][col])  # noqa: E731
    # every client runs to the period end (2025Q4); full's last two quarters are dormant
    assert get("full", "state")[-2:] == ["dormant", "dormant"]
    assert get("full", "turns_completed") == [0, 0, 0, 0, 1, 1, 1, 1]
    assert get("full", "spiral_position") == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.5, 1.5]
    assert get("full", "turn") == [1, 1, 1, 1, 2, 2, 2, 2]
    # several quarters in a phase and a dormant quarter do not break the turn
    assert get("slow", "turns_completed")[-1] == 1
    assert get("slow", "spiral_position")[3] == 0.5  # dormant keeps the ux position
    assert get("slow", "current_phase")[3] == U
    assert get("slow", "quarters_in_state")[:2] == [1, 2]
    # skipping UX: no turn counted when functionality comes back
    assert get("skip", "turns_completed")[:4] == [0, 0, 0, 0]
    assert get("skip", "turn_in_order")[:4] == [True, False, False, True]
    # first seen mid-spiral when the data starts: the earlier phases of that turn are taken as done
    assert get("mid", "turns_completed") == [0, 0, 0, 1, 1, 1, 1, 2]
    assert get("mid", "spiral_position") == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25]
    # ... but a new client that starts mid-spiral has not done them
    late = sp.spiral_positions(sp.client_states(pd.DataFrame(seq("new", [U, S, P, F], start=1)
                                                             + seq("old", [F])), churn_after_quarters=CHURN_AFTER))
    assert list(late[late.client_id == "new"]["turns_completed"]) == [0, 0, 0, 0]
    cp = sp.client_positions(pos).set_index("client_id")
    assert cp.loc["full", "turns_completed"] == 1 and cp.loc["full", "current_phase"] == U
    assert cp.loc["full", "spiral_position"] == 1.5 and cp.loc["full", "quarters_observed"] == 8
    assert cp.loc["full", "state"] == "dormant" and cp.loc["full", "quarters_in_state"] == 2
    assert cp.loc["slow", "last_work_quarter"] == Q(7)


def test_phase_flow_counts():
    F, U, S = "feature", "ux", "stability"
    panel = pd.DataFrame(seq("a", [F, U, S]) + seq("b", [F, U, U]) + seq("c", [F, F, U]))
    states = sp.client_states(panel, churn_after_quarters=CHURN_AFTER)
    flow = sp.phase_flow(states).set_index(["from_state", "to_state"])
    assert flow.loc[(F, U), "count"] == 3 and flow.loc[(F, F), "count"] == 1
    assert flow.loc[(F, U), "share"] == pytest.approx(0.75)
    assert flow.loc[(U, S), "count"] == 1 and flow.loc[(U, U), "count"] == 1


# --- mistakes -------------------------------------------------------------------------------

def _events(panel, **kw):
    ev = sp.mistake_events(panel, **{**THRESHOLDS, **kw})
    return ev, sp.mistakes_by_client(panel, ev)


def test_sequence_mistakes_by_hand():
    F, U, S, P = "feature", "ux", "stability", "support"
    rows = (seq("noux", [F, S, P, F, U, S]) + seq("pause", [F, None, F, U, S, P])
            + seq("nostab", [F, U, F, U, P, P]) + seq("uxnof", [F, U, S, P, U, S])
            + seq("uxfirst", [U, S, P, P, P], start=1) + seq("good", [F, U, S, P, F, U]))
    panel = pd.DataFrame(rows)
    ev, bc = _events(panel, mix_min_quarters=0)  # the sequence rules alone
    got = {(r.client_id, r.mistake, r.quarter) for r in ev.itertuples()}
    assert got == {
        ("noux", "feature_without_ux", Q(1)),       # functionality, then stability: UX skipped
        ("pause", "feature_without_ux", Q(2)),      # functionality, a pause, new functionality
        ("nostab", "no_stabilisation", Q(2)), ("nostab", "no_stabilisation", Q(4)),  # UX -> F, UX -> P
        ("uxnof", "ux_without_feature", Q(4)),      # support, then UX
        ("uxfirst", "ux_without_feature", Q(1)),    # a new client starting with UX
    }
    e = ev[ev.client_id == "noux"].iloc[0]
    assert e.quarters == f"{Q(0)}–{Q(1)}"
    assert "then stability from Q2 2024 without a UX phase" in e.evidence
    assert e.metric == "ux_value" and e.value == 0
    assert "a pause" in ev[ev.client_id == "pause"].iloc[0].evidence
    assert "came after support (Q4 2024)" in ev[ev.client_id == "uxnof"].iloc[0].evidence
    n = ev[ev.client_id == "nostab"]
    assert n.iloc[0].evidence.startswith("Functionality in Q1 2024 and UX in Q2 2024, then functionality")
    assert n.iloc[0].quarters == f"{Q(0)}–{Q(2)}"
    status = bc.set_index(["client_id", "mistake"])["status"]
    assert status[("good", "feature_without_ux")] == "clear"
    assert (bc[bc.client_id == "good"]["status"].isin(["clear", "not_measured"])).all()
    assert status[("nostab", "no_stabilisation")] == "detected"
    assert bc.set_index(["client_id", "mistake"]).loc[("nostab", "no_stabilisation"), "n_events"] == 2
    # the requests, deliverables and contacts tables were not supplied: not measured, never clear
    for m in ("agree_to_every_wish", "team_growth_unplanned", "early_free_delivery",
              "support_without_followup", "communicator_not_rotated", "technical_communicator"):
        assert (bc[bc.mistake == m]["status"] == "not_measured").all(), m
        assert bc[bc.mistake == m]["detected"].isna().all()


def test_leaving_after_a_phase_with_the_next_kind_of_work_never_done():
    F, U = "feature", "ux"
    panel = pd.DataFrame(seq("a", [F, F, None, None]) + seq("b", [F, U, None, None]) + seq("c", [F, U])
                         + seq("d", [F, U, None, None]) + seq("e", [F, F, F, F]))
    panel.loc[(panel.client_id == "c") & (panel.quarter == Q(1)), "exited"] = True  # exit in a quarter with work
    panel.loc[(panel.client_id == "d") & (panel.quarter == Q(0)), "value_stability"] = 10.0  # some stability work
    ev, _ = _events(panel, mix_min_quarters=0)
    got = {(r.client_id, r.mistake, r.quarter) for r in ev.itertuples()}
    assert got == {("a", "feature_without_ux", Q(2)), ("b", "no_stabilisation", Q(2)),
                   ("c", "no_stabilisation", Q(2))}
    assert "then the client left in Q3 2024, with no UX work at all" in ev[ev.client_id == "a"].iloc[0].evidence


def test_work_mix_rules_by_hand():
    def mixrow(cid, i, **values):
        r = row(cid, i, "feature", 0.0)
        r.update(values)
        r["billable_value"] = r["revenue"] = sum(values.values())
        return r

    rows = []
    for i in range(4):
        rows.append(mixrow("fnoux", i, value_feature=80.0, value_stability=10.0, value_support=10.0))
        rows.append(mixrow("uxnof", i, value_ux=70.0, value_stability=20.0, value_support=10.0))
        rows.append(mixrow("nostab", i, value_feature=60.0, value_ux=30.0, value_support=10.0))
        rows.append(mixrow("mixed", i, value_feature=60.0, value_ux=20.0, value_stability=10.0,
                           value_support=10.0))
    rows += [mixrow("short", i, value_feature=80.0, value_support=20.0) for i in range(2)]
    panel = pd.DataFrame(rows)
    ev, _ = _events(panel)
    mix = ev[ev.metric.isin(["ux_share", "feature_share", "stability_share"])]
    got = {(r.client_id, r.mistake, r.quarter) for r in mix.itertuples()}
    assert got == {("fnoux", "feature_without_ux", Q(2)), ("uxnof", "ux_without_feature", Q(2)),
                   ("nostab", "no_stabilisation", Q(2))}  # cited once three quarters show it
    e = mix[mix.client_id == "nostab"].iloc[0]
    assert e.quarters == f"{Q(0)}–{Q(3)}"
    assert "no stability work at all (stability value 0)" in e.evidence
    assert "(4 quarters)" in e.evidence
    # shorter than mix_min_quarters: not (yet) a pattern
    assert "short" not in set(mix.client_id)
    ev1, _ = _events(panel, mix_min_quarters=2)
    assert ("short", "feature_without_ux") in set(zip(ev1.client_id, ev1.mistake))


def test_left_censored_ux_start():
    """The data starts with UX work: flagged only when that UX came with no functionality at all."""
    panel = pd.DataFrame(seq("x", ["ux", "stability"]) + seq("y", ["ux", "stability"]) + seq("z", ["feature", "ux"]))
    panel.loc[(panel.client_id == "y") & (panel.quarter == Q(0)), "value_feature"] = 20.0
    ev, _ = _events(panel, mix_min_quarters=0)
    assert set(zip(ev.client_id, ev.mistake)) == {("x", "ux_without_feature")}
    assert "the data starts in Q1 2024" in ev.iloc[0].evidence


def test_count_mistakes_by_hand():
    F = "feature"
    base = dict(unplanned_accepted=0, change_requests=2, people_count=3, early_free_deliveries=0,
                support_requests=1, support_without_followup=0, communicator_tenure_quarters=1,
                our_communicator="Ann", communicator_role="account_manager")
    rows = []
    for cid in ("wish", "team", "grow", "early", "early1", "sup", "rot", "tech", "calm"):
        for i in range(10):
            rows.append(row(cid, i, F, **base))
    panel = pd.DataFrame(rows)
    at = lambda c, i: (panel.client_id == c) & (panel.quarter_index == BASE + i)  # noqa: E731
    panel.loc[at("wish", 4) | at("wish", 5), ["unplanned_accepted", "change_requests"]] = [6, 6]
    panel.loc[at("team", 5), ["unplanned_accepted", "change_requests", "people_count"]] = [6, 6, 7]
    panel.loc[at("grow", 5), "people_count"] = 8  # a bigger team, but no unplanned work: not this mistake
    panel.loc[at("early", 2) | at("early", 6), "early_free_deliveries"] = 1
    panel.loc[at("early1", 3), "early_free_deliveries"] = 1  # once is not the mistake
    panel.loc[at("sup", 2) | at("sup", 3) | at("sup", 4), "support_without_followup"] = 1
    panel.loc[panel.client_id == "rot", "communicator_tenure_quarters"] = np.arange(1, 11)
    panel.loc[at("tech", 6) | at("tech", 7), "communicator_role"] = "technical"
    panel.loc[at("tech", 6) | at("tech", 7), "our_communicator"] = "Bob $dev"
    ev, bc = _events(panel, mix_min_quarters=0)  # every quarter here is pure feature work
    got = {(r.client_id, r.mistake, r.quarter) for r in ev.itertuples()}
    assert got == {
        # over 2024Q2-2025Q1: 6 of 2+2+2+6 = 12 change requests unplanned and accepted (50%),
        # far above the portfolio's 18 / 192 by chance; then 12 of 16
        ("wish", "agree_to_every_wish", Q(4)), ("wish", "agree_to_every_wish", Q(5)),
        ("team", "agree_to_every_wish", Q(5)), ("team", "team_growth_unplanned", Q(5)),
        ("early", "early_free_delivery", Q(6)),
        ("sup", "support_without_followup", Q(4)),  # 3 of the 4 support requests of 2024Q2-2025Q1
        ("rot", "communicator_not_rotated", Q(8)),
        ("tech", "technical_communicator", Q(6)),
    }
    e = ev.set_index(["client_id", "mistake", "quarter"])
    assert "6 of 12 change requests were unplanned and accepted (portfolio: 9%)" in \
        e.loc[("wish", "agree_to_every_wish", Q(4)), "evidence"]
    assert e.loc[("team", "team_growth_unplanned", Q(5)), "evidence"].startswith(
        "In Q2 2025 the team grew from 3 to 7 people, while 6 of 16 change requests since Q1 2024")
    e = ev.set_index(["client_id", "mistake"])
    assert e.loc[("early", "early_free_delivery"), "quarters"] == f"{Q(2)}, {Q(6)}"
    assert e.loc[("early", "early_free_delivery"), "value"] == 2
    assert e.loc[("sup", "support_without_followup"), "value"] == 3
    assert "(3 of 4 over Q2 2024–Q1 2025)" in e.loc[("sup", "support_without_followup"), "evidence"]
    assert e.loc[("rot", "communicator_not_rotated"), "quarters"] == f"{Q(8)}–{Q(9)}"
    assert e.loc[("rot", "communicator_not_rotated"), "value"] == 10
    assert e.loc[("tech", "technical_communicator"), "quarters"] == f"{Q(6)}–{Q(7)}"
    assert "Bob $dev (technical)" in e.loc[("tech", "technical_communicator"), "evidence"]
    st = bc.set_index(["client_id", "mistake"])["status"]
    assert st[("calm", "agree_to_every_wish")] == "clear" and st[("early1", "early_free_delivery")] == "clear"
    assert st[("grow", "team_growth_unplanned")] == "clear"
    assert (bc[bc.client_id == "calm"]["status"] == "clear").all()
    counts = sp.mistake_counts(bc).set_index("mistake")
    assert list(counts.index) == list(sp.MISTAKES)
    assert counts.loc["agree_to_every_wish", "clients_detected"] == 2
    assert counts.loc["agree_to_every_wish", "clients_measured"] == 9
    assert counts.loc["agree_to_every_wish", "share_detected"] == pytest.approx(2 / 9)
    assert counts.loc["agree_to_every_wish", "events"] == 3


def test_agreeing_is_judged_against_the_portfolio_share():
    """The same 50% share is the mistake in a firm where unplanned work is rare, not where it is usual."""
    rows = []
    for cid in ("x", "a", "b", "c", "d", "e", "f"):
        rows += [row(cid, i, "feature", unplanned_accepted=2, change_requests=3) for i in range(4)]
    usual = pd.DataFrame(rows)
    assert sp.mistake_events(usual, **{**THRESHOLDS, "mix_min_quarters": 0}).empty
    rare = usual.copy()
    rare.loc[rare.client_id != "x", "unplanned_accepted"] = 0
    ev = sp.mistake_events(rare, **{**THRESHOLDS, "mix_min_quarters": 0})
    assert set(zip(ev.client_id, ev.mistake)) == {("x", "agree_to_every_wish")}
    assert "(portfolio: 10%)" in ev.iloc[0].evidence  # 8 of 84 change requests


def test_not_measured_per_client():
    rows = seq("a", ["feature", "ux"], unplanned_accepted=0) + seq("b", ["feature", "ux"])
    panel = pd.DataFrame(rows)
    panel.loc[panel.client_id == "b", "unplanned_accepted"] = np.nan
    _, bc = _events(panel)
    st = bc.set_index(["client_id", "mistake"])["status"]
    assert st[("a", "agree_to_every_wish")] == "clear"
    assert st[("b", "agree_to_every_wish")] == "not_measured"
    assert st[("a", "team_growth_unplanned")] == "not_measured"  # people_count absent


def test_identifiers_and_labels():
    assert sp.MISTAKES == ("feature_without_ux", "ux_without_feature", "no_stabilisation",
                           "agree_to_every_wish", "team_growth_unplanned", "early_free_delivery",
                           "support_without_followup", "communicator_not_rotated", "technical_communicator")
    assert set(sp.MISTAKE_LABELS) == set(sp.MISTAKES) == set(sp.MISTAKE_COLUMNS)


def test_quarter_ranges():
    assert sp.quarter_ranges([BASE, BASE + 1, BASE + 2, BASE + 5]) == "2024Q1–2024Q3, 2025Q2"
    assert sp.quarter_ranges([]) == ""


# --- plots ----------------------------------------------------------------------------------

def test_spiral_plots_render_and_names_stay_literal():
    from matplotlib.figure import Figure

    from clientlens.analysis.markov import fit_chain
    from clientlens.publishing.plots import spiral_plots as plots

    F, U, S, P = "feature", "ux", "stability", "support"
    panel = pd.DataFrame(seq("a", [F, U, S, P, F, U]) + seq("b", [F, S, P, F, None, None])
                         + seq("c", [U, S, P]))
    panel.loc[panel.client_id == "a", "client_name"] = "$Corp $x$"
    st = sp.client_states(panel, churn_after_quarters=PARAMS.spiral.churn_after_quarters)
    pos = sp.spiral_positions(st)
    ev = sp.mistake_events(panel, st, **sp.mistake_thresholds(PARAMS))
    counts = sp.mistake_counts(sp.mistakes_by_client(panel, ev))
    figs = [plots.transition_heatmap(fit_chain(st, ci=PARAMS.spiral.transition_ci)),
            plots.phase_mix_chart(sp.phase_revenue_by_quarter(sp.phase_split(panel))),
            plots.mistakes_bar_chart(counts), plots.positions_chart(sp.client_positions(pos)),
            plots.client_spiral_chart(pos, "a")]
    with pytest.raises(ValueError, match="no intervals"):
        plots.transition_heatmap(fit_chain(st))
    for fig in figs:
        assert isinstance(fig, Figure)
        fig.savefig(io.BytesIO(), format="png")  # really renders: a mathtext error would raise
    title = figs[-1].axes[0]._left_title  # titles are drawn at the left
    assert title.get_text().startswith("$Corp $x$") and title.get_parse_math() is False


def test_charts_read_the_same_at_ten_thousand_clients():
    """Charts aggregate: big counts are printed with separators, nothing scales with the client count."""
    from clientlens.analysis.markov import fit_chain, simulate_panel
    from clientlens.publishing.plots import spiral_plots as plots

    P = np.array([[0.4, 0.57, 0, 0, 0.03], [0, 0.35, 0.62, 0, 0.03], [0, 0, 0.35, 0.62, 0.03],
                  [0.52, 0, 0, 0.45, 0.03], [0, 0, 0, 0, 1.0]])
    panel = simulate_panel(P, n_clients=10_000, n_quarters=6, seed=1, start_probs=[0.4, 0.2, 0.2, 0.2, 0])
    st = sp.client_states(panel, churn_after_quarters=PARAMS.spiral.churn_after_quarters)
    heat = plots.transition_heatmap(fit_chain(st, ci=PARAMS.spiral.transition_ci))
    texts = [t.get_text() for t in heat.axes[0].texts]
    assert any("n=" in t and "," in t for t in texts)  # thousands of moves, with separators
    counts = pd.DataFrame({"mistake": list(sp.MISTAKES), "label": [sp.MISTAKE_LABELS[m] for m in sp.MISTAKES],
                           "clients_detected": [1234, 5, 0, 300, 20, 4000, 7, 0, 90],
                           "clients_clear": [8766, 9995, 0, 9700, 9980, 6000, 9993, 0, 9910],
                           "clients_not_measured": [0, 0, 10_000, 0, 0, 0, 0, 10_000, 0]})
    counts["clients_measured"] = counts.clients_detected + counts.clients_clear
    counts["share_detected"] = counts.clients_detected / counts.clients_measured.where(counts.clients_measured > 0)
    counts["events"] = counts.clients_detected
    bar = plots.mistakes_bar_chart(counts)
    labels = [t.get_text() for t in bar.axes[0].texts]
    assert "1,234 of 10,000 measured clients (12%)" in labels
    assert "5 of 10,000 measured clients (0.1%)" in labels
    assert labels.count("not measured") == 2
    pos = sp.client_positions(sp.spiral_positions(st))
    for fig in (heat, bar, plots.positions_chart(pos)):
        fig.savefig(io.BytesIO(), format="png")
        w, h = fig.get_size_inches()
        assert w <= 12 and h <= 8  # the same page size whatever the number of clients
