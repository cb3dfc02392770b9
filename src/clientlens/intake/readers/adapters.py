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

from pathlib import Path

from clientlens.intake.contract import TABLES
from clientlens.intake.readers import billing, crm, helpdesk, time_trackers
from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.headers import guess_table, match_columns, table_fits, table_from_stem
from clientlens.intake.readers.mapping import (
    Export, FileMapping, Headers, currency_in_header, first_given, joined, present,
)
from clientlens.intake.readers.source import RawSource, q


# --- Harvest detailed time report ------------------------------------------------
def harvest(h: Headers) -> FileMapping:
    cols = {
        "date": h.col("date"), "client_id": h.col("client"), "project": h.col("project"),
        "task": h.col("task"), "person": joined(h.col("first name"), h.col("last name")),
        "role": h.col("roles", "role"), "hours": h.col("hours"),
        "billable": h.col("billable?", "billable"), "bill_rate": h.col("billable rate"),
        "billable_amount": h.col("billable amount"), "cost_rate": h.col("cost rate"),
        "cost_amount": h.col("cost amount"), "currency": h.col("currency"),
    }
    return FileMapping("time_entries", "harvest", present(cols),
                       present({"_work_text": joined(h.col("task"), h.col("notes"))}))


# --- Toggl Track detailed CSV ----------------------------------------------------
def toggl(h: Headers) -> FileMapping:
    amount = h.cols_matching(r"^amount\b")
    amount_sql = amount[0][1] if amount else None
    currency = currency_in_header(amount[:1])
    cols = {
        "date": h.col("start date"), "start_time": h.col("start time"),
        "client_id": h.col("client"), "project": h.col("project"),
        "task": first_given(h.col("task"), h.col("description")),
        "person": first_given(h.col("user"), h.col("member"), h.col("email")),
        "hours": h.col("duration"), "billable": h.col("billable"),
        "billable_amount": amount_sql, "currency": currency,
    }
    work = joined(h.col("task"), h.col("tags"), h.col("description"))
    return FileMapping("time_entries", "toggl", present(cols), present({"_work_text": work}))


# --- Jira / Tempo worklogs -------------------------------------------------------
def tempo(h: Headers) -> FileMapping:
    attributes = [sql for _h, sql in h.cols_matching(r"^work attribute")]
    cols = {
        "entry_id": h.col("worklog id", "tempo worklog id", "worklog"),
        "date": h.col("work date"), "hours": h.col("hours"),
        "person": first_given(h.col("full name"), h.col("username"), h.col("user"), h.col("author")),
        "client_id": first_given(h.col("account customer"), h.col("account name"), h.col("customer")),
        "project": first_given(h.col("project name"), h.col("project key")),
        "task": first_given(h.col("issue summary"), h.col("issue key")),
    }
    work = joined(h.col("activity name"), h.col("activity"), *attributes, h.col("issue type"),
                 h.col("issue summary"))
    return FileMapping("time_entries", "tempo", present(cols),
                       present({"_work_text": work, "_billed_hours": h.col("billed hours")}))


# --- 1C invoice register (Russian) -----------------------------------------------
_ONEC_CLIENT = ("контрагент", "покупатель", "клиент", "заказчик")
_ONEC_NUMBER = ("номер", "номер документа", "№", "номер счета", "счет", "№ документа")
_ONEC_AMOUNT = ("сумма без ндс", "сумма", "сумма документа", "сумма с ндс", "итого", "сумма счета")


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
    return FileMapping("invoices", "1c", present(cols))


# Every known export, first match wins: no two match the same documented header row
# (tests/test_adapters*.py hold one per format).
ADAPTERS: tuple[Export, ...] = (
    Export("harvest", "time_entries", (("date",), ("client",), ("hours",), ("first name",),
                                       ("last name",)), harvest, label="Harvest"),
    Export("toggl", "time_entries", (("start date",), ("start time",), ("duration",),
                                     ("user", "member", "email")), toggl, label="Toggl Track"),
    Export("tempo", "time_entries", (("issue key",), ("hours",), ("work date",)), tempo,
           label="Jira/Tempo"),
    Export("1c", "invoices", (_ONEC_CLIENT, _ONEC_NUMBER, _ONEC_AMOUNT), onec, label="1C"),
    *time_trackers.ADAPTERS, *billing.ADAPTERS, *helpdesk.ADAPTERS, *crm.ADAPTERS,
)
CLOSEST_SHOWN = 2  # tables and exports named when a file fits none


def format_label(name: str) -> str:
    """A format as pages name it: the tool's own name, or the name itself (canonical)."""
    return next((e.label for e in ADAPTERS if e.name == name and e.label), name)


def canonical(table_name: str, headers: tuple[str, ...]) -> FileMapping:
    table = TABLES[table_name]
    found = match_columns(table, list(headers))
    cols = {name: q(f"c{i}") for name, i in found.items()}
    if table_name == "clients":  # a list of names is enough: the name is the key
        cols.setdefault("client_id", cols.get("client_name", ""))
        cols.setdefault("client_name", cols.get("client_id", ""))
    return FileMapping(table_name, "canonical", present(cols))


def _found(headers: tuple[str, ...]) -> str:
    """The headers, printable and short, for an error line."""
    shown = ["".join(ch if ch.isprintable() else "?" for ch in h)[:40] for h in headers if h.strip()]
    text = ", ".join(shown[:15]) + (", ..." if len(shown) > 15 else "")
    return text or "no headers"


def _matching(h: Headers) -> list[FileMapping]:
    return [export.build(h) for export in ADAPTERS if export.matches(h)]


def closest(headers: tuple[str, ...]) -> str:
    """The tables and exports a header row comes nearest, with what each misses."""
    h = Headers(headers)
    near = [f"{fit.table} (missing {', '.join(fit.missing) or 'distinctive headers'})"
            for fit in table_fits(list(headers))[:CLOSEST_SHOWN] if fit.matched]
    exports = [(len(e.missing(h)) / len(e.needs), e) for e in ADAPTERS
               if len(e.missing(h)) < len(e.needs)]
    near += [f"{e.name} export (missing {', '.join(e.missing(h))})"
             for _share, e in sorted(exports, key=lambda x: x[0])[:CLOSEST_SHOWN]]
    return "; ".join(near) or "none"


def recognise(source: RawSource) -> FileMapping:
    """Which table and format a file holds, with every required column present.

    A known export's header wins (a Harvest report is a Harvest report whatever
    its name), then the file name's prefix, then a header match that leaves no doubt
    (headers.guess_table); else one line names the closest tables and exports.
    """
    h = Headers(source.headers)
    shown = display_path(source.path)
    named = table_from_stem(Path(source.name).stem)
    mapping = next((m for m in _matching(h) if named in (None, m.table)), None)
    if mapping is None:
        table = named
        if table is None:
            guess = guess_table(list(source.headers))
            table = guess.table if guess else None
        if table is None:
            raise IngestError(
                f"{shown}: cannot tell which table this file holds (found: {_found(source.headers)}; "
                f"closest: {closest(source.headers)}); name it after a table (time_entries.csv, "
                f"invoices_2025.xlsx, ...) or use the headers of docs/data-contract.md")
        mapping = canonical(table, source.headers)
    for each in (mapping, *mapping.also):  # a file feeding two tables needs both tables' columns
        for col in TABLES[each.table].required_columns:
            if col not in each.columns:
                via = "" if each.format == "canonical" else f", {each.format} export"
                raise IngestError(f"{shown}: missing required column '{col}' ({each.table}{via}; "
                                  f"found: {_found(source.headers)})")
    return mapping
