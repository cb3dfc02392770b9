"""Notebooks in git: numbered, thin, without outputs, paired with a .py twin that agrees."""
import ast
import json
import re

import jupytext
import pytest

from clientlens.paths import NOTEBOOKS_DIR
from clientlens.tooling.pipeline import notebook_parameters, stages

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb"))
PATH_PARAMETERS = {"raw_dir", "processed_dir", "reports_dir"}


def test_chain_is_numbered_in_order():
    names = [p.stem for p in NOTEBOOKS]
    assert names == stages() and len(names) >= 1
    assert [int(n[:2]) for n in names] == list(range(1, len(names) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_outputs_in_git(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paired_twin_agrees(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), f"{path.name} has no .py twin"
    from_ipynb = jupytext.writes(jupytext.read(path), fmt="py:percent")
    assert from_ipynb == twin.read_text(encoding="utf-8"), \
        f"{path.name} and {twin.name} differ: run python -m clientlens.tooling.notebooks {twin}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_places_not_defaults(path):
    """A notebook names where it reads and writes and the parameter file; every value comes from
    config/params.yaml through stage_params, so no default is written twice."""
    declared = notebook_parameters(path)
    assert declared, f"{path.name} has no cell tagged 'parameters'"
    assert set(declared) <= PATH_PARAMETERS | {"params_file", "reads_file"}, set(declared)
    assert declared["params_file"]["default"].strip("'\"") == "../config/params.yaml"
    assert declared["reads_file"]["default"] == "None"
    assert "stage_params(params_file, reads_file)" in jupytext.read(path).cells[
        [c.cell_type for c in jupytext.read(path).cells].index("code") + 1].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_a_title_and_says_what_it_writes(path):
    nb = jupytext.read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**Reads:**" in markdown and "**Writes:**" in markdown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_stay_thin(path):
    """Logic lives in src/: no function or class definitions, and short code cells."""
    nb = jupytext.read(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defs, f"{path.name}: defines {defs}; move them to src/clientlens"
        assert len(cell.source.splitlines()) <= 40, f"{path.name}: a code cell of over 40 lines"


@pytest.mark.parametrize("path", NOTEBOOKS[1:], ids=lambda p: p.stem)
def test_only_ingest_reads_raw_data(path):
    source = "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "code")
    assert "raw_dir" not in source and not re.search(r"data/raw", source)
    assert "time_entries" not in source, "later stages read the panel, never raw time entries"
