"""One action per client, by a stated precedence, each with the concrete step and what is at
stake for that action, computed by hand here."""
import math

import pandas as pd
import pytest

from clientlens.analysis.actions import PRECEDENCE, choose, for_cards, proposals, top_actions


def segments():
    return pd.DataFrame([
        # client, segment, revenue (last 4q), margin (last 4q), reasons, communicator, tenure, role
        ("A", "Acme", "core", 900.0, 300.0, "", "Ann", 3, "account_manager"),
        ("B", "Beta", "difficult", 500.0, 150.0, "pays 38 days late on average", "Bob", 2, "account_manager"),
        ("C", "Gamma", "toxic_unprofitable", 100.0, -260.0, "41% of requests after hours", "Cy", 2, "account_manager"),
        ("D", "Delta", "costly", 1000.0, 20.0, "", "Di", 2, "account_manager"),
        ("E", "Eps", "stale_communicator", 300.0, 90.0, "approvals take 47 days", "Max", 9, "account_manager"),
        ("F", "Phi", "left", 50.0, 5.0, "", "", 0, ""),
        ("G", "Gim", "core", 400.0, 100.0, "", "Gus", 1, "account_manager"),
    ], columns=["client_id", "client_name", "segment", "revenue", "margin", "reasons", "our_communicator",
                "communicator_tenure_quarters", "communicator_role"]).assign(why="margin; toxicity")


WARNINGS = pd.DataFrame({"client_id": ["B", "A", "C", "F"], "client_name": ["Beta", "Acme", "Gamma", "Phi"],
                         "revenue_at_risk": [500.0, 900.0, 100.0, 50.0],
                         "reasons": ["requests down 60%", "NPS down 3", "orders down", "orders down"]})
MISTAKES = pd.DataFrame({
    "client_id": ["D", "D", "G", "B"], "client_name": ["Delta", "Delta", "Gim", "Beta"],
    "status": ["detected"] * 4,
    "mistake": ["early_free_delivery", "feature_without_ux", "no_stabilisation", "feature_without_ux"],
    "label": ["Early for free", "Functionality without UX", "No stabilisation", "Functionality without UX"],
    "evidence": ["x2", "feature only", "UX then support", "feature only"]})
UPLIFT = pd.Series({"feature_without_ux": 0.05, "early_free_delivery": 0.0, "no_stabilisation": 0.1,
                    "communicator_not_rotated": 0.02})


def chosen(warned_left_share=0.25, lang="en"):
    proposed = proposals(segments(), WARNINGS, MISTAKES, UPLIFT, target_margin_pct=0.10, reprice_increase=0.10,
                         warned_left_share=warned_left_share, lang=lang)
    return choose(proposed, lang)


def test_one_action_per_client_by_precedence():
    actions, ended = chosen()
    by = actions.set_index("client_id")
    assert actions["client_id"].is_unique
    # B is difficult, warned and has a spiral mistake: it may be leaving, so it is kept, not repriced
    assert by.loc["B", "kind"] == "warning" and "spiral mistake" in by.loc["B", "also"]
    assert "profitable but difficult" in by.loc["B", "also"]
    # C is toxic and unprofitable and warned: let go, not kept
    assert by.loc["C", "kind"] == "part"
    assert by.loc["A", "kind"] == "warning"  # a core client that may leave
    assert by.loc["D", "kind"] == "spiral"  # a spiral mistake before a cost cut
    assert by.loc["E", "kind"] == "rotate"
    # F left: its relationship has ended, it gets a closing step, never a ranked action
    assert "F" not in by.index and list(ended["client_id"]) == ["F"]
    assert list(PRECEDENCE[:2]) == ["part", "warning"]


