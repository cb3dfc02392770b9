"""The Russian catalogue: every English text the reports print has an entry, none is unused,
and a translation keeps its placeholders and its markdown; tr() and the markdown translation.

The keys are collected from the code without running it: markdown blocks of every notebook,
literal strings passed to tr(), tr_plural(), tr_context() or N_() and KPI labels and renamed column
headers in src/ and the notebooks (with ast), and the word lists the modules keep in tables (the
markers' labels, definitions, reasons and units, the early-warning signals' and the segments' words,
what each input table feeds, spiral phases and mistakes, P&L cost steps).
"""
from __future__ import annotations

import ast
import re
import string

import matplotlib
import nbformat
import pytest
import yaml
from e2e_support import english_words

from clientlens.i18n import (
    LOCALE_DIR,
    catalogue,
    context_key,
    markdown_keys,
    normalise,
    plural_form,
    tr,
    tr_context,
    tr_plural,
    translate_markdown,
)
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
    """Literal texts the code shows through the catalogue: tr("..."), tr_plural("...", n),
    tr_context("context", "..."), N_("..."), the labels of kpi_html([("label", value), ...]) and
    the new names of .rename(columns={...: "header"})."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in ("tr", "tr_plural", "N_") and node.args and _literal(node.args[0]) is not None:
            keys.add(_literal(node.args[0]))
        elif name == "tr_context" and len(node.args) > 1 and None not in map(_literal, node.args[:2]):
            keys.add(context_key(_literal(node.args[0]), _literal(node.args[1])))
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
    from clientlens.analysis import early_warning, leadership, markers, pnl, segments, spiral
    from clientlens.intake import contract

    words = set(STAGE_WORDS) | {pnl.ABC_LOSS}
    words |= {w for m in markers.MARKERS for w in (m.label_en, m.definition, m.reason_en, m.unit)}
    words |= {context_key("early warning", s.label_en) for s in early_warning.SIGNALS}
    words |= {s.reason_en for s in early_warning.SIGNALS}
    words |= {context_key("risk group", w) for w in leadership.RISK_PHRASES.values()}
    words |= {w for s in segments.SEGMENTS for w in (s.label_en, s.action_en, s.detail_en)}
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


# {s} is the English plural ending (markers.plural_s); a translation says its counts its own way.
ENGLISH_ONLY_FIELDS = {"s:"}


def test_translations_keep_placeholders_and_markup():
    for key, entry in catalogue("ru").items():
        if isinstance(entry, dict):
            assert set(entry) == {"one", "few", "many"}, f"a Russian plural has one, few and many: {key!r}"
        for russian in entry.values() if isinstance(entry, dict) else [entry]:
            assert _fields(key) - ENGLISH_ONLY_FIELDS == _fields(russian), f"placeholders differ: {key!r} -> {russian!r}"
            assert re.findall(r"`[^`]*`", key) == re.findall(r"`[^`]*`", russian), f"inline code differs: {key!r}"
            assert key.count("**") == russian.count("**"), f"bold differs: {key!r}"
            leftover = english_words(re.sub(r"`[^`]*`|\{[^}]*\}", "", russian))
            assert not leftover, f"English left in the Russian of {key!r}: {leftover}"


class _KeysInOrder(yaml.SafeLoader):
    """Reads a mapping as its list of keys, so a key written twice shows (safe_load keeps the last)."""


_KeysInOrder.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                             lambda loader, node: [loader.construct_object(k) for k, _ in node.value])


def test_no_key_is_written_twice():
    keys = [normalise(str(k)) for k in yaml.load((LOCALE_DIR / "ru.yaml").read_text(encoding="utf-8"), _KeysInOrder)]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    assert not twice, "written twice in ru.yaml (the second hides the first):\n" + "\n".join(twice)


def test_tr_looks_up_then_fills_placeholders():
    assert tr("One client is at risk: {what} ({money}).", "ru", what="пропал", money="5 USD") == (
        "В зоне риска один клиент: пропал (5 USD).")
    assert tr("One client is at risk: {what} ({money}).", "en", what="gone quiet", money="5 USD") == (
        "One client is at risk: gone quiet (5 USD).")
    assert tr("a text with no entry", "ru") == "a text with no entry"
    assert tr("{name} with braces", "en", name="{x}") == "{x} with braces"


def test_russian_plural_forms_follow_the_last_digits():
    forms = {n: plural_form(n, "ru") for n in (0, 1, 2, 4, 5, 11, 12, 14, 20, 21, 22, 25, 101, 111, 112, 122, -3)}
    assert forms == {0: "many", 1: "one", 2: "few", 4: "few", 5: "many", 11: "many", 12: "many", 14: "many",
                     20: "many", 21: "one", 22: "few", 25: "many", 101: "one", 111: "many", 112: "many",
                     122: "few", -3: "few"}
    assert [plural_form(n, "en") for n in (0, 1, 2, 21)] == ["other", "one", "other", "other"]
    said = {n: tr_plural("in the last {window} quarters", n, "ru", window=n) for n in (2, 5, 21)}
    assert said == {2: "за последние 2 квартала", 5: "за последние 5 кварталов", 21: "за последние 21 квартал"}
    assert tr_plural("in the last {window} quarters", 4, "en", window=4) == "in the last 4 quarters"
    with pytest.raises(TypeError, match="plural forms"):
        tr("in the last {window} quarters", "ru")


def test_a_context_tells_two_translations_of_one_english_text_apart():
    assert tr("Falling orders", "ru") == "Падение заказов"
    assert tr_context("early warning", "Falling orders", "ru") == "падение заказов"
    assert tr_context("early warning", "Falling orders", "en") == "Falling orders"
    assert tr_context("early warning", "a text with no entry", "ru") == "a text with no entry"


def test_markdown_is_translated_block_by_block_keeping_its_markup():
    source = ("# Segments: what to do with each client\n\n## The segment map\n\n"
              "Thresholds, baselines and weights live in `config/params.yaml` under `toxicity.markers`, each\n"
              "under its marker's name.")
    out = translate_markdown(source, "ru")
    assert out.startswith("# Сегменты: что делать с каждым клиентом\n\n## Карта сегментов\n\n")
    assert "`config/params.yaml`" in out and "Thresholds" not in out
    assert translate_markdown(source, "en") == source


def test_the_executed_notebooks_markdown_matches_the_py_twins():
    """The .ipynb the chain runs holds the same markdown as the .py the keys come from."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
        md = {k for c in nb.cells if c.cell_type == "markdown" for k in markdown_keys(c.source)}
        assert md <= notebook_markdown_keys(), f"{path.name}: sync the .ipynb (python -m clientlens.tooling.notebooks)"
