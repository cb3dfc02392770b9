"""Client identity: names and ids compared as a reader sees them, never silently merged.

Two values a reader cannot tell apart (a trailing space, another case, a full-width letter, a
zero-width space, NFC against NFD) are one name; when they belong to two clients, or one id is
written two ways, every row that depends on which is meant goes to the quarantine naming both,
and rows read = accepted + quarantined.
"""
from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from rawfiles import TIME_HEADER, params, quarantine, read, summary, write_csv

from clientlens.intake.ingest import run_ingest
from clientlens.intake.readers.identity import identity_key
from clientlens.publishing.reasons import reason_text

HARVEST = ["Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded",
           "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?",
           "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency", "External Reference URL"]


def harvest_row(day: int, client: str, hours: str = "2") -> list[str]:
    return [f"01/{day:02d}/2025", client, "Site", "S1", "Development", "", hours, hours, "Yes", "No", "Yes",
            "Ann", "Lee", "Developer", "Yes", "100", str(100 * float(hours)), "40", str(40 * float(hours)),
            "USD", ""]


def entries(rows: list[tuple[str, str]]) -> list[list[object]]:
    """Canonical time entries (entry id, client) of 2 hours each."""
    return [TIME_HEADER] + [[e, "2025-01-10", c, "Ann", 2, "feature work", 100, 40] for e, c in rows]


def ingest(raw: Path, out: Path) -> None:
    run_ingest(raw, out, params())
    s = summary(out)
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined + s.rows_merged + s.rows_skipped).all(), s


def reasons(out: Path) -> dict[tuple[str, int], str]:
    q = quarantine(out)
    assert not [r for r in q.reason if reason_text(r, "ru") == r], "reasons without their Russian"
    return {(f, int(r)): reason for f, r, reason in q[["file", "row", "reason"]].itertuples(index=False)}


# --- the key ------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", [
    "Acme Ltd", " Acme Ltd ", "ACME LTD", "acme  ltd", "Acme\u00a0Ltd", "Ａｃｍｅ Ltd", "Ac\u200bme Ltd",
    "\u202eAcme Ltd", "Acme\ufeff Ltd", "Acme\tLtd",
])
def test_what_reads_the_same_has_one_key(variant: str) -> None:
    assert identity_key(variant) == identity_key("Acme Ltd") == "acme ltd"


def test_composed_and_decomposed_letters_are_one_name() -> None:
    assert identity_key(unicodedata.normalize("NFD", "Café Noël")) == identity_key("Café Noël")
    assert identity_key("Straße") == identity_key("STRASSE")
    assert identity_key("ООО «Ромашка»") == identity_key("ооо «РОМАШКА»")


def test_what_reads_differently_keeps_apart() -> None:
    names = ["Acme Ltd", "Acme Ltd.", "Acme Inc", "C00010", "C0001O", "C 00010", "Ромашка", "Pомашка"]
    assert len({identity_key(n) for n in names}) == len(names)  # a Latin P is not a Cyrillic Р
    assert identity_key("   ") is None and identity_key("\u200b") is None and identity_key(None) is None


def test_the_key_is_its_own_key() -> None:
    rng = random.Random(7)
    alphabet = "aBcÉé \u00a0\u200bЖжßＡ1-."
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        key = identity_key(text)
        assert key is None or identity_key(key) == key


