"""Header names to canonical columns, and which table a file holds.

Exports spell headers many ways ("Client ID", "client_id", "Клиент"); matching is
on a normalised form so case, underscores, extra spaces, BOMs and ё/е never matter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from clientlens.intake.contract import TABLES, Table

# File-name stems that name a table without being its exact name (time.csv, invoice_2024.xlsx).
STEM_SYNONYMS: dict[str, str] = {
    "timesheet": "time_entries", "worklog": "time_entries", "time": "time_entries",
    "invoice": "invoices", "client": "clients", "customer": "clients",
    "contract": "contracts", "request": "requests", "ticket": "requests",
    "deliverable": "deliverables", "survey": "surveys", "nps": "surveys",
    "feedback": "team_feedback", "contact": "contacts", "people": "people",
    "person": "people", "staff": "people", "employee": "people", "fx": "fx_rates",
}


def norm(header: object) -> str:
    """Canonical spelling of a header for matching."""
    text = "" if header is None else str(header)
    text = text.replace("\ufeff", "").replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е")
    text = text.strip().strip('"').strip().lower().replace("_", " ")
    return re.sub(r"\s+", " ", text)


def table_from_stem(stem: str) -> str | None:
    """The table a file name announces by its prefix, longest name first."""
    s = stem.lower().replace("-", "_").replace(" ", "_")
    names = sorted(list(TABLES) + list(STEM_SYNONYMS), key=len, reverse=True)
    for name in names:
        if s.startswith(name):
            return TABLES[name].name if name in TABLES else STEM_SYNONYMS[name]
    return None


def match_columns(table: Table, headers: list[str]) -> dict[str, int]:
    """Canonical column -> index of the header that holds it.

    An exact canonical name beats an alias, and the left-most header wins a tie,
    so 'Client ID' and 'Client' in one file cannot both claim client_id.
    """
    normed = [norm(h) for h in headers]
    candidates: list[tuple[int, int, str]] = []  # (priority, header index, column)
    for col in table.columns:
        exact = norm(col.name)
        aliases = {norm(a) for a in col.aliases}
        for i, h in enumerate(normed):
            if not h:
                continue
            if h == exact:
                candidates.append((0, i, col.name))
            elif h in aliases:
                candidates.append((1, i, col.name))
    taken_headers: set[int] = set()
    out: dict[str, int] = {}
    for _prio, i, name in sorted(candidates):
        if name in out or i in taken_headers:
            continue
        out[name] = i
        taken_headers.add(i)
    return out


@dataclass(frozen=True)
class HeaderGuess:
    table: str
    required_share: float
    matched: int


def guess_table(headers: list[str]) -> HeaderGuess | None:
    """Best canonical table for a header row, or None when nothing fits well.

    A file is recognised when at least half of a table's required columns and at
    least two columns match; the fullest match wins, then the most columns.
    """
    best: HeaderGuess | None = None
    for table in TABLES.values():
        found = match_columns(table, headers)
        req = table.required_columns
        share = sum(1 for c in req if c in found) / len(req) if req else 0.0
        guess = HeaderGuess(table.name, share, len(found))
        if share < 0.5 or len(found) < 2:
            continue
        if best is None or (share, len(found)) > (best.required_share, best.matched):
            best = guess
    return best
