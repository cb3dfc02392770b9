"""Hostile client names never run, and no id can take another client's card.

One Harvest export whose clients include `<script>alert(1)</script>`, a spreadsheet formula,
Windows device names (CON, aux, NUL...), a name spelled like another client's card file, a
right-to-left override and two spellings of one name a reader cannot tell apart: the published
pages show the names as text, the CSV downloads guard them, every client has a card of its own,
and the two spellings are set aside naming each other. (That an anonymised run publishes none
of these names is tests/test_anonymize_reports.py's firm, which carries them too.)

The same firm also holds an export of every other tool clientlens reads (Clockify, Kimai,
Productive.io, Xero, QuickBooks Online, Zendesk: tests/test_adapters_billing.py), so one
chain run checks both that each is read and tied to its totals and that names stay text.
"""
from __future__ import annotations

import csv
import unicodedata

import pandas as pd

import pytest
from bs4 import BeautifulSoup
from e2e_support import make, write_harvest_export
from test_adapters_billing import check_every_new_export, write_every_new_export

from clientlens.analysis.cards import card_slug
from clientlens.publishing.publish import STATIC_DIR

pytestmark = pytest.mark.e2e

SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://x","y")'
# Names Windows keeps for devices, in any case and with any extension after them.
RESERVED_NAMES = ("CON", "aux", "NUL", "COM1", "LPT1")
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}
CLAIMED_NAME = card_slug("Acme Corp")  # a client named like another client's card file
RTL_NAME = "Invoice\u202egnp.exe"  # shows as "Invoiceexe.png" where the override is obeyed
# Two spellings a reader cannot tell apart (composed and decomposed letters): not one client, not two.
TWINS = ("Zoë Café", unicodedata.normalize("NFD", "Zoë Café"))
CLIENTS = {SCRIPT_NAME: 120.0, FORMULA_NAME: 110.0, "Acme Corp": 95.0, "Beta LLC": 130.0, "Zeta SA": 35.0,
           **{name: 80.0 + i for i, name in enumerate(RESERVED_NAMES)}, CLAIMED_NAME: 90.0, RTL_NAME: 70.0,
           TWINS[0]: 60.0, TWINS[1]: 65.0}


@pytest.fixture(scope="module")
def runs(build_project):
    """(the reports, the processed data) of the firm's run. Its anonymised run is
    tests/test_anonymize_reports.py's firm, whose clients carry these hostile names too."""
    def prepare(root):
        write_harvest_export(root / "data" / "raw" / "harvest_detailed_time.csv", CLIENTS, n=1200, seed=5)
        write_every_new_export(root / "data" / "raw")

    # one language: the second's pages escape through the same code (tests/test_anonymize_reports.py
    # reads the Russian pages of a firm with these names)
    root, _run = build_project("hostile", "SECOND_REPORT_LANG=", what="hostile names and every export",
                               prepare=prepare)
    return root / "reports", root / "data" / "processed"


def test_no_script_runs_and_names_show_as_text(runs):
    plain, _ = runs
    table_script = (STATIC_DIR / "report.js").read_text(encoding="utf-8")
    cards = sorted((plain / "clients").glob("*.html"))
    pages = sorted(plain.glob("*.html")) + cards
    assert {"index.html", "pnl.html", "segments.html"} <= {p.name for p in pages}
    card_titles = {BeautifulSoup(c.read_text(encoding="utf-8"), "html.parser").h1.get_text() for c in cards}
    assert {SCRIPT_NAME, FORMULA_NAME} <= card_titles, "the hostile names have cards, shown as text"
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        scripts = soup.find_all("script")
        assert len(scripts) <= 1, page.name
        for script in scripts:
            assert script.get_text().strip() == table_script.strip(), page.name
        assert not soup.find_all(attrs={"onerror": True}) and not soup.find_all(attrs={"onload": True})
    pnl = (plain / "pnl.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pnl
    text = BeautifulSoup(pnl, "html.parser").get_text()
    assert SCRIPT_NAME in text and FORMULA_NAME in text


def test_csv_downloads_guard_formulas(runs):
    plain, _ = runs
    pnl = BeautifulSoup((plain / "pnl.html").read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in pnl.find_all("a") if a.has_attr("download")]
    assert "downloads/pnl-every-client.csv" in links
    for href in links:  # every download of the page, the P&L by project's names included
        with open(plain / href, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for v in row), (href, row)
    for name in ("pnl-every-client", "segments-per-client"):
        path = plain / "downloads" / f"{name}.csv"
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), name
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        clients = {r["client"] for r in rows}
        assert "'" + FORMULA_NAME in clients and FORMULA_NAME not in clients, name
        assert SCRIPT_NAME in clients, name
        for row in rows:
            for value in row.values():
                assert not value.startswith(("=", "+", "@", "\t", "\r")), (name, value)


def test_every_new_export_is_read_tied_and_published(runs):
    plain, processed = runs
    check_every_new_export(processed.parent / "raw", processed, plain)


def test_one_card_per_client_whatever_its_id(runs):
    """Reserved device names, a name spelled like another's card file and a right-to-left
    override each get a card of their own, under a name safe on Windows and on drives that
    ignore case, and every link opens the card of the client it names."""
    plain, processed = runs
    clients = pd.read_parquet(processed / "pnl_clients.parquet")
    cards = sorted((plain / "clients").glob("*.html"))
    assert len(cards) == clients.client_id.nunique() == len({c.name.casefold() for c in cards})
    assert not [c.name for c in cards if c.name.split(".")[0].upper() in WINDOWS_DEVICES]
    for name in (*RESERVED_NAMES, CLAIMED_NAME, RTL_NAME):
        assert name in set(clients.client_id), name
    soup = BeautifulSoup((plain / "pnl.html").read_text(encoding="utf-8"), "html.parser")
    links = {a["href"]: a.get_text() for a in soup.find_all("a") if a.get("href", "").startswith("clients/")}
    assert {f"clients/{card_slug(name)}.html" for name in (*RESERVED_NAMES, CLAIMED_NAME)} <= set(links)
    for href, text in links.items():
        card = BeautifulSoup((plain / href).read_text(encoding="utf-8"), "html.parser")
        assert card.h1.get_text() == text, href


def test_names_that_read_the_same_are_set_aside_naming_both(runs):
    _, processed = runs
    quarantined = pd.read_parquet(processed / "quarantine" / "quarantine.parquet")
    for this, other in (TWINS, TWINS[::-1]):
        said = quarantined.loc[quarantined.value == this, "reason"]
        assert len(said) and said.str.endswith(f"'{other}'").all(), f"{this!r}'s rows name {other!r}"
    assert not set(TWINS) & set(pd.read_parquet(processed / "clients.parquet").client_id)
    summary = pd.read_parquet(processed / "ingest_summary.parquet")
    assert (summary.rows_read == summary.rows_accepted + summary.rows_quarantined + summary.rows_merged
            + summary.rows_skipped).all()


def test_bidirectional_overrides_never_reach_pages_or_downloads(runs):
    plain, _ = runs
    shown = [p for p in plain.rglob("*") if p.suffix in (".html", ".csv")]
    assert any(p.parent.name == "downloads" for p in shown)
    for path in shown:
        assert "\u202e" not in path.read_text(encoding="utf-8"), path.relative_to(plain)
    card = BeautifulSoup((plain / "clients" / f"{card_slug(RTL_NAME)}.html").read_text(encoding="utf-8"),
                         "html.parser")
    assert card.h1.get_text() == "Invoice\ufffdgnp.exe"
