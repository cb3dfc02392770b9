"""The typed CSV read: DuckDB's parser types plain columns, odd rows go back to the text path.

Whatever path a row takes, the outputs must be the ones the text path alone writes:
same values, same quarantine (file, row, column, value, reason), same bytes.
"""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from rawfiles import params, quarantine, read, summary, write_csv, write_text

import clientlens.intake.ingest as ingest
from clientlens.intake.ingest import run_ingest
from clientlens.intake.readers.parse import TYPED_READS, install_macros

# Values DuckDB's CSV parser may accept or refuse; where it accepts, it must agree with the
# text parsers (after the same non-finite check).
TRICKY = {
    "DOUBLE": ["12", " 12 ", "12.5", "1e3", "1E-2", "-3", "+4", ".5", "5.", "1,234", "1_000", "0x10",
               "inf", "-inf", "nan", "Infinity", "1e400", "  ", "abc", "12abc", "1.2.3", "1 000",
               "$5", "(5)", "0012", "-0", "\t7\t", "12,5", "- 5", "1.5e+3", "1d", "--5"],
    "BOOLEAN": ["true", "false", "TRUE", "True", "t", "f", "1", "0", "yes", "no", "Yes", "y", "n",
                "on", "off", " true ", "  ", "2", "x", "-", "+", "да", "00", "1.0", "truex"],
}
TEXT_PARSER = {"DOUBLE": "cl_finite(cl_number(x, cl_num_clean(x), false))", "BOOLEAN": "cl_bool(x)"}
TYPED_VALUE = {"DOUBLE": "cl_finite(v)", "BOOLEAN": "v"}


@pytest.mark.parametrize("sql_type", sorted(TRICKY))
def test_typed_read_agrees_with_the_text_parsers(tmp_path: Path, sql_type: str) -> None:
    values = TRICKY[sql_type]
    path = tmp_path / "v.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["i", "v"])
        writer.writerows(enumerate(values))
    con = duckdb.connect()
    install_macros(con)

    def read(t: str, extra: str = "") -> str:
        return (f"read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', "
                f"escape='\"', strict_mode=true, null_padding=true, "
                f"columns={{'i': 'INTEGER', 'v': '{t}'}}{extra})")
    typed = dict(con.execute(f"SELECT i, {TYPED_VALUE[sql_type]} FROM "
                             f"{read(sql_type, ', ignore_errors=true')}").fetchall())
    text = dict(con.execute(f"SELECT i, {TEXT_PARSER[sql_type]} FROM (SELECT i, nullif(trim(v), '') AS x "
                            f"FROM {read('VARCHAR')})").fetchall())
    assert typed, "the typed read accepted nothing"
    assert {values[i]: v for i, v in typed.items() if v != text[i]} == {}
    assert set(TYPED_READS.values()) == set(TRICKY)


def test_dates_stay_with_the_text_path(tmp_path: Path) -> None:
    """Why DATE is not a typed read: the CSV parser takes trailing junk the text path refuses."""
    path = write_text(tmp_path, "d.csv", "d\n2024-01-05x\n")
    con = duckdb.connect()
    got = con.execute(f"SELECT d FROM read_csv('{path}', header=true, auto_detect=false, "
                      f"columns={{'d': 'DATE'}}, ignore_errors=true)").fetchall()
    assert got and con.execute("SELECT try_cast('2024-01-05x' AS DATE)").fetchall() == [(None,)]
    assert "DATE" not in TYPED_READS.values() and "TIMESTAMP" not in TYPED_READS.values()


