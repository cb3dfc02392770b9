"""The whole chain, as a user runs it: `make report` in a fresh copy of the project.

A copy of the repository's files goes into a temporary directory; `make report` builds a small
demo company there (data/raw/ is empty), runs every notebook and publishes (conftest's
demo_project). The tests then read the pages as leadership would and, each in its own copy of
that built project, run Make again (nothing to do), touch one notebook (it and the stages after
it rerun), force a failure (the published reports stay as they were, marked as from the last good
run), rebuild from scratch in one language (identical processed data) and for another quarter.
The one build publishes the Russian pages beside the English (reports/ru/); they are the ones
opened in a browser.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest
from bs4 import BeautifulSoup
from e2e_support import DEMO_SIZE, english_words, snapshot
from e2e_support import make as make_in

pytestmark = pytest.mark.e2e

OUTSIDE_URL = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                         re.IGNORECASE)


def make(project, *args):
    return make_in(project, *args, *DEMO_SIZE)


ONE_LANGUAGE = "SECOND_REPORT_LANG="


@pytest.fixture(scope="module")
def russian_demo(demo_project, tmp_path_factory) -> Path:
    """The Russian pages of the one demo build seen as a project of their own, through links:
    its reports/ is the build's reports/ru/, its data/processed/ and build/params.json the
    second language's pass's (build/lang/ru/). Read it, never change it."""
    view = tmp_path_factory.mktemp("russian") / "project"
    second = demo_project / "build" / "lang" / "ru"
    links = {"reports": demo_project / "reports" / "ru", "data/processed": second / "processed",
             "data/raw": demo_project / "data" / "raw", "build/params.json": second / "params.json",
             "notebooks": demo_project / "notebooks"}
    for rel, target in links.items():
        assert target.exists(), f"the one build published no Russian pages: {target} is missing"
        (view / rel).parent.mkdir(parents=True, exist_ok=True)
        (view / rel).symlink_to(target)
    return view


def stage_names(project: Path) -> list[str]:
    return sorted(p.stem for p in (project / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def pages(project: Path) -> list[Path]:
    return sorted((project / "reports").glob("*.html"))


def every_page(project: Path) -> list[Path]:
    """The pages and every client card."""
    return pages(project) + sorted((project / "reports" / "clients").glob("*.html"))


def test_empty_raw_builds_the_demo_company_and_says_so(demo_project):
    log = (demo_project / "first-run.log").read_text()
    assert "data/raw/ is empty: building the demo company" in log
    assert (demo_project / "data" / "raw" / "time_entries.csv").exists()


def test_every_stage_is_published(demo_project):
    published = {p.name for p in pages(demo_project)}
    expected = {re.sub(r"^\d+-", "", s) + ".html" for s in stage_names(demo_project)} | {"index.html"}
    assert published == expected
    executed = {p.stem for p in (demo_project / "reports" / "executed").glob("*.ipynb")}
    assert executed == set(stage_names(demo_project))


def test_index_links_every_page_leadership_first(demo_project):
    soup = BeautifulSoup((demo_project / "reports" / "index.html").read_text(), "html.parser")
    links = [a["href"] for a in soup.select(".cl-index-list a")]
    assert set(links) == {p.name for p in pages(demo_project)} - {"index.html"}
    assert links[0] == "leadership.html"


def test_every_client_has_a_card_linked_from_every_table_that_names_it(demo_project):
    """Each table with a client column links every name to that client's card, and the card
    is the client's: its title is the name the table shows."""
    import pandas as pd

    from clientlens.analysis.cards import card_slug

    clients = pd.read_parquet(demo_project / "data" / "processed" / "pnl_clients.parquet")
    cards = {p.stem for p in (demo_project / "reports" / "clients").glob("*.html")}
    assert cards == {card_slug(c) for c in clients.client_id}
    titles = {}
    checked = 0
    for page in pages(demo_project):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for table in soup.select("main table.cl-sortable"):
            headers = [th.get_text(strip=True) for th in table.select("thead th")]
            if "client" not in headers:
                continue
            column = headers.index("client")
            for row in table.select("tbody tr"):
                cell = row.find_all("td")[column]
                link = cell.find("a")
                assert link is not None, f"{page.name}: {cell.get_text()} is not linked to its card"
                target = page.parent / link["href"]
                if target not in titles:
                    titles[target] = BeautifulSoup(target.read_text(), "html.parser").h1.get_text()
                assert titles[target] == cell.get_text(), f"{page.name}: {link['href']}"
                checked += 1
    assert checked >= len(clients), "every client should be named (and linked) in some table"


