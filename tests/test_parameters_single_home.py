"""config/params.yaml is the only home of a default: no value of it appears a second time in code.

Code that repeats a parameter's value as a keyword default, a `.get()` fallback or a dict or
keyword literal keeps running on that copy when someone changes config/params.yaml, so the
report silently mixes two settings. The scan reads src/clientlens/ and the notebooks' .py twins
with `ast` and names every file:line that does one of:

(a) gives a function argument named like a parameter (or one of its aliases below) a default
    other than None (None means "not given", which is fine);
(b) calls `.get("<parameter>", <literal>)` with a literal fallback;
(c) pairs a parameter's name (or alias) with its params.yaml value in a dict or keyword
    literal, as `{"window_quarters": 4}` or `f(horizon=4)`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from clientlens.paths import CONFIG_FILE, NOTEBOOKS_DIR, PROJECT_ROOT

SRC_DIR = PROJECT_ROOT / "src" / "clientlens"

# Code argument name -> the params.yaml key (dotted) whose value it carries.
ALIASES = {
    "horizon": "forecast_quarters",
    "runs": "monte_carlo_runs",
    "levels": "spiral.interval_levels",
    "holdout": "spiral.backtest_quarters",
    "ci": "spiral.transition_ci",
    "cutoffs": "abc_cutoffs",
    "window": "toxicity.window_quarters",
    "base_quarters": "toxicity.trend_base_quarters",
    "level": "spiral.interval_levels",
    "mistake": "spiral.scenario_mistake",
    "yearly_discount_rate": "discount_rate",
    "discount": "discount_rate",
    "red": "toxicity_red",
    "clients": "demo_clients",
    "years": "demo_years",
    "end_quarter": "demo_end_quarter",
}


def _walk(node: Any, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(key, dotted path, value) for every key of a YAML tree, at any depth (lists included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield str(key), path, value
            yield from _walk(value, path)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{prefix}[{i}]")


_MISSING = object()


def _lookup(tree: dict, dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


# The fields every record of a list-like section has (each marker's threshold, baseline and
# weight; each work-type rule's pattern) name nothing on their own: an argument `baseline` is no
# copy of a marker's baseline. The records themselves still count, under the marker's name.
RECORD_FIELD = re.compile(r"toxicity\.markers\.\w+\.\w+|work_type_rules\[\d+\]\.\w+")


def parameter_values(tree: dict) -> dict[str, list[tuple[str, Any]]]:
    """name -> [(params.yaml path, value)] for every key and every alias."""
    names: dict[str, list[tuple[str, Any]]] = {}
    for key, path, value in _walk(tree):
        if not RECORD_FIELD.fullmatch(path):
            names.setdefault(key, []).append((path, value))
    for alias, dotted in ALIASES.items():
        if (value := _lookup(tree, dotted)) is not _MISSING:
            names.setdefault(alias, []).append((dotted, value))
    return names


def _same(code_value: Any, yaml_value: Any) -> bool:
    """Equal as data: a tuple equals a YAML list, and a bool equals only a bool."""
    if yaml_value is None:
        return False
    if isinstance(yaml_value, dict):
        return (isinstance(code_value, dict) and code_value.keys() == yaml_value.keys()
                and all(_same(code_value[k], yaml_value[k]) for k in yaml_value))
    if isinstance(yaml_value, list):
        return (isinstance(code_value, (list, tuple)) and len(code_value) == len(yaml_value)
                and all(_same(c, y) for c, y in zip(code_value, yaml_value)))
    if isinstance(code_value, bool) or isinstance(yaml_value, bool):
        return type(code_value) is type(yaml_value) and code_value == yaml_value
    try:
        return code_value == yaml_value
    except Exception:
        return False


_NOT_LITERAL = object()


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


@dataclass(frozen=True)
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def scan_source(source: str, filename: str, names: dict[str, list[tuple[str, Any]]]) -> list[Finding]:
    tree = ast.parse(source, filename=filename)
    found: list[Finding] = []

    def at(node: ast.AST) -> str:
        return f"{filename}:{node.lineno}"

    def paths(name: str) -> str:
        return ", ".join(path for path, _ in names[name])

    def same_as_yaml(name: str, value_node: ast.AST) -> str | None:
        value = _literal(value_node)
        if value is _NOT_LITERAL:
            return None
        for path, yaml_value in names[name]:
            if _same(value, yaml_value):
                return path
        return None

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
            pairs += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg in names and not (isinstance(default, ast.Constant) and default.value is None):
                    found.append(Finding(at(default), f"argument {arg.arg}={ast.unparse(default)} repeats a "
                                         f"default of {paths(arg.arg)}: make it required (or None)"))
        elif isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "get" and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in names
                    and _literal(node.args[1]) not in (_NOT_LITERAL, None)):
                found.append(Finding(at(node), f".get({node.args[0].value!r}, {ast.unparse(node.args[1])}) "
                                     f"falls back on a literal instead of {paths(node.args[0].value)}"))
            for kw in node.keywords:
                if kw.arg in names and (path := same_as_yaml(kw.arg, kw.value)):
                    found.append(Finding(at(kw.value), f"{kw.arg}={ast.unparse(kw.value)} repeats {path}"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if (isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in names
                        and (path := same_as_yaml(key.value, value))):
                    found.append(Finding(at(value), f"{{{key.value!r}: {ast.unparse(value)}}} repeats {path}"))
    return sorted(found, key=lambda f: int(f.where.rsplit(":", 1)[1]))


def code_files() -> list[Path]:
    return sorted(SRC_DIR.rglob("*.py")) + sorted(NOTEBOOKS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def yaml_tree() -> dict:
    with open(CONFIG_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def names(yaml_tree) -> dict[str, list[tuple[str, Any]]]:
    return parameter_values(yaml_tree)


def test_no_parameter_default_is_repeated_in_code(names):
    found: list[Finding] = []
    for path in code_files():
        found += scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT)), names)
    assert not found, ("config/params.yaml is the only home of a default; pass the value from "
                       "clientlens.parameters.load() instead:\n" + "\n".join(map(str, found)))


def test_every_alias_names_a_parameter(yaml_tree):
    stale = [f"{alias} -> {dotted}" for alias, dotted in ALIASES.items()
             if _lookup(yaml_tree, dotted) is _MISSING]
    assert not stale, f"aliases of parameters config/params.yaml no longer has: {stale}"


PLANTED = '''
def forecast(states, horizon=4, *, seed=7, levels=(0.8, 0.95), lapse_quarters=None):
    return params.get("monte_carlo_runs", 2000), params.get("seed")

WINDOW = {"window_quarters": 4, "min_events": 99}
LATE = {"late_payment": {"threshold": 30, "baseline": 5, "weight": 2.0}}
run(ci=0.9, runs=500)
'''


def test_the_scan_finds_each_kind_of_repeated_default(names):
    found = [str(f) for f in scan_source(PLANTED, "planted.py", names)]
    assert found == [
        "planted.py:2: argument horizon=4 repeats a default of forecast_quarters: make it required (or None)",
        "planted.py:2: argument seed=7 repeats a default of seed: make it required (or None)",
        "planted.py:2: argument levels=(0.8, 0.95) repeats a default of spiral.interval_levels: "
        "make it required (or None)",
        "planted.py:3: .get('monte_carlo_runs', 2000) falls back on a literal instead of monte_carlo_runs",
        "planted.py:5: {'window_quarters': 4} repeats toxicity.window_quarters",
        "planted.py:6: {'late_payment': {'threshold': 30, 'baseline': 5, 'weight': 2.0}} repeats "
        "toxicity.markers.late_payment",
        "planted.py:7: ci=0.9 repeats spiral.transition_ci",
    ], found
