"""The Makefile keeps its promises: `make help` is true, every target it lists exists,
and the chain runs on the project's own kernel."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clientlens import pipeline
from clientlens.config import PROJECT_ROOT

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
    assert "src/clientlens/pnl.py" in pnl_rule and "build/executed/01-ingest.ipynb" in pnl_rule
    assert "src/clientlens/ingest.py" not in pnl_rule  # editing ingest does not rerun the P&L directly
    ingest_rule = next(line for line in rules.splitlines() if line.startswith("build/executed/01-ingest.ipynb:"))
    assert "build/raw_inventory.json" in ingest_rule and "src/clientlens/readers/csv_reader.py" in ingest_rule
