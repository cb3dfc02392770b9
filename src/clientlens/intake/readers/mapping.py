"""What an adapter says about a file: its table, its format, and SQL for each canonical column.

The shared building blocks of every adapter module (adapters.py for Harvest, Toggl,
Tempo and 1C; time_trackers.py, billing.py and helpdesk.py for the others): the
header lookup and the SQL helpers that join or pick text columns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from clientlens.intake.readers.headers import norm
from clientlens.intake.readers.source import lit, q


@dataclass(frozen=True)
class FileMapping:
    table: str
    format: str  # canonical, or the export's name: harvest, toggl, tempo, 1c, ...
    columns: dict[str, str]  # canonical column -> SQL text expression
    hidden: dict[str, str] = field(default_factory=dict)
    # The export has no client column and its project stands for the client (Redmine): a
    # project_clients table, when supplied, says which client each such project belongs to.
    client_from_project: bool = False
    # Duration columns the export writes in another unit than the contract's hours
    # (Productive's "Time (minutes)"): column -> minutes or seconds (parse.DURATION_UNITS).
    units: dict[str, str] = field(default_factory=dict)
    # Rows are lines of one record keyed by this canonical column (a Xero invoice spans one
    # row per line): its lines become one record, and lines that disagree on a mapped column
    # set the whole record aside (ingest.group_lines).
    lines_of: str = ""
    # (SQL over the file's text columns, reason): rows that are no record of this table
    # (a voided invoice, a report's total row), left out and counted per reason.
    skip: tuple[tuple[str, str], ...] = ()
    # Further tables the same file feeds, each read with its own mapping (Zendesk tickets
    # to requests, their ratings to surveys).
    also: tuple["FileMapping", ...] = ()


class Headers:
    """Lookup of header positions by normalised name."""

    def __init__(self, headers: tuple[str, ...]) -> None:
        self.raw = headers
        self.normed = [norm(h) for h in headers]

    def has(self, *names: str) -> bool:
        return all(n in self.normed for n in names)

    def any(self, *names: str) -> bool:
        return any(n in self.normed for n in names)

    def col(self, *names: str) -> str | None:
        """SQL of the first header found among `names` (in the order given)."""
        for n in names:
            if n in self.normed:
                return q(f"c{self.normed.index(n)}")
        return None

    def cols_matching(self, pattern: str) -> list[tuple[str, str]]:
        return [(h, q(f"c{i}")) for i, h in enumerate(self.normed) if re.search(pattern, h)]


def currency_in_header(headers: list[tuple[str, str]]) -> str | None:
    """SQL literal of the currency the first of (header, sql) names in parentheses, as Toggl's
    `Amount (EUR)` and Clockify's `Billable Amount (USD)` do; None when none names one."""
    for header, _sql in headers:
        code = re.search(r"\(([a-z]{3})\)", header)
        if code:
            return lit(code.group(1).upper())
    return None


def joined(*exprs: str | None) -> str | None:
    """Non-empty texts joined with a space (NULL when all are empty)."""
    parts = [f"nullif(trim({e}), '')" for e in exprs if e]
    if not parts:
        return None
    return f"nullif(concat_ws(' ', {', '.join(parts)}), '')"


def first_given(*exprs: str | None) -> str | None:
    parts = [f"nullif(trim({e}), '')" for e in exprs if e]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def present(mapping: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in mapping.items() if v}


@dataclass(frozen=True)
class Export:
    """A known export: the headers that identify it and how its columns map.

    `needs` lists what the header row must hold, each as the spellings any one of which
    will do, so a file that misses a few is told which ones (recognise's error).
    """
    name: str  # as the ingest summary shows it: harvest, toggl, ...
    table: str
    needs: tuple[tuple[str, ...], ...]
    build: Callable[[Headers], FileMapping]
    label: str = ""  # the tool's own name, as pages show it (Harvest, Toggl Track, ...)

    def matches(self, h: Headers) -> bool:
        return all(h.any(*spellings) for spellings in self.needs)

    def missing(self, h: Headers) -> list[str]:
        return [spellings[0] for spellings in self.needs if not h.any(*spellings)]
