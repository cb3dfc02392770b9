"""The action list: one per client, most money at stake first, worded to be assigned."""
import pandas as pd

from clientlens.analysis.actions import segment_actions, spiral_actions, top_actions, warning_actions


def segments():
    return pd.DataFrame([
        # client, segment, revenue (last 4q), margin (last 4q), reasons, communicator, tenure, role
        ("A", "Acme", "core", 900.0, 300.0, "", "Ann", 3, "account_manager"),
        ("B", "Beta", "difficult", 500.0, 150.0, "pays 38 days late on average", "Bob", 2, "account_manager"),
        ("C", "Gamma", "toxic_unprofitable", 100.0, -260.0, "41% of requests after hours", "Cy", 2, "account_manager"),
        ("D", "Delta", "costly", 1000.0, 20.0, "", "Di", 2, "account_manager"),
        ("E", "Eps", "stale_communicator", 300.0, 90.0, "approvals take 47 days", "Max", 9, "account_manager"),
        ("F", "Phi", "left", 50.0, 5.0, "", "", 0, ""),
    ], columns=["client_id", "client_name", "segment", "revenue", "margin", "reasons", "our_communicator",
                "communicator_tenure_quarters", "communicator_role"]).assign(why="margin; toxicity")


def test_segment_actions_by_hand():
    acts = segment_actions(segments(), target_margin_pct=0.10).set_index("client_id")
    assert set(acts.index) == {"B", "C", "D", "E"}  # core and endings get no action
    assert acts.loc["B", "value"] == 500 and acts.loc["B", "action"] == "Renegotiate or reprice with Beta"
    assert acts.loc["C", "value"] == 260  # the loss avoided
    assert acts.loc["D", "value"] == 80  # 10% of 1000 minus the 20 it makes
    assert acts.loc["E", "evidence"].startswith("same communicator (Max) for 9 quarters")


def test_top_actions_keeps_the_most_valuable_per_client_in_order():
    warnings = pd.DataFrame({"client_id": ["B", "A"], "client_name": ["Beta", "Acme"],
                             "revenue_at_risk": [700.0, 900.0], "reasons": ["requests down 60%", "NPS down 3"]})
    mistakes = pd.DataFrame({"client_id": ["D", "D"], "client_name": ["Delta", "Delta"],
                             "status": ["detected", "detected"], "mistake": ["feature_without_ux", "early_free_delivery"],
                             "label": ["Functionality without UX", "Early for free"], "evidence": ["feature only", "x2"]})
    uplift = pd.Series({"feature_without_ux": 0.25, "early_free_delivery": 0.0})
    top = top_actions([segment_actions(segments(), 0.10), warning_actions(warnings),
                       spiral_actions(mistakes, pd.Series({"D": 1000.0}), uplift)], n=3)
    assert list(top["rank"]) == [1, 2, 3]
    # 1000 x min(1, 4 x 0.25) = 1000 (spiral), 900 (warning), 700 (warning beats reprice)
    assert list(top["client_id"]) == ["D", "A", "B"]
    assert top.loc[top.client_id == "B", "kind"].item() == "warning"
    assert top.client_id.is_unique


def test_russian_wording():
    acts = segment_actions(segments(), 0.10, lang="ru").set_index("client_id")
    assert acts.loc["C", "action"].startswith("Расстаться с Gamma")


def test_a_mistake_that_adds_no_churn_puts_nothing_at_stake():
    mistakes = pd.DataFrame({"client_id": ["D"], "client_name": ["Delta"], "status": ["detected"],
                             "mistake": ["early_free_delivery"], "label": ["Early for free"], "evidence": ["x2"]})
    acts = spiral_actions(mistakes, pd.Series({"D": 1000.0}), pd.Series({"early_free_delivery": 0.0}))
    assert acts.value.tolist() == [0.0]
    assert top_actions([acts]).empty