# --- a clients file -----------------------------------------------------------------------
def test_two_clients_whose_names_read_the_same_are_not_merged(tmp_path: Path) -> None:
    """The issue's case: a trailing space sent every Harvest row of 'Acme' to one of two clients."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C1", "Acme"], ["C2", "Acme "],
                                   ["C3", "Beta"]])
    write_csv(raw, "harvest.csv", [HARVEST, harvest_row(6, "Acme"), harvest_row(7, "ACME"),
                                   harvest_row(8, "Beta"), harvest_row(9, "beta ")])
    ingest(raw, out)
    got = read(out, "time_entries")
    assert got.client_id.tolist() == ["C3", "C3"]  # 'Beta' and 'beta ' are one client, C3
    why = reasons(out)
    for row, written in ((2, "Acme"), (3, "ACME")):
        assert why[("harvest.csv", row)] == "a client that reads as more than one: 'C1' (Acme), 'C2' (Acme)"
    assert set(read(out, "clients").client_id) == {"C1", "C2", "C3"}  # both clients kept, apart


def test_ids_written_two_ways_quarantine_both_rows_and_what_names_them(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C00010", "Northwind"],
                                   ["c00010", "Impostor Ltd"], ["C00018", "Acme"], ["C00018 ", "Evil Acme"],
                                   ["C00020", "Gamma"]])
    write_csv(raw, "time_entries.csv", entries([("e1", "C00010"), ("e2", "c00010"), ("e3", "C00018"),
                                                ("e4", "C00020"), ("e5", "Northwind")]))
    ingest(raw, out)
    why = reasons(out)
    assert why[("clients.csv", 2)] == ("a client_id that reads the same as another also on row 3: "
                                       "'c00010' (Impostor Ltd)")
    assert why[("clients.csv", 3)] == ("a client_id that reads the same as another also on row 2: "
                                       "'C00010' (Northwind)")
    assert why[("clients.csv", 4)] == "a client_id given another name also on row 5: 'Evil Acme'"
    assert why[("clients.csv", 5)] == "a client_id given another name also on row 4: 'Acme'"
    assert why[("time_entries.csv", 2)] == ("a client that reads as more than one: "
                                            "'C00010' (Northwind), 'c00010' (Impostor Ltd)")
    assert why[("time_entries.csv", 4)] == ("a client that reads as more than one: "
                                            "'C00018' (Acme), 'C00018' (Evil Acme)")
    assert why[("time_entries.csv", 6)].startswith("a client that reads as more than one: 'C00010'")
    assert read(out, "clients").client_id.tolist() == ["C00020"]
    assert read(out, "time_entries").client_id.tolist() == ["C00020"]


def test_an_exact_duplicate_row_is_one_client_not_an_ambiguity(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C1", "Acme"], ["C1", "ACME"]])
    write_csv(raw, "time_entries.csv", entries([("e1", "C1"), ("e2", "acme")]))
    ingest(raw, out)
    assert read(out, "time_entries").client_id.tolist() == ["C1", "C1"]
    assert reasons(out) == {("clients.csv", 3): "duplicate client_id also on row 2"}


def test_unicode_twins_of_a_name_are_the_same_name(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C1", "Café Noël"],
                                   ["C2", unicodedata.normalize("NFD", "Café Noël")], ["C3", "Ａｃｍｅ"],
                                   ["C4", "Ac\u200bme"]])
    write_csv(raw, "time_entries.csv", entries([("e1", "Café Noël"), ("e2", "Acme"), ("e3", "C1")]))
    ingest(raw, out)
    why = reasons(out)
    assert why[("time_entries.csv", 2)].startswith("a client that reads as more than one: 'C1' (Café Noël)")
    assert why[("time_entries.csv", 3)].startswith("a client that reads as more than one: 'C3' (Ａｃｍｅ)")
    assert read(out, "time_entries").client_id.tolist() == ["C1"]  # by id, still fine


def test_the_names_used_for_clients_are_listed(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C1", "Acme Corp"], ["C2", "Beta"]])
    write_csv(raw, "harvest.csv", [HARVEST, harvest_row(6, "Acme Corp"), harvest_row(7, "acme corp"),
                                   harvest_row(8, "Acme Corp"), harvest_row(9, "Beta")])
    write_csv(raw, "time_entries.csv", entries([("e1", "C1"), ("e2", "c2")]))
    ingest(raw, out)
    used = read(out, "client_names_used")
    assert used.values.tolist() == [
        ["harvest.csv", "time_entries", "Acme Corp", "C1", "Acme Corp", 2],
        ["harvest.csv", "time_entries", "Beta", "C2", "Beta", 1],
        ["harvest.csv", "time_entries", "acme corp", "C1", "Acme Corp", 1],
        ["time_entries.csv", "time_entries", "c2", "C2", "Beta", 1],
    ]


def test_adding_a_distinct_client_never_moves_anothers_rows(tmp_path: Path) -> None:
    """Property: a client whose id and name read differently from every other leaves every
    other client's rows where they were."""
    rng = random.Random(25)
    base = [["client_id", "client_name"]] + [[f"C{i}", f"Client {i}"] for i in range(12)]
    named = [(f"e{i}", rng.choice([f"C{k}", f"Client {k}", f"client {k} ", f"c{k}"]))
             for i, k in enumerate(rng.choices(range(12), k=40))]
    before, after = tmp_path / "before", tmp_path / "after"
    for folder, extra in ((before, []), (after, [["X99", "Entirely Other"], ["x-100", "Client 12"]])):
        write_csv(folder / "raw", "clients.csv", base + extra)
        write_csv(folder / "raw", "time_entries.csv", entries(named))
        ingest(folder / "raw", folder / "out")
    te = [read(f / "out", "time_entries")[["entry_id", "client_id"]] for f in (before, after)]
    pd.testing.assert_frame_equal(te[0], te[1])
    assert len(te[0]) == 40 and quarantine(after / "out").empty


