"""Hostile client names never run, and anonymised reports are safe to forward.

One Harvest export whose clients include `<script>alert(1)</script>` and a spreadsheet
formula: the published pages show them as text, the CSV downloads guard them, and
`make report ANONYMIZE=1` leaves no real client name anywhere under reports/.

The same firm also holds an export of every other tool clientlens reads (Clockify, Kimai,
Productive.io, Xero, QuickBooks Online, Zendesk: tests/test_adapters_billing.py), so one
chain run checks both that each is read and tied to its totals and that names stay text.
"""
from __future__ import annotations

import csv
import shutil

import pytest
from bs4 import BeautifulSoup
from e2e_support import make, write_harvest_export
from test_adapters_billing import check_every_new_export, write_every_new_export

from clientlens.publishing.publish import STATIC_DIR

pytestmark = pytest.mark.e2e

SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://x","y")'
CLIENTS = {SCRIPT_NAME: 120.0, FORMULA_NAME: 110.0, "Acme Corp": 95.0, "Beta LLC": 130.0, "Zeta SA": 35.0}
# What would betray each client in any file, however it is escaped there.
GIVEAWAYS = {SCRIPT_NAME: "alert(1)", FORMULA_NAME: "HYPERLINK", "Acme Corp": "Acme Corp",
             "Beta LLC": "Beta LLC", "Zeta SA": "Zeta SA"}


@pytest.fixture(scope="module")
def runs(build_project):
    """(reports of a plain run, reports of an anonymised run) of the same project."""
    def prepare(root):
        write_harvest_export(root / "data" / "raw" / "harvest_detailed_time.csv", CLIENTS, n=1200, seed=5)
        write_every_new_export(root / "data" / "raw")

    root, _run = build_project("hostile", what="hostile names and every export", prepare=prepare)
    plain = root.parent / "reports-plain"
    shutil.copytree(root / "reports", plain)
    shutil.copytree(root / "data" / "processed", root.parent / "processed-plain")
    run = make(root, "report", "ANONYMIZE=1")
    assert run.returncode == 0, f"make report ANONYMIZE=1 failed:\n{run.stderr[-3000:]}"
    return plain, root / "reports"


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
    links = [a for a in pnl.find_all("a") if a.has_attr("download")]
    assert [a["href"] for a in links] == ["downloads/pnl-every-client.csv"]
    for name in ("pnl-every-client", "actions-per-client"):
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


def test_anonymised_reports_name_no_client(runs):
    _, anonymised = runs
    files = [p for p in anonymised.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files) and any(p.suffix == ".ipynb" for p in files)
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for name, giveaway in GIVEAWAYS.items():
            assert giveaway not in text, f"{name!r} appears in {path.relative_to(anonymised)}"
            assert giveaway.lower() not in str(path.relative_to(anonymised)).lower(), f"{name!r} names a file"
    assert any(p.parent.name == "clients" for p in files), "the client cards are published too"
    pnl = BeautifulSoup((anonymised / "pnl.html").read_text(encoding="utf-8"), "html.parser").get_text()
    assert "Client " in pnl


def test_every_new_export_is_read_tied_and_published(runs):
    plain, anonymised = runs
    root = anonymised.parent
    check_every_new_export(root / "data" / "raw", root.parent / "processed-plain", plain)
