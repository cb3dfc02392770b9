"""Quarters and dates inside sentences read as the page's language writes them ("III кв. 2026",
"06.12.2026"), while the stored columns later code parses keep their codes (2026Q3)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from bs4 import BeautifulSoup

from clientlens.analysis import segments as seg
from clientlens.analysis import spiral as sp
from clientlens.analysis.early_warning import early_warnings
from clientlens.analysis.forecast import NoBacktest
from clientlens.i18n import N_
from clientlens.parameters import load
from clientlens.publishing.publish import Lineage, commit_label, lineage_html, moment_label, render_index

CODE = re.compile(r"\b\d{4}Q[1-4]\b")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
BASE = 2025 * 4  # 2025Q1


def warned_panel() -> pd.DataFrame:
    """One client whose requests stop in 2026Q3 (index 6) and whose payments slow from 2026Q2."""
    return pd.DataFrame([
        {"client_id": "A", "client_name": "Alpha", "quarter": sp.quarter_label(BASE + k), "quarter_index": BASE + k,
         "is_active": True, "revenue": 1000.0, "billable_hours": 100.0, "requests_total": 10 if k < 6 else 0,
         "invoices_due": 1, "days_late_mean": 30.0 if k >= 5 else 0.0, "nps_mean": np.nan, "csat_mean": np.nan,
         "client_contact_changed": False, "exited": False, "exit_reason": None}
        for k in range(7)])


def test_an_early_warning_reason_names_its_quarter_in_russian():
    # the panel is drawn for a two-quarter recent window, whatever the config's default
    params = load(overrides=["EARLY_WARNING__RECENT_QUARTERS=2"])
    ru = early_warnings(warned_panel(), "2026Q3", params, lang="ru")
    assert len(ru) == 1
    reasons = ru.at[0, "reasons"]
    assert "(с III кв. 2026)" in reasons and "(с II кв. 2026)" in reasons
    assert not CODE.search(reasons)
    assert ru.at[0, "falling_requests_since"] == "2026Q3"  # the stored quarter is still the code
    en = early_warnings(warned_panel(), "2026Q3", params, lang="en")
    assert "(since Q3 2026)" in en.at[0, "reasons"] and not CODE.search(en.at[0, "reasons"])


def _row(i: int, phase: str) -> dict:
    r = {"client_id": "a", "client_name": "A", "quarter": sp.quarter_label(BASE + i), "quarter_index": BASE + i,
         "hours": 10.0, "billable_value": 100.0, "revenue": 100.0, "exited": False, "exit_reason": None,
         **{f"value_{p}": 0.0 for p in ("feature", "ux", "stability", "support", "other")}}
    r[f"value_{phase}"] = 100.0
    return r


def test_a_spiral_mistakes_evidence_names_its_quarters_in_russian():
    panel = pd.DataFrame([_row(i, p) for i, p in enumerate(["feature", "feature", "stability", "support"])])
    thresholds = dict(communicator_max_quarters=8, unplanned_min=3, unplanned_share=0.5, early_free_min=2,
                      followup_min=3, mix_min_quarters=0, churn_after_quarters=2)
    ru = sp.mistake_events(panel, **thresholds, lang="ru")
    assert list(ru["mistake"]) == ["feature_without_ux"]
    evidence = ru.at[0, "evidence"]
    assert "I кв. 2025–II кв. 2025" in evidence and "с III кв. 2025" in evidence
    assert not CODE.search(evidence)
    assert ru.at[0, "quarters"] == "2025Q1–2025Q3"  # read back by mistakes_by_client as codes
    by_client = sp.mistakes_by_client(panel, ru, lang="ru").set_index("mistake")
    assert by_client.at["feature_without_ux", "quarters"] == "2025Q1–2025Q3"
    assert not CODE.search(by_client.at["feature_without_ux", "evidence"])
    en = sp.mistake_events(panel, **thresholds, lang="en")
    assert en.at[0, "evidence"].startswith("Functionality in Q1 2025–Q2 2025 ")


def test_quarter_ranges_in_words_and_in_codes():
    assert sp.quarter_ranges([BASE, BASE + 1, BASE + 2, BASE + 5], "ru") == "I кв. 2025–III кв. 2025, II кв. 2026"
    assert sp.quarter_ranges([BASE, BASE + 2], "en") == "Q1 2025, Q3 2025"
    assert sp.quarter_ranges([BASE, BASE + 1]) == "2025Q1–2025Q2"


def test_no_backtest_names_its_quarter_in_the_readers_language():
    why = NoBacktest(N_("there is no history up to {quarter}, where the check would start"), quarter="2026Q3")
    assert "III кв. 2026" in why.text("ru") and "Q3 2026" in why.text("en")
    assert "2026Q3" in str(why)


def test_the_migration_matrix_names_its_quarters():
    history = pd.DataFrame({"client_id": ["a", "a"], "client_name": ["A", "A"], "quarter": ["2026Q2", "2026Q3"],
                            "quarter_index": [8105, 8106], "segment": ["core", "core"]})
    m = seg.migration_matrix(history, "2026Q2", "2026Q3", lang="ru")
    assert "II кв. 2026" in m.index.name and "III кв. 2026" in m.columns.name


LINEAGE = Lineage(data_as_of="2026-09-30", period_end="2026Q3", params={}, git_commit="unknown (not a git checkout)",
                  built_at="2026-12-06 13:30 UTC")


def test_the_lineage_in_russian_writes_russian_dates_and_words():
    footer = BeautifulSoup(lineage_html(LINEAGE, "ru"), "html.parser").get_text(" ")
    assert "06.12.2026 13:30 UTC" in footer and "30.09.2026" in footer and "III кв. 2026" in footer
    assert "неизвестна (не git-репозиторий)" in footer
    assert not CODE.search(footer) and not ISO_DAY.search(footer) and "not a git checkout" not in footer
    english = BeautifulSoup(lineage_html(LINEAGE, "en"), "html.parser").get_text(" ")
    assert "6 Dec 2026 13:30 UTC" in english and "30 Sep 2026" in english and "Q3 2026" in english


def test_the_index_says_when_it_was_built_in_the_readers_language():
    page = render_index([], LINEAGE, "ru")
    note = BeautifulSoup(page, "html.parser").select_one("main > p.cl-note").get_text(" ")
    assert "06.12.2026 13:30 UTC" in note and "30.09.2026" in note


def test_commit_and_moment_labels():
    assert commit_label("abc123 +changes", "ru") == "abc123 с незакоммиченными изменениями"
    assert commit_label("abc123", "ru") == "abc123"
    assert moment_label(None, "ru") == "неизвестно"
    assert moment_label("now", "en") == "now"
