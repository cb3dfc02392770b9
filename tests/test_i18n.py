"""The Russian catalogue: every English text the reports print has an entry, none is unused,
and a translation keeps its placeholders and its markdown; tr() and the markdown translation.

The keys are collected from the code without running it: markdown blocks of every notebook,
literal strings passed to tr() or N_() and KPI labels and renamed column headers in src/ and the
notebooks (with ast), and the word lists the modules keep in tables (marker units, what each
input table feeds, spiral phases and mistakes, P&L cost steps).
"""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import matplotlib
import nbformat
import pytest
from e2e_support import english_words

from clientlens.i18n import catalogue, markdown_keys, normalise, tr, translate_markdown
from clientlens.paths import PROJECT_ROOT

matplotlib.use("Agg")

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]-*.py"))
SOURCES = sorted((PROJECT_ROOT / "src" / "clientlens").rglob("*.py"))


def _literal(node: ast.AST) -> str | None:
    """A string constant, or implicitly concatenated constants; None for anything else."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def code_keys(source: str) -> set[str]:
    """Literal texts the code shows through the catalogue: tr("..."), N_("..."), the labels of
    kpi_html([("label", value), ...]) and the new names of .rename(columns={...: "header"})."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in ("tr", "N_") and node.args and _literal(node.args[0]) is not None:
            keys.add(_literal(node.args[0]))
        elif name == "kpi_html" and node.args and isinstance(node.args[0], ast.List):
            for item in node.args[0].elts:
                if isinstance(item, ast.Tuple) and item.elts and _literal(item.elts[0]) is not None:
                    keys.add(_literal(item.elts[0]))
        elif name == "rename":
            for kw in node.keywords:
                if kw.arg == "columns" and isinstance(kw.value, ast.Dict):
                    keys.update(v for v in map(_literal, kw.value.values) if v is not None)
    return {normalise(k) for k in keys}


def notebook_markdown_keys() -> set[str]:
    import jupytext

    keys = set()
    for path in NOTEBOOKS:
        for cell in jupytext.read(path).cells:
            if cell.cell_type == "markdown":
                keys.update(markdown_keys(cell.source))
    return keys


# Column names the stage tables carry and the pages show as headers, and the words in their
# cells that the notebooks pass through tr(): not literals in a tr() call, so listed here.
STAGE_WORDS = {
    "file", "table", "format", "encoding", "supplied", "feeds", "row", "column", "rows",  # 01-ingest
    "status", "active", "lapsed", "exited", "overhead", "margin", "retention model", "value",  # 02-pnl
    "Revenue", "Overhead", "Margin", "Delivery cost not split",  # pnl.portfolio_waterfall
    "definition", "unit", "source", "threshold", "baseline", "weight", "measured", "score", "reasons",  # 03
    "action", "why", "rank", "signals", "direction", "better", "worse", "sideways",  # 04-segments
    "evidence", "quarter", "quarters", "level", "model", "portfolio", "markov", "naive",  # 05-spiral, forecast
}


def vocabulary_keys() -> set[str]:
    """Words the modules keep in tables and the notebooks show through tr(variable)."""
    from clientlens.analysis import markers, pnl, spiral
    from clientlens.intake import contract

    words = set(STAGE_WORDS) | {pnl.ABC_LOSS}
    words |= {m.unit for m in markers.MARKERS}
    words |= {feed for table in contract.TABLES.values() for feed in table.feeds}
    words |= set(spiral.PHASE_LABELS.values()) | set(spiral.MISTAKE_LABELS.values())
    words |= {label for _, label in pnl.COST_SPLIT}
    return {normalise(w) for w in words}


def every_key() -> set[str]:
    keys = notebook_markdown_keys() | vocabulary_keys()
    for path in SOURCES + NOTEBOOKS:
        keys |= code_keys(path.read_text(encoding="utf-8"))
    return keys


@pytest.fixture(scope="module")
def used() -> set[str]:
    return every_key()


def test_every_text_the_reports_print_has_a_russian_entry(used):
    missing = sorted(k for k in used if k not in catalogue("ru") and re.search(r"[A-Za-z]{2}", k))
    assert not missing, "add to src/clientlens/locale/ru.yaml:\n" + "\n".join(missing)


def test_no_catalogue_entry_is_unused(used):
    stale = sorted(set(catalogue("ru")) - used)
    assert not stale, "unused entries in ru.yaml (remove them):\n" + "\n".join(stale)


def _fields(text: str) -> set[str]:
    return {f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(text) if name is not None}


def test_translations_keep_placeholders_and_markup():
    for key, russian in catalogue("ru").items():
        assert _fields(key) == _fields(russian), f"placeholders differ: {key!r} -> {russian!r}"
        assert re.findall(r"`[^`]*`", key) == re.findall(r"`[^`]*`", russian), f"inline code differs: {key!r}"
        assert key.count("**") == russian.count("**"), f"bold differs: {key!r}"
        leftover = english_words(re.sub(r"`[^`]*`|\{[^}]*\}", "", russian))
        assert not leftover, f"English left in the Russian of {key!r}: {leftover}"


def test_tr_looks_up_then_fills_placeholders():
    assert tr("clients at risk, of {active} active", "ru", active=31) == "клиенты под риском (всего активных: 31)"
    assert tr("clients at risk, of {active} active", "en", active=31) == "clients at risk, of 31 active"
    assert tr("a text with no entry", "ru") == "a text with no entry"
    assert tr("{name} with braces", "en", name="{x}") == "{x} with braces"


def test_markdown_is_translated_block_by_block_keeping_its_markup():
    source = ("# Segments: what to do with each client\n\n## The segment map\n\n"
              "Margin over the last four quarters (x) against the toxicity score (y), each client sized by\n"
              "revenue. The lines are the cut-offs from `config/params.yaml`.")
    out = translate_markdown(source, "ru")
    assert out.startswith("# Сегменты: что делать с каждым клиентом\n\n## Карта сегментов\n\n")
    assert "`config/params.yaml`" in out and "Margin" not in out
    assert translate_markdown(source, "en") == source


def test_the_executed_notebooks_markdown_matches_the_py_twins():
    """The .ipynb the chain runs holds the same markdown as the .py the keys come from."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
        md = {k for c in nb.cells if c.cell_type == "markdown" for k in markdown_keys(c.source)}
        assert md <= notebook_markdown_keys(), f"{path.name}: sync the .ipynb (python -m clientlens.tooling.notebooks)"
