"""Known exports mapped onto canonical columns: Harvest, Toggl Track, Jira/Tempo, 1C.

An adapter is recognised from the header row alone (no flag to pass) and says,
for each canonical column, which SQL expression over the file's text columns
holds it. Everything after that (typing, rules, quarantine, derived columns) is
the same as for a canonical file. Two hidden columns carry what the contract has
no place for but derivation needs: `_work_text` (task, tags, activity: the text
work types and rework are read from) and `_billed_hours` (Tempo bills fewer
hours than worked).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from clientlens.intake.contract import TABLES
from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.headers import guess_table, match_columns, norm, table_from_stem
from clientlens.intake.readers.source import RawSource, lit, q


@dataclass(frozen=True)
class FileMapping:
    table: str
    format: str  # canonical, harvest, toggl, tempo or 1c
    columns: dict[str, str]  # canonical column -> SQL text expression
    hidden: dict[str, str] = field(default_factory=dict)


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


def _text(*exprs: str | None) -> str | None:
    """Non-empty texts joined with a space (NULL when all are empty)."""
    parts = [f"nullif(trim({e}), '')" for e in exprs if e]
    if not parts:
        return None
    return f"nullif(concat_ws(' ', {', '.join(parts)}), '')"


def _first(*exprs: str | None) -> str | None:
    parts = [f"nullif(trim({e}), '')" for e in exprs if e]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def _clean(mapping: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in mapping.items() if v}


# --- Harvest detailed time report ------------------------------------------------
def is_harvest(h: Headers) -> bool:
    return h.has("date", "client", "hours", "first name", "last name")


def harvest(h: Headers) -> FileMapping:
    cols = {
        "date": h.col("date"), "client_id": h.col("client"), "project": h.col("project"),
        "task": h.col("task"), "person": _text(h.col("first name"), h.col("last name")),
        "role": h.col("roles", "role"), "hours": h.col("hours"),
        "billable": h.col("billable?", "billable"), "bill_rate": h.col("billable rate"),
        "billable_amount": h.col("billable amount"), "cost_rate": h.col("cost rate"),
        "cost_amount": h.col("cost amount"), "currency": h.col("currency"),
    }
    return FileMapping("time_entries", "harvest", _clean(cols),
                       _clean({"_work_text": _text(h.col("task"), h.col("notes"))}))


# --- Toggl Track detailed CSV ----------------------------------------------------
def is_toggl(h: Headers) -> bool:
    return h.has("start date", "start time", "duration") and h.any("user", "member", "email")


def toggl(h: Headers) -> FileMapping:
    amount = h.cols_matching(r"^amount\b")
    currency = None
    amount_sql = None
    if amount:
        header, amount_sql = amount[0]
        code = re.search(r"\(([a-z]{3})\)", header)
        currency = lit(code.group(1).upper()) if code else None
    cols = {
        "date": h.col("start date"), "start_time": h.col("start time"),
        "client_id": h.col("client"), "project": h.col("project"),
        "task": _first(h.col("task"), h.col("description")),
        "person": _first(h.col("user"), h.col("member"), h.col("email")),
        "hours": h.col("duration"), "billable": h.col("billable"),
        "billable_amount": amount_sql, "currency": currency,
    }
    work = _text(h.col("task"), h.col("tags"), h.col("description"))
    return FileMapping("time_entries", "toggl", _clean(cols), _clean({"_work_text": work}))


# --- Jira / Tempo worklogs -------------------------------------------------------
def is_tempo(h: Headers) -> bool:
    return h.has("issue key", "hours", "work date")


def tempo(h: Headers) -> FileMapping:
    attributes = [sql for _h, sql in h.cols_matching(r"^work attribute")]
    cols = {
        "entry_id": h.col("worklog id", "tempo worklog id", "worklog"),
        "date": h.col("work date"), "hours": h.col("hours"),
        "person": _first(h.col("full name"), h.col("username"), h.col("user"), h.col("author")),
        "client_id": _first(h.col("account customer"), h.col("account name"), h.col("customer")),
        "project": _first(h.col("project name"), h.col("project key")),
        "task": _first(h.col("issue summary"), h.col("issue key")),
    }
    work = _text(h.col("activity name"), h.col("activity"), *attributes, h.col("issue type"),
                 h.col("issue summary"))
    return FileMapping("time_entries", "tempo", _clean(cols),
                       _clean({"_work_text": work, "_billed_hours": h.col("billed hours")}))


# --- 1C invoice register (Russian) -----------------------------------------------
_ONEC_CLIENT = ("контрагент", "покупатель", "клиент", "заказчик")
_ONEC_NUMBER = ("номер", "номер документа", "№", "номер счета", "счет", "№ документа")
_ONEC_AMOUNT = ("сумма без ндс", "сумма", "сумма документа", "сумма с ндс", "итого", "сумма счета")


def is_onec(h: Headers) -> bool:
    return h.any(*_ONEC_CLIENT) and h.any(*_ONEC_NUMBER) and h.any(*_ONEC_AMOUNT)


def onec(h: Headers) -> FileMapping:
    cols = {
        "invoice_id": h.col(*_ONEC_NUMBER), "client_id": h.col(*_ONEC_CLIENT),
        "contract_id": h.col("договор", "договор контрагента", "номер договора"),
        "issue_date": h.col("дата", "дата документа", "дата счета"),
        "due_date": h.col("срок оплаты", "оплатить до", "срок", "дата платежа"),
        "paid_date": h.col("дата оплаты", "оплачен", "дата поступления", "дата поступления оплаты"),
        "amount": h.col(*_ONEC_AMOUNT), "currency": h.col("валюта", "валюта документа"),
        "work_type": h.col("тип работ", "вид работ"),
    }
    return FileMapping("invoices", "1c", _clean(cols))


ADAPTERS: tuple[tuple[Callable[[Headers], bool], Callable[[Headers], FileMapping]], ...] = (
    (is_harvest, harvest), (is_toggl, toggl), (is_tempo, tempo), (is_onec, onec),
)


def canonical(table_name: str, headers: tuple[str, ...]) -> FileMapping:
    table = TABLES[table_name]
    found = match_columns(table, list(headers))
    cols = {name: q(f"c{i}") for name, i in found.items()}
    if table_name == "clients":  # a list of names is enough: the name is the key
        cols.setdefault("client_id", cols.get("client_name", ""))
        cols.setdefault("client_name", cols.get("client_id", ""))
    return FileMapping(table_name, "canonical", _clean(cols))


def _found(headers: tuple[str, ...]) -> str:
    """The headers, printable and short, for an error line."""
    shown = ["".join(ch if ch.isprintable() else "?" for ch in h)[:40] for h in headers if h.strip()]
    text = ", ".join(shown[:15]) + (", ..." if len(shown) > 15 else "")
    return text or "no headers"


def recognise(source: RawSource) -> FileMapping:
    """Which table and format a file holds, with every required column present.

    A known export's header wins (a Harvest report is a Harvest report whatever
    its name), then the file name's prefix, then the best header match.
    """
    h = Headers(source.headers)
    shown = display_path(source.path)
    named = table_from_stem(Path(source.name).stem)
    mapping = next((m for test, build in ADAPTERS if test(h)
                    for m in [build(h)] if named in (None, m.table)), None)
    if mapping is None:
        table = named
        if table is None:
            guess = guess_table(list(source.headers))
            table = guess.table if guess else None
        if table is None:
            raise IngestError(
                f"{shown}: cannot tell which table this file holds; name it after a table "
                f"(time_entries.csv, invoices_2025.xlsx, ...) or use the headers of "
                f"docs/data-contract.md (found: {_found(source.headers)})")
        mapping = canonical(table, source.headers)
    table = TABLES[mapping.table]
    for col in table.required_columns:
        if col not in mapping.columns:
            via = "" if mapping.format == "canonical" else f", {mapping.format} export"
            raise IngestError(f"{shown}: missing required column '{col}' ({mapping.table}{via}; "
                              f"found: {_found(source.headers)})")
    return mapping
