"""Publishing: code-free, offline, escaped pages with contents and lineage; atomic."""
import base64
import hashlib
import re

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from clientlens.publishing import display
from clientlens.publishing.publish import Lineage, add_table_of_contents, build_site, content_security_policy, publish

PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
EVIL = '<script>alert(1)</script>'
OUTSIDE_URL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                         re.IGNORECASE)


def executed_notebook(tmp_path, name="02-pnl"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Client P&L\n\nWho makes money once every cost is counted."),
        nbformat.v4.new_code_cell("secret_code_marker = 1", execution_count=1),
        nbformat.v4.new_markdown_cell("## Whale curve\n\n### Detail"),
        nbformat.v4.new_markdown_cell("## Clients"),
    ]
    table = display.table_html(pd.DataFrame({"client": [EVIL, "=HYPERLINK(\"http://x\",\"y\")"],
                                             "margin": [1.5, float("nan")]}))
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": table, "text/plain": "table"}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "fig"}),
        nbformat.v4.new_output("stream", name="stderr", text="a noisy warning"),
    ]
    executed = tmp_path / "executed"
    executed.mkdir(exist_ok=True)
    nbformat.write(nb, executed / f"{name}.ipynb")
    return executed


LINEAGE = Lineage(data_as_of="2026-09-30", period_end="2026Q3", params={"seed": 42, "report_lang": "en"},
                  git_commit="abc123", inputs=[{"file": "time_entries.csv", "bytes": 10, "blake3": "f" * 64}],
                  built_at="2026-11-22 10:00 UTC")


@pytest.fixture
def site(tmp_path):
    build_site(executed_notebook(tmp_path), tmp_path / "site", LINEAGE, "en")
    return tmp_path / "site"


def test_page_has_no_code_no_prompts_no_stderr(site):
    page = (site / "pnl.html").read_text()
    assert "secret_code_marker" not in page
    assert "In&nbsp;[" not in page and "In [" not in page and "Out[" not in page
    assert "a noisy warning" not in page
    assert not BeautifulSoup(page, "html.parser").select(".jp-CodeCell .jp-InputArea, .highlight, pre code")


def test_page_makes_no_outside_request(site):
    for page in site.glob("*.html"):
        text = page.read_text()
        assert not OUTSIDE_URL.search(text), page.name
        assert "require.js" not in text and "mathjax" not in text.lower() and "mermaid" not in text


