"""The bad-input corpus: every case either stops with one clear line or lands in the quarantine.

Each case writes a small raw folder (a clean time-entries file plus the bad file)
and states what must happen: an IngestError naming the file (and column), or a
quarantine entry (file, row, column, reason), or acceptance with a checked value.
Every case that runs to the end also checks rows read = accepted + quarantined.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from rawfiles import (
    TIME_HEADER,
    params,
    quarantine,
    read,
    summary,
    time_rows,
    write_csv,
    write_parquet,
    write_text,
    write_xlsx,
)

from clientlens.intake.ingest import IngestError, run_ingest
from clientlens.publishing.reasons import reason_text


@dataclass
class Case:
    id: str
    write: Callable[[Path], None]
    error: tuple[str, ...] = ()  # substrings of the one-line IngestError
    quarantined: tuple[tuple[str, int, str, str], ...] = ()  # (file, row, column, reason part)
    check: Callable[[Path], None] | None = None  # assertions on accepted output
    rows: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # file -> read, ok, quarantined


def base(raw: Path) -> None:
    write_csv(raw, "time_entries.csv", time_rows(3))


def time_with(*rows: list[object], header: list[str] = TIME_HEADER) -> Callable[[Path], None]:
    def write(raw: Path) -> None:
        write_csv(raw, "time_entries.csv", [header, *rows])
    return write


def good(i: int = 1, **changes: object) -> list[object]:
    row = dict(zip(TIME_HEADER, [f"t{i}", "2025-03-03", "Acme", "Ann", 2, "feature work", 100, 40]))
    row.update(changes)
    return [row[h] for h in TIME_HEADER]


def with_base(*writers: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(raw: Path) -> None:
        base(raw)
        for w in writers:
            w(raw)
    return write


def clients(*names: str) -> Callable[[Path], None]:
    return lambda raw: write_csv(raw, "clients.csv", [["client_id", "client_name"],
                                                      *[[n, n] for n in names]])


def invoices(*rows: list[object], name: str = "invoices.csv") -> Callable[[Path], None]:
    header = ["invoice_id", "client_id", "issue_date", "due_date", "paid_date", "amount", "currency"]
    return lambda raw: write_csv(raw, name, [header, *rows])


def contracts(*rows: list[object]) -> Callable[[Path], None]:
    header = ["contract_id", "client_id", "contract_type", "start_date", "end_date", "value",
              "renewal_of"]
    return lambda raw: write_csv(raw, "contracts.csv", [header, *rows])


def _value(table: str, column: str, expected: object, row: int = 0) -> Callable[[Path], None]:
    def check(out: Path) -> None:
        got = read(out, table)[column].iloc[row]
        if isinstance(expected, float):
            assert got == pytest.approx(expected)
        else:
            assert got == expected
    return check


def _long_time_file(n: int, changes: dict[int, dict[str, object]]) -> list[list[object]]:
    """Time entries of n rows (row k + 2 is entry k), some cells changed: long enough that
    row 5,000 lies past the first 64 KiB the sniffer reads."""
    return [TIME_HEADER, *(good(k + 1, **changes.get(k, {})) for k in range(n))]


def _xlsx_trailing(raw: Path) -> None:
    rows = [TIME_HEADER + [None, None], good(1) + [None, None], [None] * 10, good(2), [], []]
    write_xlsx(raw, "time_entries.xlsx", rows)


CASES = [
    # --- stops: one line, file and column named ---------------------------------
    Case("missing_column", time_with(["t1", "2025-03-03", "Acme", "Ann"],
                                     header=["entry_id", "date", "client_id", "person"]),
         error=("time_entries.csv: missing required column 'hours'", "found: entry_id, date")),
    Case("missing_column_xlsx", with_base(lambda raw: write_xlsx(
        raw, "invoices.xlsx", [["invoice_id", "client_id", "issue_date", "due_date"],
                               ["i1", "Acme", "2025-01-01", "2025-02-01"]])),
         error=("invoices.xlsx: missing required column 'amount'", "(invoices;")),
    Case("empty_file", with_base(lambda raw: write_text(raw, "invoices.csv", "")),
         error=("invoices.csv: empty file (0 bytes)",)),
    Case("blank_lines_only", with_base(lambda raw: write_text(raw, "invoices.csv", "\n\n  \n")),
         error=("invoices.csv: no header row",)),
    Case("unknown_table", with_base(lambda raw: write_csv(raw, "notes.csv", [["foo", "bar"], [1, 2]])),
         error=("notes.csv: cannot tell which table", "found: foo, bar")),
    Case("currency_without_rate", with_base(invoices(["i1", "Acme", "2025-01-01", "2025-02-01", "",
                                                      "100", "EUR"])),
         error=("invoices.csv: amounts in EUR but fx_rates has no EUR rate",
                "add it to", "fx_rates.csv")),
    Case("unreadable_xlsx", with_base(lambda raw: write_text(raw, "invoices.xlsx", "not a zip")),
         error=("invoices.xlsx: unreadable workbook",)),
    Case("old_xls", with_base(lambda raw: write_text(raw, "invoices.xls", "x")),
         error=("invoices.xls: old .xls workbooks are not supported",)),
    Case("unclosed_quote", lambda raw: write_text(
        raw, "time_entries.csv", "entry_id,date,client_id,person,hours\n"
        't1,2025-03-03,"Acme,Ann,2\nt2,2025-03-04,Acme,Ann,3\n'),
         error=("time_entries.csv: line", "unclosed quote")),
    Case("far_too_many_fields", lambda raw: write_text(
        raw, "time_entries.csv", "date,client_id,hours\n2025-01-01,A,1\n2025-01-02,A,1,2,3,4,5,6,7\n"),
         error=("time_entries.csv: line 3 has far more fields than the header (3 columns)",)),
    Case("binary_junk_named_csv", with_base(lambda raw: (raw / "invoices_old.csv").write_bytes(
        bytes(range(256)) * 8)),
         error=("invoices_old.csv: not a text file",)),
    Case("corrupt_parquet", with_base(lambda raw: write_text(raw, "invoices.parquet", "PAR1 junk")),
         error=("invoices.parquet: unreadable parquet",)),
    Case("tempo_without_client", lambda raw: write_csv(
        raw, "worklogs.csv", [["Issue Key", "Hours", "Work date", "Full name"],
                              ["P-1", "2", "2025-03-03", "Ann"]]),
         error=("worklogs.csv: missing required column 'client_id' (time_entries, tempo export",)),
    Case("no_time_entries", lambda raw: clients("Acme")(raw),
         error=("no time_entries file", "required")),
    # --- quarantined rows ---------------------------------------------------------
    Case("wrong_type_hours", time_with(good(1), good(2, hours="two")),
         quarantined=(("time_entries.csv", 3, "hours", "not a number"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("negative_hours", time_with(good(1, hours=-2), good(2)),
         quarantined=(("time_entries.csv", 2, "hours", "negative hours"),)),
    Case("zero_hours", time_with(good(1), good(2, hours="0")),
         quarantined=(("time_entries.csv", 3, "hours", "zero hours"),)),
    Case("hours_over_24", time_with(good(1, hours=25), good(2)),
         quarantined=(("time_entries.csv", 2, "hours", "more than 24 hours"),)),
    Case("future_date", time_with(good(1), good(2, date="2031-01-01")),
         quarantined=(("time_entries.csv", 3, "date", "in the future (after 2026-06-30)"),)),
    Case("unparseable_date", time_with(good(1), good(2, date="32.13.2025")),
         quarantined=(("time_entries.csv", 3, "date", "not a date"),)),
    Case("empty_required_cell", time_with(good(1, client_id=" "), good(2)),
         quarantined=(("time_entries.csv", 2, "client_id", "client_id is empty"),)),
    Case("duplicate_ids", time_with(good(1), good(2), good(1, hours=5)),
         quarantined=(("time_entries.csv", 4, "entry_id", "duplicate entry_id also on row 2"),),
         rows={"time_entries.csv": (3, 2, 1)}),
    Case("duplicate_across_files", lambda raw: (
        write_csv(raw, "time_entries_a.csv", [TIME_HEADER, good(1)]),
        write_csv(raw, "time_entries_b.csv", [TIME_HEADER, good(2), good(1)])),
         quarantined=(("time_entries_b.csv", 3, "entry_id",
                       "duplicate entry_id also on row 2 of time_entries_a.csv"),)),
    Case("orphan_client", with_base(clients("Acme"), invoices(
        ["i1", "Acme", "2025-01-01", "2025-02-01", "", "100", ""],
        ["i2", "Ghost Ltd", "2025-01-01", "2025-02-01", "", "100", ""])),
         quarantined=(("invoices.csv", 3, "client_id", "unknown client 'Ghost Ltd'"),),
         rows={"invoices.csv": (2, 1, 1), "time_entries.csv": (3, 3, 0)}),
    Case("orphan_contract", with_base(
        contracts(["c1", "Acme", "project", "2025-01-01", "2025-06-30", "1000", ""]),
        invoices(["i1", "Acme", "2025-01-01", "2025-02-01", "", "100", ""]),
        lambda raw: write_csv(raw, "invoices_b.csv", [
            ["invoice_id", "client_id", "contract_id", "issue_date", "due_date", "amount"],
            ["i2", "Acme", "c9", "2025-01-01", "2025-02-01", "5"]])),
         quarantined=(("invoices_b.csv", 2, "contract_id", "unknown contract 'c9'"),)),
    Case("renewal_of_unknown", with_base(contracts(
        ["c1", "Acme", "project", "2025-01-01", "2025-06-30", "1000", ""],
        ["c2", "Acme", "retainer", "2025-07-01", "", "500", "c0"])),
         quarantined=(("contracts.csv", 3, "renewal_of", "unknown contract 'c0'"),)),
    Case("end_before_start", with_base(contracts(
        ["c1", "Acme", "project", "2025-05-01", "2025-04-01", "1000", ""])),
         quarantined=(("contracts.csv", 2, "end_date", "end_date before start_date"),)),
    Case("paid_before_issue", with_base(invoices(
        ["i1", "Acme", "2025-03-01", "2025-03-31", "2025-02-01", "100", ""])),
         quarantined=(("invoices.csv", 2, "paid_date", "paid_date before issue_date"),)),
    Case("enum_typo", with_base(contracts(
        ["c1", "Acme", "retainr", "2025-01-01", "", "1000", ""])),
         quarantined=(("contracts.csv", 2, "contract_type", "not one of project, retainer, support"),)),
    Case("negative_contract_value", with_base(contracts(
        ["c1", "Acme", "project", "2025-01-01", "", "-5", ""])),
         quarantined=(("contracts.csv", 2, "value", "value below 0"),)),
    Case("survey_score_out_of_range", with_base(lambda raw: write_csv(
        raw, "surveys.csv", [["client_id", "survey_date", "survey_type", "score"],
                             ["Acme", "2025-03-01", "nps", "11"], ["Acme", "2025-03-02", "NPS", "9"]])),
         quarantined=(("surveys.csv", 2, "score", "score above 10"),)),
    Case("several_rules_one_row", time_with(good(1, hours=-1, date="2031-01-01"), good(2)),
         quarantined=(("time_entries.csv", 2, "date", "in the future"),
                      ("time_entries.csv", 2, "hours", "negative hours")),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("too_many_fields", lambda raw: write_text(
        raw, "time_entries.csv", "entry_id,date,client_id,person,hours\n"
        "t1,2025-03-03,Acme,Ann,2\nt2,2025-03-04,Acme,Ann,3,surprise\n"),
         quarantined=(("time_entries.csv", 3, "(extra fields)", "more fields than the header"),)),
    Case("bad_currency_code", time_with(good(1), [*good(2), "dollars?!"],
                                        header=TIME_HEADER + ["currency"]),
         quarantined=(("time_entries.csv", 3, "currency", "not a currency code"),)),
    # --- accepted, with the value read correctly ----------------------------------
    Case("header_only_file", with_base(invoices()), rows={"invoices.csv": (0, 0, 0)},
         check=lambda out: (read(out, "invoices").empty or pytest.fail("rows from nowhere"))),
    Case("bom", lambda raw: write_text(raw, "time_entries.csv", "\ufeffentry_id,date,client_id,person,"
                                       "hours\nt1,2025-03-03,Acme,Ann,2\n", "utf-8"),
         rows={"time_entries.csv": (1, 1, 0)}, check=_value("time_entries", "entry_id", "t1")),
    Case("cp1251_russian_headers", lambda raw: write_text(
        raw, "time_entries.csv", "Дата;Клиент;Сотрудник;Часы\n03.03.2025;ООО Ромашка;Иван;7,5\n",
        "cp1251"),
         rows={"time_entries.csv": (1, 1, 0)}, check=_value("time_entries", "client_id", "ООО Ромашка")),
    Case("wrong_encoding_utf16", lambda raw: write_text(
        raw, "time_entries.csv", "date,client_id,person,hours\n2025-03-03,Ромашка,Иван,2\n", "utf-16"),
         rows={"time_entries.csv": (1, 1, 0)}, check=_value("time_entries", "person", "Иван")),
    Case("utf8_with_one_bad_byte", lambda raw: (raw / "time_entries.csv").write_bytes(
        "date,client_id,person,hours\n2025-03-03,Ромашка,Иван,2\n2025-03-04,Acme".encode()
        + b"\xff,Ann,1\n"),
         rows={"time_entries.csv": (2, 2, 0)}, check=_value("time_entries", "client_id", "Ромашка")),
    Case("semicolon_decimal_comma", lambda raw: write_csv(raw, "time_entries.csv", [
        TIME_HEADER, ["t1", "03.03.2025", "Acme", "Ann", "7,5", "feature", "100,5", "40"]], sep=";"),
         check=_value("time_entries", "hours", 7.5)),
    Case("semicolon_separator", lambda raw: write_csv(raw, "time_entries.csv", time_rows(2), sep=";"),
         rows={"time_entries.csv": (2, 2, 0)}, check=_value("time_entries", "client_id", "Acme")),
    Case("tab_separator", lambda raw: write_csv(raw, "time_entries.tsv", time_rows(2), sep="\t"),
         rows={"time_entries.tsv": (2, 2, 0)}, check=_value("time_entries", "hours", 2.0)),
    Case("thousands_with_spaces", time_with(
        [*good(1)[:6], "1\u00a0234,50", "1 000"], header=TIME_HEADER),
         check=_value("time_entries", "bill_rate", 1234.5)),
    Case("thousands_with_commas", lambda raw: write_csv(raw, "time_entries.csv", [
        TIME_HEADER + ["billable_amount"], [*good(1), "1,234.50"]]),
         check=_value("time_entries", "billable_amount", 1234.5)),
    Case("quotes_and_newlines_in_fields", time_with(
        good(1, task='line one\nline "two", three'), good(2, hours=-1)),
         quarantined=(("time_entries.csv", 3, "hours", "negative hours"),),
         check=_value("time_entries", "task", 'line one\nline "two", three')),
    Case("blank_line_keeps_row_numbers", lambda raw: write_text(
        raw, "time_entries.csv", "entry_id,date,client_id,person,hours\nt1,2025-03-03,Acme,Ann,2\n\n"
        "t2,2025-03-04,Acme,Ann,-3\n"),
         quarantined=(("time_entries.csv", 4, "hours", "negative hours"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("formula_looking_strings", time_with(good(1, task='=HYPERLINK("http://x","y")'),
                                              good(2, client_id="@Acme")),
         check=_value("time_entries", "task", '=HYPERLINK("http://x","y")')),
    Case("html_in_names", time_with(good(1, client_id="<b>Acme</b> & Co")),
         check=_value("clients", "client_name", "<b>Acme</b> & Co")),
    Case("trailing_empty_excel_columns_and_rows", _xlsx_trailing,
         rows={"time_entries.xlsx": (2, 2, 0)}, check=_value("time_entries", "entry_id", "t1")),
    Case("mixed_currencies_with_rate", with_base(
        lambda raw: write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.10"]]),
        invoices(["i1", "Acme", "2025-01-01", "2025-02-01", "", "100", "EUR"],
                 ["i2", "Acme", "2025-01-02", "2025-02-01", "", "50", ""])),
         check=lambda out: (_value("invoices", "amount", 110.0)(out),
                            _value("invoices", "currency", "EUR")(out),
                            _value("invoices", "amount", 50.0, row=1)(out))),
    Case("russian_enum_synonym", with_base(contracts(
        ["c1", "Acme", "Абонемент", "2025-01-01", "", "1000", ""])),
         check=_value("contracts", "contract_type", "retainer")),
    Case("us_dates_in_one_file", time_with(good(1, date="03/14/2025"), good(2, date="03/04/2025")),
         check=lambda out: str(read(out, "time_entries")["date"].iloc[1]) == "2025-03-04"
         or pytest.fail("03/04/2025 read day-first in a month-first file")),
    Case("day_first_slashed_dates", time_with(good(1, date="14/03/2025"), good(2, date="03/04/2025")),
         check=lambda out: str(read(out, "time_entries")["date"].iloc[1]) == "2025-04-03"
         or pytest.fail("03/04/2025 read month-first in a day-first file")),
    # --- issue 24: what ingest once misread without a word ----------------------------------------
    Case("generic_headers_only", with_base(lambda raw: write_csv(
        raw, "tickets export.csv", [["Id", "Subject", "Status", "Type", "Created at"],
                                    ["1", "Login fails", "open", "incident", "2025-03-03"]])),
         error=("tickets export.csv:", "missing required column 'client_id' (requests;")),
    Case("unknown_export_names_closest", with_base(lambda raw: write_csv(
        raw, "export.csv", [["Date", "Project", "Task", "Hours"], ["2025-03-03", "Site", "UI", "2"]])),
         error=("export.csv: cannot tell which table", "closest: time_entries (missing client_id)")),
    Case("every_row_set_aside", with_base(lambda raw: write_csv(
        raw, "surveys.csv", [["client_id", "survey_date", "survey_type", "score"]]
        + [["Acme", "2025-03-03", "stars", "4"]] * 5)),
         error=("surveys.csv: all 5 rows were set aside", "survey_type (header 'survey_type') not one of")),
    Case("currency_without_rate_offers_reporting_currency", with_base(invoices(
        ["i1", "Acme", "2025-01-01", "2025-02-01", "", "100", "EUR"])),
         error=("fx_rates has no EUR rate", "make report REPORTING_CURRENCY=EUR")),
    Case("work_type_inside_a_word", time_with(good(1, task="Build the checkout"), good(2, task="UI review")),
         check=lambda out: read(out, "time_entries")["work_type"].tolist() == ["other", "ux"]
         or pytest.fail("'ui' inside 'Build' read as UX work")),
    # --- issue 25: binary content anywhere in a file ----------------------------------------------
    Case("nul_in_a_cell_at_row_2", time_with(good(1, client_id="Ac\x00me"), good(2)),
         quarantined=(("time_entries.csv", 2, "client_id", "control character U+0000 in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}, check=_value("time_entries", "entry_id", "t2")),
    Case("nul_past_the_first_64_kib", lambda raw: write_csv(raw, "time_entries.csv", _long_time_file(
        5_000, {4_998: {"task": "feature\x00work"}})),
         quarantined=(("time_entries.csv", 5_000, "task", "control character U+0000 in the cell"),),
         rows={"time_entries.csv": (5_000, 4_999, 1)}),
    Case("bell_in_a_client_name", time_with(good(1), good(2, client_id="Acme\x07")),
         quarantined=(("time_entries.csv", 3, "client_id", "control character U+0007 in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("nul_in_a_number_cell", time_with(good(1), good(2, hours="2\x00")),
         quarantined=(("time_entries.csv", 3, "hours", "control character U+0000 in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("c1_control_and_delete", time_with(good(1, task="a\x85b"), good(2, person="Ann\x7f"), good(3)),
         quarantined=(("time_entries.csv", 2, "task", "control character U+0085 in the cell"),
                      ("time_entries.csv", 3, "person", "control character U+007F in the cell")),
         rows={"time_entries.csv": (3, 1, 2)}),
    Case("control_character_in_a_column_no_table_reads", time_with(
        [*good(1), "fine"], [*good(2), "bro\x1bken"], header=TIME_HEADER + ["Comment"]),
         quarantined=(("time_entries.csv", 3, "Comment", "control character U+001B in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("tab_and_line_breaks_in_a_cell_are_text", time_with(good(1, task="a\tb\r\nc"), good(2)),
         rows={"time_entries.csv": (2, 2, 0)}, check=_value("time_entries", "task", "a\tb\r\nc")),
    Case("nul_in_utf16_text", lambda raw: write_text(
        raw, "time_entries.csv", "date,client_id,person,hours\n2025-03-03,Ромашка,Иван,2\n"
        "2025-03-04,Ромашка,Ив\x00ан,3\n", "utf-16"),
         quarantined=(("time_entries.csv", 3, "person", "control character U+0000 in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("nul_in_cp1251_text", lambda raw: write_text(
        raw, "time_entries.csv", "Дата;Клиент;Сотрудник;Часы\n03.03.2025;ООО Ромашка;Иван;7,5\n"
        "04.03.2025;ООО Ромашка\x00;Иван;1\n", "cp1251"),
         quarantined=(("time_entries.csv", 3, "client_id", "control character U+0000 in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    Case("nul_in_a_quoted_multiline_cell", time_with(good(1, task="line one\nline\x00two"), good(2)),
         quarantined=(("time_entries.csv", 2, "task", "control character U+0000 in the cell"),),
         rows={"time_entries.csv": (2, 1, 1)}),
    # A workbook holds a control character as _xHHHH_ (ECMA-376 ST_Xstring, as Office reads it:
    # https://learn.microsoft.com/en-us/openspecs/office_standards/ms-oi29500/d34ae755-c53f-4a44-a363-c6dd3ee018a4);
    # openpyxl writes the text as it is given, which is that escape.
    Case("control_character_in_xlsx_cell", lambda raw: write_xlsx(raw, "time_entries.xlsx", [
        TIME_HEADER, good(1), good(2, client_id="Acme_x0007_"), good(3, task="two_x000D_\nlines")]),
         quarantined=(("time_entries.xlsx", 3, "client_id", "control character U+0007 in the cell"),),
         rows={"time_entries.xlsx": (3, 2, 1)}),
    Case("nul_in_parquet_string_column", lambda raw: write_parquet(raw, "time_entries.parquet", pd.DataFrame(
        [good(1), good(2, person="A\x00nn")], columns=TIME_HEADER)),
         quarantined=(("time_entries.parquet", 3, "person", "control character U+0000 in the cell"),),
         rows={"time_entries.parquet": (2, 1, 1)}),
    Case("nul_in_the_header", time_with(good(1), header=["entry_id", "date", "client\x00_id", *TIME_HEADER[3:]]),
         error=("time_entries.csv: control character U+0000 in the header row (line 1, column 3)",)),
    Case("nul_in_the_header_below_a_title_cp1251", lambda raw: write_text(
        raw, "time_entries.csv", "Отчёт по времени\n\nДата;Клиент;Сотр\x00удник;Часы\n03.03.2025;Ромашка;Иван;7,5\n",
        "cp1251"),
         error=("time_entries.csv: control character U+0000 in the header row (line 3, column 3)",)),
    Case("nul_in_the_xlsx_header", lambda raw: write_xlsx(raw, "time_entries.xlsx", [
        ["entry_id", "date", "client_id", "person_x0000_", *TIME_HEADER[4:]], good(1)]),
         error=("time_entries.xlsx: control character U+0000 in the header row (sheet row 1, column 4)",)),
    Case("nul_in_a_parquet_column_name", lambda raw: write_parquet(raw, "time_entries.parquet", pd.DataFrame(
        [good(1)], columns=[*TIME_HEADER[:4], "hou\x00rs", *TIME_HEADER[5:]])),
         error=("time_entries.parquet: control character U+0000 in the header row (its column names, column 5)",)),
    Case("pdf_named_csv", with_base(lambda raw: (raw / "invoices.csv").write_bytes(
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nstream\n" + bytes(range(256)) * 4)),
         error=("invoices.csv: not a text file (a PDF document)",)),
    Case("workbook_named_csv", with_base(lambda raw: (raw / "invoices.csv").write_bytes(
        write_xlsx(raw / "xlsx", "invoices.xlsx", [["invoice_id", "client_id"], ["i1", "Acme"]]).read_bytes())),
         error=("invoices.csv: not a text file (a zip archive (an XLSX workbook is one: name it .xlsx))",)),
    Case("utf16_without_byte_order_mark", with_base(lambda raw: (raw / "invoices.csv").write_bytes(
        "invoice_id,client_id,amount\ni1,Acme,100\n".encode("utf-16-le"))),
         error=("invoices.csv: not a text file (UTF-16 text without its byte-order mark)",)),
    # Client identity (tests/test_client_identity.py has the rest): what a reader cannot tell
    # apart is never merged; the quarantine names both.
    Case("two_clients_named_alike_by_a_trailing_space", with_base(lambda raw: write_csv(
        raw, "clients.csv", [["client_id", "client_name"], ["Acme", "Acme"], ["C2", "Acme "]])),
         error=("time_entries.csv: all 3 rows were set aside", "a client that reads as more than one: "
                "'Acme' (Acme), 'C2' (Acme)")),
    Case("client_ids_that_differ_by_case", lambda raw: (
        write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C00010", "Northwind"],
                                       ["c00010", "Impostor"], ["Acme", "Acme"]]),
        write_csv(raw, "time_entries.csv", [TIME_HEADER, good(1), good(2, client_id="C00010")])),
         quarantined=(("clients.csv", 2, "client_id", "also on row 3: 'c00010' (Impostor)"),
                      ("clients.csv", 3, "client_id", "also on row 2: 'C00010' (Northwind)"),
                      ("time_entries.csv", 3, "client_id", "'C00010' (Northwind), 'c00010' (Impostor)"))),
    Case("one_client_id_with_two_names", lambda raw: (
        write_csv(raw, "clients.csv", [["client_id", "client_name"], ["Acme", "Acme"], ["Acme ", "Evil Acme"],
                                       ["B", "Beta"]]),
        write_csv(raw, "time_entries.csv", [TIME_HEADER, good(1, client_id="B"), good(2)])),
         quarantined=(("clients.csv", 2, "client_id", "another name also on row 3: 'Evil Acme'"),
                      ("clients.csv", 3, "client_id", "another name also on row 2: 'Acme'"),
                      ("time_entries.csv", 3, "client_id", "'Acme' (Acme), 'Acme' (Evil Acme)"))),
    Case("one_client_written_two_ways_without_a_clients_file",
         time_with(good(1), good(2, client_id="ACME"), good(3, client_id="Beta")),
         quarantined=(("time_entries.csv", 2, "client_id", "another way also on row 3: 'ACME'"),
                      ("time_entries.csv", 3, "client_id", "another way also on row 2: 'Acme'"))),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "processed"
    raw.mkdir()
    case.write(raw)
    if case.error:
        with pytest.raises(IngestError) as info:
            run_ingest(raw, out, params())
        message = str(info.value)
        assert "\n" not in message and "Traceback" not in message
        for part in case.error:
            assert part in message, message
        assert not (out / "ingest_summary.parquet").exists(), "a stopped run wrote outputs"
        return
    result = run_ingest(raw, out, params())
    q = quarantine(out)
    for file, row, column, reason in case.quarantined:
        hit = q[(q.file == file) & (q.row == row) & (q.column == column)]
        assert not hit.empty, f"no quarantine entry for {file} row {row} {column}:\n{q}"
        assert hit.reason.str.contains(reason, regex=False).any(), hit.reason.tolist()
    if not case.quarantined:
        assert q.empty, q
    untranslated = [r for r in q.reason if reason_text(r, "ru") == r]
    assert not untranslated, f"reasons the Russian ingest page would show in English: {untranslated}"
    s = summary(out)
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined).all(), s
    assert result.quarantine_count == s.rows_quarantined.sum()
    for file, (n_read, n_ok, n_bad) in case.rows.items():
        line = s[s.file == file].iloc[0]
        assert (line.rows_read, line.rows_accepted, line.rows_quarantined) == (n_read, n_ok, n_bad)
    for file in {f for f, *_ in case.quarantined}:
        line = s[s.file == file].iloc[0]
        assert line.rows_quarantined == q[q.file == file].row.nunique()
    if case.check:
        case.check(out)


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 25
