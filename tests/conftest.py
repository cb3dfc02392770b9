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


def built_once(tmp_path_factory, name: str, build) -> Path:
    """`build()`'s project, built by one worker of the run and read by all: under xdist each
    worker has its own session, and a build every worker read would otherwise run once per
    worker. The first worker to take the lock builds; the others wait, then read its path."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build()
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent / f"built-{name}"  # the run's folder, not a worker's
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "project"
        if done.exists():
            return Path(done.read_text(encoding="utf-8"))
        project = build()
        done.write_text(str(project), encoding="utf-8")
        return project


@pytest.fixture(scope="session")
def demo_project(build_project, tmp_path_factory) -> Path:
    """The project after `make report` on an empty data/raw/ (so on the demo company), with
    that run's output in first-run.log. Read it, never change it: take demo_project_copy."""
    def build() -> Path:
        project, run = build_project("fresh-clone", *DEMO_SIZE)
        (project / "first-run.log").write_text(run.stdout + run.stderr)
        return project

    return built_once(tmp_path_factory, "demo", build)


@pytest.fixture
def demo_project_copy(demo_project, tmp_path) -> Path:
    """A built demo project of the test's own, for tests that run Make or edit files."""
    return copy_built(demo_project, tmp_path / "project")


# A one-file firm: five clients in a Harvest detailed time report (its header: e2e_support), the
# last at a bill rate below the cost rate.
HARVEST_ONLY_RATES = {"Acme Corp": 120.0, "Beta LLC": 110.0, "Gamma GmbH": 95.0, "Delta Inc": 130.0, "Zeta SA": 35.0}


@pytest.fixture(scope="session")
def harvest_only_project(build_project, tmp_path_factory) -> Path:
    """The project after `make report` on data/raw/ holding one Harvest export and nothing else."""
    from e2e_support import write_harvest_export

    def prepare(project: Path) -> None:
        write_harvest_export(project / "data" / "raw" / "harvest_detailed_time.csv", HARVEST_ONLY_RATES, n=600, seed=11)

    return built_once(tmp_path_factory, "harvest-only", lambda: build_project(
        "harvest-only", prepare=prepare, what="a firm of one Harvest export")[0])


SMALL_FIRM_CLIENTS = ["North Ltd", "South LLC", "West GmbH"]


@pytest.fixture(scope="session")
def small_firm_project(build_project, tmp_path_factory) -> Path:
    """The project after `make report` on a firm too small to have clients at risk: three clients
    with steady work over four whole quarters, 2024Q4 to 2025Q3, in the canonical time_entries
    table (docs/data-contract.md), each hour billed at 100 and costing 50."""
    import csv
    import datetime as dt
    import random

    def prepare(project: Path) -> None:
        rng = random.Random(4)
        with open(project / "data" / "raw" / "time_entries.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["date", "client_id", "project", "task", "person", "hours", "billable",
                             "billable_amount", "cost_amount", "currency"])
            days = [dt.date(2024, 10, 1) + dt.timedelta(days=rng.randint(0, 364)) for _ in range(300)]
            # each client worked the period's last day: the last quarter is whole, and counted
            work = [(rng.choice(SMALL_FIRM_CLIENTS), day) for day in days]
            work += [(client, dt.date(2025, 9, 30)) for client in SMALL_FIRM_CLIENTS]
            for client, day in work:
                hours = round(rng.uniform(1, 8), 2)
                writer.writerow([day.isoformat(), client, f"{client} site", "Development", rng.choice(["Ann", "Bob"]),
                                 hours, "true", round(hours * 100, 2), round(hours * 50, 2), "USD"])

    return built_once(tmp_path_factory, "small-firm", lambda: build_project(
        "small-firm", prepare=prepare, what="a firm of three clients")[0])


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
SLOWEST_FIRST = ["test_e2e.py", "test_pages_browser.py", "test_lab.py", "test_e2e_hostile.py",
                 "test_e2e_not_measured.py", "test_anonymize_reports.py", "test_bench.py", "test_typed_read.py", "test_bad_inputs.py",
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