def test_times_stay_with_the_text_path(tmp_path: Path) -> None:
    """Why TIME is not a typed read: the CSV parser reads a 12-hour '01:00:00 PM' as 01:00, so
    a Clockify-style time past the sample of a 24-hour column would be misread, not refused."""
    path = write_text(tmp_path, "t.csv", "t\n01:00:00 PM\n")
    con = duckdb.connect()
    install_macros(con)
    got = con.execute(f"SELECT t FROM read_csv('{path}', header=true, auto_detect=false, "
                      f"columns={{'t': 'TIME'}}, ignore_errors=true)").fetchall()
    assert [str(v) for (v,) in got] == ["01:00:00"]
    assert str(con.execute("SELECT cl_time('01:00:00 PM')").fetchone()[0]) == "13:00:00"
    assert "TIME" not in TYPED_READS.values()


def _text_only(monkeypatch) -> None:
    monkeypatch.setattr(ingest, "stage_typed", lambda *a, **k: None)


def _count_typed(monkeypatch) -> list[str]:
    """Names of the files the typed read staged."""
    real, staged = ingest.stage_typed, []

    def spy(con, index, source, *args, **kwargs):
        result = real(con, index, source, *args, **kwargs)
        if result is not None:
            staged.append(source.name)
        return result
    monkeypatch.setattr(ingest, "stage_typed", spy)
    return staged


def _outputs(out: Path) -> dict[str, object]:
    """Every output file (each part of the time entries' folder too); Parquet files as their
    rows and column types (their Parquet layout follows the stages they were read from, so
    bytes may differ between paths, never between runs: DuckDB marks a column required, or
    leaves out its NULL markers, when the stage shows no NULL)."""
    got: dict[str, object] = {}
    for p in sorted(out.rglob("*")):
        name = p.relative_to(out).as_posix()
        if not p.is_file() or p.name == "manifest.json":
            continue
        if p.suffix == ".parquet":
            table = pq.read_table(p)
            got[name] = ([(f.name, str(f.type)) for f in table.schema], table.to_pylist())
        else:
            got[name] = p.read_bytes()
    return got


def _big_time_entries(n: int = 30_000) -> tuple[list[str], dict[int, str]]:
    """Canonical time entries, mostly clean; returns the lines and {row: what is odd there}."""
    header = "entry_id,date,start_time,client_id,person,hours,billable,bill_rate,billable_amount,task"
    lines = [header]
    odd: dict[int, str] = {}
    for i in range(n):
        row = i + 2
        fields = [f"e{i}", f"2025-01-{i % 28 + 1:02d}", "10:00", f"C{i % 5}", "Ann", "2", "true",
                  "100", "200", "feature work"]
        kind = {1500: "abc", 7000: "25", 9000: "1:30", 12000: "maybe", 15000: "client",
                18000: "date", 21000: "extra", 24000: "comma", 25000: "dup", 27000: "1 200",
                29000: "late"}.get(i)
        if kind == "abc":
            fields[5] = "abc"  # the parser refuses it, the text path too: not a number
        elif kind == "25":
            fields[5] = "25"  # typed fine, breaks a rule: more than 24 hours
        elif kind == "1:30":
            fields[5] = "1:30"  # the parser refuses it, the text path reads 1.5 hours: accepted
        elif kind == "maybe":
            fields[6] = "maybe"  # not yes/no
        elif kind == "client":
            fields[3] = ""  # client_id is empty
        elif kind == "date":
            fields[1] = "2025-13-01"  # not a date (a text column even on the typed read)
        elif kind == "extra":
            fields.append("surplus")  # more fields than the header
        elif kind == "comma":
            fields[8] = '"1,234.50"'  # refused by the parser, a number to the text path: accepted
        elif kind == "dup":
            fields[0] = "e3"  # duplicate of row 5
        elif kind == "1 200":
            fields[7] = "-5"  # negative bill rate
        elif kind == "late":
            fields[1] = "2099-01-01"  # in the future
        if kind:
            odd[row] = kind
        lines.append(",".join(fields))
    return lines, odd


