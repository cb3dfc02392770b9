"""Readers: encoding and separator sniffing, header matching, cell parsing, each file format."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
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

from clientlens.intake.contract import TABLES
from clientlens.intake.ingest import run_ingest
from clientlens.intake.readers.headers import guess_table, match_columns, norm, table_from_stem
from clientlens.intake.readers.parse import install_macros
from clientlens.intake.readers import sniff
from clientlens.intake.readers.sniff import binary_kind, count_records, find_header, scan_bytes, scan_file
from clientlens.intake.readers.source import TextLayout


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    install_macros(c)
    yield c
    c.close()


def one(con, sql: str):
    return con.execute(f"SELECT {sql}").fetchall()[0][0]


# --- sniffing ---------------------------------------------------------------------
@pytest.mark.parametrize("data, encoding", [
    ("a,b\nПривет,1\n".encode(), "utf-8"),
    ("\ufeffa,b\n1,2\n".encode(), "utf-8-sig"),
    ("a;b\nПривет;1\n".encode("cp1251"), "cp1251"),
    ("a,b\n1,2\n".encode("utf-16"), "utf-16"),
    ("a,b\nПривет,1\n".encode() + b"\xff\n", "utf-8 (repaired)"),
])
def test_scan_detects_encoding(tmp_path: Path, data: bytes, encoding: str) -> None:
    (tmp_path / "f.csv").write_bytes(data)
    assert scan_file(tmp_path / "f.csv").encoding == encoding


@pytest.mark.parametrize("data, blank, odd", [
    (b"a,b\n1,2\n", False, False), (b"a,b\n1,2\n\n\n", False, False),
    (b"a,b\n1,2\n\n3,4\n", True, False), (b"a,b\r\n1,2\r\n\r\n3,4\r\n", True, False),
    (b'a,b\n"1,2\n', False, True),
])
def test_scan_flags_hazards(tmp_path: Path, data: bytes, blank: bool, odd: bool) -> None:
    (tmp_path / "f.csv").write_bytes(data)
    scan = scan_file(tmp_path / "f.csv")
    assert (scan.inner_blank_lines, scan.odd_quotes) == (blank, odd)
    assert scan.size == len(data)


@pytest.mark.parametrize("head, index, delimiter", [
    ("a,b,c\n1,2,3\n", 0, ","), ("a;b;c\n1;2;3\n", 0, ";"), ("a\tb\n1\t2\n", 0, "\t"),
    ("a|b\n", 0, "|"), ("Реестр счетов за 2025;;\n\nДата;Номер;Сумма\n", 2, ";"),
    ('"x, y";b\n', 0, ";"),
])
def test_find_header(head: str, index: int, delimiter: str) -> None:
    header = find_header(head)
    assert (header.index, header.delimiter) == (index, delimiter)


# Files whose records the byte count must find as Python's csv module does, each with its
# records below the header (blank ones, nothing but spaces in every field, left out).
RECORD_FILES = [
    (b"a,b\n1,2\n3,4\n", ",", 0, 2),
    (b"a,b\n1,2\n3,4", ",", 0, 2),  # no line break at the end
    (b"a,b\r\n1,2\r\n\r\n,\r\n \" \", \r\n3,4\r\n", ",", 0, 2),  # blank line, blank records
    (b'a,b\n"x\ny",2\n"say ""hi""",3\n', ",", 0, 2),  # quoted line breaks and quotes
    (b'a,b\n"""",1\n"",""\n', ",", 0, 1),  # a cell of one quote is no blank cell
    (b'Title;;\n;;\na;b;c\n1;2;3\n', ";", 2, 1),  # lines above the header
    (b"\xef\xbb\xbf\"a\",b\n1,2\n", ",", 0, 1),  # byte-order mark before a quoted header
    (b'a,b\n15",2\n"x\ny",3\n', ",", 0, 2),  # a quote inside an unquoted cell: csv counts
    (b"a,b\r1,2\r3,4\r", ",", 0, 2),  # old Mac line ends: csv counts
    (b"a\tb\n\t\n1\t\n", "\t", 0, 1),
    (b"a,b\n\t,\n", ",", 0, 1),  # a tab is no space: the record is read (and set aside)
    ("a,b\nПривет,1\n,\n".encode("utf-16"), ",", 0, 1),
]


