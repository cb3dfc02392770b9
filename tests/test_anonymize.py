"""Anonymised mode: every client id and name becomes a stable pseudonym, early, in the panel build."""
from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd

from clientlens.intake.panel import PANEL_FILE, build_panel, pseudonym, pseudonym_map
from clientlens.parameters import load

P = load()

NAMES = {"A": "Acme Corp", "B": "<script>alert(1)</script>", "C": '=HYPERLINK("http://x","y")'}


def write(processed, name, rows):
    pd.DataFrame(rows).to_parquet(processed / f"{name}.parquet", index=False)


def make_processed(folder):
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, "clients", [{"client_id": k, "client_name": v, "exit_date": None, "exit_reason": None}
                              for k, v in NAMES.items()])
    write(folder, "time_entries", [
        {"entry_id": f"e{i}", "client_id": c, "date": dt.date(2025, 1 + i, 10), "hours": 2.0, "billable": True,
         "billable_amount": 200.0, "cost_amount": 80.0, "work_type": "feature", "rework": False,
         "after_hours": False, "person": "ann"} for i, c in enumerate(NAMES)])
    write(folder, "contracts", [
        {"contract_id": f"k{c}", "client_id": c, "contract_type": "retainer", "start_date": dt.date(2025, 1, 1),
         "end_date": dt.date(2026, 6, 30), "value": 1000.0, "currency": "USD", "renewal_of": "", "phase": "feature"}
        for c in NAMES])
    (folder / "manifest.json").write_text(json.dumps({"data_max_date": "2025-09-30"}))
    return folder


def test_pseudonym_is_stable_shaped_and_keyed():
    assert pseudonym("Acme Corp", "k7") == pseudonym("Acme Corp", "k7")
    assert re.fullmatch(r"Client [0-9A-F]{6}", pseudonym("Acme Corp", "k7"))
    assert pseudonym("Acme Corp", "k7") != pseudonym("Acme Corp", "k8")


def test_the_key_is_secret_made_once_and_kept(tmp_path):
    from clientlens.intake.panel import anonymize_key

    key = anonymize_key(tmp_path)
    assert len(key) == 64 and anonymize_key(tmp_path) == key
    other = tmp_path / "other"
    other.mkdir()
    assert anonymize_key(other) != key
    mapping = pseudonym_map([f"client {i}" for i in range(3000)], key="k1")
    assert len(set(mapping.values())) == 3000  # distinct, even where six hex digits would collide


def test_panel_has_pseudonyms_only(tmp_path):
    processed = make_processed(tmp_path / "p")
    meta = build_panel(processed, "auto", P.office_hours, anonymize=True, key="k5")
    assert meta["anonymized"] is True
    panel = pd.read_parquet(processed / PANEL_FILE)
    expected = {pseudonym(c, "k5") for c in NAMES}
    assert set(panel.client_id) == expected
    assert (panel.client_id == panel.client_name).all()
    # no original id or name left in the panel, nor in the canonical tables later stages read
    for path in processed.glob("*.parquet"):
        text = pd.read_parquet(path).astype(str).to_csv()
        for original in [*NAMES, *NAMES.values()]:
            if len(original) > 1:
                assert original not in text, (path.name, original)
        frame = pd.read_parquet(path)
        if "client_id" in frame:
            assert set(frame.client_id) <= expected, path.name


def test_same_across_runs_and_not_applied_twice(tmp_path):
    first = make_processed(tmp_path / "one")
    second = make_processed(tmp_path / "two")
    build_panel(first, "auto", P.office_hours, anonymize=True, key="k5")
    build_panel(second, "auto", P.office_hours, anonymize=True, key="k5")
    build_panel(second, "auto", P.office_hours, anonymize=True, key="k5")  # a rerun on the same tables changes nothing
    a = pd.read_parquet(first / PANEL_FILE)
    b = pd.read_parquet(second / PANEL_FILE)
    pd.testing.assert_frame_equal(a, b)
    contracts = pd.read_parquet(second / "contracts.parquet")
    assert set(contracts.client_id) == set(a.client_id)  # renewals still join on the pseudonym


def test_default_keeps_names(tmp_path):
    processed = make_processed(tmp_path / "p")
    meta = build_panel(processed, "auto", P.office_hours, anonymize=False)
    assert meta["anonymized"] is False
    assert set(pd.read_parquet(processed / PANEL_FILE).client_name) == set(NAMES.values())