def test_client_cards_tie_back_to_the_stages(demo_project):
    """A card's figures are the P&L stage's, and a planted loss-maker's card shows its loss."""
    import json

    import pandas as pd

    from clientlens.analysis.cards import card_href
    from clientlens.processed import reporting_currency
    from clientlens.publishing import display as d
    from clientlens.quarters import quarter_label

    params = json.loads((demo_project / "build" / "params.json").read_text())
    processed = demo_project / "data" / "processed"
    # reporting_currency auto: the demo names USD and EUR, USD with the most money
    lang, cur = params["report_lang"], reporting_currency(processed)
    assert params["reporting_currency"] == "AUTO" and cur == "USD"
    clients = pd.read_parquet(processed / "pnl_clients.parquet").set_index("client_id")
    quarters = pd.read_parquet(processed / "pnl_quarters.parquet")
    truth = json.loads((demo_project / "data" / "demo_truth.json").read_text())["clients"]
    loss_makers = [c for c, t in truth.items() if t["loss_making"] and c in clients.index]
    assert loss_makers, "the demo plants loss-making clients"
    for cid, row in clients.iterrows():
        soup = BeautifulSoup((demo_project / "reports" / card_href(cid)).read_text(), "html.parser")
        kpi = {k["data-kpi"]: k.select_one(".cl-kpi-value").get_text(" ", strip=True)
               for k in soup.select(".cl-period .cl-kpi")}
        def whole(value):  # a card's amounts are whole units, and a zero is never "-0"
            return d.fmt_money(None if pd.isna(value) else round(value) + 0.0, cur, lang)

        assert kpi["revenue_last4"] == whole(row.revenue_last4)
        # one margin per period: the whole relationship's, with its share of revenue
        assert kpi["margin"].startswith(whole(row.margin))
        if pd.notna(row.margin_pct):
            assert f"({d.fmt_pct(row.margin_pct, 0, lang)} " in kpi["margin"]
        assert sum("margin" in key for key in kpi) == 2  # the last four quarters' and the whole relationship's
        quarter_rows = quarters.loc[quarters.client_id == cid].sort_values("quarter_index")
        if len(quarter_rows) > 1:  # one quarter is said in a sentence, not a table
            last = quarter_rows.iloc[-1]
            trend = soup.select_one("#pnl table tbody tr:last-child").find_all("td")
            assert trend[0].get_text() == quarter_label(last.quarter, lang)
            assert trend[1].get_text() == d._cell(last.revenue, lang)[0]
        if cid in loss_makers:
            assert kpi["margin"].startswith("-"), f"{cid}: planted loss-maker shows margin {kpi['margin']}"


@pytest.mark.parametrize("check", ["no_code", "offline", "lineage"])
def test_pages_as_leadership_reads_them(demo_project, check):
    for page in pages(demo_project):
        text = page.read_text()
        soup = BeautifulSoup(text, "html.parser")
        if check == "no_code":
            assert not soup.select(".jp-CodeCell .jp-InputArea, .highlight"), page.name
            assert "import " not in soup.get_text() or page.name == "index.html", page.name
            assert not re.search(r"In\s*\[\d*\]", soup.get_text()), page.name
        elif check == "offline":
            assert not OUTSIDE_URL.search(text), page.name
            assert all(img["src"].startswith("data:") for img in soup.find_all("img")), page.name
        else:
            footer = soup.select_one("footer.cl-lineage")
            assert footer is not None, page.name
            footer_text = footer.get_text(" ")
            assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", footer_text)  # data as-of date, as "30 Sep 2026"
            assert re.search(r"[0-9a-f]{40}", footer_text)  # git commit
            assert re.search(r"[0-9a-f]{64}", footer_text)  # input checksums
            assert "time_entries.csv" in footer_text