def test_data_is_escaped_and_only_our_script_may_run(site):
    page = (site / "pnl.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    scripts = soup.find_all("script")
    assert len(scripts) == 1  # the table script; the client named <script> is text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].string.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy and "default-src 'none'" in policy


def test_images_are_inline(site):
    soup = BeautifulSoup((site / "pnl.html").read_text(), "html.parser")
    images = soup.find_all("img")
    assert images and all(img["src"].startswith("data:image/png;base64,") for img in images)


def test_table_of_contents_links_every_section(site):
    soup = BeautifulSoup((site / "pnl.html").read_text(), "html.parser")
    toc = soup.select_one("nav.cl-toc")
    targets = [a["href"][1:] for a in toc.find_all("a")]
    assert [a.get_text() for a in toc.find_all("a")] == ["Whale curve", "Detail", "Clients"]
    assert all(soup.find(id=t) is not None for t in targets)


def test_table_of_contents_from_the_page_text():
    """Headings found by pattern: nesting, ids made unique or given, anchors dropped, escaped
    data and the footer's headings left alone; the same list an HTML parser would build."""
    page = ('<html><body><main class="cl-page"><h1 id="T">Title<a class="anchor-link" href="#T">&#182;</a></h1>'
            '<p>&lt;h2&gt;not a heading&lt;/h2&gt;</p><h3>Lone &amp; early</h3>'
            '<h2 id="A">A <em>big</em> one<a class="anchor-link" href="#A">&#182;</a></h2><h3 id="A">Again</h3>'
            '<h2 class="x" id="B">B</h2><footer class="cl-lineage"><h2>Lineage</h2></footer></main></body></html>')
    soup = BeautifulSoup(add_table_of_contents(page, "en"), "html.parser")
    toc = soup.select_one("nav.cl-toc")
    assert soup.find("h1").find_next_sibling() is toc
    links = [(a.get_text(), a["href"], len(a.find_parents("ol"))) for a in toc.find_all("a")]
    assert links == [("Lone & early", "#section-1", 1), ("A big one", "#A", 1), ("Again", "#A-x", 2),
                     ("B", "#B", 1)]
    assert all(soup.find(id=href[1:]) is not None for _text, href, _depth in links)
    assert not soup.select("a.anchor-link") and soup.find("h2", id="B")["class"] == ["x"]
    assert "&lt;h2&gt;not a heading" in str(soup) and soup.find("footer").find("h2").get("id") is None
    bare = '<main class="cl-page"><h1 id="O">Only a title<a class="anchor-link" href="#O">&#182;</a></h1></main>'
    assert add_table_of_contents(bare, "en") == '<main class="cl-page"><h1 id="O">Only a title</h1></main>'


def test_lineage_footer(site):
    soup = BeautifulSoup((site / "pnl.html").read_text(), "html.parser")
    footer = soup.select_one("footer.cl-lineage").get_text(" ")
    for expected in ("30 Sep 2026", "abc123", "time_entries.csv", "f" * 64, "Q3 2026", '"seed": 42'):
        assert expected in footer


def test_missing_values_say_not_measured(site):
    assert "not measured" in (site / "pnl.html").read_text()


def test_index_links_every_page_and_says_when_built(site):
    soup = BeautifulSoup((site / "index.html").read_text(), "html.parser")
    links = [a["href"] for a in soup.select(".cl-index-list a")]
    assert links == ["pnl.html"] and (site / "pnl.html").exists()
    assert "22 Nov 2026 10:00 UTC" in soup.get_text()


def test_publish_replaces_and_prunes(tmp_path, site):
    """The whole set is switched (tests/test_publish_release.py); what publishing does not
    write, .gitkeep included, is carried into the new set."""
    reports = tmp_path / "reports"
    (reports / "executed").mkdir(parents=True)
    (reports / "old-page.html").write_text("stale")
    (reports / "executed" / "00-gone.ipynb").write_text("{}")
    (reports / "screenshot.png").write_bytes(b"keep me")
    (reports / ".gitkeep").write_bytes(b"")
    publish(site, reports)
    assert (reports / "pnl.html").read_text() == (site / "pnl.html").read_text()
    assert (reports / "executed" / "02-pnl.ipynb").exists()
    assert not (reports / "old-page.html").exists() and not (reports / "executed" / "00-gone.ipynb").exists()
    assert (reports / "screenshot.png").read_bytes() == b"keep me" and (reports / ".gitkeep").exists()
    assert not list(reports.rglob(".*.publishing"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["executed", "reports", "site"]


def test_csp_forbids_every_host():
    policy = content_security_policy("1+1")
    assert "default-src 'none'" in policy and "http" not in policy


def test_published_notebooks_do_not_name_the_project_folder(tmp_path):
    """papermill writes the project's absolute paths into the parameters cell and the metadata;
    the folder may be named after a client ("/srv/Northwind Logistics/clientlens")."""
    root = tmp_path / "Northwind Logistics" / "clientlens"
    (root / "build").mkdir(parents=True)
    executed = executed_notebook(root / "build")
    notebook = executed / "02-pnl.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f'raw_dir = "{root}/data/raw"'))
    nb.metadata["papermill"] = {"parameters": {"raw_dir": f"{root}/data/raw"}, "input_path": f"{root}/notebooks/x"}
    nbformat.write(nb, notebook)
    build_site(executed, tmp_path / "site", LINEAGE, "en")
    text = (tmp_path / "site" / "executed" / "02-pnl.ipynb").read_text(encoding="utf-8")
    assert "Northwind" not in text
    published = nbformat.reads(text, as_version=4)
    assert published.cells[0].source == 'raw_dir = "./data/raw"'
    assert published.metadata["papermill"]["parameters"]["raw_dir"] == "./data/raw"