def test_few_bad_rows_in_a_large_typed_file(tmp_path: Path, monkeypatch) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    lines, odd = _big_time_entries()
    write_text(raw, "time_entries.csv", "\n".join(lines) + "\n")
    typed = _count_typed(monkeypatch)
    run_ingest(raw, out, params())
    assert typed == ["time_entries.csv"]
    q = quarantine(out)
    got = {(r.row, r.column, r.value if isinstance(r.value, str) else None, r.reason)
           for r in q.itertuples()}
    assert got == {
        (1502, "hours", "abc", "not a number"),
        (7002, "hours", "25", "more than 24 hours"),
        (12002, "billable", "maybe", "not yes/no"),
        (15002, "client_id", None, "client_id is empty"),
        (18002, "date", "2025-13-01", "not a date"),
        (21002, "(extra fields)", "surplus", "more fields than the header"),
        (25002, "entry_id", "e3", "duplicate entry_id also on row 5"),
        (27002, "bill_rate", "-5", "bill_rate below 0"),
        (29002, "date", "2099-01-01", "date in the future (after 2026-06-30)"),
    }
    te = read(out, "time_entries")
    kept = [f"e{r - 2}" for r in range(2, len(lines) + 1) if r not in set(q["row"])]
    assert te["entry_id"].tolist() == kept  # file order, re-read rows in their place
    assert te.loc[te.entry_id == "e9000", "hours"].tolist() == [1.5]
    assert te.loc[te.entry_id == "e24000", "billable_amount"].tolist() == [1234.5]
    s = summary(out)
    assert s[["rows_read", "rows_accepted", "rows_quarantined"]].values.tolist() == [[30_000, 29_991, 9]]