def test_second_run_does_no_work(demo_project_copy):
    executed = [demo_project_copy / "build" / "executed", demo_project_copy / "build" / "lang" / "ru" / "executed"]
    before = [snapshot(folder) for folder in executed]
    assert all(before)
    run = make(demo_project_copy, "report")
    assert run.returncode == 0, run.stderr
    assert "running" not in run.stderr and "published" not in run.stderr, run.stderr
    assert [snapshot(folder) for folder in executed] == before


def test_touching_one_notebook_reruns_it_and_the_stages_that_load_its_tables_only(demo_project_copy):
    from clientlens.tooling.pipeline import stage_needs

    stages = stage_names(demo_project_copy)
    middle = stages[len(stages) // 2]
    needs = stage_needs()
    downstream = {middle}
    for name in stages:  # chain order: a stage's needs come before it
        if downstream & set(needs[name]):
            downstream.add(name)
    assert set(stages) - downstream - {s for s in stages if s < middle}  # some later stage is left alone
    (demo_project_copy / "notebooks" / f"{middle}.ipynb").touch()
    run = make(demo_project_copy, "report", ONE_LANGUAGE)  # the first pass's reruns are the subject
    assert run.returncode == 0, run.stderr
    ran = re.findall(r"-> (\S+): running", run.stderr)
    assert ran[0] == middle and sorted(ran) == sorted(downstream)


def test_a_failing_notebook_names_its_cell_and_leaves_reports_intact(demo_project_copy):
    stages = stage_names(demo_project_copy)
    victim = stages[2]
    published = snapshot(demo_project_copy / "reports")
    twin = demo_project_copy / "notebooks" / f"{victim}.py"
    twin.write_text(twin.read_text() + '\n# %%\nraise ValueError("planted failure")\n')
    run = make(demo_project_copy, "report")
    assert run.returncode != 0
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("make report: FAILED")]
    assert len(lines) == 1, run.stderr
    assert f"notebooks/{victim}.ipynb" in lines[0] and "cell" in lines[0]
    assert "ValueError: planted failure" in lines[0]
    kept = re.search(r"kept at (\S+)", lines[0]).group(1)
    assert (demo_project_copy / kept).exists()
    assert "Traceback" not in run.stderr
    # the pages stay as published; the index and leadership page of each language say they are
    # from the last good run, and which notebook and cell stopped this one
    after = snapshot(demo_project_copy / "reports")
    status = {"index.html", "leadership.html", "ru/index.html", "ru/leadership.html"}
    assert set(after) == set(published)
    assert {name for name in published if after[name] != published[name]} == status
    cell = re.search(r" at cell (\d+)", lines[0]).group(1)
    for name in status:
        [banner] = BeautifulSoup((demo_project_copy / "reports" / name).read_text(), "html.parser").select(".cl-banner")
        text = banner.get_text(" ", strip=True)
        assert f"notebooks/{victim}.ipynb" in text and cell in text and "ValueError: planted failure" in text


def processed_files(project: Path) -> dict[str, str]:
    """Every file of data/processed/ but intake's hidden notes (which hold file times)."""
    return {name: digest for name, digest in snapshot(project / "data" / "processed").items()
            if not Path(name).name.startswith(".")}


def test_rebuild_gives_identical_processed_data(demo_project_copy):
    """Rebuilt from scratch in one language, data/processed/ is the two-language build's byte for
    byte: the second language's pass writes only its own folder."""
    before = processed_files(demo_project_copy)
    assert any(name.endswith(".parquet") for name in before)
    run = make(demo_project_copy, "clean")
    assert run.returncode == 0 and not (demo_project_copy / "data" / "processed" / "client_quarter.parquet").exists()
    assert (demo_project_copy / "data" / "raw" / "time_entries.csv").exists(), "make clean must keep data/raw/"
    run = make(demo_project_copy, "report", ONE_LANGUAGE)
    assert run.returncode == 0, run.stderr
    assert not (demo_project_copy / "build" / "lang").exists()
    assert processed_files(demo_project_copy) == before


def test_a_parameter_from_the_command_line_reruns_the_chain(demo_project_copy):
    project = demo_project_copy
    run = make(project, "report", "PERIOD_END=2025Q3", ONE_LANGUAGE)
    assert run.returncode == 0, run.stderr
    assert len(re.findall(r"-> (\S+): running", run.stderr)) == len(stage_names(project))
    footer = BeautifulSoup((project / "reports" / "pnl.html").read_text(), "html.parser").select_one("footer")
    assert "2025Q3" in footer.get_text()
    # the second language turned off: its pages of the earlier run are not left behind
    assert not (project / "reports" / "ru").exists()
    typo = make(project, "report", "PERIOD_ED=2025Q3")
    assert typo.returncode != 0 and "unknown parameter PERIOD_ED" in typo.stderr


