"""Quarantine reasons on the ingest page in the report's language: every reason ingest can write."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from e2e_support import english_words

from clientlens.intake.contract import TABLES
from clientlens.intake.readers.rules import OVERFLOW_COLUMN, column_rules
from clientlens.publishing.reasons import in_language, quarantine_by_reason, reason_text


def every_rule_reason() -> set[str]:
    """The reasons of every single-cell and date-order rule, as the stage SQL carries them,
    and those of the reference and duplicate checks (ingest.py), filled with sample values."""
    reasons = set()
    for table in TABLES.values():
        for i, col in enumerate(table.columns):
            for _predicate, violation in column_rules(table, col, i * 10, dt.date(2026, 6, 30)):
                text = re.search(r"'w': '((?:[^']|'')*)'", violation).group(1)
                reasons.add(text.replace("''", "'"))
        reasons |= {f"{later} before {earlier}" for earlier, later in table.ordered_dates}
        for col in table.columns:
            if col.references:
                noun = col.references.split(".")[1].removesuffix("_id")
                reasons |= {f"unknown {noun} 'Acme Ltd'", f"unknown {noun}"}
        if table.key:
            key = "+".join(table.key)
            reasons |= {f"duplicate {key} also on row 12", f"duplicate {key} also on row 12 of old.csv",
                        f"duplicate {key}"}
    reasons.add("more fields than the header")
    return reasons


def test_every_reason_ingest_writes_reads_in_russian() -> None:
    names = {c.name.lstrip("_") for t in TABLES.values() for c in t.columns} | {OVERFLOW_COLUMN}
    names |= {v for t in TABLES.values() for c in t.columns for v in (c.values or ())}
    names |= {"Acme Ltd", "old.csv"}
    reasons = every_rule_reason()
    assert len(reasons) > 40  # the enumeration found the rules
    left = {r: reason_text(r, "ru") for r in reasons
            if reason_text(r, "ru") == r or english_words(reason_text(r, "ru"), names)}
    assert not left, left


def test_values_rows_and_files_survive_translation() -> None:
    assert reason_text("unknown client 'Gamma'", "ru") == "неизвестный клиент 'Gamma'"
    assert reason_text("duplicate entry_id also on row 7 of a.csv", "ru") == \
        "повтор entry_id, уже в строке 7 файла a.csv"
    assert reason_text("hours above 24", "ru") == "hours больше 24"
    assert reason_text("unknown client 'Gamma'", "en") == "unknown client 'Gamma'"
    assert reason_text("a reason no template knows", "ru") == "a reason no template knows"


def test_the_ingest_page_tables_group_then_translate() -> None:
    q = pd.DataFrame({"file": ["t.csv"] * 3, "column": ["client_id"] * 3, "row": [2, 3, 4],
                      "value": ["X", "Y", "Z"],
                      "reason": ["unknown client 'X'", "unknown client 'Y'", "duplicate entry_id also on row 2"]})
    grouped = quarantine_by_reason(q, "ru", anonymize=False)
    assert grouped[["reason", "rows"]].values.tolist() == [["неизвестный клиент", 2], ["повтор entry_id, уже в строке 2", 1]]
    anonymous = quarantine_by_reason(q, "ru", anonymize=True)
    assert list(anonymous.columns) == ["reason", "rows"] and anonymous.rows.sum() == 3
    assert in_language(q, "ru").reason.tolist()[0] == "неизвестный клиент 'X'"
    assert in_language(q, "en").equals(q)