def test_typed_and_text_paths_write_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    """Every file the typed read takes, the text path alone turns into the same outputs."""
    raw = tmp_path / "raw"
    lines, _odd = _big_time_entries(6000)
    write_text(raw, "time_entries.csv", "\n".join(lines) + "\n")
    write_text(raw, "harvest_time_report.csv",
               "\ufeffDate,Client,Project,Task,Notes,Hours,Billable?,First Name,Last Name,Roles,"
               "Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency\n"
               + "".join(f"2025-02-{d:02d},Acme,Site,Design,,{h},{b},Ann,Lee,Designer,90,{90 * h},40,"
                         f"{40 * h},United States Dollar - USD\n"
                         for d in range(1, 28) for h, b in ((1, "Yes"), (0.5, "No"), (30, "Yes")))
               + "2025-02-03,Acme,Site,Design,,1:45,Yes,Ann,Lee,Designer,90,157.5,40,70,USD\n")
    write_text(raw, "requests.csv", "Requests export;;\nrequest_id;client_id;request_type;created_at;"
                                    "urgency;approval_lead_days\n"
               + "".join(f"R{i};C{i % 3};incident;2025-03-0{i % 9 + 1} 10:00;high;{i % 4},5\n"
                         for i in range(40)) + "R99;C1;question;2025-03-01 25:00;low;x\n")
    write_csv(raw, "people.csv", [["person", "cost_rate", "bill_rate"], ["Ann", "40", "1e2"],
                                  ["Bob", "inf", "7"], ["Cy", " 50 ", "(5)"]])
    write_text(raw, "surveys.csv", "survey_id,client_id,survey_date,survey_type,score\n"
                                   "S1,C1,2025-01-02,nps,9\n\nS2,C2,2025-01-03,csat,11\n")
    write_text(raw, "team_feedback.csv", 'feedback_id,client_id,feedback_date,score,escalation,comment\n'
                                         'F1,C1,2025-01-02,4,yes,"two\nlines"\nF2,C2,2025-01-03,6,no,ok\n')
    typed = _count_typed(monkeypatch)
    run_ingest(raw, tmp_path / "typed", params())
    run_ingest(raw, tmp_path / "again", params())
    assert {"time_entries.csv", "harvest_time_report.csv", "requests.csv", "people.csv"} <= set(typed)
    assert all((tmp_path / "typed" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
               for name in _outputs(tmp_path / "typed"))
    assert "surveys.csv" not in typed and "team_feedback.csv" not in typed  # blank line, quoted newline
    _text_only(monkeypatch)
    run_ingest(raw, tmp_path / "text", params())
    assert _outputs(tmp_path / "typed") == _outputs(tmp_path / "text")
    assert len(quarantine(tmp_path / "typed")) > 10


def test_a_column_that_changes_format_late_falls_back_whole(tmp_path: Path, monkeypatch) -> None:
    """Past the sample every hours cell is H:MM: too many rows to re-read one by one."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    monkeypatch.setattr(ingest, "MAX_REJECTED_LINES", 10)
    rows = [["entry_id", "date", "client_id", "hours"]] + [
        [f"e{i}", "2025-01-02", "C1", "2" if i < 25_000 else "1:30"] for i in range(25_100)]
    write_csv(raw, "time_entries.csv", rows)
    typed = _count_typed(monkeypatch)
    run_ingest(raw, out, params())
    assert typed == []
    te = read(out, "time_entries")
    assert len(te) == 25_100 and te["hours"].iloc[-1] == 1.5 and quarantine(out).empty


def test_lookups_by_list_and_by_code_ranges_agree(tmp_path: Path, monkeypatch) -> None:
    """Time-entry lookups answer by ENUM code ranges (few values) or from a list (many)."""
    import clientlens.intake.readers.derive as derive

    raw = tmp_path / "raw"
    write_csv(raw, "clients.csv", [["client_id", "client_name"]]
              + [[f"C{i}", f"Client {i}"] for i in range(90)])
    write_csv(raw, "people.csv", [["person", "role", "cost_rate", "bill_rate"]]
              + [[f"P{i}", f"r{i % 3}", 40 + i % 70, 90 + i] for i in range(80)])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.1"]])
    write_csv(raw, "time_entries.csv", [["date", "client", "person", "hours", "task", "currency"]] + [
        [f"2025-01-{i % 28 + 1:02d}", [f"C{i % 90}", f"client {i % 95}", f"c{i % 90}"][i % 3], f"P{i % 85}",
         1 + i % 5, ["bug fix", "meeting", "new feature", "misc"][i % 4] + f" {i % 70}", ["", "EUR"][i % 2]]
        for i in range(3000)])
    run_ingest(raw, tmp_path / "ranges", params())
    monkeypatch.setattr(derive, "GROUPED_LOOKUP_MAX", 0)
    run_ingest(raw, tmp_path / "lists", params())
    assert _outputs(tmp_path / "ranges") == _outputs(tmp_path / "lists")
    te = read(tmp_path / "ranges", "time_entries")
    assert set(te["client_id"]) == {f"C{i}" for i in range(90)}  # ids, names, any case
    known = te["person"].isin([f"P{i}" for i in range(80)])
    assert te.loc[known, "role"].notna().all() and te.loc[~known, "role"].isna().all() and (~known).any()
    assert (te.loc[te.person == "P7", "bill_rate"] == 97).all()


def test_duplicate_check_in_slices_finds_the_same_rows(tmp_path: Path, monkeypatch) -> None:
    """Past DUPLICATE_CHECK_ROWS the keys are checked slice by slice; the quarantine is unchanged."""
    raw = tmp_path / "raw"
    header = "entry_id,date,client_id,person,hours"
    rows = [f"e{i % 700},2025-01-{i % 28 + 1:02d},C1,Ann,1" for i in range(1000)]  # e0..e299 twice
    write_text(raw, "time_entries.csv", "\n".join([header, *rows[:600]]) + "\n")
    write_text(raw, "time_entries_more.csv", "\n".join([header, *rows[600:]]) + "\n")
    run_ingest(raw, tmp_path / "whole", params())
    monkeypatch.setattr(ingest, "DUPLICATE_CHECK_ROWS", 64)  # 16 slices
    run_ingest(raw, tmp_path / "sliced", params())
    whole = quarantine(tmp_path / "whole")
    assert len(whole) == 300 and set(whole["reason"].str.extract(r"^(duplicate entry_id)")[0]) == {"duplicate entry_id"}
    for name in ("quarantine/quarantine.parquet", "time_entries.parquet/part-00000.parquet",
                 "time_entries.parquet/part-00001.parquet", "ingest_summary.parquet"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "sliced" / name).read_bytes(), name


def test_time_entries_keep_file_order_across_files(tmp_path: Path) -> None:
    """The output is in input order, file by file: enough rows for DuckDB to use both threads."""
    raw = tmp_path / "raw"
    header = "entry_id,date,client_id,person,hours"
    first = [f"a{i},2025-01-{i % 28 + 1:02d},C1,Ann,1" for i in range(100_000)]
    second = [f"b{i},2025-02-{i % 28 + 1:02d},C2,Bob,2" for i in range(250_000)]
    write_text(raw, "time_entries.csv", "\n".join([header, *first]) + "\n")
    write_text(raw, "time_entries_more.csv", "\n".join([header, *second]) + "\n")
    run_ingest(raw, tmp_path / "out", params())
    ids = pq.read_table(tmp_path / "out" / "time_entries.parquet", columns=["entry_id"])["entry_id"]
    assert ids.to_pylist() == [r.split(",")[0] for r in first + second]


CANONICAL_HEADER = ("entry_id,date,start_time,after_hours,client_id,project,task,person,role,hours,"
                    "billable,bill_rate,cost_rate,billable_amount,cost_amount,currency,work_type,rework")
# One cell of one late row that the final select changes: filled in, or rounded to the cent.
LATE_CELLS = {"a late row without a work type": ("work_type", ""),
              "a late row without billable": ("billable", ""),
              "a late row without after-hours": ("after_hours", ""),
              "a late row without an id": ("entry_id", ""),
              "a late amount below a cent": ("billable_amount", "100.004")}


def _canonical_firm(raw: Path, odd: str) -> None:
    """A canonical time export (every column given, as the final select would write it), a
    Harvest export beside it, and one odd thing in the canonical file, or none."""
    rows = [f"e{i},2025-01-{i % 28 + 1:02d},{'' if i % 9 == 0 else '10:00'},false,C{i % 3},"
            f"Site,feature work,Ann,developer,{i % 4 + 1},true,100,40,{100 * (i % 4 + 1)},"
            f"{40 * (i % 4 + 1)},USD,feature,false" for i in range(150_000)]
    late = 140_000  # in the stage's second row group, which its first one's statistics do not cover
    if odd == "a euro row":
        rows[70_000] = rows[70_000].replace(",USD,", ",EUR,")  # converted: 1.5 x the amounts
    elif odd in LATE_CELLS:
        column, value = LATE_CELLS[odd]
        fields = rows[late].split(",")
        fields[CANONICAL_HEADER.split(",").index(column)] = value
        rows[late] = ",".join(fields)
    elif odd == "an id to make":
        rows[100] = rows[100].replace("e100,", ",", 1)
    elif odd == "a duplicate id":
        rows[149_999] = rows[149_999].replace("e149999,", "e7,", 1)
    elif odd == "an empty record":
        rows.insert(5, "," * CANONICAL_HEADER.count(","))  # not a row: neither read nor written
    write_text(raw, "time_entries.csv", "\n".join([CANONICAL_HEADER, *rows]) + "\n")
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C0", "Acme"], ["C1", "Beta"],
                                   ["C2", "Gamma"]])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.5"]])
    write_text(raw, "harvest_time_report.csv",
               "Date,Client,Project,Task,Notes,Hours,Billable?,First Name,Last Name,Roles,"
               "Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency\n"
               + "".join(f"2025-02-{d:02d},{c},Site,Design,,{h},Yes,Bo,Lee,Designer,90,{90 * h},40,"
                         f"{40 * h},United States Dollar - USD\n"
                         for d in range(1, 28) for c in ("Acme", "Beta") for h in (1, 2)))


@pytest.mark.parametrize("odd", ["none", "a euro row", "an id to make", "a duplicate id",
                                 "an empty record", *LATE_CELLS])
def test_time_entries_published_from_their_stage_are_what_the_final_select_writes(
        tmp_path: Path, monkeypatch, odd: str) -> None:
    """A stage whose rows the final select would not change is its file's part of the
    time entries as it is, not encoded again; any row it would drop or change stops that.
    Either way the folder holds one part per time export, in file order."""
    raw = tmp_path / "raw"
    _canonical_firm(raw, odd)
    linked: list[tuple[str, str]] = []
    real_link = ingest._link

    def spy(source: Path, dest: Path) -> None:
        linked.append((source.name, dest.name))
        real_link(source, dest)

    monkeypatch.setattr(ingest, "_link", spy)
    run_ingest(raw, tmp_path / "fast", params())
    canonical = 3  # file number, in name order; the second time export, after Harvest's
    assert linked == ([(f"stage{canonical}.parquet", "part-00001.parquet")] if odd == "none" else [])
    folder = tmp_path / "fast" / "time_entries.parquet"
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    assert pq.read_table(folder / "part-00000.parquet", columns=["entry_id"])["entry_id"][0].as_py() \
        == "harvest_time_report.csv:2"
    monkeypatch.setattr(ingest, "time_entries_changed_sql", lambda *a, **k: "SELECT 1")
    run_ingest(raw, tmp_path / "encoded", params())
    assert len(linked) == (odd == "none")
    fast, encoded = _outputs(tmp_path / "fast"), _outputs(tmp_path / "encoded")
    assert fast == encoded
    entries = read(tmp_path / "fast", "time_entries")
    assert len(entries) == 150_000 + 108 - (odd == "a duplicate id")
    assert entries["billable_amount"].sum() == pytest.approx(
        sum(100 * (i % 4 + 1) for i in range(150_000)) + 90 * 27 * 2 * 3
        + (50 * (70_000 % 4 + 1) if odd == "a euro row" else 0)
        - (100 * (149_999 % 4 + 1) if odd == "a duplicate id" else 0))


def test_a_typed_stage_leaves_out_the_columns_null_in_every_row(tmp_path: Path, monkeypatch) -> None:
    """_viol, _row and unmapped hidden columns are not written on the typed path (writing
    NULLs costs CPU at tens of millions of rows); the re-read rows' part has them, and the
    outputs are the text path's."""
    raw = tmp_path / "raw"
    rows = [["entry_id", "date", "client_id", "hours", "billable"]] + [
        [f"e{i}", "2025-01-02", "C1", "1:30" if i in (21_000, 24_000) else "2", "yes"] for i in range(25_000)]
    rows[7][3] = "-1"  # a typed row that breaks a rule: re-read and quarantined
    # past the sample, "1:30" is refused by the parser: re-read, it is 1.5 hours
    write_csv(raw, "time_entries.csv", rows)
    schemas: dict[str, list[str]] = {}
    real_write = ingest.write_stage

    def spy(con, table, select, path, *args, **kwargs):
        written = real_write(con, table, select, path, *args, **kwargs)
        schemas[path.name] = pq.read_schema(path).names
        return written

    monkeypatch.setattr(ingest, "write_stage", spy)
    run_ingest(raw, tmp_path / "typed", params())
    typed, again = schemas["stage0.parquet"], schemas["stage0-suspects.parquet"]
    assert not {"_viol", "_row", "_work_text", "_billed_hours"} & set(typed)
    assert {"_viol", "_row"} <= set(again) and "_work_text" not in again
    _text_only(monkeypatch)
    run_ingest(raw, tmp_path / "text", params())
    assert _outputs(tmp_path / "typed") == _outputs(tmp_path / "text")
    assert quarantine(tmp_path / "typed")["row"].tolist() == [8]
    assert read(tmp_path / "typed", "time_entries")["hours"].tolist().count(1.5) == 2


def _lookup(name: str, **values: str):
    """A stand-in for derive.create_lookup's result: the ENUM type `<name>_k`, values as given."""
    from clientlens.intake.readers.derive import Lookup

    return Lookup(f"enum_code(try_cast({{key}} AS {name}_k))", values)


def test_the_work_text_lookup_runs_once_per_row() -> None:
    """Its code is read inside each work type and rework CASE branch; computed there, it
    ran a dozen times per Harvest row (7 of 11 seconds at 3.9 million rows)."""
    from clientlens.intake.readers.derive import derive_params, final_select, time_entries_changed_sql

    ranges = "(CASE WHEN {code} <= 1 THEN 'ux' WHEN {code} <= 2 THEN 'feature' WHEN {code} <= 3 THEN NULL END)"
    lookups = {"fx": _lookup("fx", rate="(CASE WHEN {code} <= 0 THEN 1.0 END)"),
               "people": _lookup("people", role="'dev'", bill_rate="1.0", cost_rate="1.0"),
               "work": _lookup("work", work_type=ranges, rework=ranges.replace("'ux'", "true").replace(
                   "'feature'", "false"))}
    p = derive_params(params())
    for sql in (final_select("time_entries", p, False, {0: "a.csv"}, "false", lookups, stage="v"),
                time_entries_changed_sql(p, {0: "a.csv"}, lookups, "false", "v")):
        assert sql.count("work_k") == 1
        assert sql.count("<= 2 THEN") == 2  # work type and rework each read the code


def test_stage_facts_hold_for_every_row_group_and_part(tmp_path: Path) -> None:
    """What a stage's statistics prove must hold in every row group of every part: a NULL
    in any of them, a column a part leaves out, or a second value anywhere, and it is gone."""
    from clientlens.intake.contract import TABLES
    from clientlens.intake.ingest import StagePart, stage_facts

    con = duckdb.connect()

    def stage(name: str, select: str) -> StagePart:
        path = tmp_path / name
        con.execute(f"COPY ({select} FROM range(5000) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
        assert pq.read_metadata(path).num_row_groups == 3
        return StagePart(path, "file_row_number")

    a = stage("a.parquet", "SELECT 'e' || i AS entry_id, 'USD' AS currency, true AS billable, "
                           "CASE WHEN i = 4500 THEN NULL ELSE 'feature' END AS work_type, "
                           "CASE WHEN i >= 2048 THEN 'Ann' END AS person")
    b = stage("b.parquet", "SELECT 'f' || i AS entry_id, 'EUR' AS currency, 'ux' AS work_type, 'Bob' AS person")
    facts = stage_facts(TABLES["time_entries"], [a])
    assert facts.never_null == {"entry_id", "currency", "billable"}  # the other columns are absent
    assert facts.one_value["currency"] == "USD" and facts.one_value["work_type"] == "feature"
    assert facts.one_value["person"] == "Ann" and facts.one_value["role"] is None
    assert "entry_id" not in facts.one_value
    assert facts.only("currency", "USD") and not facts.only("currency", "EUR") and facts.only("role", "x")
    both = stage_facts(TABLES["time_entries"], [a, b])
    assert both.never_null == {"entry_id", "currency"}  # b leaves billable out
    assert not {"currency", "work_type", "person"} & set(both.one_value)


def test_the_check_reads_only_what_the_stage_does_not_prove() -> None:
    """A clean export's check compares the columns the final select could still change
    (client ids, amounts to the cent), not those its statistics prove complete; unproven,
    it compares them all, through every lookup."""
    from clientlens.intake.contract import TABLES
    from clientlens.intake.readers.derive import StageFacts, derive_params, time_entries_changed_sql

    values = {"rate": "1.5", "role": "'dev'", "bill_rate": "1.0", "cost_rate": "1.0", "work_type": "'ux'",
              "rework": "false", "client_id": "'C1'"}
    lookups = {name: _lookup(name, **{c: f"(CASE WHEN {{code}} <= 1 THEN {v} END)" for c, v in values.items()})
               for name in ("fx", "people", "work", "clients")}
    p = derive_params(params())
    columns = [c.name for c in TABLES["time_entries"].columns]
    proven = StageFacts(frozenset(columns), {"currency": p.reporting_currency})
    narrow = time_entries_changed_sql(p, {0: "a.csv"}, lookups, "false", "v", proven)
    assert not any(f"{name}_k" in narrow for name in ("fx", "people", "work"))
    compared = {c for c in columns if f'"stage:{c}"' in narrow}
    assert compared == {"client_id", "billable_amount", "cost_amount"}
    full = time_entries_changed_sql(p, {0: "a.csv"}, lookups, "false", "v")
    assert all(f"{name}_k" in full for name in ("fx", "people", "work"))
    assert {c for c in columns if f'"stage:{c}"' in full} > compared
    other_currency = StageFacts(frozenset(columns), {"currency": "EUR"})
    assert "fx_k" in time_entries_changed_sql(p, {0: "a.csv"}, lookups, "false", "v", other_currency)


# Cells of the columns the typed read leaves untrimmed (parse.parses_padded_as_trimmed),
# padded with what trim() removes or keeps; and a row in which each appears.
PADDED = [" 2025-01-05", "2025-01-05 ", "\u00a02025-01-05", "2025-01-05\u3000", " 01/05/2025",
          " USD", "USD ", "\u00a0usd", " $", "€\u00a0", " feature", "ux ", "\u2002UI/UX", "support\t",
          " ", "\u00a0", " 10:00", "10:00 ", "\u00a010:00", " 1:00 PM", "1:00 PM ", " 10.30", "10:00\t"]
PADDED_COLUMNS = ("date", "currency", "work_type", "start_time")


def test_padded_cells_the_typed_read_leaves_untrimmed_come_out_as_the_text_path_reads_them(
        tmp_path: Path, monkeypatch) -> None:
    """A date, time, currency or work type padded with spaces parses as its trimmed text or
    not at all (the row then goes to the text path): never as another value, whatever the
    padding."""
    from clientlens.intake.contract import TABLES
    from clientlens.intake.readers.parse import ENUM_SYNONYMS

    spellings = [s for v in TABLES["time_entries"].column("work_type").values
                 for s in (v, *ENUM_SYNONYMS.get(v, ()))]
    assert all(s == s.strip(" _-") for s in spellings)  # a padded key never meets a spelling
    header = "entry_id,date,client_id,hours,billable_amount,currency,work_type,start_time"
    lines = [header] + [f"e{i},2025-01-{i % 28 + 1:02d},C1,2,200,USD,feature,09:15" for i in range(25_000)]
    width = len(PADDED_COLUMNS)
    for k, cell in enumerate(PADDED):
        for column in PADDED_COLUMNS:
            line = 21_000 + width * k + PADDED_COLUMNS.index(column)
            fields = lines[line].split(",")
            fields[header.split(",").index(column)] = f'"{cell}"'
            lines[line] = ",".join(fields)
    raw = tmp_path / "raw"
    write_text(raw, "time_entries.csv", "\n".join(lines) + "\n")
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.5"]])
    typed = _count_typed(monkeypatch)
    run_ingest(raw, tmp_path / "typed", params())
    assert "time_entries.csv" in typed
    _text_only(monkeypatch)
    run_ingest(raw, tmp_path / "text", params())
    assert _outputs(tmp_path / "typed") == _outputs(tmp_path / "text")
    reasons = set(quarantine(tmp_path / "text")["reason"])
    assert reasons  # some padded cells are refused (a lone space is empty, NBSP is no date)