def test_both_languages_are_published_side_by_side_each_page_linked_to_its_twin(demo_project):
    """One build publishes the English pages at reports/ and the Russian at reports/ru/, page for
    page and card for card, each linking to its twin by a relative link, both ways."""
    reports = demo_project / "reports"
    english = {p.relative_to(reports) for p in reports.rglob("*.html") if p.relative_to(reports).parts[0] != "ru"}
    russian = {p.relative_to(reports / "ru") for p in (reports / "ru").rglob("*.html")}
    assert english == russian and any(p.parts[0] == "clients" for p in english)
    for rel in sorted(english):
        page, twin = reports / rel, reports / "ru" / rel
        for here, there, lang in [(page, twin, "ru"), (twin, page, "en")]:
            soup = BeautifulSoup(here.read_text(encoding="utf-8"), "html.parser")
            link = soup.select_one("header.cl-topbar a[hreflang]")
            assert link is not None and link["hreflang"] == lang, f"{here}: no link to its twin"
            assert (here.parent / link["href"]).resolve() == there.resolve(), f"{here}: {link['href']}"
        assert BeautifulSoup(twin.read_text(encoding="utf-8"), "html.parser").html["lang"] == "ru"


def test_the_russian_pages_are_russian(russian_demo):
    footer = BeautifulSoup((russian_demo / "reports" / "pnl.html").read_text(), "html.parser").select_one("footer")
    assert "Происхождение данных" in footer.get_text()
    assert_no_english_on_the_pages(russian_demo)


def assert_no_english_on_the_pages(project: Path) -> None:
    """What a reader sees on every page and client card built with REPORT_LANG=ru is Russian: no English word but
    client and people names, file names in code spans, the parameters' JSON and the allowed
    acronyms, products and currency codes (e2e_support.LATIN_ALLOWED); so are the headers of the
    CSV downloads."""
    import pandas as pd

    processed = project / "data" / "processed"
    names = set(pd.read_parquet(processed / "pnl_clients.parquet")["client_name"].dropna().astype(str))
    # the ingest page names clients the analysis may leave out (acquired after the period)
    names |= set(pd.read_parquet(processed / "clients.parquet")["client_name"].dropna().astype(str))
    panel = pd.read_parquet(processed / "client_quarter.parquet")
    names |= set(panel.get("our_communicator", pd.Series(dtype=object)).dropna().astype(str))
    # projects and roles as the firm's own data names them (the P&L below the client shows them)
    entries = pd.read_parquet(processed / "time_entries.parquet", columns=["project", "role"])
    names |= set(entries["project"].dropna().astype(str)) | set(entries["role"].dropna().astype(str))
    names |= set(pd.read_parquet(processed / "people.parquet")["role"].dropna().astype(str))
    # the data contract's table names (docs/data-contract.md): what the analyst supplies, by name
    from clientlens.intake.contract import TABLES

    names |= set(TABLES)
    if (processed / "deals.parquet").exists():  # the CRM's own words: stages, deal names, lost reasons
        deals = pd.read_parquet(processed / "deals.parquet")
        for column in ("stage", "deal_name", "lost_reason", "prospect"):
            if column in deals.columns:
                names |= set(deals[column].dropna().astype(str))
    left = {}
    for path in every_page(project):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        assert soup.html.get("lang") == "ru", path.name
        for tag in soup(["script", "style", "pre", "code"]):
            tag.decompose()
        for tag in soup.select("body [lang]"):  # marked as another language: the link to the English twin
            tag.decompose()
        for line in soup.get_text("\n").splitlines():
            undated = re.sub(r"\b\d{2}\.\d{2}\.\d{4}\b", "", line)  # 30.09.2026 is a Russian date
            english_number = re.search(r"\d,\d{3}(?!\d)|\d\.\d", undated)  # 96,196 or 1.5: not Russian
            if english_words(line, names) or english_number:
                left.setdefault(path.name, []).append(line.strip())
    for download in sorted((project / "reports" / "downloads").glob("*.csv")):
        header = download.read_text(encoding="utf-8-sig").splitlines()[0]
        if english_words(header):
            left[download.name] = [header]
    assert not left, f"English words or number formats on Russian pages: {left}"


