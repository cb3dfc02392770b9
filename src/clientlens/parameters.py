"""The one parameter file, config/params.yaml, read and checked at the boundary.

Nothing here reads environment variables: overrides arrive as KEY=VALUE words
from the command line (the Makefile passes its own command-line variables).
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from clientlens.paths import CONFIG_FILE
from clientlens.quarters import QUARTER_RE


class ConfigError(ValueError):
    """A parameter is unknown or has a value of the wrong kind."""


def load_config(path: Path | str = CONFIG_FILE, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters from `path`, with KEY=VALUE overrides applied.

    Keys are case-insensitive; a double underscore reaches into a nested mapping
    (TOXICITY__LATE_DAYS=45). Values are parsed as YAML scalars, so numbers stay
    numbers. An unknown key is an error, so a typo never passes silently.
    """
    with open(path, encoding="utf-8") as fh:
        params = yaml.safe_load(fh) or {}
    return apply_overrides(params, overrides)


def apply_overrides(params: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    params = copy.deepcopy(params)
    for word in overrides:
        if "=" not in word:
            raise ConfigError(f"override {word!r} is not KEY=VALUE")
        key, raw = word.split("=", 1)
        path = key.strip().lower().split("__")
        node = params
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"unknown parameter {key} (no section {part!r} in config/params.yaml)")
            node = node[part]
        if path[-1] not in node:
            raise ConfigError(f"unknown parameter {key}: config/params.yaml has no {'.'.join(path)}")
        value = yaml.safe_load(raw) if raw.strip() else ""
        old = node[path[-1]]
        if isinstance(old, bool) and value in (0, 1):
            value = bool(value)
        node[path[-1]] = value
    validate(params)
    return params


def validate(params: dict[str, Any]) -> None:
    pe = str(params.get("period_end", "auto"))
    if pe != "auto" and not QUARTER_RE.match(pe):
        raise ConfigError(f"period_end={pe!r}: write a quarter as 2025Q4, or auto")
    if params.get("report_lang") not in ("en", "ru"):
        raise ConfigError(f"report_lang={params.get('report_lang')!r}: use en or ru")
    cur = str(params.get("reporting_currency", ""))
    if not re.fullmatch(r"[A-Z]{3}", cur):
        raise ConfigError(f"reporting_currency={cur!r}: use a three-letter ISO code such as USD")


def as_of_date(params: dict[str, Any]) -> dt.date:
    value = params.get("as_of", "auto")
    if value in (None, "auto"):
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