@pytest.mark.parametrize("data, delimiter, header, records", RECORD_FILES)
def test_count_records_as_csv_reads_them_across_read_edges(tmp_path: Path, monkeypatch, data: bytes,
                                                           delimiter: str, header: int, records: int) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    codec = "utf-16" if data.startswith(b"\xff\xfe") else "utf-8"
    for chunk in (1, 2, 3, 5, 1 << 20):
        monkeypatch.setattr(sniff, "CHUNK", chunk)
        assert count_records(path, TextLayout(codec, delimiter, header)) == records, chunk


def test_scan_finds_the_lines_with_control_characters_across_read_edges(tmp_path: Path, monkeypatch) -> None:
    lines = ["a,b", "1,2", "3,x\x00y", "4,tab\there", "5,Ромашка", "6,del\x7f", "7,nel\x85", "8,\r", "9,\x1b"]
    path = tmp_path / "f.csv"
    path.write_bytes("\n".join(lines).encode())
    for chunk in (1, 2, 7, 1 << 20):
        monkeypatch.setattr(sniff, "CHUNK", chunk)
        facts = scan_bytes(path, text=True)
        assert facts.control_lines == (3, 6, 7, 9), chunk
        assert facts.lines == len(lines)
    assert scan_bytes(path).control_lines == ()  # not looked for in other formats


def test_scan_lists_a_bounded_number_of_control_lines(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sniff, "MAX_CONTROL_LINES", 3)
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n" + b"1,\x00\n" * 5)
    facts = scan_bytes(path, text=True)
    assert (facts.control_lines, facts.more_control_lines) == ((2, 3, 4), True)


def test_duckdb_reads_a_nul_inside_a_cell_whole(tmp_path: Path) -> None:
    """The fast and the fallback reads keep the bytes around a NUL (none truncates the cell
    or stops), so the rules see it: a NUL at row 2 and one past the first 64 KiB."""
    from clientlens.intake.readers.csv_reader import open_csv_fast

    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,x\x00y\n" + b"2,plain\n" * 10_000 + b"3,z\x00\x00w\n")
    source = open_csv_fast(path, "f.csv")
    con = duckdb.connect()
    for relation in (source.relation, source.fallback_relation):
        cells = con.execute(f"SELECT c1 FROM {relation} WHERE contains(c1, chr(0))").fetchall()
        assert cells == [("x\x00y",), ("z\x00\x00w",)]


@pytest.mark.parametrize("data, kind", [
    (b"a,b\n1,x\x00y\n2,3\n", None),  # a stray NUL: text, the cell is quarantined
    ("a,b\n1,2\n".encode("utf-16"), None),
    (b"%PDF-1.4\n", "a PDF document"),
    (b"PK\x03\x04\x14\x00", "a zip archive (an XLSX workbook is one: name it .xlsx)"),
    (bytes(range(256)) * 4, "binary data"),
    ("a,b\n1,2\n".encode("utf-16-le"), "UTF-16 text without its byte-order mark"),
])
def test_binary_kind(data: bytes, kind: str | None) -> None:
    assert binary_kind(data) == kind


# --- headers and tables -----------------------------------------------------------
def test_norm_ignores_case_underscores_bom_and_yo() -> None:
    assert norm("\ufeff Client_ID ") == "client id"
    assert norm("Счёт") == norm("счет")


def test_match_columns_prefers_exact_name_over_alias() -> None:
    found = match_columns(TABLES["time_entries"], ["Client", "client_id", "Дата", "Часы", "Сотрудник"])
    assert found == {"client_id": 1, "date": 2, "hours": 3, "person": 4}


@pytest.mark.parametrize("stem, table", [
    ("time_entries_2025", "time_entries"), ("invoices_2024", "invoices"), ("time", "time_entries"),
    ("contacts", "contacts"), ("contracts-q3", "contracts"), ("fx_rates", "fx_rates"),
    ("Invoice export", "invoices"), ("misc", None),
])
def test_table_from_stem(stem: str, table: str | None) -> None:
    assert table_from_stem(stem) == table


def test_guess_table_from_headers() -> None:
    assert guess_table(["Currency", "Rate"]).table == "fx_rates"
    assert guess_table(["Work date", "Customer", "User", "Duration"]).table == "time_entries"
    assert guess_table(["foo", "bar"]) is None