def test_what_is_at_stake_is_computed_for_the_action():
    by = chosen()[0].set_index("client_id")
    assert by.loc["A", "value"] == pytest.approx(900 * 0.25)  # revenue x share of warned clients who left
    assert by.loc["C", "value"] == pytest.approx(260)  # the loss a parting avoids
    # the worst mistake (feature without UX adds 5% churn a quarter): 1000 x 4 x 0.05
    assert by.loc["D", "value"] == pytest.approx(200)
    assert by.loc["D", "action"] == "Offer UX work at Delta before the next functionality contract"
    assert by.loc["G", "value"] == pytest.approx(400 * 0.4)
    assert by.loc["E", "value"] == pytest.approx(300 * 4 * 0.02)
    assert "Max" in by.loc["E", "action"]


def test_a_reprice_is_worth_the_extra_price_not_the_whole_revenue():
    proposed = proposals(segments(), WARNINGS.iloc[0:0], None, None, target_margin_pct=0.10,
                         reprice_increase=0.10, warned_left_share=None)
    by = choose(proposed)[0].set_index("client_id")
    assert by.loc["B", "kind"] == "reprice" and by.loc["B", "value"] == pytest.approx(50)
    assert by.loc["D", "kind"] == "reduce" and by.loc["D", "value"] == pytest.approx(80)  # 10% of 1000 - 20


def test_retention_value_unknown_share_is_the_whole_revenue_said_so():
    by = chosen(warned_left_share=None)[0].set_index("client_id")
    assert by.loc["A", "value"] == 900
    assert "not known" in by.loc["A", "value_basis"]


def test_ranked_by_money_with_not_measured_last_and_top_ten_is_the_head():
    proposed = proposals(segments().assign(segment=lambda s: s.segment.where(s.client_id != "G", "no_pnl")),
                         WARNINGS, MISTAKES.iloc[:2], UPLIFT, target_margin_pct=0.10, reprice_increase=0.10,
                         warned_left_share=0.25)
    actions, _ended = choose(proposed)
    assert list(actions["rank"]) == list(range(1, len(actions) + 1))
    measured = actions["value"].notna()
    assert not measured.iloc[-1] and actions.iloc[-1]["client_id"] == "G"
    assert actions.loc[measured, "value"].is_monotonic_decreasing
    assert top_actions(actions, 3).equals(actions.head(3))


def test_for_cards_one_row_per_client_ended_marked():
    actions, ended = chosen()
    cards = for_cards(actions, ended)
    assert cards["client_id"].is_unique
    assert cards.set_index("client_id").loc["F", "ended"]
    assert math.isnan(cards.set_index("client_id").loc["F", "value"])


def test_nothing_proposed_gives_empty_tables():
    actions, ended = choose(proposals(segments().iloc[:1], None, None, None, target_margin_pct=0.1,
                                      reprice_increase=0.1, warned_left_share=None))
    assert actions.empty and ended.empty
    assert for_cards(actions, ended).empty


def test_russian_steps():
    by = chosen(lang="ru")[0].set_index("client_id")
    assert "Gamma" in by.loc["C", "action"] and by.loc["C", "action"] != (
        "Finish the commitments to Gamma, hand the work over and recommend another supplier")


def test_a_mistake_that_adds_no_churn_here_proposes_nothing():
    """At this firm, clients with the mistake leave no more often: no action, rather than one worth 0."""
    mistakes = pd.DataFrame({"client_id": ["A"], "client_name": ["Acme"], "status": ["detected"],
                             "mistake": ["early_free_delivery"], "label": ["Early for free"], "evidence": ["x2"]})
    proposed = proposals(segments().iloc[:1], None, mistakes, pd.Series({"early_free_delivery": 0.0}),
                         target_margin_pct=0.1, reprice_increase=0.1, warned_left_share=None)
    assert proposed.empty
    # not measured (no client without it to compare with) still proposes the step, its stake not measured
    proposed = proposals(segments().iloc[:1], None, mistakes, pd.Series(dtype=float),
                         target_margin_pct=0.1, reprice_increase=0.1, warned_left_share=None)
    assert len(proposed) == 1 and math.isnan(proposed["value"].iloc[0])


def test_spiral_evidence_is_the_worst_mistake_and_names_the_others():
    by = chosen()[0].set_index("client_id")
    assert by.loc["D", "evidence"] == "Functionality without UX: feature only; also: Early for free"
