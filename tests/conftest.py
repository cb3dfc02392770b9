"""Fixtures the test files share, and the order in which `make test` hands files to its workers.

The end-to-end tests run `make report` in fresh-clone-like copies of the project. A build that
tests only read is made once and shared; a test that runs Make again gets its own copy of a
built project, which Make finds up to date, rather than a build from scratch.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_support import DEMO_SIZE, copy_built, copy_project, make
from record_counts import ADAPTER_TEST_MODULES, counted

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def build_project(tmp_path_factory):
    """build(name, *make_args, prepare=None, what=...) -> (project, the make report run):
    a copy of the project, `prepare(project)` to write its data/raw/, then `make report`."""
    def build(name: str, *make_args: str, prepare=None, what: str = "the demo company"):
        project = copy_project(tmp_path_factory.mktemp(name))
        if prepare is not None:
            prepare(project)
        run = make(project, "report", *make_args)
        assert run.returncode == 0, f"make report failed on {what}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        return project, run
    return build


@pytest.fixture(scope="session")
def demo_project(build_project) -> Path:
    """The project after `make report` on an empty data/raw/ (so on the demo company), with
    that run's output in first-run.log. Read it, never change it: take demo_project_copy."""
    project, run = build_project("fresh-clone", *DEMO_SIZE)
    (project / "first-run.log").write_text(run.stdout + run.stderr)
    return project


@pytest.fixture
def demo_project_copy(demo_project, tmp_path) -> Path:
    """A built demo project of the test's own, for tests that run Make or edit files."""
    return copy_built(demo_project, tmp_path / "project")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium. Where it is missing, the browser tests fail on CI (CI=true)
    and are skipped on a developer's machine."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install Debian's chromium for the browser checks (see .ci/run)")
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update"])
        yield chromium
        chromium.close()


# --- handing the files to the xdist workers (make test: --dist loadfile --no-loadscope-reorder) --

# The slowest files, slowest first. xdist hands out whole files in collection order, each to the
# first worker with room; started first, these run side by side and the many quick files fill in
# after them, so neither worker is left alone with a long file at the end. (--dist loadgroup would
# allow finer groups, but pytest-xdist 3.8 cannot see the groups under pytest 9.2: xdist #1386.)
SLOWEST_FIRST = ["test_e2e.py", "test_lab.py", "test_e2e_hostile.py", "test_e2e_not_measured.py",
                 "test_anonymize_reports.py", "test_bench.py", "test_typed_read.py", "test_bad_inputs.py",
                 "test_forecast.py", "test_row_counts.py", "test_planted_truth.py"]


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # not an xdist worker: keep the files' order
        return
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(autouse=True)
def rows_read_counted_by_a_third_reader(request, monkeypatch):
    """Every ingest an adapter test makes: rows read = the records a third reader counts in each
    file (tests/record_counts.py), so each sample export is counted without running twice."""
    module = request.module
    if module.__name__ in ADAPTER_TEST_MODULES:
        monkeypatch.setattr(module, "run_ingest", counted(module.run_ingest))
