"""Both languages published side by side, each page linked to its twin; a failed run shows on
the published pages until the next good publish."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from test_publish import LINEAGE, executed_notebook

from clientlens.publishing.publish import build_site, moment_label, publish
from clientlens.publishing.run_status import FailedRun, mark_failed_run
from clientlens.publishing.twins import twins
from clientlens.tooling import pipeline

FAILED = FailedRun(when="2026-11-23 09:00 UTC", notebook="notebooks/03-toxicity.ipynb", cell=7,
                   error="ValueError: planted failure")


@pytest.fixture(scope="module")
def built_sites(tmp_path_factory) -> Path:
    """A site in English at site/ with its twin in Russian at site/ru/, as run_publish builds
    them: a P&L page and a leadership page in each. Rendered once; tests take copies."""
    root = tmp_path_factory.mktemp("sites")
    executed = executed_notebook(root, "02-pnl")
    executed_notebook(root, "06-leadership")
    first_twin, second_twin = twins("en", "ru")
    build_site(executed, root / "site", LINEAGE, "en", twin=first_twin)
    build_site(executed, root / "site" / "ru", LINEAGE, "ru", twin=second_twin)
    return root / "site"


@pytest.fixture
def two_sites(built_sites, tmp_path):
    """two_sites(): a fresh copy of built_sites."""
    copies = iter(range(100))

    def copy() -> Path:
        return Path(shutil.copytree(built_sites, tmp_path / f"site-{next(copies)}"))
    return copy


def html_pages(root: Path, skip: str | None = None) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if skip is None or p.relative_to(root).parts[0] != skip)


def twin_href(page: Path) -> str:
    link = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select_one("header.cl-topbar a[hreflang]")
    assert link is not None, f"{page}: no link to the other language"
    return link["href"]


def test_every_page_links_to_its_twin_and_back(two_sites):
    site = two_sites()
    first_pages = html_pages(site, skip="ru")
    assert {p.relative_to(site) for p in first_pages} == {p.relative_to(site / "ru") for p in html_pages(site / "ru")}
    for page in first_pages:
        twin = (page.parent / twin_href(page)).resolve()
        assert twin == (site / "ru" / page.relative_to(site)).resolve()
        assert BeautifulSoup(twin.read_text(), "html.parser").html["lang"] == "ru"
        assert (twin.parent / twin_href(twin)).resolve() == page.resolve()
        assert not twin_href(page).startswith(("/", "file:", "http"))  # relative: opens from disk


def test_one_language_has_no_twin_link(tmp_path):
    build_site(executed_notebook(tmp_path), tmp_path / "site", LINEAGE, "en")
    for page in html_pages(tmp_path / "site"):
        assert 'hreflang' not in page.read_text()


def test_a_card_links_to_its_twin_two_folders_up():
    first, second = twins("en", "ru")
    assert first.href("clients/c1.html", depth=1) == "../ru/clients/c1.html"
    assert second.href("clients/c1.html", depth=1) == "../../clients/c1.html"


def banners(page: Path) -> list[str]:
    return [b.get_text(" ", strip=True) for b in BeautifulSoup(page.read_text(), "html.parser").select(".cl-banner")]


def test_a_failed_run_marks_index_and_leadership_of_both_languages_and_nothing_else(two_sites, tmp_path):
    reports = tmp_path / "reports"
    publish(two_sites(), reports)
    before = {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    status = {reports / "index.html", reports / "leadership.html",
              reports / "ru" / "index.html", reports / "ru" / "leadership.html"}
    assert {p for p in status if banners(p)} == set()
    for page in status:  # each says when it was built, as its language writes a date
        assert moment_label(LINEAGE.built_at, BeautifulSoup(page.read_text(), "html.parser").html["lang"]) \
            in page.read_text()

    assert set(mark_failed_run(reports, FAILED)) == status
    for page in status:
        [text] = banners(page)
        lang = BeautifulSoup(page.read_text(), "html.parser").html["lang"]
        assert moment_label(LINEAGE.built_at, lang) in text and moment_label(FAILED.when, lang) in text
        assert "notebooks/03-toxicity.ipynb" in text and "7" in text and "ValueError: planted failure" in text
        assert ("These pages are from the last good run" in text) == (lang == "en")
        assert ("последнего успешного запуска" in text) == (lang == "ru")
    after = {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    assert set(after) == set(before)  # no temporary file left
    assert {p for p in before if after[p] != before[p]} == status

    again = FailedRun("2026-11-24 09:00 UTC", "notebooks/05-spiral.ipynb", None, "DeadKernelError")
    mark_failed_run(reports, again)
    [text] = banners(reports / "index.html")
    assert moment_label(again.when, "en") in text and "05-spiral" in text and "03-toxicity" not in text

    publish(two_sites(), reports)  # the next good run
    assert not any(banners(p) for p in status)


def test_pages_without_the_placeholder_are_left_alone(tmp_path):
    (tmp_path / "index.html").write_text("<html lang=\"en\"><body>old page</body></html>")
    assert mark_failed_run(tmp_path, FAILED) == []
    assert (tmp_path / "index.html").read_text() == "<html lang=\"en\"><body>old page</body></html>"


def test_a_failing_stage_is_noted_and_marks_the_published_pages(two_sites, tmp_path, monkeypatch, capsys):
    ws = pipeline.Workspace.under(tmp_path)
    publish(two_sites(), ws.reports)

    def failing(name, ws):
        raise pipeline.PipelineError(f"FAILED notebooks/{name}.ipynb at cell 7: ValueError: planted failure",
                                     FAILED)

    monkeypatch.setattr(pipeline, "run_stage", failing)
    assert pipeline.main(["--workdir", str(tmp_path), "stage", "03-toxicity"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "notebooks/03-toxicity.ipynb at cell 7" in lines[0]
    assert json.loads(ws.failed_run_file.read_text())["notebook"] == "notebooks/03-toxicity.ipynb"
    assert banners(ws.reports / "leadership.html") and banners(ws.reports / "ru" / "index.html")
    assert not banners(ws.reports / "pnl.html")


def test_second_language_is_off_when_null_empty_or_the_first():
    assert pipeline.second_language({"report_lang": "en", "second_report_lang": "ru"}) == "ru"
    assert pipeline.second_language({"report_lang": "ru", "second_report_lang": "en"}) == "en"
    assert pipeline.second_language({"report_lang": "ru", "second_report_lang": "ru"}) is None
    assert pipeline.second_language({"report_lang": "en", "second_report_lang": None}) is None
    assert pipeline.effective_params(["SECOND_REPORT_LANG="]).second_report_lang is None
    params = json.loads(pipeline.second_params_text({"report_lang": "en", "seed": 1}, "ru"))
    assert params == {"report_lang": "ru", "seed": 1}


def test_the_second_pass_starts_from_a_copy_of_the_first_intake_never_a_link(tmp_path):
    from clientlens.intake.stage import FINGERPRINT_FILE

    ws = pipeline.Workspace.under(tmp_path)
    second = ws.second("ru")
    ws.processed.mkdir(parents=True)
    for name in ("time_entries.parquet", "quarantine/quarantine.csv", "pnl_clients.parquet"):
        (ws.processed / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.processed / name).write_text(name)
    intake = ["quarantine/quarantine.csv", "time_entries.parquet"]  # pnl_clients is a later stage's
    (ws.processed / FINGERPRINT_FILE).write_text(json.dumps(
        {"inputs": {}, "outputs": pipeline.file_stats(ws.processed, intake)}))
    (tmp_path / "anonymize.key").write_text("key")
    second.processed.mkdir(parents=True)
    (second.processed / "gone.parquet").write_text("an earlier intake's")
    (second.processed / FINGERPRINT_FILE).write_text(json.dumps({"outputs": {"gone.parquet": [1, 1]}}))

    pipeline.seed_second_pass(ws, second)

    assert pipeline.file_stats(second.processed, intake) == pipeline.file_stats(ws.processed, intake)
    for name in intake:
        assert not os.path.samefile(second.processed / name, ws.processed / name)
    assert not (second.processed / "pnl_clients.parquet").exists()
    assert not (second.processed / "gone.parquet").exists()
    assert (second.build / "anonymize.key").read_text() == "key"
    assert second.build == tmp_path / "build" / "lang" / "ru" and second.second_lang == "ru"


def test_a_second_language_turned_off_leaves_no_old_second_site(two_sites, tmp_path):
    reports = tmp_path / "reports"
    publish(two_sites(), reports)
    assert (reports / "ru" / "index.html").exists()
    one = tmp_path / "one"
    one.mkdir()
    build_site(executed_notebook(one), one / "site", LINEAGE, "en")
    publish(one / "site", reports)
    assert not (reports / "ru").exists()


def test_the_second_pass_runs_after_the_first_and_after_the_stages_it_loads():
    rules = pipeline.make_dependencies().splitlines()
    needs = pipeline.stage_needs()
    for name, wanted in needs.items():
        [rule] = [r for r in rules if r.startswith(f"$(SECOND)/executed/{name}.ipynb:")]
        prerequisites = rule.split(":", 1)[1].split()
        assert prerequisites == [f"build/executed/{name}.ipynb"] + [f"$(SECOND)/executed/{s}.ipynb" for s in wanted]


def test_a_second_pass_failure_says_which_pages(tmp_path):
    ws = pipeline.Workspace.under(tmp_path).second("ru")
    notebook = pipeline.NOTEBOOKS_DIR / "03-toxicity.ipynb"
    line = pipeline.failure_line(notebook, ws.failed / notebook.name, ValueError("planted"), ws)
    assert line.startswith("FAILED notebooks/03-toxicity.ipynb (the ru pages) at ") and "\n" not in line


def test_bench_runs_the_second_pass_as_make_does():
    needs = {"01-ingest": [], "02-pnl": ["01-ingest"]}
    assert pipeline.second_pass_needs(needs, "ru") == {"01-ingest (ru)": ["01-ingest"],
                                                       "02-pnl (ru)": ["02-pnl", "01-ingest (ru)"]}
    assert pipeline.stage_command("02-pnl (ru)") == ["second-stage", "02-pnl"]
    assert pipeline.stage_command("02-pnl") == ["stage", "02-pnl"]