# --- parsing cells ----------------------------------------------------------------
@pytest.mark.parametrize("text, comma, expected", [
    ("1 234,50", True, 1234.5), ("1\u00a0234,50", True, 1234.5), ("1,234.50", False, 1234.5),
    ("1.234,50", False, 1234.5), ("7,5", False, 7.5), ("1,234", False, 1234.0),
    ("1,234", True, 1.234), ("1.234", True, 1234.0), ("1,234,567", True, 1234567.0),
    ("(12.5)", False, -12.5), ("$1,200", False, 1200.0), ("12 €", False, 12.0),
    ("abc", False, None), ("nan", False, None), ("inf", False, None), ("1e3", False, 1000.0),
])
def test_number_parsing(con, text: str, comma: bool, expected: float | None) -> None:
    dc = "true" if comma else "false"
    got = one(con, f"cl_number('{text}', cl_num_clean('{text}'), {dc})")
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("text, expected", [("1:30", 1.5), ("01:30:00", 1.5), ("2,5", 2.5),
                                            ("1:75", 2.25), ("1:2:3:4", None)])
def test_hours_accept_durations(con, text: str, expected: float | None) -> None:
    got = one(con, f"cl_hours('{text}', cl_num_clean('{text}'), false)")
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("text, slash, expected", [
    ("2025-03-04", "%m/%d/%Y", dt.date(2025, 3, 4)), ("04.03.2025", "%m/%d/%Y", dt.date(2025, 3, 4)),
    ("4.3.25", "%m/%d/%Y", dt.date(2025, 3, 4)), ("03/04/2025", "%m/%d/%Y", dt.date(2025, 3, 4)),
    ("03/04/2025", "%d/%m/%Y", dt.date(2025, 4, 3)), ("15/Jan/24", "%m/%d/%Y", dt.date(2024, 1, 15)),
    ("2025-03-04 10:00", "%m/%d/%Y", dt.date(2025, 3, 4)),
    ("03.01.2025 0:00:00", "%m/%d/%Y", dt.date(2025, 1, 3)), ("2025/03/04", "%m/%d/%Y", dt.date(2025, 3, 4)),
    ("31.02.2025", "%m/%d/%Y", None), ("soon", "%m/%d/%Y", None),
])
def test_date_parsing(con, text: str, slash: str, expected: dt.date | None) -> None:
    assert one(con, f"cl_date('{text}', '{slash}')") == expected


def test_slashed_dates_read_as_cl_date_reads_them(con) -> None:
    """A column whose sample is mostly slashed dates reads them by their format first; every
    text, slashed or not, gets what cl_date gives it."""
    from clientlens.intake.contract import Column
    from clientlens.intake.readers.parse import Hints, detect_hints, typed_sql

    texts = ["03/04/2025", "3/4/2025", "12/31/2024", "31/12/2024", "02/30/2024", "01/02/0003", "12/12/0012",
             "1/2/24", "01/05/2024 10:00", "13/13/2025", "1/2/20245", "2025/03/04", "2025-03-04",
             "04.03.2025", "15/Jan/24", "00/01/2024", "1/0/2024", "x1/2/2024", "", "soon", "9/9/9999"]
    col = Column("date", "date", "a date")
    for day_first in (frozenset(), frozenset({"date"})):
        plain = typed_sql(col, "x", Hints(day_first=day_first))
        fast = typed_sql(col, "x", Hints(day_first=day_first, slashed=frozenset({"date"})))
        assert fast != plain
        rows = con.execute(f"SELECT x, {plain}, {fast} FROM unnest(?) t(x)", [texts]).fetchall()
        assert [(x, a) for x, a, b in rows if a != b] == []
        assert sum(a is not None for _x, a, _b in rows) >= 8
    con.execute("CREATE TABLE us AS SELECT * FROM (VALUES ('03/04/2025'), (' 3/4/2025'), ('2025-01-02')) t(c0)")
    con.execute("CREATE TABLE iso AS SELECT * FROM (VALUES ('03/04/2025'), ('2025-01-02'), ('2025-01-03')) t(c0)")
    assert detect_hints(con, "us", {"date": (col, '"c0"')}).slashed == {"date"}
    assert detect_hints(con, "iso", {"date": (col, '"c0"')}).slashed == set()


@pytest.mark.parametrize("text, expected", [("09:30", dt.time(9, 30)), ("9:05 PM", dt.time(21, 5)),
                                            ("21:30:15", dt.time(21, 30, 15)), ("late", None)])
def test_time_parsing(con, text: str, expected: dt.time | None) -> None:
    assert one(con, f"cl_time('{text}')") == expected


@pytest.mark.parametrize("text, expected", [("Yes", True), ("да", True), ("1", True), ("No", False),
                                            ("нет", False), ("maybe", None)])
def test_bool_parsing(con, text: str, expected: bool | None) -> None:
    assert one(con, f"cl_bool('{text}')") is expected


