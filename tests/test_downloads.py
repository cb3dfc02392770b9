"""CSV downloads: formula-guarded, Excel-readable, published with the pages and pruned when stale."""
from __future__ import annotations

import csv

import nbformat
import pandas as pd
import pytest

from clientlens.publishing import display
from clientlens.publishing.downloads import guard_cell, write_csv
from clientlens.publishing.publish import Lineage, build_site, publish

LINEAGE = Lineage(data_as_of=None, period_end=None, params={}, git_commit="abc", built_at="now")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")'])
def test_formula_looking_strings_get_a_quote(value):
    assert guard_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme", "", "a=b", " =x", 3, -2.5, None, True])
def test_other_values_are_left_alone(value):
    assert guard_cell(value) == value or (value is None and guard_cell(value) is None)


def test_write_csv_guards_every_string_cell_and_has_a_bom(tmp_path):
    df = pd.DataFrame({"client": ['=HYPERLINK("http://x","y")', "<script>alert(1)</script>", "Zoë"],
                       "note": ["@cmd", "+41 22", "plain"], "margin": [-1.5, 2.0, None]})
    href = write_csv(df, tmp_path, "every-client")
    assert href == "downloads/every-client.csv"
    raw = (tmp_path / href).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(tmp_path / href, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["client"] for r in rows] == ['\'=HYPERLINK("http://x","y")', "<script>alert(1)</script>", "Zoë"]
    assert [r["note"] for r in rows] == ["'@cmd", "'+41 22", "plain"]
    assert [r["margin"] for r in rows] == ["-1.5", "2.0", ""]  # numbers stay numbers
    assert df.client[0].startswith("=")  # the caller's frame is not changed


@pytest.mark.parametrize("name", ["../x", "a/b", "x.csv", "", "=evil"])
def test_write_csv_refuses_unsafe_names(tmp_path, name):
    with pytest.raises(ValueError):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path, name)


def test_download_link_is_escaped():
    link = display.download_link_html('downloads/x.csv"><script>', "<b>CSV</b>")
    assert "<script>" not in link and "<b>" not in link and " download>" in link


def test_downloads_are_published_with_the_pages_and_pruned(tmp_path):
    executed = tmp_path / "executed"
    executed.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Page")]
    nbformat.write(nb, executed / "02-pnl.ipynb")
    processed = tmp_path / "processed"
    write_csv(pd.DataFrame({"a": ["=1"]}), processed, "fresh")
    reports = tmp_path / "reports"
    (reports / "downloads").mkdir(parents=True)
    (reports / "downloads" / "stale.csv").write_text("old")
    build_site(executed, tmp_path / "site", LINEAGE, "en", processed_dir=processed)
    assert (tmp_path / "site" / "downloads" / "fresh.csv").exists()
    publish(tmp_path / "site", reports)
    assert (reports / "downloads" / "fresh.csv").read_bytes() == (processed / "downloads" / "fresh.csv").read_bytes()
    assert not (reports / "downloads" / "stale.csv").exists()
    assert (reports / "pnl.html").exists()
