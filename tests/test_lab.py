"""The analyst's path: notebooks run in JupyterLab as they open, and a parameter change reruns
only the stages that read it.

Each test works on its own copy of the demo company's built project (conftest.demo_project_copy).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from e2e_support import VENV, make
from nbclient import NotebookClient

from clientlens.processed import reporting_currency

pytestmark = pytest.mark.e2e

# These tests are about one pass of the chain; the second language's pass has its own tests
# (tests/test_e2e.py, tests/test_publish_languages.py), and here would only double each run.
ONE_LANGUAGE = "SECOND_REPORT_LANG="


@pytest.fixture
def project(demo_project_copy) -> Path:
    return demo_project_copy


def ran(run: subprocess.CompletedProcess) -> list[str]:
    """The stages a make run executed, in the order it started them."""
    return re.findall(r"-> (\S+): running", run.stderr)


def tables(processed: Path) -> dict[str, pd.DataFrame]:
    return {p.relative_to(processed).as_posix(): pd.read_parquet(p) for p in sorted(processed.rglob("*.parquet"))}


def leadership_kpis(project: Path) -> dict[str, str]:
    soup = BeautifulSoup((project / "reports" / "leadership.html").read_text(encoding="utf-8"), "html.parser")
    return {card["data-kpi"]: card.select_one(".cl-kpi-value").get_text() for card in soup.select("[data-kpi]")}


def test_every_notebook_runs_as_it_opens_and_make_report_notices(project):
    """Top to bottom in the notebooks/ folder with nothing injected, as JupyterLab runs them:
    each one reads config/params.yaml and writes the very tables `make report` wrote."""
    from clientlens.publishing import display as d

    processed = project / "data" / "processed"
    made = tables(processed)
    for path in sorted((project / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name="clientlens", timeout=600,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    by_hand = tables(processed)
    assert by_hand.keys() == made.keys()
    for name, frame in made.items():
        pd.testing.assert_frame_equal(by_hand[name], frame, obj=name)
    # the notebooks rewrote data/processed/: the next make report runs the stages again and
    # republishes, so the pages show what data/processed/ holds
    again = make(project, "report", ONE_LANGUAGE)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "was changed outside make report" in again.stderr
    assert ran(again), again.stderr
    assert make(project, "report", ONE_LANGUAGE).stderr.count("-> ") == 0  # and then it is in step
    params = json.loads((project / "build" / "params.json").read_text())
    lang, cur = params["report_lang"], reporting_currency(processed)
    pnl_clients = pd.read_parquet(processed / "pnl_clients.parquet")
    kpis = leadership_kpis(project)
    assert kpis["revenue_last4"] == d.fmt_money_short(pnl_clients.revenue_last4.sum(), cur, lang)
    assert kpis["margin_pct_last4"] == d.fmt_pct(pnl_clients.margin_last4.sum() / pnl_clients.revenue_last4.sum(),
                                                 1, lang)


def test_a_toxicity_parameter_reruns_toxicity_and_what_follows_never_ingest(project):
    before = pd.read_parquet(project / "data" / "processed" / "toxicity_clients.parquet")
    entries = project / "data" / "processed" / "time_entries.parquet"
    entries_time = entries.stat().st_mtime_ns
    run = make(project, "report", ONE_LANGUAGE, "TOXICITY__MARKERS__LATE_PAYMENT__THRESHOLD=45")
    assert run.returncode == 0, run.stderr[-3000:]
    stages = ran(run)
    assert "03-toxicity" in stages and "04-segments" in stages and "06-leadership" in stages
    assert not {"01-ingest", "02-pnl", "05-spiral"} & set(stages), stages
    assert entries.stat().st_mtime_ns == entries_time
    after = pd.read_parquet(project / "data" / "processed" / "toxicity_clients.parquet")
    assert not after["score"].equals(before["score"])  # the threshold did reach the score


def test_a_change_of_language_reads_no_export_again(project):
    processed = project / "data" / "processed"
    written = {p.name: p.stat().st_mtime_ns for p in processed.glob("*.parquet")}
    run = make(project, "report", ONE_LANGUAGE, "REPORT_LANG=ru")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "reused, not read again" in run.stderr and "ingest: wrote" not in run.stderr
    assert "02-pnl" in ran(run)  # the pages are written again in Russian
    ingest_tables = {"time_entries.parquet", "invoices.parquet", "client_quarter.parquet", "clients.parquet"}
    assert {n: written[n] for n in ingest_tables} == {n: (processed / n).stat().st_mtime_ns for n in ingest_tables}
    assert BeautifulSoup((project / "reports" / "pnl.html").read_text(), "html.parser").html["lang"] == "ru"


def test_a_parameter_no_stage_reads_reruns_nothing_but_the_lineage(project):
    run = make(project, "report", ONE_LANGUAGE, "DEMO_CLIENTS=7")
    assert run.returncode == 0, run.stderr[-3000:]
    assert ran(run) == [] and "published" in run.stderr
    assert make(project, "report", ONE_LANGUAGE).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_starts_as_this_user_root_included(project):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"VENV={VENV}",
                            f"LAB_FLAGS=--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0"],
                           cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                           start_new_session=True)
    seen = ""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and lab.poll() is None:
            line = lab.stdout.readline()
            seen += line
            if f"127.0.0.1:{port}/lab" in line:
                break
        assert f"127.0.0.1:{port}/lab" in seen, seen[-2000:]
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)


def test_setup_registers_the_kernel_again_when_it_runs_another_python(monkeypatch, capsys):
    """A .venv moved or copied keeps the old interpreter's path in its kernel spec: make setup
    (which runs `pipeline kernel`) registers the kernel again instead of doing nothing.
    (The shared environment's real kernel is left alone: stages run beside this test.)"""
    from clientlens.tooling import pipeline

    checks = iter([pipeline.PipelineError("kernel 'clientlens' runs /old/bin/python, not this project's "
                                          "environment (/new/bin/python): run make setup"), None])

    def check():
        problem = next(checks)
        if problem:
            raise problem

    installs = []
    monkeypatch.setattr(pipeline, "check_kernel", check)
    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: installs.append(argv))
    pipeline.repair_kernel()
    assert installs and installs[0][1:5] == ["-m", "ipykernel", "install", "--sys-prefix"]
    assert "registering the kernel again" in capsys.readouterr().err
    assert "clientlens.tooling.pipeline kernel" in Path(pipeline.PROJECT_ROOT / "Makefile").read_text()
