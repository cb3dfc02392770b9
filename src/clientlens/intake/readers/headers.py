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
    "rate_card": "rates", "ratecard": "rates", "billing_rates": "rates", "project_client": "project_clients",
    "project_map": "project_clients",
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


# Headers that say little on their own: many exports have a "Type", "Name" or "Status" meaning
# something else (Kimai's Type is "timesheet", Zendesk's Status a ticket's). A file is given a
# table by its headers only when at least two distinctive headers back the match.
GENERIC_HEADERS = frozenset({
    "id", "key", "name", "type", "status", "date", "number", "no", "no.", "num", "amount", "total",
    "value", "start", "end", "created", "description", "title", "code", "score", "note", "notes",
    "comment", "comments", "тип", "статус", "номер", "дата", "сумма", "наименование", "начало",
    "окончание",
})
DISTINCTIVE_HEADERS_NEEDED = 2


@dataclass(frozen=True)
class HeaderFit:
    """How well a header row fits a canonical table."""
    table: str
    missing: tuple[str, ...]  # required columns no header holds
    matched: int  # columns some header holds
    distinctive: int  # of them, held by a header not in GENERIC_HEADERS
    headers: int  # non-empty headers of the file

    @property
    def complete(self) -> bool:
        """Every required column, two distinctive headers, and at least half the file's
        headers explained: a report of fifteen columns is not a two-column mapping table
        because two of its headers are "Client" and "Project"."""
        return (not self.missing and self.distinctive >= DISTINCTIVE_HEADERS_NEEDED
                and self.matched * 2 >= self.headers)


def table_fits(headers: list[str]) -> list[HeaderFit]:
    """Every canonical table's fit to a header row, the closest first."""
    normed = [norm(h) for h in headers]
    fits = []
    for table in TABLES.values():
        found = match_columns(table, headers)
        missing = tuple(c for c in table.required_columns if c not in found)
        distinctive = sum(1 for i in found.values() if normed[i] not in GENERIC_HEADERS)
        fits.append(HeaderFit(table.name, missing, len(found), distinctive,
                              headers=sum(1 for h in normed if h)))
    return sorted(fits, key=lambda f: (not f.complete, len(f.missing), -f.distinctive, -f.matched))


def guess_table(headers: list[str]) -> HeaderFit | None:
    """The canonical table a header row holds, or None when none fits without doubt.

    A table fits when every required column has its header, at least two of the matched
    headers are distinctive and the table explains half the headers; the fullest such
    match wins.
    """
    best = table_fits(headers)[0] if headers else None
    return best if best is not None and best.complete else None