# --- no clients file: the clients are the values the files hold ---------------------------
def test_without_clients_two_spellings_quarantine_both_naming_the_other(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "harvest.csv", [HARVEST, harvest_row(6, "Northwind"), harvest_row(7, "northwind"),
                                   harvest_row(8, "Northwind "), harvest_row(9, "Beta")])
    ingest(raw, out)
    assert read(out, "time_entries").client_id.tolist() == ["Beta"]
    why = reasons(out)
    assert why[("harvest.csv", 2)] == "a client written another way also on row 3: 'northwind'"
    assert why[("harvest.csv", 3)] == "a client written another way also on row 2: 'Northwind'"
    assert why[("harvest.csv", 4)] == "a client written another way also on row 3: 'northwind'"
    assert read(out, "clients").client_id.tolist() == ["Beta"]


def test_projects_that_read_the_same_but_go_to_two_clients_are_set_aside(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C1", "Acme"], ["C2", "Beta"]])
    write_csv(raw, "project_clients.csv", [["project", "client_id"], ["Website", "C1"], ["website ", "Beta"],
                                           ["Shop", "C1"], ["SHOP", "acme"], ["Intranet", "C2"]])
    write_csv(raw, "time_entries.csv", entries([("e1", "C1")]))
    ingest(raw, out)
    why = reasons(out)
    assert why[("project_clients.csv", 2)] == "a project given another client also on row 3: 'website' → 'Beta'"
    assert why[("project_clients.csv", 3)] == "a project given another client also on row 2: 'Website' → 'C1'"
    assert set(why) == {("project_clients.csv", 2), ("project_clients.csv", 3)}  # Shop/SHOP: one client


def test_a_clash_across_two_files_names_the_other_file(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["K-1", "Acme"], ["B", "Beta"]])
    write_csv(raw, "clients_eu.csv", [["client_id", "client_name"], ["k-1", "Acme GmbH"]])
    write_csv(raw, "time_entries.csv", entries([("e1", "K-1"), ("e2", "B")]))
    ingest(raw, out)
    why = reasons(out)
    assert why[("clients.csv", 2)] == ("a client_id that reads the same as another also on row 2 of "
                                       "clients_eu.csv: 'k-1' (Acme GmbH)")
    assert why[("clients_eu.csv", 2)] == ("a client_id that reads the same as another also on row 2 of "
                                          "clients.csv: 'K-1' (Acme)")
