"""Time-tracking exports: Redmine (Russian and English), Clockify, Kimai, Productive.io;
durations in every spelling; Windows-1252 told from CP1251.

Each sample is written from the header row its tool documents or writes in its source,
cited beside it; the values are ours, with totals the tests tie to the cent.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from rawfiles import csv_text, params, quarantine, read, summary, write_csv, write_text

from clientlens.intake.contract import TABLES
from clientlens.intake.ingest import IngestError, run_ingest
from clientlens.intake.readers.mapping import Headers
from clientlens.intake.readers.parse import Hints, install_macros, typed_reads, typed_sql
from clientlens.intake.readers.rules import mapped_columns
from clientlens.intake.readers.sniff import scan_file
from clientlens.intake.readers.time_trackers import productive, redmine

# Redmine, Spent time -> CSV: the captions of TimeEntryQuery.available_columns
# (github redmine/redmine app/models/time_entry_query.rb) in config/locales/ru.yml
# (field_project, field_spent_on, field_user, field_activity, field_issue, field_comments,
# field_hours). ru.yml: general_csv_separator ';', general_csv_decimal_separator ',',
# general_csv_encoding UTF-8 (written with a BOM, lib/redmine/export/csv.rb), date.formats.
# default "%d.%m.%Y"; an issue cell is "Tracker #id: subject" (app/helpers/queries_helper.rb
# csv_value), hours "%.2f" with the decimal separator.
REDMINE_RU = ["Проект", "Дата", "Пользователь", "Деятельность", "Задача", "Комментарий", "час(а,ов)"]
# The same in config/locales/en.yml: separator ',', decimal '.', encoding ISO-8859-1,
# date.formats.default "%m/%d/%Y".
REDMINE_EN = ["Project", "Date", "User", "Activity", "Issue", "Comment", "Hours"]
# Clockify detailed report, CSV export: https://clockify.me/help/reports/detailed-report and a
# published export, https://gist.github.com/mdnurahmed/cd65d2d141f3b29d0fe1a47f130a5484
# (12-hour start and end times, Duration (h) as hh:mm:ss, Duration (decimal)).
CLOCKIFY = ["Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable",
            "Start Date", "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)",
            "Billable Rate (USD)", "Billable Amount (USD)"]
# Kimai timesheet export, default template: github kimai/kimai src/Export/DefaultTemplate.php
# (columns) and src/Export/ColumnConverter.php (their captions), translated by
# translations/messages.en.xlf; the CSV renderer (src/Export/Base/CsvRenderer.php) writes
# dates Y-m-d, durations h:mm (DurationPlainFormatter), prices as plain floats
# (RateFormatter) and a false flag as an empty cell.
KIMAI = ["Date", "From", "To", "Duration", "Currency", "Price", "Internal price", "Hourly price",
         "Fixed price", "Name", "User", "E-mail", "Staff number", "Customer", "Project", "Activity",
         "Description", "Billable", "Tags", "Type", "Category", "Account", "Project number", "VAT-ID",
         "Order number"]
# Productive.io: no CSV header is published; the time entry's documented attributes
# (https://developer.productive.io/reference/resources/time-entries: date, person, service,
# task, note, time and billable_time in minutes) under the report's column names.
PRODUCTIVE = ["Date", "Person", "Company", "Project", "Service", "Task", "Note", "Time (minutes)",
              "Billable time (minutes)"]


def bom_semicolon(rows: list[list[object]]) -> str:
    return "\ufeff" + csv_text(rows, sep=";")


def people(raw: Path) -> None:
    write_csv(raw, "people.csv", [["person", "role", "cost_rate", "bill_rate"],
                                  ["Ann Lee", "designer", 40, 120], ["Bob Ray", "developer", 50, 100]])


def cents(values) -> float:
    return round(float(sum(values)), 2)


# --- Redmine -------------------------------------------------------------------------
REDMINE_RU_ROWS = [
    ["Ромашка", "03.02.2025", "Иван Петров", "Разработка", "Функция #101: Корзина", "реализация", "1,50"],
    ["Ромашка", "04.02.2025", "Иван Петров", "Дизайн", "Функция #102: Макет главной", "", "2,25"],
    ["Лютик", "05.02.2025", "Анна Смирнова", "Поддержка", "Ошибка #7: Не работает вход", "", "0,75"],
]


def test_redmine_russian(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_text(raw, "timelog.csv", bom_semicolon([REDMINE_RU, *REDMINE_RU_ROWS]))
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert len(te) == 3
    assert te["hours"].sum() == pytest.approx(4.5)
    assert te["client_id"].tolist() == ["Ромашка", "Ромашка", "Лютик"]  # the project stands for it
    assert te["project"].tolist() == te["client_id"].tolist()
    assert [str(d) for d in te["date"]] == ["2025-02-03", "2025-02-04", "2025-02-05"]
    assert te["person"].tolist() == ["Иван Петров", "Иван Петров", "Анна Смирнова"]
    assert te["work_type"].tolist() == ["feature", "ux", "stability"]  # activity, tracker, subject
    assert te["billable_amount"].isna().all() or (te["billable_amount"] == 0).all()
    assert te["cost_amount"].isna().all()  # no money in the export: not measured
    s = summary(out)
    assert s[["format", "encoding", "rows_read", "rows_accepted"]].values.tolist() == [
        ["redmine", "utf-8-sig", 3, 3]]


def test_redmine_marks_the_project_as_the_client() -> None:
    assert redmine(Headers(tuple(REDMINE_RU))).client_from_project
    with_client = redmine(Headers((*REDMINE_EN, "Project's Client", "Client")))
    assert not with_client.client_from_project and with_client.columns["client_id"] == '"c8"'


def test_redmine_english_latin1(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_text(raw, "timelog.csv", csv_text([
        REDMINE_EN,
        ["Café Noir", "01/15/2025", "Zoë Brontë", "Design", "Feature #12: Page d'accueil", "révision", "1.50"],
        ["Café Noir", "01/16/2025", "Zoë Brontë", "Development", "Feature #13: Checkout", "", "2.00"],
        ["Brasserie Müller", "02/03/2025", "José Núñez", "Support", "Bug #4: Login fails", "fix", "0.25"],
    ]), "iso-8859-1")
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["client_id"].tolist() == ["Café Noir", "Café Noir", "Brasserie Müller"]
    assert te["person"].tolist() == ["Zoë Brontë", "Zoë Brontë", "José Núñez"]
    assert [str(d) for d in te["date"]] == ["2025-01-15", "2025-01-16", "2025-02-03"]  # month first
    assert te["hours"].sum() == pytest.approx(3.75)
    assert te["work_type"].tolist() == ["ux", "feature", "stability"]
    assert summary(out)[["format", "encoding"]].values.tolist() == [["redmine", "cp1252"]]


def test_redmine_bad_hours_is_quarantined_with_its_text(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    rows = [*REDMINE_RU_ROWS[:2], [*REDMINE_RU_ROWS[2][:6], "три часа"]]
    write_text(raw, "timelog.csv", bom_semicolon([REDMINE_RU, *rows]))
    run_ingest(raw, out, params())
    assert quarantine(out)[["row", "column", "value", "reason"]].values.tolist() == [
        [4, "hours", "три часа", "not a number"]]
    s = summary(out).iloc[0]
    assert (s.rows_read, s.rows_accepted, s.rows_quarantined) == (3, 2, 1)


# --- Clockify ------------------------------------------------------------------------
CLOCKIFY_ROWS = [
    ["Website", "Acme", "Homepage mockups", "Design", "Ann Lee", "", "ann@x.com", "", "Yes", "01/15/2025",
     "09:30 AM", "01/15/2025", "11:00 AM", "01:30:00", "1.50", "100.00", "150.00"],
    ["Website", "Acme", "Weekly sync", "", "Bob Ray", "", "bob@x.com", "meeting", "No", "01/16/2025",
     "07:45 PM", "01/16/2025", "08:05 PM", "00:20:00", "0.33", "0.00", "0.00"],
    ["API", "Beta Corp", "Checkout backend", "Development", "Bob Ray", "", "bob@x.com", "backend", "Yes",
     "01/17/2025", "01:00:00 PM", "01/17/2025", "03:20:00 PM", "02:20:00", "2.33", "90.00", "210.00"],
]
CLOCKIFY_FILE = "Clockify_Time_Report_Detailed_01_01_2025-01_31_2025.csv"


def test_clockify_detailed_report(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, CLOCKIFY_FILE, [CLOCKIFY, *CLOCKIFY_ROWS])
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert len(te) == 3
    assert round(te["hours"].sum(), 2) == 4.16  # the decimal column's own total
    assert cents(te["billable_amount"]) == 360.00
    assert te["bill_rate"].tolist() == [100.0, 0.0, 90.0]
    assert te["currency"].tolist() == ["USD"] * 3
    assert te["billable"].tolist() == [True, False, True]
    assert te["client_id"].tolist() == ["Acme", "Acme", "Beta Corp"]
    assert te["person"].tolist() == ["Ann Lee", "Bob Ray", "Bob Ray"]
    assert [str(d) for d in te["date"]] == ["2025-01-15", "2025-01-16", "2025-01-17"]
    assert [str(t) for t in te["start_time"]] == ["09:30:00", "19:45:00", "13:00:00"]
    assert te["after_hours"].tolist() == [False, True, False]
    assert te["work_type"].tolist() == ["ux", "communication", "feature"]
    assert te["cost_amount"].isna().all()


def test_clockify_is_not_taken_for_clients(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, CLOCKIFY_FILE, [CLOCKIFY, *CLOCKIFY_ROWS])
    result = run_ingest(raw, out, params())
    s = summary(out)
    assert s[["table", "format"]].values.tolist() == [["time_entries", "clockify"]]
    assert result.measured_tables == ["time_entries"]


def test_clockify_bad_date_is_quarantined(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    bad = list(CLOCKIFY_ROWS[2])
    bad[9] = "13/45/2025"
    write_csv(raw, CLOCKIFY_FILE, [CLOCKIFY, *CLOCKIFY_ROWS[:2], bad])
    run_ingest(raw, out, params())
    assert quarantine(out)[["row", "column", "value", "reason"]].values.tolist() == [
        [4, "date", "13/45/2025", "not a date"]]


# --- Kimai ---------------------------------------------------------------------------
def kimai_row(date: str, start: str, end: str, duration: str, price: str, internal: str, name: str,
              user: str, customer: str, project: str, activity: str, description: str, billable: str,
              tags: str = "") -> list[str]:
    return [date, start, end, duration, "EUR", price, internal, "80", "0", name, user, f"{user}@x.com",
            "", customer, project, activity, description, billable, tags, "timesheet", "work", "", "", "",
            ""]


KIMAI_ROWS = [
    kimai_row("2025-03-03", "09:00", "10:30", "1:30", "120", "60", "Ann Lee", "ann", "Acme", "Website",
              "Development", "Checkout page", "1"),
    kimai_row("2025-03-04", "20:15", "21:00", "0:45", "60", "30", "Ann Lee", "ann", "Acme", "Website",
              "Meeting", "Call with the client", ""),
    kimai_row("2025-03-05", "14:00", "16:20", "2:20", "186.67", "93.33", "Bob Ray", "bob", "Beta", "App",
              "Design", "New icons", "1", "ui"),
]


def test_kimai(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "export.csv", [KIMAI, *KIMAI_ROWS])
    run_ingest(raw, out, params(reporting_currency="EUR"))
    te = read(out, "time_entries")
    assert len(te) == 3
    assert te["hours"].tolist() == pytest.approx([1.5, 0.75, 7 / 3])
    assert te["billable"].tolist() == [True, False, True]
    assert cents(te["billable_amount"]) == 306.67  # the billable rows' prices
    assert cents(te["cost_amount"]) == 183.33  # every row's internal price
    assert te["person"].tolist() == ["Ann Lee", "Ann Lee", "Bob Ray"]
    assert te["client_id"].tolist() == ["Acme", "Acme", "Beta"]
    assert te["after_hours"].tolist() == [False, True, False]
    assert te["work_type"].tolist() == ["feature", "communication", "ux"]
    assert summary(out)[["format", "rows_accepted"]].values.tolist() == [["kimai", 3]]


def test_kimai_type_column_is_not_the_work_type(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "timesheets.csv", [KIMAI, *KIMAI_ROWS])
    run_ingest(raw, out, params(reporting_currency="EUR"))
    assert not (out / "quarantine" / "quarantine.parquet").exists() or quarantine(out).empty
    assert "timesheet" not in set(read(out, "time_entries")["work_type"])


def test_kimai_bad_duration_is_quarantined(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    bad = list(KIMAI_ROWS[0])
    bad[3] = "1:30h"
    write_csv(raw, "export.csv", [KIMAI, bad, *KIMAI_ROWS[1:]])
    run_ingest(raw, out, params(reporting_currency="EUR"))
    assert quarantine(out)[["row", "column", "value", "reason"]].values.tolist() == [
        [2, "hours", "1:30h", "not a number"]]


# --- Productive.io -------------------------------------------------------------------
PRODUCTIVE_ROWS = [
    ["2025-04-01", "Ann Lee", "Acme", "Website", "Development", "Checkout", "build the cart", "90", "90"],
    ["2025-04-02", "Ann Lee", "Acme", "Website", "Project management", "", "weekly call", "30", "0"],
    ["2025-04-03", "Bob Ray", "Beta", "App", "Design", "Icons", "", "135", "120"],
]


def test_productive_minutes(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    people(raw)
    write_csv(raw, "time_entries_report.csv", [PRODUCTIVE, *PRODUCTIVE_ROWS])
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert te["hours"].tolist() == [1.5, 0.5, 2.25]  # minutes, not hours
    assert te["billable"].tolist() == [True, False, True]
    # Billed minutes (120 of Bob's 135) times the people bill rates; cost on all hours.
    assert te["billable_amount"].tolist() == [180.0, 0.0, 200.0]
    assert cents(te["cost_amount"]) == 192.50
    assert te["client_id"].tolist() == ["Acme", "Acme", "Beta"]
    assert [str(d) for d in te["date"]] == ["2025-04-01", "2025-04-02", "2025-04-03"]
    assert te["work_type"].tolist() == ["feature", "communication", "ux"]
    assert summary(out).set_index("file").loc["time_entries_report.csv", "format"] == "productive"


def test_productive_bad_minutes_show_their_text(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    rows = [PRODUCTIVE_ROWS[0], [*PRODUCTIVE_ROWS[1][:7], "1500", "0"], [*PRODUCTIVE_ROWS[2][:7], "2h", "0"]]
    write_csv(raw, "time_entries_report.csv", [PRODUCTIVE, *rows])
    run_ingest(raw, out, params())
    assert quarantine(out)[["row", "column", "value", "reason"]].values.tolist() == [
        [3, "hours", "1500", "more than 24 hours"], [4, "hours", "2h", "not a number"]]


def test_a_minutes_column_is_never_typed_as_hours() -> None:
    con = duckdb.connect()
    install_macros(con)
    con.execute("CREATE TABLE sample AS SELECT * FROM (VALUES ('2025-04-01', 'Ann', 'Acme', '90', '60')) "
                "t(c0, c1, c2, c7, c8)")
    mapping = productive(Headers(tuple(PRODUCTIVE)))
    columns = mapped_columns(TABLES["time_entries"], mapping)
    assert columns["hours"][0].unit == "minutes"
    assert "hours" not in typed_reads(con, "sample", columns, Hints())


# --- durations -----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "hours"), [
    ("1:30", 1.5), ("01:30:00", 1.5), ("2h 30m", 2.5), ("2h", 2.0), ("45m", 0.75), ("1h30m", 1.5),
    ("PT1H30M", 1.5), ("PT45M", 0.75), ("P1DT2H", 10.0), ("P1D", 8.0), ("pt0.5h", 0.5), ("1,5 ч", 1.5),
    ("2 ч 30 мин", 2.5), ("90 min", 1.5), ("1.5 hrs", 1.5), ("1,50", 1.5), ("1e-1", 0.1),
    ("P1M", None), ("PT", None), ("P1DT", None), ("2h30", None), ("abc", None), ("1:30h", None),
])
def test_duration_spellings(text: str, hours: float | None) -> None:
    con = duckdb.connect()
    install_macros(con, 8)
    got = con.execute("SELECT cl_hours(?, cl_num_clean(?), true)", [text, text]).fetchone()[0]
    assert got == (None if hours is None else pytest.approx(hours))


def test_iso_days_without_a_day_length_are_not_read() -> None:
    con = duckdb.connect()
    install_macros(con)
    assert con.execute("SELECT cl_hours('P1DT2H', 'P1DT2H', false), cl_hours('PT2H', 'PT2H', false)"
                       ).fetchone() == (None, 2.0)


@pytest.mark.parametrize(("unit", "text", "hours"), [("minutes", "90", 1.5), ("seconds", "5400", 1.5),
                                                     ("minutes", "1,5", 0.025)])
def test_minutes_and_seconds(unit: str, text: str, hours: float) -> None:
    con = duckdb.connect()
    install_macros(con)
    col = TABLES["time_entries"].column("hours")
    sql = typed_sql(dataclasses.replace(col, unit=unit), "x", Hints(decimal_comma=frozenset({"hours"})))
    assert con.execute(f"SELECT {sql} FROM (SELECT ? AS x)", [text]).fetchone()[0] == pytest.approx(hours)


def test_durations_end_to_end_with_the_day_length_from_params(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    spellings = ["1:30", "01:30:00", "2h 30m", "45m", "PT1H30M", "P1DT2H"]
    write_csv(raw, "time_entries.csv", [["date", "client_id", "hours"],
                                        *[[f"2025-03-{i + 3:02d}", "Acme", s] for i, s in enumerate(spellings)]])
    run_ingest(raw, out, params(hours_per_day=6))
    assert read(out, "time_entries")["hours"].tolist() == pytest.approx([1.5, 1.5, 2.5, 0.75, 1.5, 8.0])


# --- encodings -----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "codec", "expected"), [
    ("client,hours\nCafé,1\n", "cp1252", "cp1252"),
    ("client,hours\nCafé,1\n", "iso-8859-1", "cp1252"),
    ("Name,City\nMüller,Zürich\nJosé,São Paulo\n", "cp1252", "cp1252"),
    ("Клиент;Часы\nРомашка;1\n", "cp1251", "cp1251"),
    ("client,project,hours\n" + "Acme,Site,1\n" * 200 + "ООО Ромашка,Site,1\n", "cp1251", "cp1251"),
    ("client,task\nООО Ромашка,iOS app\nЯндекс,API v2\n", "cp1251", "cp1251"),
    ("a;b\nв;с\n", "cp1251", "cp1251"),
])
def test_single_byte_encodings(tmp_path: Path, text: str, codec: str, expected: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode(codec))
    assert scan_file(path).encoding == expected


def test_latin1_and_cp1251_files_end_to_end(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_text(raw, "time_entries.csv", "date,client_id,hours\n2025-03-03,Café,1\n2025-03-04,Acme,2\n",
               "iso-8859-1")
    rows = "".join(f"2025-03-{d:02d};Acme;1\n" for d in range(5, 25)) + "2025-03-25;ООО Ромашка;2\n"
    write_text(raw, "time_entries_ru.csv", "date;client_id;hours\n" + rows, "cp1251")
    run_ingest(raw, out, params())
    te = read(out, "time_entries")
    assert {"Café", "ООО Ромашка"} <= set(te["client_id"])
    assert summary(out).set_index("file")["encoding"].to_dict() == {
        "time_entries.csv": "cp1252", "time_entries_ru.csv": "cp1251"}


# --- a Redmine firm for the whole chain (tests/test_e2e_not_measured.py runs it) ----------
def write_redmine_firm(raw: Path) -> pd.DataFrame:
    """Two years of a Russian Redmine's spent time, no money in it: 4 projects, 5 people."""
    rng = random.Random(7)
    projects = ["Ромашка", "Лютик", "Василёк", "Одуванчик"]
    names = ["Иван Петров", "Анна Смирнова", "Олег Иванов", "Мария Кузнецова", "Пётр Соколов"]
    activities = [("Разработка", "Функция"), ("Дизайн", "Функция"), ("Поддержка", "Ошибка"),
                  ("Совещание", "Задача"), ("Оценка", "Задача")]
    rows = []
    day = dt.date(2024, 1, 2)
    while day <= dt.date(2025, 12, 30):
        if day.weekday() < 5:
            for _ in range(rng.randint(1, 4)):
                activity, tracker = rng.choice(activities)
                hours = rng.choice([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.5])
                rows.append([rng.choice(projects), day.strftime("%d.%m.%Y"), rng.choice(names), activity,
                             f"{tracker} #{rng.randint(1, 400)}: работа", "", f"{hours:.2f}".replace(".", ",")])
        day += dt.timedelta(days=1)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "timelog.csv").write_bytes(bom_semicolon([REDMINE_RU, *rows]).encode("utf-8"))
    return pd.DataFrame(rows, columns=REDMINE_RU)


def test_unrecognised_kimai_like_file_names_what_it_misses(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_csv(raw, "export.csv", [["Date", "From", "To", "Activity"], ["2025-03-03", "09:00", "10:00", "x"]])
    with pytest.raises(IngestError) as err:
        run_ingest(raw, out, params())
    assert "export.csv" in str(err.value) and "\n" not in str(err.value)
