"""The form of every published page and client card, as a browser shows it, in both languages,
on three firms: the demo company, a firm of one Harvest export, and a firm too small to have
clients at risk (conftest's demo_project, harvest_only_project, small_firm_project).

Each page is reduced to what a reader sees and checked by tests/page_checks.py: shares under a
"%" heading written as fractions, negative zeros, "0.00" for a zero, sentences left empty,
wrong plurals, money axes without a currency, tables cut by their scroll box, a heading that
miscounts its figures, jargon outside the folded method section and, on Russian pages, English
quarters and ISO dates. Every page opens in the browser; the cards, one per client, are read
from their HTML (the same structure, tested equal below) and a sample of them in the browser,
where a scroll box's height is measured.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from page_checks import EXTRACT_JS, check_page, structure_from_html, structure_from_raw

pytestmark = pytest.mark.e2e

# the small firms first: a worker builds them while another builds the demo everyone shares
FIRMS = ["harvest_only_project", "small_firm_project", "demo_project"]
LANGS = ["en", "ru"]
CARDS_IN_THE_BROWSER = 20
SHOWN_PROBLEMS = 60


def site(project: Path, lang: str) -> Path:
    """Where a firm's pages in `lang` are published: the first language at reports/, the
    other beside it at reports/<lang>/."""
    reports = project / "reports"
    first = structure_from_html((reports / "index.html").read_text(encoding="utf-8"))["lang"][:2]
    return reports if first == lang else reports / lang


@contextmanager
def tab(browser):
    """One browser tab for many pages (a tab per page costs more than the page), every request
    off the disk refused."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    try:
        yield page
    finally:
        page.close()


def seen_in_browser(page, path: Path):
    """The structure of the page at `path`, once loaded (and its script run) in the tab `page`."""
    page.goto(path.as_uri())
    return structure_from_raw(page.evaluate(EXTRACT_JS))


def sample(cards: list[Path], n: int) -> list[Path]:
    """n cards spread evenly over the list (all when there are fewer)."""
    if len(cards) <= n:
        return cards
    return [cards[round(i * (len(cards) - 1) / (n - 1))] for i in range(n)]


def report(problems: list[str]) -> str:
    shown = "\n".join(problems[:SHOWN_PROBLEMS])
    more = f"\n... and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
    return f"{len(problems)} problems of form:\n{shown}{more}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("firm", FIRMS)
def test_every_page_and_card_passes_the_form_checks(firm, lang, browser, request):
    project = request.getfixturevalue(firm)
    root = site(project, lang)
    assert (root / "index.html").exists(), (
        f"{firm}: no pages in {lang} at {root.relative_to(project)}/: both languages are published from one run "
        f"(issue #28), the second beside the first at reports/<lang>/")
    pages = sorted(root.glob("*.html"))
    cards = sorted((root / "clients").glob("*.html"))
    assert len(pages) >= 8 and cards, f"{firm} {lang}: {len(pages)} pages, {len(cards)} cards"
    problems = []
    with tab(browser) as reader:
        for path in pages + sample(cards, CARDS_IN_THE_BROWSER):
            page = seen_in_browser(reader, path)
            assert page["lang"][:2] == lang, f"{path}: lang={page['lang']!r}"
            problems += check_page(f"{firm} {lang} {path.relative_to(root)}", page)
    for path in sorted(set(cards) - set(sample(cards, CARDS_IN_THE_BROWSER))):
        problems += check_page(f"{firm} {lang} {path.relative_to(root)}",
                               structure_from_html(path.read_text(encoding="utf-8")))
    if problems:
        pytest.fail(report(problems), pytrace=False)


def test_a_card_read_from_its_html_is_the_card_the_browser_shows(demo_project, browser):
    """The cards the browser does not open are checked on the structure read from their HTML:
    it is the browser's, but for the scroll boxes' heights that only a layout gives."""
    card = sorted((demo_project / "reports" / "clients").glob("*.html"))[0]
    from_html = structure_from_html(card.read_text(encoding="utf-8"))
    with tab(browser) as reader:
        in_browser = seen_in_browser(reader, card)
    for table in in_browser["tables"]:
        table["box"] = None
    assert from_html["lines"] and from_html["tables"]
    for key in from_html:
        assert from_html[key] == in_browser[key], key


def test_the_small_firm_has_no_client_at_risk(small_firm_project):
    """The small firm stands for the empty states: none of its clients is at risk."""
    import json

    kpis = json.loads((small_firm_project / "data" / "processed" / "leadership_kpis.json").read_text())
    assert kpis["clients_active"] == 3 and kpis["clients_at_risk"] == 0, kpis


def test_the_browser_finds_a_table_cut_by_its_scroll_box(browser, tmp_path):
    """A box of fixed height that scrolls a table (as a 34rem box once did) is caught; a table
    that pages is not, nor one whose box grows with it."""
    rows = "".join(f"<tr><td>Client {i}</td></tr>" for i in range(40))
    tables = [f'<div style="max-height:10rem; overflow:auto"><table><thead><tr><th>cut</th></tr></thead>'
              f"<tbody>{rows}</tbody></table></div>",
              f'<div style="max-height:10rem; overflow:auto"><table data-page-size="50"><thead><tr><th>paged</th>'
              f"</tr></thead><tbody>{rows}</tbody></table></div>",
              f'<div style="overflow-x:auto"><table><thead><tr><th>whole</th></tr></thead><tbody>{rows}</tbody>'
              f"</table></div>"]
    path = tmp_path / "boxes.html"
    path.write_text(f'<!DOCTYPE html><html lang="en"><body><main>{"".join(tables)}</main></body></html>')
    with tab(browser) as reader:
        problems = check_page("boxes.html", seen_in_browser(reader, path))
    assert len(problems) == 1 and problems[0].startswith("boxes.html: a table cut by its scroll box") \
        and problems[0].endswith(": cut"), problems