# --- in a real browser, as leadership opens the pages: offline, from disk --------------------
# The pages opened are the Russian run's (russian_demo): its longer words are the harder test of
# the layout and of printing to A4. The browser fixture is conftest's.

def open_page(browser, path: Path):
    """Load a page from disk with every request off the disk refused and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            problems.append(f"outside request: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


class Visit(NamedTuple):
    problems: list[str]  # what open_page recorded
    broken_images: int
    hrefs: list[str]
    anchor_found: dict[str, bool]  # each in-page link (#id): whether the page has that id


@pytest.fixture(scope="module")
def visits(russian_demo, browser) -> dict[Path, Visit]:
    """Every page and client card, each opened once for the tests below."""
    seen = {}
    for path in every_page(russian_demo):
        page, problems = open_page(browser, path)
        broken_images = page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
        anchor_found = {href: page.evaluate("id => !!document.getElementById(id)", href[1:])
                        for href in hrefs if href.startswith("#")}
        page.close()
        seen[path] = Visit(problems, broken_images, hrefs, anchor_found)
    return seen


def test_every_page_loads_offline_without_errors(visits):
    for path, visit in visits.items():
        assert not visit.problems, f"{path.name}: {visit.problems}"
        assert visit.broken_images == 0, f"{path.name}: {visit.broken_images} images did not decode"


def test_every_link_resolves(visits):
    for path, visit in visits.items():
        for href in visit.hrefs:
            if href.startswith("#"):
                assert visit.anchor_found[href], f"{path.name}: {href}"
            else:
                target, _, anchor = href.partition("#")
                assert (path.parent / target).exists(), f"{path.name} links to missing {href}"


def test_table_sorting_runs_under_the_pages_security_policy(russian_demo, browser):
    """The one script a page runs is allowed by its policy, and sorts the client table."""
    page, problems = open_page(browser, russian_demo / "reports" / "pnl.html")
    table = page.locator("table.cl-sortable").last
    table.locator("thead th").nth(0).click()
    assert table.locator("thead th").nth(0).get_attribute("aria-sort") == "ascending"
    names = table.locator("tbody tr td:first-child").all_inner_texts()
    table.locator("thead th").nth(0).click()
    reversed_names = table.locator("tbody tr td:first-child").all_inner_texts()
    page.close()
    assert not problems, problems
    assert names == sorted(names, key=str.lower) and reversed_names == names[::-1]


def test_screenshot_of_the_leadership_first_screen(russian_demo, browser, tmp_path):
    page, problems = open_page(browser, russian_demo / "reports" / "leadership.html")
    shot = tmp_path / "leadership-first-screen.png"
    page.screenshot(path=str(shot))
    page.close()
    assert shot.stat().st_size > 10_000 and not problems


@pytest.mark.parametrize("build", ["demo_project", "russian_demo"])
def test_every_leadership_kpi_equals_its_detailed_stage(build, request):
    """The first screen's figures, read off the page, against the stage outputs they come from,
    in English and in the Russian run; each figure links to the list on the page it counts, and
    the list adds up to it."""
    import json

    import pandas as pd

    from clientlens.analysis import leadership, pnl
    from clientlens.i18n import tr, tr_context
    from clientlens.publishing import display as d
    from clientlens.processed import reporting_currency

    project = request.getfixturevalue(build)
    params = json.loads((project / "build" / "params.json").read_text())
    processed = project / "data" / "processed"
    lang, cur = params["report_lang"], reporting_currency(processed)
    pnl_clients = pd.read_parquet(processed / "pnl_clients.parquet")  # the P&L stage
    segments = pd.read_parquet(processed / "segments.parquet")  # the segments stage
    warnings = pd.read_parquet(processed / "early_warnings.parquet")
    forecast = pd.read_parquet(processed / "forecast_portfolio.parquet").sort_values("quarter_index")  # spiral
    soup = BeautifulSoup((project / "reports" / "leadership.html").read_text(), "html.parser")
    cards = {card["data-kpi"]: card for card in soup.select("[data-kpi]")}
    shown = {key: card.select_one(".cl-kpi-value").get_text() for key, card in cards.items()}

    revenue = pnl_clients.revenue_last4.sum()
    last4 = pnl.last_four_quarters(pnl_clients)
    at_risk = leadership.at_risk_clients(segments, warnings)
    first = forecast.iloc[0]
    assert shown["revenue_last4"] == d.fmt_money_short(revenue, cur, lang)
    assert shown["margin_pct_last4"] == d.fmt_pct(pnl_clients.margin_last4.sum() / revenue, 1, lang)
    # one period for the row: the top 20%'s share is of the last four quarters' profit too
    assert shown["top20_profit_share"] == d.fmt_pct(pnl.top_share(last4, 0.2)["profit_share"], 0, lang)
    row_title = cards["revenue_last4"].find_previous(class_="cl-kpi-title").get_text()
    assert row_title.startswith(tr("The last four quarters", lang))
    assert cards["top20_profit_share"].find_previous(class_="cl-kpi-title").get_text() == row_title
    assert shown["clients_at_risk"] == d.fmt_number(len(at_risk), 0, lang)
    assert shown["revenue_at_risk"] == d.fmt_money_short(at_risk.revenue.sum(), cur, lang)
    assert shown["forecast"].startswith(d.fmt_money_short(first.revenue_mean, cur, lang))
    assert d.fmt_money_short(first.revenue_lo_80, "", lang) in shown["forecast"]
    # the breakdown under the figures: each kind's clients, adding up to the headline
    kpis = json.loads((processed / "leadership_kpis.json").read_text())
    by_kind = kpis["at_risk_by_kind"]
    assert sum(k["clients"] for k in by_kind.values()) == len(at_risk)
    assert abs(sum(k["revenue"] for k in by_kind.values()) - at_risk.revenue.sum()) < 0.01
    sentence = leadership.risk_sentence(leadership.risk_breakdown(at_risk, lang), cur, lang)
    assert sentence in soup.get_text()
    for kind, figures in by_kind.items():
        # a kind with nothing billed lately says so rather than "0 USD"
        money = (d.fmt_money_short(figures["revenue"], cur, lang) if figures["revenue"]
                 else tr(leadership.NO_RECENT_REVENUE, lang))
        assert tr("{risk}, {n} ({money})", lang, risk=tr_context("risk group", leadership.RISK_PHRASES[kind], lang),
                  n=d.fmt_number(figures["clients"], 0, lang), money=money) in sentence
    # and the at-risk list is exactly the warned clients plus the risky segments
    expected = set(warnings.client_id) | set(segments.loc[segments.segment.isin(
        ["difficult", "toxic_unprofitable", "stale_communicator", "gone_quiet"]), "client_id"])
    assert set(at_risk.client_id) == expected

    # Every first-row figure opens the list it counts, on this page, and the list adds up to it.
    def table_after(anchor: str):
        target = soup.find(id=anchor)
        assert target is not None, f"#{anchor} is not on the page"
        table = target.find_next("table")
        return [[td.get_text() for td in tr_.find_all("td")] for tr_ in table.find("tbody").find_all("tr")]

    for key in ("revenue_last4", "margin_pct_last4", "top20_profit_share", "clients_at_risk", "revenue_at_risk"):
        assert cards[key].name == "a" and cards[key]["href"].startswith("#"), key
    assert cards["clients_at_risk"]["href"] == cards["revenue_at_risk"]["href"] == "#clients-at-risk"
    listed = pd.read_parquet(processed / "leadership_at_risk.parquet")
    assert len(table_after("clients-at-risk")) == len(listed) == kpis["clients_at_risk"]
    assert round(listed.revenue.sum(), 2) == round(kpis["revenue_at_risk"], 2)
    assert set(listed.client_id) == set(at_risk.client_id)

    def amount(text: str) -> float:
        return float(re.sub(r"[^\d\-−,.]", "", text).replace("−", "-").replace(",", "" if lang == "en" else "."))

    every = table_after("every-client")
    measured = last4.loc[last4.revenue.notna() | last4.margin.notna()]
    assert len(every) == len(measured)
    # the page's amounts are whole: their sum is the headline's within half a unit a row
    assert abs(sum(amount(row[2]) for row in every) - revenue) <= 0.5 * len(every)
    top = pnl.top_share(last4, 0.2)
    assert sum(row[-1] == tr("yes", lang) for row in every) == int(top["n_top"])
    # the ten actions are the first ten rows of the list of every action
    actions = pd.read_parquet(processed / "client_actions.parquet")
    ranked = actions.loc[~actions.ended].sort_values("rank")
    top_ten = pd.read_parquet(processed / "leadership_actions.parquet")
    assert list(top_ten.client_id) == list(ranked.client_id.head(10))
    assert actions.client_id.is_unique  # one action per client


A4_WIDTH_PX, A4_HEIGHT_PX = 688, 1016  # 210 x 297 mm less 14 mm margins, at 96 px per inch


def test_leadership_page_prints_to_a4(russian_demo, browser):
    """Printed, each section starts a new page and no chart, card or row is cut: each fits the
    printable area whole and asks not to be split."""
    page, problems = open_page(browser, russian_demo / "reports" / "leadership.html")
    page.set_viewport_size({"width": A4_WIDTH_PX, "height": A4_HEIGHT_PX})
    page.emulate_media(media="print")
    layout = page.evaluate("""() => {
        const style = e => getComputedStyle(e);
        const boxes = Array.from(document.querySelectorAll("main img, main svg, .cl-kpi, main tr"))
            .filter(e => e.getBoundingClientRect().height > 0)
            .map(e => ({tag: e.tagName, w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height,
                        avoid: style(e).breakInside}));
        const sections = Array.from(document.querySelectorAll("main h2")).filter(h => !h.closest("footer"))
            .map(h => style(h).breakBefore);
        return {boxes, sections, scroll: document.documentElement.scrollWidth};
    }""")
    pdf = page.pdf(format="A4", print_background=True)
    page.close()
    assert not problems, problems
    assert layout["scroll"] <= A4_WIDTH_PX + 1, "the printed page is wider than A4"
    assert layout["sections"] and set(layout["sections"]) == {"page"}
    for box in layout["boxes"]:
        assert box["w"] <= A4_WIDTH_PX + 1 and box["h"] <= A4_HEIGHT_PX, box
        assert box["avoid"] == "avoid", box
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") > len(layout["sections"])


@pytest.mark.parametrize("lang, rows_label", [("en", "Rows 1\u201350 of 130"), ("ru", "Строки 1\u201350 из 130")])
def test_long_tables_page_and_filter_under_the_pages_policy(browser, tmp_path, lang, rows_label):
    """A table longer than a page shows 50 rows with a pager in the page's language (its words
    from the catalogue); the filter searches every row."""
    import html

    import pandas as pd

    from clientlens.publishing import display as d
    from clientlens.publishing.publish import STATIC_DIR, content_security_policy, pager_words

    script = (STATIC_DIR / "report.js").read_text(encoding="utf-8")
    table = d.table_html(pd.DataFrame({"client": [f"Client {i:03d}" for i in range(130)],
                                       "revenue": [float(i) for i in range(130)]}), max_rows=None)
    page_file = tmp_path / "paged.html"
    page_file.write_text(f'<!DOCTYPE html><html lang="{lang}" data-pager-words="{html.escape(pager_words(lang))}">'
                         f'<head><meta charset="utf-8"><meta http-equiv='
                         f'"Content-Security-Policy" content="{content_security_policy(script)}"><style>'
                         f'{(STATIC_DIR / "report.css").read_text()}</style></head><body>{table}'
                         f'<script>{script}</script></body></html>')
    page, problems = open_page(browser, page_file)
    visible = "() => Array.from(document.querySelectorAll('tbody tr')).filter(r => r.offsetParent).map(r => r.cells[0].textContent)"
    first = page.evaluate(visible)
    label = page.locator(".cl-pager span").inner_text()
    page.locator(".cl-pager button").nth(1).click()
    second = page.evaluate(visible)
    page.fill("input.cl-filter", "Client 12")
    found = page.evaluate(visible)
    page.close()
    assert not problems, problems
    assert first == [f"Client {i:03d}" for i in range(50)] and label == rows_label
    assert second == [f"Client {i:03d}" for i in range(50, 100)]
    assert found == [f"Client {i:03d}" for i in range(120, 130)]
