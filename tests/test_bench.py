"""`make bench` at a tiny scale: every step is measured and written down. No timing is judged
here (CI must not depend on the machine's speed); the figures only have to be sane."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from clientlens.paths import PROJECT_ROOT
from clientlens.tooling import bench, pipeline
from clientlens.tooling.pipeline import effective_params, second_language, stages

pytestmark = pytest.mark.e2e

SMOKE = ["--clients", "30", "--years", "1", "--seed", "7"]
HAND_WRITTEN = "# Performance\n\nProse above the table.\n\n<!-- bench:30x1:start -->\nold table\n<!-- bench:30x1:end -->\n\nProse below.\n"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    doc = root / "performance.md"
    doc.write_text(HAND_WRITTEN, encoding="utf-8")
    code = bench.main([*SMOKE, "--root", str(root / "runs"), "--doc", str(doc)])
    results = json.loads((root / "runs" / "results.json").read_text(encoding="utf-8"))
    return code, results, doc, root


def test_every_step_is_measured(smoke):
    _code, results, _doc, _root = smoke
    second = second_language(effective_params([]).model_dump(mode="json"))  # its pages too, as make report
    second_pass = [f"{s} ({second})" for s in stages()] if second else []
    assert [s["name"] for s in results["stages"]] == ["prepare", *stages(), *second_pass, "publish"]
    entries = results["scale"]["time_entries"]
    assert entries > 1000
    for step in results["stages"]:
        assert step["wall_s"] > 0 and 0 < step["peak_rss_bytes"] < results["machine"]["ram_bytes"]
        if step["name"] != "prepare":
            assert step["rows"] == entries and step["rows_per_s"] == round(entries / step["wall_s"])
    # a stage runs a Jupyter kernel beside papermill: the sampled tree holds both
    assert next(s for s in results["stages"] if s["name"] == "02-pnl")["peak_rss_bytes"] > 100 * 1024 ** 2
    # stages run side by side: the whole takes at least its longest step, at most all of them
    walls = [s["wall_s"] for s in results["stages"]]
    assert max(walls) <= results["totals"]["report_wall_s"] <= sum(walls) + 5
    assert results["totals"]["peak_rss_bytes"] >= max(s["peak_rss_bytes"] for s in results["stages"])


def test_the_run_stays_in_its_own_folder(smoke):
    _code, results, _doc, root = smoke
    workdir = Path(results["scale"]["workdir"])
    assert workdir.parent == root / "runs"
    assert (workdir / "processed" / "client_quarter.parquet").exists()
    assert (workdir / "reports" / "leadership.html").exists()
    assert results["report_size"]["leadership_html_bytes"] == (workdir / "reports" / "leadership.html").stat().st_size


def test_the_baseline_reads_the_same_time_entries(smoke):
    _code, results, _doc, _root = smoke
    baseline = results["baseline"]
    assert baseline["time_entries"] == results["scale"]["time_entries"]
    assert baseline["panel_rows"] > 0 and baseline["wall_s"] > 0


def test_ingest_is_judged_on_the_median_of_back_to_back_pairs(smoke):
    _code, results, doc, _root = smoke
    baseline = results["baseline"]
    runs, ingests = baseline["runs_s"], baseline["ingest_runs_s"]
    assert len(runs) == len(ingests) == bench.PAIRS == 3
    assert round(baseline["wall_s"], 2) == sorted(runs)[1]
    chain_ingest = next(s for s in results["stages"] if s["name"] == stages()[0])
    assert ingests[-1] == round(chain_ingest["wall_s"], 2)  # the last pair's ingest is the report's
    assert baseline["ratios"] == [round(i / b, 2) for b, i in zip(runs, ingests)]
    assert baseline["ratio"] == sorted(baseline["ratios"])[1]
    text = doc.read_text(encoding="utf-8")
    assert ", ".join(f"{w:.1f}" for w in runs) in text
    for k, (b, i, r) in enumerate(zip(runs, ingests, baseline["ratios"]), start=1):
        assert f"| {k} | {b:.1f} | {i:.1f} | {r:.2f}x |" in text
    workdir = Path(results["scale"]["workdir"])
    logs = [workdir / "logs" / f"{stages()[0]}{suffix}.log" for suffix in ("-1", "-2", "")]
    assert all(log.exists() for log in logs)
    # every timed ingest read the exports: none reused what an earlier pair had written
    assert not [log.name for log in logs if "reused" in log.read_text(encoding="utf-8")]
    assert all("ingest: wrote" in log.read_text(encoding="utf-8") for log in logs)


def _fake_steps(walls: dict[str, list[float]], order: list[str], fail: str | None = None):
    """A run_measured that records the steps' order and takes each name's next wall time."""
    def fake_run(name, cmd, log, cwd, interval=0.1):
        order.append(name)
        kind = "baseline" if name.startswith("baseline-") else name
        wall = walls[kind].pop(0) if walls.get(kind) else 1.0
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(json.dumps({"panel_rows": 5, "time_entries": 100}) + "\n", encoding="utf-8")
        if name == fail:
            raise bench.BenchError(f"{name} failed: boom", bench.Measured(name, wall, 1, log=str(log)))
        return bench.Measured(name, wall, 1, log=str(log))
    return fake_run


def test_each_baseline_run_is_followed_at_once_by_an_ingest_run(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ensure_demo", lambda *a: None)
    ingest = stages()[0]
    # The machine slows down run by run: each pair's ratio is 2.0 while the ratio of the
    # medians (30 s of ingest against 10 s of baseline) would say 3.0.
    walls = {"baseline": [10.0, 20.0, 40.0], f"{ingest}-1": [20.0], f"{ingest}-2": [40.0], ingest: [80.0]}
    order: list[str] = []
    monkeypatch.setattr(bench, "run_measured", _fake_steps(walls, order))
    monkeypatch.setattr(bench, "warm_files", lambda folder: order.append(f"warm {folder.name}"))
    results = bench.run_bench(30, 1, 7, tmp_path)
    assert order[:8] == ["warm raw", "prepare", "baseline-1", f"{ingest}-1", "baseline-2", f"{ingest}-2",
                         "baseline-3", "prepare"]
    assert order[8] == ingest and order[-1] == "publish"
    assert results.baseline["runs_s"] == [10.0, 20.0, 40.0] and results.baseline["wall_s"] == 20.0
    assert results.baseline["ingest_runs_s"] == [20.0, 40.0, 80.0]
    assert results.baseline["ratios"] == [2.0, 2.0, 2.0] and results.baseline["ratio"] == 2.0
    judged = next(t for t in results.targets if t["target"].startswith("ingest + panel"))
    assert judged["pass"] is True and judged["measured"] == "2.00x (2.00x, 2.00x, 2.00x)"


def test_a_failed_ingest_judges_no_ratio(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ensure_demo", lambda *a: None)
    monkeypatch.setattr(bench, "run_measured", _fake_steps({}, [], fail=stages()[0]))
    results = bench.run_bench(30, 1, 7, tmp_path)
    assert results.baseline["ratio"] is None and len(results.baseline["ratios"]) == 2
    judged = next(t for t in results.targets if t["target"].startswith("ingest + panel"))
    assert judged["pass"] is False and judged["measured"].startswith("not measured (stopped at")


def test_targets_are_judged_and_a_missed_one_fails_the_run(smoke):
    code, results, _doc, _root = smoke
    targets = {t["target"]: t for t in results["targets"]}
    assert len(targets) == 5
    assert targets["firm size"]["pass"] is False  # 30 clients are far from 20 million entries
    assert code == 3


def test_the_time_target_is_judged_at_its_own_size(smoke):
    """5 minutes is the target for 10,000 clients; a larger firm (100M entries) must complete."""
    _code, results, _doc, _root = smoke
    slow = {**results["totals"], "report_wall_s": 1800.0}
    larger = bench.judge(bench.Results(**{**results, "totals": slow,
                                          "scale": {**results["scale"], "clients": 26000}}))
    at_size = bench.judge(bench.Results(**{**results, "totals": slow,
                                           "scale": {**results["scale"], "clients": 10000}}))
    assert {t["target"]: t["pass"] for t in larger}["full report completes"] is True
    assert {t["target"]: t["pass"] for t in at_size}["full report, wall time"] is False
    failed = bench.Results(**{**results, "totals": slow, "failure": {"step": "publish", "message": "x"},
                              "scale": {**results["scale"], "clients": 26000}})
    assert {t["target"]: t["pass"] for t in bench.judge(failed)}["full report completes"] is False


def test_the_table_replaces_only_its_own_block(smoke):
    _code, results, doc, _root = smoke
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nProse above the table.\n") and text.endswith("\nProse below.\n")
    assert "old table" not in text and text.count("<!-- bench:30x1:start -->") == 1
    for name in ["prepare", *stages(), "publish", "baseline", "full report"]:
        assert name in text
    assert results["command"] in text and results["machine"]["cpu"] in text


def test_a_new_scale_gets_its_own_section(smoke, tmp_path):
    _code, results, _doc, _root = smoke
    doc = tmp_path / "performance.md"
    doc.write_text(HAND_WRITTEN, encoding="utf-8")
    other = bench.Results(**{**results, "scale": {**results["scale"], "clients": 26000, "years": 5}})
    bench.write_doc(doc, other)
    bench.write_doc(doc, other)
    text = doc.read_text(encoding="utf-8")
    assert "old table" in text and text.count("<!-- bench:26000x5:start -->") == 1
    assert "## 26,000 clients x 5 years" in text


def test_generated_data_is_reused_while_size_seed_and_generator_hold(smoke, monkeypatch):
    _code, results, _doc, _root = smoke
    workdir = Path(results["scale"]["workdir"])
    assert "generate" in (results["generate"] or {}).get("name", "")
    assert bench.ensure_demo(workdir, 30, 1, 7) is None  # cached
    monkeypatch.setattr(bench, "generator_digest", lambda: "changed")
    calls = []
    monkeypatch.setattr(bench, "run_measured", lambda name, cmd, *a, **k: calls.append(cmd) or
                        bench.Measured(name, 1.0, 1))
    bench.ensure_demo(workdir, 30, 1, 7)
    assert calls and "CLIENTS=30" in calls[0]


def test_a_failing_step_stops_with_its_last_line(tmp_path):
    cmd = [sys.executable, "-c", "import sys; print('first'); print('the real reason'); sys.exit(1)"]
    with pytest.raises(bench.BenchError, match=r"^step failed: the real reason \(log: "):
        bench.run_measured("step", cmd, tmp_path / "step.log", tmp_path)


def test_make_bench_passes_the_scale():
    dry = subprocess.run(["make", "--no-print-directory", "-n", "bench", "BENCH_CLIENTS=123", "BENCH_YEARS=2",
                          f"VENV={Path(sys.executable).parent.parent}"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "-m clientlens.tooling.bench --clients 123 --years 2 --seed 42" in dry.stdout
    help_text = subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True,
                               text=True, timeout=60).stdout
    assert "make bench" in help_text


def test_the_baseline_groups_both_time_exports_by_client_and_quarter(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "time_entries.csv").write_text(
        "entry_id,date,client_id,hours,billable,billable_amount,cost_amount\n"
        "1,2025-01-05,C1,2,true,200,100\n2,2025-03-31,C1,1,false,0,50\n3,2025-04-01,C1,3,true,300,150\n",
        encoding="utf-8")
    (raw / "harvest_time_report.csv").write_text(
        "Date,Client,Hours,Billable?,Billable Amount,Cost Amount\n2025-02-01,Acme,4,Yes,400,200\n", encoding="utf-8")
    (raw / "clients.csv").write_text("client_id,client_name\nC1,One\n", encoding="utf-8")
    (raw / "fx_rates.csv").write_text("", encoding="utf-8")  # an empty file is skipped, not an error
    facts = bench.run_baseline(raw, tmp_path / "out" / "panel.parquet")
    assert facts == {"panel_rows": 3, "time_entries": 4}
    panel = pd.read_parquet(tmp_path / "out" / "panel.parquet").set_index(["client", "quarter_index"])
    q1, q2 = 2025 * 4, 2025 * 4 + 1
    assert panel.loc[("C1", q1), ["hours", "billable_hours", "billable_value", "delivery_cost"]].tolist() == \
        [3, 2, 200, 150]
    assert panel.loc[("C1", q2), "hours"] == 3 and panel.loc[("Acme", q1), "billable_value"] == 400


def test_a_stage_that_fails_is_written_down_and_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ensure_demo", lambda *a: None)

    def fake_run(name, cmd, log, cwd, interval=0.1):
        if name.startswith("01-"):
            raise bench.BenchError(f"{name} failed: OutOfMemoryException: no room (log: {log})",
                                   bench.Measured(name, 50.0, 3 * 1024 ** 3, log=str(log)))
        return bench.Measured(name, 2.0, 123 * 1024 ** 2, log=str(log))

    monkeypatch.setattr(bench, "run_measured", fake_run)
    results = bench.run_bench(30, 1, 7, tmp_path, baseline=False)
    assert [s["name"] for s in results.stages] == ["prepare", stages()[0]]  # what the failed step cost too
    assert results.failure["step"] == stages()[0] and "OutOfMemory" in results.failure["error"]
    assert not any(t["pass"] for t in results.targets)
    assert "3.00 GiB" in next(t["measured"] for t in results.targets if t["target"].startswith("peak memory"))
    text = bench.results_markdown(results)
    assert f"until {stages()[0]} failed" in text and "The run stopped: " in text and "OutOfMemory" in text


def _recording_step(log, fail=None, seconds=0.05):
    import threading
    lock = threading.Lock()

    def step(name, *args):
        with lock:
            log.append(("start", name, time.perf_counter()))
        time.sleep(seconds)
        with lock:
            log.append(("end", name, time.perf_counter()))
        if name == fail:
            raise bench.BenchError(f"{name} failed: boom", bench.Measured(name, seconds, 1))
        return bench.Measured(name, seconds, 1)
    return step


def test_the_chain_runs_stages_side_by_side_only_after_what_they_load():
    needs = pipeline.stage_needs()
    log = []
    steps, failure = bench.run_chain(_recording_step(log), 42, needs, jobs=2)
    assert failure is None
    assert [m.name for m in steps] == ["prepare", *stages(), "publish"]
    at = {(kind, name): t for kind, name, t in log}
    for name, upstream in needs.items():
        assert all(at[("end", u)] <= at[("start", name)] for u in upstream), name
        assert at[("end", "prepare")] <= at[("start", name)] <= at[("start", "publish")]
    running, most = 0, 0
    for kind, _name, _t in sorted(log, key=lambda e: (e[2], e[0] == "start")):
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert most == 2  # two stages loaded only ingest's tables, and ran together


def test_a_failed_stage_stops_the_chain_after_the_running_ones_finish():
    needs = pipeline.stage_needs()
    failing = next(n for n in stages() if len(needs[n]) > 1)  # one with stages before it and after
    log = []
    steps, failure = bench.run_chain(_recording_step(log, fail=failing), 42, needs, jobs=2)
    assert failure["step"] == failing and "boom" in failure["error"]
    started = [name for kind, name, _t in log if kind == "start"]
    ended = [name for kind, name, _t in log if kind == "end"]
    assert sorted(started) == sorted(ended)  # nothing left running
    assert "publish" not in started and failing in [m.name for m in steps]
    failed_at = next(t for kind, name, t in log if kind == "end" and name == failing)
    assert not [name for kind, name, t in log if kind == "start" and t > failed_at]


def test_the_bench_runs_as_many_stages_at_once_as_make_report():
    jobs = re.search(r"^JOBS \?= (\d+)$", (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert jobs and int(jobs.group(1)) == bench.CHAIN_JOBS


def test_a_stage_waiting_for_a_stage_that_never_runs_stops_the_chain():
    with pytest.raises(bench.BenchError, match="wait for stages that never run"):
        bench.run_chain(_recording_step([]), 42, {"01-a": [], "02-b": ["09-missing"]}, jobs=2)


def test_the_performance_doc_stays_a_reference():
    """docs/performance.md is read as a reference: under 200 lines, with the latest table the
    bench wrote between its markers."""
    text = (PROJECT_ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    assert text.count("<!-- bench:10000x5:start -->") == 1 and text.count("<!-- bench:10000x5:end -->") == 1