@pytest.mark.parametrize("text, expected", [("usd", "USD"), ("$", "USD"), ("руб.", "RUB"),
                                            ("US Dollar - USD", "USD"), ("dollars", None)])
def test_currency_parsing(con, text: str, expected: str | None) -> None:
    assert one(con, f"cl_currency('{text}')") == expected


def test_quarter_parsing(con) -> None:
    assert [one(con, f"cl_quarter('{t}')") for t in ("2025Q3", "2025-q3", "Q3 2025", "2025Q5")] == \
        ["2025Q3", "2025Q3", "2025Q3", None]


# --- formats end to end -----------------------------------------------------------
def test_csv_quoted_newlines_keep_spreadsheet_rows(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    rows = time_rows(3)
    rows[1][5] = "first line\nsecond line"
    rows[3][4] = -1
    write_csv(raw, "time_entries.csv", rows)
    run_ingest(raw, out, params())
    assert read(out, "time_entries")["task"].iloc[0] == "first line\nsecond line"
    assert quarantine(out)[["row", "column"]].values.tolist() == [[4, "hours"]]


def test_rows_keep_order_and_numbers_in_a_larger_file(tmp_path: Path) -> None:
    """Row numbers come from insertion order: checked on a file big enough for parallel reads."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    n = 60_000
    lines = ["entry_id,date,client_id,person,hours"] + [
        f"e{i},2025-01-{i % 28 + 1:02d},C{i % 7},P,{-1 if i % 9973 == 0 else 1}" for i in range(n)]
    write_text(raw, "time_entries.csv", "\n".join(lines) + "\n")
    run_ingest(raw, out, params())
    q = quarantine(out)
    assert q["row"].tolist() == [i + 2 for i in range(n) if i % 9973 == 0]
    assert q["value"].tolist() == ["-1"] * len(q)
    te = read(out, "time_entries")
    assert te["entry_id"].tolist()[:3] == ["e1", "e2", "e3"] and len(te) == n - len(q)


def test_title_lines_above_header(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_text(raw, "time_entries.csv", "Timesheet export;;;\nentry_id;date;client_id;hours\n"
                                        "t1;2025-03-03;Acme;-2\nt2;2025-03-04;Acme;2\n")
    run_ingest(raw, out, params())
    assert quarantine(out)["row"].tolist() == [3]  # the real line of the file


def test_xlsx_real_rows_typed_cells_and_empty_rows(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_xlsx(raw, "time_entries.xlsx", [
        TIME_HEADER + [None, None],
        ["t1", dt.datetime(2025, 3, 3), "Acme", "Ann", 7.5, "feature", 100, 40],
        [None] * 8,
        ["t2", dt.date(2025, 3, 4), "Acme", "Ann", -1, "feature", 100, 40],
        ["t3", "04.03.2025", "Acme", "Ann", 2, "=SUM(A1:A2)", 100, 40, None, "stray"],
    ])
    result = run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["hours"].tolist() == [7.5] and str(te["date"].iloc[0]) == "2025-03-03"
    q = quarantine(out)
    assert q[["row", "column"]].values.tolist() == [[4, "hours"], [5, "(extra fields)"]]
    assert result.summary[["rows_read", "rows_accepted", "rows_quarantined"]].values.tolist() == [[3, 1, 2]]


def test_parquet_input_with_native_types(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    frame = pd.DataFrame({"entry_id": ["p1", "p2"], "date": pd.to_datetime(["2025-03-03", "2025-03-04"]),
                          "client_id": ["Acme", "Beta"], "person": ["Ann", "Bob"], "hours": [1.25, 0.0],
                          "billable": [True, False]})
    write_parquet(raw, "time_entries.parquet", frame)
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["hours"].tolist() == [1.25] and bool(te["billable"].iloc[0]) is True
    assert quarantine(out)[["row", "reason"]].values.tolist() == [[3, "zero hours"]]
    assert summary(out)["format"].tolist() == ["canonical"]


def test_cp1251_semicolon_decimal_comma(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_text(raw, "time_entries.csv", "Дата;Клиент;Сотрудник;Часы;Сумма\n"
                                        "03.03.2025;ООО «Ромашка»;Иван Петров;7,5;1 234,50\n", "cp1251")
    result = run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te[["client_id", "person"]].values.tolist() == [["ООО «Ромашка»", "Иван Петров"]]
    assert te["billable_amount"].iloc[0] == pytest.approx(1234.5)
    assert result.summary["encoding"].tolist() == ["cp1251"]
