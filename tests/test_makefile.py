"""The Makefile keeps its promises: `make help` is true, every target it lists exists,
and the chain runs on the project's own kernel."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clientlens.paths import PROJECT_ROOT
from clientlens.tooling import pipeline

VENV = Path(sys.executable).parent.parent


def make(*args):
    return subprocess.run(["make", "--no-print-directory", *args, f"VENV={VENV}"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def help_targets():
    return re.findall(r"^\s+make (\S+)", make("help").stdout, re.MULTILINE)


def test_help_lists_the_two_commands_and_the_rest():
    targets = help_targets()
    for expected in ("report", "test", "demo-data", "lab", "clean", "help", "setup"):
        assert expected in targets


@pytest.mark.parametrize("target", ["report", "demo-data", "clean", "distclean", "lock", "setup", "lab"])
def test_every_listed_target_is_a_real_rule(target):
    assert target in help_targets()
    dry = make("-n", target)
    assert dry.returncode == 0, dry.stderr
    assert "No rule to make target" not in dry.stderr


def test_readme_names_the_two_commands_first():
    readme = (PROJECT_ROOT / "README.md").read_text()
    commands = re.findall(r"^make (\w+)", readme, re.MULTILINE)
    assert commands[:2] == ["report", "test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_clean_spares_raw_data():
    recipe = make("-n", "clean").stdout
    assert "data/raw" not in recipe


class FakeSpec:
    def __init__(self, python):
        self.argv = [python, "-m", "ipykernel_launcher"]


def test_kernel_must_belong_to_this_environment(monkeypatch):
    from jupyter_client import kernelspec

    monkeypatch.setattr(kernelspec.KernelSpecManager, "get_kernel_spec",
                        lambda self, name: FakeSpec("/usr/bin/python3"))
    with pytest.raises(pipeline.PipelineError, match="not this project's environment"):
        pipeline.check_kernel()
    monkeypatch.setattr(kernelspec.KernelSpecManager, "get_kernel_spec",
                        lambda self, name: FakeSpec(sys.executable))
    pipeline.check_kernel()


def test_stage_dependencies_follow_imports():
    rules = pipeline.make_dependencies()
    pnl_rule = next(line for line in rules.splitlines() if line.startswith("build/executed/02-pnl.ipynb:"))
    assert "src/clientlens/analysis/pnl.py" in pnl_rule and "build/executed/01-ingest.ipynb" in pnl_rule
    assert "src/clientlens/intake/ingest.py" not in pnl_rule  # editing ingest does not rerun the P&L directly
    ingest_rule = next(line for line in rules.splitlines() if line.startswith("build/executed/01-ingest.ipynb:"))
    assert "build/raw_inventory.json" in ingest_rule and "src/clientlens/intake/readers/csv_reader.py" in ingest_rule


def test_stages_wait_only_for_the_stages_whose_tables_they_load():
    needs = pipeline.stage_needs()
    assert needs["01-ingest"] == []
    assert needs["05-spiral"] == ["01-ingest"]  # reads the panel only: runs beside 02 to 04
    assert needs["04-segments"] == ["01-ingest", "02-pnl", "03-toxicity"]
    # and the ingest summary, for the line on what the page rests on
    assert needs["06-leadership"] == ["01-ingest", "02-pnl", "03-toxicity", "04-segments", "05-spiral"]
    rules = pipeline.make_dependencies()
    spiral_rule = next(line for line in rules.splitlines() if line.startswith("build/executed/05-spiral.ipynb:"))
    assert "build/executed/01-ingest.ipynb" in spiral_rule and "build/executed/04-segments.ipynb" not in spiral_rule


def test_every_table_a_stage_loads_is_written_by_ingest_or_a_stage():
    from clientlens.intake.contract import TABLES
    from clientlens.intake.panel import PANEL_FILE

    io = pipeline.stage_io()
    saved = set().union(*(writes for _reads, writes in io.values()))
    assert {"spiral_positions", "forecast_portfolio", "pnl_clients"} <= saved  # the loop form is read too
    for name, (reads, _writes) in io.items():
        unknown = reads - saved - set(TABLES) - {Path(PANEL_FILE).stem, "ingest_summary"}
        assert not unknown, f"{name} loads tables nothing writes: {unknown}"


def test_a_table_named_by_a_variable_stops_the_rules():
    code = "from clientlens.processed import save_table\nname = 'x'\nsave_table(df, processed_dir, name)\n"
    with pytest.raises(pipeline.PipelineError, match="line 3: save_table\\(\\) must name its table"):
        pipeline.stage_tables(code, "notebooks/99-new")
    assert pipeline.stage_tables("for name, t in [('a', x), ('b', y)]:\n    save_table(t, d, name)\n"
                                 "load_table(d, 'c')\n", "nb") == ({"c"}, {"a", "b"})


def test_only_the_known_loaders_read_processed_tables():
    """The stages' Make rules see loads through load_table, load_panel and load_card_tables
    only; a module reading a processed table another way would hide a dependency."""
    import ast

    allowed = {("processed.py", "load_table"), ("processed.py", "load_panel"), ("cards.py", "load_card_tables")}
    package = PROJECT_ROOT / "src" / "clientlens"
    # intake writes the tables; the tooling runs the chain
    skip = [package / "intake", package / "tooling"]
    found = []
    for path in sorted(package.rglob("*.py")):
        if any(path.is_relative_to(folder) for folder in skip):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for call in [n for n in ast.walk(func) if isinstance(n, ast.Call)]:
                if pipeline._call_name(call) in ("load_table", "read_parquet") and (path.name, func.name) not in allowed:
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{call.lineno} in {func.name}")
    assert not found, found
