"""What an adapter says about a file: its table, its format, and SQL for each canonical column.

The shared building blocks of every adapter module (adapters.py for Harvest, Toggl,
Tempo and 1C; time_trackers.py, billing.py and helpdesk.py for the others): the
header lookup and the SQL helpers that join or pick text columns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from clientlens.intake.readers.headers import norm
from clientlens.intake.readers.source import q


@dataclass(frozen=True)
class FileMapping:
    table: str
    format: str  # canonical, or the export's name: harvest, toggl, tempo, 1c, ...
    columns: dict[str, str]  # canonical column -> SQL text expression
    hidden: dict[str, str] = field(default_factory=dict)
    # The export has no client column and its project stands for the client (Redmine): a
    # project_clients table, when supplied, says which client each such project belongs to.
    client_from_project: bool = False


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
