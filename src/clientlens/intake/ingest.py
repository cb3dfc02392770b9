"""The ingest stage: raw exports in, typed canonical tables and a quarantine out, nothing lost.

    result = run_ingest(raw_dir, processed_dir, params, progress=False)

Each input file is read once by DuckDB into a Parquet stage of typed columns plus the
list of rules each row breaks (readers.rules). A plain CSV is typed by DuckDB's own
parser, and only its odd rows (a value the parser refuses, a broken rule) are read
again through the text path that names value and reason (stage_typed); any other file
goes through the text path whole. The stages of a table are read as one table, in file
order, by one multi-file scan (parts_sql). Rules that span
rows or tables (duplicate keys, unknown clients and contracts) run on the stages, then the
accepted rows of every table are written as Parquet in a fixed order (the time entries as a
folder of part files, one per time export, where an export whose rows need no change is its
stage as it is: write_time_entries), every rejected row goes to the quarantine with file,
row, column, value and reason, and the ingest summary proves per file that rows read =
accepted + quarantined.

A problem no row-level quarantine can fix (a missing required column, an
unreadable, empty or unrecognised file, an amount in a currency without a rate)
stops the run with a one-line IngestError before anything is written.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clientlens.parameters import AUTO_CURRENCY, Params, as_of_date
from clientlens.intake.contract import TABLES, Table
from clientlens.intake.readers import TEXT_SUFFIXES, FileMapping, RawSource, find_inputs, open_source, recognise
from clientlens.intake.readers.csv_reader import fetch_lines, safe_name, suspect_source, typed_relation
from clientlens.intake.readers.derive import (
    DeriveParams,
    StageFacts,
    clean_rows,
    create_time_entry_lookups,
    derive_params,
    final_select,
    project_client_macros,
    rate_card_conflicts_sql,
    time_entries_changed_sql,
)
from clientlens.intake.readers.errors import IngestError, display_path
from clientlens.intake.readers.parse import (
    HINT_SAMPLE_ROWS,
    SQL_TYPES,
    detect_hints,
    install_macros,
    sample_memo,
    typed_reads,
)
from clientlens.intake.readers.rules import (
    HIDDEN_COLUMNS,
    VIOLATION_TYPE,
    mapped_columns,
    stage_columns,
    stage_sql,
)
from clientlens.intake.readers.identity import install_identity
from clientlens.intake.readers.sniff import blank_record, count_records, scan_bytes
from clientlens.intake.readers.source import lit, q
from clientlens.publishing.display import HIDDEN_CHARACTERS, SHOWN_INSTEAD

__all__ = ["IngestError", "IngestResult", "run_ingest"]

# Tables whose accepted rows others refer to come first.
TABLE_ORDER = ("fx_rates", "clients", "people", "rates", "project_clients", "contracts",
               "deliverables", "invoices", "time_entries", "requests", "surveys", "team_feedback", "contacts")
ORDERED_TABLES = TABLE_ORDER + tuple(t for t in TABLES if t not in TABLE_ORDER)
MEMORY_LIMIT = "3GB"
DUPLICATE_CHECK_ROWS = 40_000_000  # rows whose keys one duplicate check groups at once
# The typed read of a CSV hands back to the text path past these: rows re-read from their
# lines (rejected by the parser or breaking a rule), and rejected lines (each adds a term
# to the row-number expression).
MAX_SUSPECT_ROWS = 20_000
MAX_REJECTED_LINES = 64
# A file of at least this many rows with none accepted is misread, not merely bad: ingest stops.
MISREAD_MIN_ROWS = 5
# Every Parquet file ingest writes, the stages included (a clean time export's stage is
# published as it is): zstd at level 1 rather than its default 3 writes the 35 million
# entries of a 10,000-client firm's stage 2.5 to 3 s faster on two cores, for a file 5%
# larger, and reads back as fast.
ZSTD_LEVEL = 1
PART_BATCH_ROWS = 122_880  # rows in each row group of a time-entry part (write_part)
PARQUET_OPTIONS = f"FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {ZSTD_LEVEL}"
ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "DATE": pa.date32(),
               "TIMESTAMP": pa.timestamp("us"), "TIME": pa.time64("us"), "BOOLEAN": pa.bool_()}
QUARANTINE_COLUMNS = ("file", "table", "row", "column", "value", "reason")
SUMMARY_COLUMNS = ("file", "table", "format", "encoding", "rows_read", "rows_accepted",
                   "rows_quarantined", "rows_merged", "rows_skipped", "skipped_because")
# rows_read = rows_accepted + rows_quarantined + rows_merged + rows_skipped, per file and table:
# merged rows are further lines of a record accepted on its first line (group_lines), skipped
# rows are no record of the table, by the export's own word (FileMapping.skip, skipped_rows).


@dataclass
class IngestResult:
    summary: pd.DataFrame  # one row per input file (ingest_summary.parquet)
    measured_tables: list[str]  # tables supplied by at least one file, contract order
    quarantine_count: int  # rows quarantined (a row breaking several rules counts once)
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StagePart:
    """A Parquet file of a file's stage (schema: write_stage), the SQL giving its rows'
    spreadsheet row (over `_row` or `file_row_number`), the filter keeping its rows and
    the stage columns the file leaves out (absent_columns)."""
    path: Path
    row: str
    keep: str = "true"
    absent: frozenset[str] = frozenset()


@dataclass
class StagedFile:
    index: int  # the stage's number: a file feeding several tables has one stage per table
    source: RawSource
    mapping: FileMapping
    rows_read: int
    parts: list[StagePart]
    merged: int = 0  # lines folded into the record on their first line (group_lines)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows (FileMapping.skip)


# --- staging ---------------------------------------------------------------------
def _duckdb_message(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    useful = [ln for ln in lines[:4] if not ln.startswith(("Possible fixes", "*"))]
    return " ".join(useful)[:300]


def _run_with_fallback(con: duckdb.DuckDBPyConnection, source: RawSource, run) -> Any:
    """Run a read of the file; DuckDB's parallel reader refuses a few layouts, then read serially."""
    try:
        return run(source.relation)
    except duckdb.Error as exc:
        if source.fallback_relation and "parallel" in str(exc).lower():
            try:
                return run(source.fallback_relation)
            except duckdb.Error as exc2:
                exc = exc2
        shown = display_path(source.path)
        line = re.search(r"CSV Error on Line: (\d+)", str(exc))
        if line and "Expected Number of Columns" in str(exc):
            raise IngestError(f"{shown}: line {line.group(1)} has far more fields than the header "
                              f"({len(source.headers)} columns); check the separator and quotes") from exc
        raise IngestError(f"{shown}: cannot read the file ({_duckdb_message(exc)})") from exc


def stage_file(con: duckdb.DuckDBPyConnection, index: int, path: Path, name: str, tmp: Path,
               as_of, facts: Future) -> list[StagedFile]:
    """Stage a file as Parquet (write_stage), numbered from `index`, one stage per table it
    feeds: the typed canonical columns, _blank and _viol of every record, and how each
    row's spreadsheet row is found.

    A plain CSV is read typed by DuckDB (stage_typed); any other file, a CSV the typed
    read cannot vouch for, or an export whose rows are lines, skips or feed more tables
    than one (whose small files gain nothing from it), goes through the text path, every
    cell as text.
    """
    source = open_source(path, name, tmp, con, fast=True)
    mapping = recognise(source)
    plain = not (mapping.lines_of or mapping.skip or mapping.also)
    if source.fast and plain:
        staged = stage_typed(con, index, source, mapping, tmp, as_of, facts)
        if staged is not None:
            return [staged]
    if source.fast:
        source = open_source(path, name, tmp, con)
        mapping = recognise(source)
    records = source.records if source.records is not None else count_records(path, source.layout)
    # A text file whose bytes hold no control character spares the text path its search.
    controls = source.kind != "csv" or bool(facts.result().control_lines)
    out = [stage_text(con, index, source, mapping, tmp, as_of, records, controls)]
    for k, more in enumerate(mapping.also, start=1):  # recognise checked their columns
        out.append(stage_text(con, index + k, source, more, tmp, as_of, records, controls))
    return out


def stage_text(con: duckdb.DuckDBPyConnection, index: int, source: RawSource, mapping: FileMapping,
               tmp: Path, as_of, records: int, controls: bool = True) -> StagedFile:
    """Stage `index`: the file's rows through the text path, as `mapping` reads them; the
    file holds `records` non-blank records below its header, as a reader other than the
    staging counted them (check_rows_read). `controls`: look for control characters."""
    table = TABLES[mapping.table]
    sampled = mapped_columns(table, mapping)
    hints = _run_with_fallback(con, source, lambda rel: detect_hints(con, rel, sampled))
    stage_path = tmp / f"stage{index}.parquet"
    absent = absent_columns(mapping, row_column=source.row_column)
    _run_with_fallback(con, source, lambda rel: write_stage(
        con, table, stage_sql(table, mapping, source, hints, as_of, rel, controls=controls),
        stage_path, absent))
    row = "_row" if source.row_column else f"file_row_number + {source.first_row}"
    part = StagePart(stage_path, row, absent=absent)
    merged = 0
    if mapping.lines_of:
        part, merged = group_lines(con, table, mapping, part, tmp / f"stage{index}-records.parquet")
    staged = _staged(con, index, source, mapping, [part])
    staged.skipped = skipped_rows(con, source, mapping)
    staged.merged = merged
    staged.rows_read += merged + sum(staged.skipped.values())
    return check_rows_read(staged, records)


def skipped_rows(con: duckdb.DuckDBPyConnection, source: RawSource, mapping: FileMapping) -> dict[str, int]:
    """Rows of the file the mapping leaves out as no record of its table, by reason: the
    first of its skip rules each matches, as stage_sql stages them blank."""
    if not mapping.skip:
        return {}
    reason = "CASE " + " ".join(f"WHEN {p} THEN {lit(r)}" for p, r in mapping.skip) + " END"
    cells = [source.column(i) for i in range(len(source.headers))] + [q(c) for c in source.overflow]
    written = f"coalesce({', '.join(f'cl_text({c})' for c in cells)}) IS NOT NULL"  # not a blank row
    rows = _run_with_fallback(con, source, lambda rel: con.execute(
        f"SELECT reason, count(*) FROM (SELECT {reason} AS reason FROM {rel} WHERE {written}) "
        f"WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())
    return {r: int(n) for r, n in rows}


def group_lines(con: duckdb.DuckDBPyConnection, table: Table, mapping: FileMapping, part: StagePart,
                dest: Path) -> tuple[StagePart, int]:
    """The stage with the lines of each record (rows sharing mapping.lines_of) folded into
    its first line; the new part and the number of lines folded away.

    A record is kept when every line of it is clean and its lines agree on every mapped
    column: the export repeats the record's own fields on each line (a Xero invoice's
    contact, dates and totals), so one that differs is no line of the same record. Else
    each line of it is set aside: one that differs names the first line and the column,
    the others name the line that stopped the record.
    """
    key = q(mapping.lines_of)
    compared = [c.name for c in stage_columns(table) if c.name in {**mapping.columns, **mapping.hidden}
                and c.name != mapping.lines_of]
    differs = ", ".join(
        f"CASE WHEN {key} IS NOT NULL AND {q(c)} IS DISTINCT FROM first_value({q(c)}) OVER w THEN "
        f"{{'c': {lit(c)}, 'v': CAST({q(c)} AS VARCHAR), 'w': {lit(c)} || ' differs from row ' || "
        f"first_value(_r) OVER w || ' of the same {mapping.lines_of} (' || "
        f"coalesce(CAST(first_value({q(c)}) OVER w AS VARCHAR), 'empty') || '); its lines must agree', "
        f"'o': 9100}} END" for c in compared)
    lines = (f"SELECT *, {part.row} AS _r FROM read_parquet({lit(part.path)}, file_row_number=true) "
             f"WHERE {part.keep} AND NOT _blank")
    no_violation = f"CAST([] AS {VIOLATION_TYPE})"
    differs = f"list_filter([{differs}], lambda x: x IS NOT NULL)" if compared else no_violation
    con.execute(f"CREATE OR REPLACE TEMP TABLE lines_ AS SELECT *, "
                f"CAST({differs} AS {VIOLATION_TYPE}) AS _differs, "
                f"first_value(_r) OVER w AS _first "
                f"FROM ({lines}) WINDOW w AS (PARTITION BY {key} ORDER BY _r "
                f"ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)")
    # The first line of each record that cannot stand: broken by a rule or differing.
    con.execute(f"CREATE OR REPLACE TEMP TABLE stopped_ AS SELECT {key} AS k, min(_r) AS r FROM lines_ "
                f"WHERE {key} IS NOT NULL AND (_viol IS NOT NULL OR len(_differs) > 0) GROUP BY 1")
    others = (f"{{'c': {lit(mapping.lines_of)}, 'v': CAST(l.{key} AS VARCHAR), 'w': 'row ' || s.r || "
              f"' of the same {mapping.lines_of} is set aside', 'o': 9101}}")
    viol = (f"CASE WHEN s.k IS NULL THEN l._viol "
            f"WHEN len(l._differs) > 0 THEN list_concat(coalesce(l._viol, {no_violation}), l._differs) "
            f"WHEN l._viol IS NOT NULL THEN l._viol ELSE [{others}] END")
    merged = f"l.{key} IS NOT NULL AND s.k IS NULL AND l._r <> l._first"
    count = con.execute(f"SELECT count(*) FROM lines_ l LEFT JOIN stopped_ s ON s.k = l.{key} "
                        f"WHERE {merged}").fetchall()[0][0]
    absent = part.absent - {"_row"}
    kept = ", ".join(f"l.{q(c.name)}" for c in stage_columns(table) if c.name not in part.absent)
    write_stage(con, table, f"SELECT {kept}, l._r AS _row, l._blank, "
                            f"CAST({viol} AS {VIOLATION_TYPE}) AS _viol "
                            f"FROM lines_ l LEFT JOIN stopped_ s ON s.k = l.{key} "
                            f"WHERE NOT ({merged}) ORDER BY l._r", dest, absent)
    con.execute("DROP TABLE lines_")
    con.execute("DROP TABLE stopped_")
    return StagePart(dest, "_row", absent=absent), int(count)


def absent_columns(mapping: FileMapping, row_column: bool = True, typed: bool = False) -> frozenset[str]:
    """The stage columns a stage file leaves out because they would say nothing: hidden
    columns the file does not map, _row where rows come from the file's row order, and on
    the typed path _viol and _blank, whose rows it marks for the text path instead
    (write_stage). Writing a column of NULLs is not free: at 35 million rows these cost
    some 5 CPU-seconds, _viol (a list of structs) the most."""
    exprs = {**mapping.columns, **mapping.hidden}
    return frozenset([c.name for c in HIDDEN_COLUMNS if c.name not in exprs]
                     + ([] if row_column else ["_row"]) + (["_viol", "_blank"] if typed else []))


def reread_marker(table: Table, mapping: FileMapping) -> str | None:
    """The column a typed stage leaves NULL in the rows the text path must read again
    (write_stage): the first column the file maps that the contract says may not be empty,
    so that a row breaking no rule never has it NULL. None when the file maps none."""
    return next((c.name for c in table.columns if not c.nullable and c.name in mapping.columns), None)


def write_stage(con: duckdb.DuckDBPyConnection, table: Table, select: str, path: Path,
                absent: frozenset[str] = frozenset(), marker: str | None = None) -> int:
    """Write a stage query's rows as a Parquet stage file; the number of rows written.

    Every stage file has one schema, whichever path wrote it, less the columns `absent`
    (absent_columns): the stage columns (the contract's, in its order and types, then the
    hidden ones), _row, _blank and _viol. So the stages of all files of a table are read by
    one multi-file scan (parts_sql), in file order.

    A typed read (stage_typed) flags in _blank and _suspect the rows the text path must
    read again; its stage keeps no column of its own but leaves its `marker` column
    (reread_marker) NULL in those rows. So a clean export's stage holds the contract's
    columns alone, and is published as it is (write_time_entries). A row left NULL there
    for another reason would only be read again.
    """
    cols = [q(c.name) for c in stage_columns(table) if c.name not in absent]
    if marker is not None:
        cols = [f"CASE WHEN _blank OR _suspect THEN NULL ELSE {c} END AS {c}" if c == q(marker) else c
                for c in cols]
    cols += [f"{c}::{t} AS {c}" for c, t in (("_row", "BIGINT"), ("_blank", "BOOLEAN"),
                                               ("_viol", VIOLATION_TYPE)) if c not in absent]
    return con.execute(f"COPY (SELECT {', '.join(cols)} FROM ({select})) TO {lit(path)} "
                       f"({PARQUET_OPTIONS})").fetchall()[0][0]


def parts_sql(table: Table, parts: list[tuple[int, StagePart]]) -> str:
    """The staged rows of files (file number, part), in order: _file, _row, columns, _blank, _viol.

    One scan over every part rather than a UNION ALL of one scan per file: DuckDB keeps
    the order of a multi-file scan cheaply, whereas writing a UNION ALL in order stalls
    the second file's rows behind the first and, at tens of millions of rows, spills.
    """
    def per_file(values: list[str]) -> str:
        if len(set(values)) == 1:
            return values[0]
        return "CASE file_index " + " ".join(f"WHEN {k} THEN {v}" for k, v in enumerate(values)) + " END"

    paths = ", ".join(lit(part.path) for _i, part in parts)
    nowhere = frozenset.intersection(*(part.absent for _i, part in parts))
    types = {c.name: SQL_TYPES[c.type] for c in stage_columns(table)}
    # Files that leave out different columns are matched by name, a column a file lacks
    # being NULL in its rows; a typed stage's blank rows are read again (stage_typed).
    by_name = ", union_by_name=true" if len({part.absent for _i, part in parts}) > 1 else ""
    blank = ("false" if "_blank" in nowhere else
             "coalesce(_blank, false)" if any("_blank" in part.absent for _i, part in parts) else "_blank")
    cols = ", ".join([f"NULL::{types[c.name]} AS {q(c.name)}" if c.name in nowhere else q(c.name)
                      for c in stage_columns(table)] + [f"{blank} AS _blank"]
                     + ["NULL::" + VIOLATION_TYPE + " AS _viol" if "_viol" in nowhere else "_viol"])
    return (f"SELECT CAST({per_file([str(i) for i, _p in parts])} AS INTEGER) AS _file, "
            f"CAST({per_file([p.row for _i, p in parts])} AS BIGINT) AS _row, {cols} "
            f"FROM read_parquet([{paths}], file_row_number=true{by_name}) "
            f"WHERE {per_file([p.keep for _i, p in parts])}")


def stage_facts(table: Table, parts: list[StagePart]) -> StageFacts:
    """What the stage files' own statistics prove of all their rows, read from their footers
    (no row is read): the stage columns never NULL, and those with one value wherever not
    NULL. A column a part leaves out is NULL in all its rows; a statistic a file lacks
    proves nothing. Rows a part's filter drops count too, which can only prove less."""
    columns = [c.name for c in stage_columns(table)]
    never_null, values, unknown = set(columns), {c: set() for c in columns}, set()
    for part in parts:
        meta = pq.read_metadata(part.path)
        index = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
        for name in columns:
            if name not in index:
                never_null.discard(name)
                continue
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                stats = group.column(index[name]).statistics
                if stats is None or not stats.has_null_count:
                    never_null.discard(name)
                    unknown.add(name)
                    continue
                if stats.null_count:
                    never_null.discard(name)
                if stats.has_min_max:
                    values[name].update((stats.min, stats.max))
                elif stats.null_count < group.num_rows:
                    unknown.add(name)  # values without bounds: long texts, say
    one_value = {c: next(iter(v), None) for c, v in values.items() if len(v) <= 1 and c not in unknown}
    return StageFacts(frozenset(never_null), one_value)


def _staged(con: duckdb.DuckDBPyConnection, index: int, source: RawSource,
            mapping: FileMapping, parts: list[StagePart]) -> StagedFile:
    stage = parts_sql(TABLES[mapping.table], [(index, part) for part in parts])
    rows = con.execute(f"SELECT count(*) FROM ({stage}) WHERE NOT _blank").fetchall()[0][0]
    return StagedFile(index, source, mapping, rows, parts)


def check_rows_read(staged: StagedFile, records: int) -> StagedFile:
    """Stop when a file's rows read are not the records it holds, as a reader other than
    its staging counted them (numpy or csv on a text file's bytes, openpyxl, pyarrow).

    The summary's rows read = accepted + quarantined (+ merged + skipped) counts the
    staged rows on both sides, so a staging that lost rows would still balance there.
    """
    if staged.rows_read != records:
        raise RuntimeError(f"internal error: {staged.source.name}: the file holds {records:,} records "
                           f"but staging read {staged.rows_read:,} ({staged.mapping.table})")
    return staged


def _drop(con: duckdb.DuckDBPyConnection, *names: str | Path) -> None:
    """Drop the tables and files of a typed read that hands over to the text path."""
    for name in names:
        if isinstance(name, Path):
            name.unlink(missing_ok=True)
        else:
            con.execute(f"DROP TABLE IF EXISTS {q(name)}")


def stage_typed(con: duckdb.DuckDBPyConnection, index: int, source: RawSource, mapping: FileMapping,
                tmp: Path, as_of, facts: Future) -> StagedFile | None:
    """Stage a plain CSV through DuckDB's typed read; None when the text path must do it.

    Numbers, yes/no and times are typed by the CSV parser (parse.typed_reads). A record
    it cannot type is logged with its line, and a typed row that breaks a rule or is blank
    is marked (write_stage); both are read again from their lines through the text path,
    which gives the quarantine its value and reason, so they are staged exactly as before.
    The file's line count (from the hashing pass) must equal the records read: then no
    record spans lines or hides behind a blank line, and a line number is the spreadsheet
    row. Anything else (a bad byte, a ragged line, too many odd rows, no required column
    to mark rows in) returns None. The lines the hashing pass found a control character
    on are read again too, where the text path quarantines it. The rows read must be those
    lines, less the ones that are blank in the file's own bytes (check_rows_read): every
    blank row the stage marks is among the lines read again, and is checked there.

    The typed stage is kept as a Parquet file, not a table: tens of millions of wide rows
    would not fit in memory, and spilled table blocks cost far more to write and read
    back than compressed columns, of which the checks read only the few they need.
    """
    table = TABLES[mapping.table]
    marker = reread_marker(table, mapping)
    if marker is None:
        return None
    exprs = {**mapping.columns, **mapping.hidden}
    sampled = mapped_columns(table, mapping)
    rejects = f"rejects{index}"
    stage_path = tmp / f"stage{index}.parquet"
    suspects_path = tmp / f"stage{index}-suspects.parquet"
    names = (rejects, rejects + "_scan", stage_path, suspects_path)
    typed = f"read_parquet({lit(stage_path)}, file_row_number=true)"
    absent = absent_columns(mapping, row_column=False, typed=True)
    try:
        con.execute(f"CREATE TEMP TABLE sample AS SELECT * FROM {source.fallback_relation} "
                    f"LIMIT {HINT_SAMPLE_ROWS}")
        hints = detect_hints(con, "sample", sampled, limit=False)
        read_types = typed_reads(con, "sample", sampled, hints)
        memo = sample_memo(con, "sample", sampled, hints, read_types)
        con.execute("DROP TABLE sample")
        columns = {int(exprs[n].strip('"')[1:]): t for n, t in read_types.items()}
        relation = typed_relation(source, columns, rejects)
        read = write_stage(con, table, stage_sql(table, mapping, source, hints, as_of, relation,
                                                 read_types, memo),
                           stage_path, absent, marker)
        errors = con.execute(f"SELECT DISTINCT line, error_type FROM {q(rejects)}").fetchall()
    except duckdb.Error:
        con.execute("DROP TABLE IF EXISTS sample")
        _drop(con, *names)
        return None
    lines = sorted({line for line, _kind in errors})
    scanned = facts.result()
    if (any(kind != "CAST" for _line, kind in errors) or len(lines) > MAX_REJECTED_LINES
            or read + len(lines) != scanned.lines - source.skip - 1 or scanned.more_control_lines):
        _drop(con, *names)
        return None
    records = scanned.lines - source.skip - 1
    controls = [line for line in scanned.control_lines if line > source.first_row - 1]
    # Row of typed record k: the records before it, rejected ones included.
    k = "file_row_number"
    row = f"{k} + {source.first_row}" + "".join(
        f" + ({k} >= {line - source.first_row - i})::BIGINT" for i, line in enumerate(lines))
    again_rows = f"{q(marker)} IS NULL"
    if controls:
        again_rows += f" OR ({row}) IN ({', '.join(map(str, controls))})"
    suspects = con.execute(f"SELECT count(*) FROM {typed} WHERE {again_rows}").fetchall()[0][0]
    if suspects + len(lines) > MAX_SUSPECT_ROWS:
        _drop(con, *names)
        return None
    if not suspects and not lines:
        return check_rows_read(_staged(con, index, source, mapping, [StagePart(stage_path, row, absent=absent)]),
                               records)
    wanted = lines + [r for (r,) in con.execute(f"SELECT {row} FROM {typed} WHERE {again_rows}").fetchall()]
    found = fetch_lines(source.path, wanted)
    records -= sum(1 for text in found.values() if blank_record(text, source.delimiter))
    again = suspect_source(source, found, tmp / f"{safe_name(source.name)}-suspects.csv")
    again_absent = absent_columns(mapping)
    try:
        write_stage(con, table, stage_sql(table, mapping, again, hints, as_of, again.relation),
                    suspects_path, again_absent)
    except duckdb.Error:
        _drop(con, *names)
        return None
    parts = [StagePart(stage_path, row, keep=f"NOT ({again_rows})", absent=absent),
             StagePart(suspects_path, "_row", absent=again_absent)]
    accepted_again = con.execute(f"SELECT count(*) FROM read_parquet({lit(suspects_path)}) "
                                 f"WHERE _viol IS NULL AND NOT _blank").fetchall()[0][0]
    if accepted_again:
        # A re-read row may be accepted: keep the stage in row order, as the output is.
        sorted_path = tmp / f"stage{index}-sorted.parquet"
        write_stage(con, table, f"SELECT * FROM ({parts_sql(table, [(index, p) for p in parts])}) "
                                f"ORDER BY _row", sorted_path, again_absent)
        parts = [StagePart(sorted_path, "_row", absent=again_absent)]
    return check_rows_read(_staged(con, index, source, mapping, parts), records)


def quarantined_rows_sql(con: duckdb.DuckDBPyConnection, files: list[int]) -> str:
    """SQL true for a stage row `a` of these files that is in the quarantine, as an expression.

    Per file with quarantined rows, an ENUM of their row numbers: the time entries are
    filtered with it rather than anti-joined with the quarantine, so their file order is
    kept without a sort (DuckDB keeps order through scans, filters and UNION ALL only).
    """
    whens = []
    for index in files:
        rows = f"(SELECT DISTINCT CAST(row AS VARCHAR) AS r FROM quarantine_rows WHERE file_no = {index})"
        if con.execute(f"SELECT count(*) FROM {rows}").fetchall()[0][0]:
            name = q(f"quarantined{index}")
            con.execute(f"DROP TYPE IF EXISTS {name}")
            con.execute(f"CREATE TYPE {name} AS ENUM (SELECT r FROM {rows} ORDER BY r)")
            whens.append(f"WHEN {index} THEN try_cast(CAST(a._row AS VARCHAR) AS {name}) IS NOT NULL")
    return f"(CASE a._file {' '.join(whens)} ELSE false END)" if whens else "false"


# --- rules across rows and tables ------------------------------------------------
def _add_violations(con: duckdb.DuckDBPyConnection, table: str, select: str) -> None:
    """Insert (file_no, row, col, val, reason, ord) rows produced by `select`."""
    con.execute(f"INSERT INTO quarantine_rows SELECT file_no, row, {lit(table)}, col, val, reason, ord "
                f"FROM ({select})")


def check_references(con: duckdb.DuckDBPyConnection, table: Table, supplied: set[str]) -> None:
    for col in table.columns:
        if not col.references:
            continue
        ref_table, ref_col = col.references.split(".")
        if ref_table not in supplied:
            continue
        noun = ref_col.removesuffix("_id")
        reason = f"'unknown {noun} ''' || a.{q(col.name)} || ''''"
        joins = ""
        if ref_table == "clients":
            missing = "a.client_id NOT IN (SELECT k FROM client_lookup)"
            joins = "LEFT JOIN client_ambiguous amb ON amb.k = a.client_id"
            reason = f"CASE WHEN amb.k IS NULL THEN {reason} ELSE {lit(AMBIGUOUS_CLIENT)} || amb.clients END"
        else:
            keys = (f"(SELECT DISTINCT {q(ref_col)} AS k FROM {q('t_' + ref_table)} "
                    f"WHERE _viol IS NULL AND NOT _blank)")
            missing = f"a.{q(col.name)} NOT IN (SELECT k FROM {keys} WHERE k IS NOT NULL)"
        order = 5000 + table.column_names.index(col.name)
        _add_violations(con, table.name, (
            f"SELECT a._file AS file_no, a._row AS row, {lit(col.name)} AS col, a.{q(col.name)} AS val, "
            f"{reason} AS reason, {order} AS ord FROM {clean_rows(table.name)} a {joins} "
            f"WHERE a.{q(col.name)} IS NOT NULL AND {missing}"))


def _where(from_file: str, at: str) -> str:
    """SQL of ' on row N' (or ' on row N of file.csv' when another file's) of the row `at`,
    packed as file * 1e10 + row, as said from a row of file `from_file`."""
    return (f"' on row ' || ({at} % 10000000000) || CASE WHEN {at} // 10000000000 <> {from_file} "
            f"THEN ' of ' || (SELECT name FROM input_files WHERE _file = {at} // 10000000000) "
            f"ELSE '' END")


def check_duplicates(con: duckdb.DuckDBPyConnection, table: Table, rows: int = 0) -> None:
    """Later rows repeating a key are quarantined; the first occurrence (file order, row) stays.

    The keys' hashes are sorted first (a sort of 8-byte numbers, not of the table: at 35
    million keys 5 CPU-seconds against 7 to 8 for grouping them), and only rows whose hash
    repeats (the duplicates and rare collisions) are grouped by the keys themselves, which
    at tens of millions of text keys is far cheaper. Past DUPLICATE_CHECK_ROWS rows (`rows`,
    those read) the keys are checked in slices by their hash, every key wholly in one slice:
    when they were grouped, a hash table for a hundred million keys asked DuckDB for more
    memory in one piece (1 GiB) than its limit left, and a slice's never did.
    """
    if not table.key:
        return
    keys = [q(k) for k in table.key]
    label = "+".join(table.key)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    value = " || ' / ' || ".join(f"CAST(a.{k} AS VARCHAR)" for k in keys)
    join_on = " AND ".join(f"d.{k} = a.{k}" for k in keys)
    first = "_file * 10000000000 + _row"
    h = f"hash({', '.join(keys)})"
    slices = max(1, -(-rows // DUPLICATE_CHECK_ROWS))
    for part in range(slices):
        in_slice = f" AND {h} % {slices} = {part}" if slices > 1 else ""
        ok = (f"(SELECT _file, _row, {', '.join(keys)} FROM {clean_rows(table.name)} "
              f"WHERE {not_null}{in_slice})")
        _add_violations(con, table.name, (
            f"WITH twice AS (SELECT h FROM (SELECT h, lag(h) OVER (ORDER BY h) AS before "
            f"FROM (SELECT {h} AS h FROM {ok})) WHERE h = before), "
            f"ok AS (SELECT * FROM {ok} WHERE {h} IN (SELECT h FROM twice)), "
            f"dup AS (SELECT {', '.join(keys)}, min({first}) AS first FROM ok GROUP BY ALL "
            f"HAVING count(*) > 1) "
            f"SELECT a._file AS file_no, a._row AS row, {lit(table.key[0])} AS col, {value} AS val, "
            f"'duplicate {label} also' || {_where('a._file', 'd.first')} AS reason, "
            f"9000 AS ord FROM ok a JOIN dup d ON {join_on} "
            f"WHERE a._file * 10000000000 + a._row <> d.first"))


# The reasons of what would merge two clients (or give a project's entries to either of two),
# the kind first and what they quote last, as every quarantine reason (reasons.TEMPLATES).
AMBIGUOUS_CLIENT = "a client that reads as more than one: "
CLIENT_NAMING_TABLES = tuple(t for t in ORDERED_TABLES if t != "clients"
                             and any(c.references == "clients.client_id" for c in TABLES[t].columns))


def collect_client_values(con: duckdb.DuckDBPyConnection, supplied: set[str]) -> None:
    """client_values (tbl, _file, v, rows, first): each client value the files other than
    clients hold, as written, with the rows naming it and the first of them (file * 1e10 +
    row); client_value_keys (v, key, first) the same by value, with its identity key. One
    scan of one column a table; cl_ident runs on the distinct values only."""
    parts = [f"SELECT {lit(t)} AS tbl, _file, client_id AS v, count(*) AS rows, "
             f"min(_file * 10000000000 + _row) AS first FROM {q('t_' + t)} "
             f"WHERE NOT _blank AND client_id IS NOT NULL GROUP BY _file, client_id"
             for t in CLIENT_NAMING_TABLES if t in supplied]
    select = " UNION ALL ".join(parts) or ("SELECT NULL::VARCHAR AS tbl, NULL::INTEGER AS _file, "
                                           "NULL::VARCHAR AS v, 0::BIGINT AS rows, 0::BIGINT AS first "
                                           "WHERE false")
    con.execute(f"CREATE OR REPLACE TABLE client_values AS {select}")
    con.execute("CREATE OR REPLACE TABLE client_value_keys AS SELECT v, cl_ident(v) AS key, first "
                "FROM (SELECT v, min(first) AS first FROM client_values GROUP BY v)")


def check_client_identity(con: duckdb.DuckDBPyConnection, supplied: set[str]) -> None:
    """Quarantine the rows of the clients file whose ids read the same (identity_key) but
    are written differently, or that give one id two names that read differently: all of
    them, as which row is the client cannot be told (a file naming it is then told it is
    ambiguous, build_client_lookup). Without a clients file, see check_client_spellings."""
    if "clients" in supplied:
        collect_client_values(con, supplied)
        con.execute("CREATE OR REPLACE TABLE client_rows AS SELECT _file, _row, client_id, client_name, "
                    "cl_ident(client_id) AS id_key, cl_ident(client_name) AS name_key, "
                    f"_file * 10000000000 + _row AS pos FROM {clean_rows('clients')}")
        _add_violations(con, "clients", _clashes_sql(
            "client_rows", "client_id", "id_key",
            "b.client_id <> a.client_id OR b.name_key IS DISTINCT FROM a.name_key",
            "CASE WHEN a.client_id = b.client_id THEN 'a client_id given another name also' || "
            + _where("a._file", "b.pos") + " || ': ''' || b.client_name || '''' "
            "ELSE 'a client_id that reads the same as another also' || " + _where("a._file", "b.pos")
            + " || ': ''' || b.client_id || ''' (' || b.client_name || ')' END"))


def _clashes_sql(rows: str, column: str, key: str, differ: str, reason: str) -> str:
    """Quarantine rows (file_no, row, col, val, reason, ord) of the rows of table `rows` (with
    _file, _row, pos = file * 1e10 + row) that share `key` with a row they differ from
    (`differ`, SQL of rows a and b): each names the first such other row b in `reason`."""
    return (f"SELECT a._file AS file_no, a._row AS row, {lit(column)} AS col, a.{column} AS val, "
            f"{reason} AS reason, 5500 AS ord FROM {rows} a JOIN {rows} b ON b.{key} = a.{key} "
            f"AND b.pos <> a.pos AND ({differ}) "
            "QUALIFY row_number() OVER (PARTITION BY a.pos ORDER BY b.pos) = 1")


def check_client_spellings(con: duckdb.DuckDBPyConnection, supplied: set[str]) -> None:
    """Without a clients file the clients are the values the files hold: two values that
    read the same (identity_key) but are written differently ('Acme', 'ACME') quarantine
    every row holding either, naming the other, rather than becoming one client or two.
    Run once project_clients has given the projects of exports without clients theirs."""
    if "clients" in supplied:
        return
    collect_client_values(con, supplied)
    clashes = ("(SELECT key FROM client_value_keys WHERE key IS NOT NULL GROUP BY key "
               "HAVING count(*) > 1)")
    if not con.execute(f"SELECT count(*) FROM {clashes}").fetchall()[0][0]:
        return
    con.execute("CREATE OR REPLACE TABLE client_clashes AS SELECT a.v, b.v AS other_v, b.first AS other "
                f"FROM client_value_keys a JOIN {clashes} USING (key) JOIN client_value_keys b "
                "ON b.key = a.key AND b.v <> a.v "
                "QUALIFY row_number() OVER (PARTITION BY a.v ORDER BY b.first, b.v) = 1")
    for table in CLIENT_NAMING_TABLES:
        if table in supplied:
            _add_violations(con, table, (
                "SELECT a._file AS file_no, a._row AS row, 'client_id' AS col, a.client_id AS val, "
                "'a client written another way also' || " + _where("a._file", "c.other")
                + " || ': ''' || c.other_v || '''' AS reason, 5500 AS ord "
                f"FROM {q('t_' + table)} a JOIN client_clashes c ON c.v = a.client_id "
                "WHERE NOT a._blank"))


def check_project_identity(con: duckdb.DuckDBPyConnection) -> None:
    """Quarantine the rows of project_clients whose projects read the same (identity_key) but
    give clients that do not: every one of them, naming another, as the entries of such a
    project cannot be given to one client more than to the other."""
    con.execute("CREATE OR REPLACE TABLE project_rows AS SELECT a._file, a._row, a.project, a.client_id, "
                "cl_ident(a.project) AS key, coalesce(l.client_id, cl_ident(a.client_id)) AS client, "
                f"a._file * 10000000000 + a._row AS pos FROM {clean_rows('project_clients')} a "
                "LEFT JOIN client_lookup l ON l.k = a.client_id")
    _add_violations(con, "project_clients", _clashes_sql(
        "project_rows", "project", "key", "b.client IS DISTINCT FROM a.client",
        "'a project given another client also' || " + _where("a._file", "b.pos")
        + " || ': ''' || b.project || ''' → ''' || b.client_id || ''''"))


def build_client_lookup(con: duckdb.DuckDBPyConnection, supplied: set[str]) -> None:
    """client_lookup (k, client_id): each client value as written (the clients' own ids and
    names, and what the other files hold) -> the one client whose id or name reads the
    same (identity_key); client_ambiguous (k, clients): the values that read as the id or
    name of more than one client, or of one whose rows clash (check_client_identity), with
    the clients they could be. A value in neither is an unknown client."""
    if "clients" not in supplied:
        con.execute("CREATE OR REPLACE TABLE client_lookup (k VARCHAR, client_id VARCHAR)")
        con.execute("CREATE OR REPLACE TABLE client_ambiguous (k VARCHAR, clients VARCHAR)")
        return
    # A key reaches the rows of every id it is the id or a name of; it names one client when
    # they hold one id as written and a row of it was kept (not every one clashed).
    clean = f"(SELECT _file * 10000000000 + _row FROM {clean_rows('clients')})"
    described = "'''' || r.client_id || ''' (' || r.client_name || ')'"
    con.execute(
        f"CREATE OR REPLACE TABLE client_keys AS WITH rows AS (SELECT *, pos IN {clean} AS kept "
        "FROM client_rows), keyed AS (SELECT id_key AS key, id_key FROM rows UNION "
        "SELECT name_key, id_key FROM rows) "
        "SELECT k.key, count(DISTINCT r.client_id) = 1 AND bool_or(r.kept) AS one, "
        f"any_value(r.client_id) AS client_id, string_agg(DISTINCT {described}, ', ' ORDER BY {described}) "
        "AS clients FROM keyed k JOIN rows r ON r.id_key = k.id_key WHERE k.key IS NOT NULL GROUP BY k.key")
    written = ("(SELECT client_id AS v, id_key AS key FROM client_rows UNION "
               "SELECT client_name, name_key FROM client_rows UNION SELECT v, key FROM client_value_keys)")
    con.execute("CREATE OR REPLACE TABLE client_lookup AS SELECT w.v AS k, c.client_id "
                f"FROM {written} w JOIN client_keys c USING (key) WHERE c.one")
    con.execute("CREATE OR REPLACE TABLE client_ambiguous AS SELECT w.v AS k, c.clients "
                f"FROM {written} w JOIN client_keys c USING (key) WHERE NOT c.one")


CLIENT_NAMES_USED_COLUMNS = ("file", "table", "written", "client_id", "client_name", "rows")


def write_client_names_used(con: duckdb.DuckDBPyConnection, supplied: set[str], dest: Path) -> None:
    """How the files named their clients where not by the id as the clients file writes it
    (by name, or in another case or spacing), as the ingest page lists it: file, table, the
    value as written, the client it was read as, and the rows that name it so."""
    if "clients" not in supplied:
        _copy(con, "SELECT NULL::VARCHAR AS file, NULL::VARCHAR AS \"table\", NULL::VARCHAR AS written, "
                   "NULL::VARCHAR AS client_id, NULL::VARCHAR AS client_name, NULL::BIGINT AS rows "
                   "WHERE false", dest)
        return
    _copy(con, "SELECT f.name AS file, v.tbl AS \"table\", v.v AS written, l.client_id, "
               "any_value(c.client_name) AS client_name, sum(v.rows)::BIGINT AS rows FROM client_values v "
               "JOIN client_lookup l ON l.k = v.v AND l.k <> l.client_id "
               "JOIN input_files f ON f._file = v._file "
               "LEFT JOIN client_rows c ON c.client_id = l.client_id "
               "GROUP BY f.name, v.tbl, v.v, l.client_id ORDER BY file, written, \"table\"", dest)


def check_currencies(con: duckdb.DuckDBPyConnection, table: Table, reporting: str,
                     raw_dir: Path) -> None:
    if not any(c.type == "money" for c in table.columns):
        return
    row = con.execute(
        f"SELECT f.path, a.currency FROM {clean_rows(table.name)} a JOIN input_files f "
        f"ON f._file = a._file WHERE a.currency IS NOT NULL AND a.currency <> {lit(reporting)} "
        f"AND a.currency NOT IN (SELECT currency FROM fx) ORDER BY a._file, a._row LIMIT 1").fetchall()
    if row:
        row = row[0]
        fx_file = display_path(raw_dir / "fx_rates.csv")
        raise IngestError(f"{display_path(Path(row[0]))}: amounts in {row[1]} but fx_rates has no "
                          f"{row[1]} rate: add it to {fx_file}, or report in {row[1]} "
                          f"(make report REPORTING_CURRENCY={row[1]})")


def money_by_currency(con: duckdb.DuckDBPyConnection, supplied: set[str]) -> dict[str, float]:
    """The money each named currency holds across the accepted rows (amounts, not rates),
    for reporting_currency auto. A row without a currency names none."""
    parts = []
    for name in sorted(supplied):
        table = TABLES[name]
        amounts = [c.name for c in table.columns if c.type == "money" and c.unit == "currency"]
        if amounts and "currency" in table.column_names:
            total = " + ".join(f"coalesce(abs({q(c)}), 0)" for c in amounts)
            parts.append(f"SELECT currency, {total} AS money FROM {clean_rows(name)} "
                         f"WHERE currency IS NOT NULL")
    if not parts:
        return {}
    rows = con.execute(f"SELECT currency, sum(money) FROM ({' UNION ALL '.join(parts)}) "
                       f"GROUP BY currency").fetchall()
    return {currency: float(money or 0) for currency, money in rows}


def resolve_reporting_currency(con: duckdb.DuckDBPyConnection, supplied: set[str],
                               p: DeriveParams) -> str:
    """The reporting currency: as configured, or under auto the currency holding the most
    money (ties broken by code), else the configured one for exports that name none."""
    if p.reporting_currency != AUTO_CURRENCY:
        return p.reporting_currency
    money = money_by_currency(con, supplied)
    if not money:
        return p.unnamed_currency
    return min(money, key=lambda c: (-money[c], c))


# --- outputs ---------------------------------------------------------------------
def _copy(con: duckdb.DuckDBPyConnection, select: str, dest: Path) -> int:
    """Write the rows of `select` as Parquet; the number of rows written."""
    return con.execute(f"COPY ({select}) TO {lit(dest)} ({PARQUET_OPTIONS})").fetchall()[0][0]


def arrow_schema(table: Table) -> pa.Schema:
    """The contract's columns and types in Arrow's terms, every column nullable."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[SQL_TYPES[c.type]]) for c in table.columns])


def table_parts(path: Path) -> list[Path]:
    """The Parquet files of a table written as `path`: the file, or the part files of the
    folder (the time entries), in order."""
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def assert_schema(path: Path, table: Table) -> None:
    """The written file has exactly the contract's columns and types, and every part of a
    folder exactly arrow_schema, nullability too: a reader of the folder sees one schema
    (pyarrow takes the first part's for all). Cheap: metadata only."""
    want = arrow_schema(table)
    for part in table_parts(path):
        got = pq.read_schema(part)
        if path.is_dir():
            same = got.equals(want)
        else:
            same = [(f.name, str(f.type).replace("large_string", "string")) for f in got] == \
                [(f.name, str(f.type)) for f in want]
        if not same:
            raise RuntimeError(f"internal error: {part.name} schema {got} differs from contract {want}")


def write_part(con: duckdb.DuckDBPyConnection, select: str, dest: Path, schema: pa.Schema) -> int:
    """Write the rows of `select` as a Parquet file of exactly `schema`; the rows written.

    pyarrow's writer, not DuckDB's COPY, for the schema: DuckDB marks a column REQUIRED
    wherever the query's statistics prove it never NULL, and a stage read from a CSV has no
    such statistics, so the parts of a folder would not agree (assert_schema). Row groups
    hold PART_BATCH_ROWS rows whatever batches DuckDB hands over (they follow its parallel
    scan), so a rebuild writes the same bytes.
    """
    rows, pending = 0, pa.Table.from_batches([], schema)
    with pq.ParquetWriter(dest, schema, compression="zstd", compression_level=ZSTD_LEVEL) as writer:
        for batch in con.sql(select).to_arrow_reader(PART_BATCH_ROWS):
            rows += batch.num_rows
            pending = pa.concat_tables([pending, pa.Table.from_batches([batch.cast(schema)])])
            whole = pending.num_rows - pending.num_rows % PART_BATCH_ROWS
            if whole:
                writer.write_table(pending.slice(0, whole), row_group_size=PART_BATCH_ROWS)
                pending = pending.slice(whole)
        if pending.num_rows:
            writer.write_table(pending, row_group_size=PART_BATCH_ROWS)
    return rows


def write_time_entries(con: duckdb.DuckDBPyConnection, dest: Path, p: DeriveParams,
                       clients_supplied: bool, staged: list[StagedFile], files: dict[int, str],
                       progress: bool = False) -> int:
    """Write the accepted time entries of the staged files as the folder dest, one Parquet
    part per file, in file order (part-00000.parquet, ...); the rows written.

    A file whose stage holds the contract's columns alone, as arrow_schema (a typed read
    with no row to read again: write_stage), and whose rows the final select would neither
    drop nor change (a clean, canonical export: ids, rates and amounts given in the
    reporting currency, clients by id) is its own part as it is: the stage is linked into
    dest, not encoded again, which at tens of millions of entries is most of the cost of
    writing them. Every other file's rows go through the final select (write_part). A 0
    from time_entries_changed_sql, built from the same select, is what vouches for a stage.
    """
    table = TABLES["time_entries"]
    schema = arrow_schema(table)
    lookups = create_time_entry_lookups(con, p, clients_supplied)
    quarantined = quarantined_rows_sql(con, [sf.index for sf in staged])
    dest.mkdir()
    rows = as_staged = 0
    for k, sf in enumerate(staged):
        part = dest / f"part-{k:05d}.parquet"
        view = f"t_time_entries_{sf.index}"
        facts = stage_facts(table, sf.parts)
        con.execute(f"CREATE OR REPLACE VIEW {q(view)} AS "
                    f"{stage_view_sql(table, [(sf.index, stage) for stage in sf.parts], staged)}")
        # A file whose clients are its projects' is never its stage as it is: the view's
        # client_id, not the stage's, is what the check would compare.
        if (len(sf.parts) == 1 and sf.parts[0].keep == "true" and not sf.mapping.client_from_project
                and pq.read_schema(sf.parts[0].path).equals(schema)
                and not con.execute(time_entries_changed_sql(p, files, lookups, quarantined, view,
                                                             facts)).fetchall()[0][0]):
            _link(sf.parts[0].path, part)
            rows += pq.read_metadata(part).num_rows
            as_staged += 1
        else:
            select = final_select("time_entries", p, clients_supplied, files, quarantined, lookups,
                                  stage=view, facts=facts)
            rows += write_part(con, select, part, schema)
    if progress and as_staged:
        print(f"ingest: time_entries of {as_staged} of {len(staged)} files published as staged",
              file=sys.stderr, flush=True)
    return rows


def stage_view_sql(table: Table, parts: list[tuple[int, StagePart]], staged: list[StagedFile]) -> str:
    """The staged rows of `parts` (parts_sql), where a time export whose projects stand for
    its clients (FileMapping.client_from_project) names the client project_clients gives its
    project, else the project itself (the macro cl_project_client, derive.project_client_macros)."""
    rows = parts_sql(table, parts)
    from_project = sorted({sf.index for sf in staged if sf.mapping.client_from_project
                           and sf.mapping.table == table.name} & {i for i, _part in parts})
    if not from_project:
        return rows
    return (f"SELECT * REPLACE (CASE WHEN _file IN ({', '.join(map(str, from_project))}) "
            f"THEN cl_project_client(client_id) ELSE client_id END AS client_id) FROM ({rows})")


PROJECT_CLIENTS_USED_COLUMNS = ("project", "client_id", "listed", "entries", "hours")


def write_project_clients_used(con: duckdb.DuckDBPyConnection, staged: list[StagedFile],
                               dest: Path) -> None:
    """The client each project of the time exports without clients stood for, as the ingest
    page shows it: project, client_id (resolved), listed (true: from project_clients; false:
    the project's own name), and the accepted entries and hours of the project."""
    table = TABLES["time_entries"]
    parts = [(sf.index, part) for sf in staged if sf.mapping.table == table.name
             and sf.mapping.client_from_project for part in sf.parts]
    if not parts:
        _copy(con, "SELECT NULL::VARCHAR AS project, NULL::VARCHAR AS client_id, "
                   "NULL::BOOLEAN AS listed, NULL::BIGINT AS entries, NULL::DOUBLE AS hours WHERE false",
              dest)
        return
    used = (f"SELECT a.client_id AS project, cl_project_client(a.client_id) AS named, "
            f"cl_project_listed(a.client_id) IS NOT NULL AS listed, count(*) AS entries, "
            f"sum(a.hours) AS hours FROM ({parts_sql(table, parts)}) a ANTI JOIN "
            f"(SELECT file_no, row FROM quarantine_rows WHERE tbl = 'time_entries') r "
            f"ON r.file_no = a._file AND r.row = a._row WHERE NOT a._blank GROUP BY ALL")
    _copy(con, f"SELECT u.project, coalesce(l.client_id, u.named) AS client_id, "
               f"u.listed, u.entries, u.hours FROM ({used}) u "
               f"LEFT JOIN client_lookup l ON l.k = u.named ORDER BY u.project", dest)


def _link(source: Path, dest: Path) -> None:
    """dest with the bytes of source, which stays readable: a hard link where the file
    system has them (both lie in the ingest's folder), else a copy."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def write_tables(con: duckdb.DuckDBPyConnection, out: Path, supplied: set[str],
                 p: DeriveParams, progress: bool, staged: list[StagedFile],
                 summary: pd.DataFrame) -> list[str]:
    written = []
    for name in ORDERED_TABLES:
        if name not in supplied:
            continue
        started = time.monotonic()
        files = {sf.index: sf.source.name for sf in staged}
        if name == "time_entries":
            rows = write_time_entries(con, out / f"{name}.parquet", p, "clients" in supplied,
                                      [sf for sf in staged if sf.mapping.table == name], files,
                                      progress)
        else:
            select = final_select(name, p, "clients" in supplied, files)
            if name in ("people", "rates"):  # the time entries read their final rates
                con.execute(f"CREATE OR REPLACE TABLE {q('final_' + name)} AS {select}")
                select = f"SELECT * FROM {q('final_' + name)}"
            rows = _copy(con, select, out / f"{name}.parquet")
        accepted = int(summary.loc[summary["table"] == name, "rows_accepted"].sum())
        if rows != accepted:
            raise RuntimeError(f"internal error: {name}: {rows} rows written but {accepted} accepted")
        assert_schema(out / f"{name}.parquet", TABLES[name])
        written.append(name)
        if progress:
            print(f"ingest: wrote {name}.parquet in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
    if "clients" not in supplied:
        # A rate or a project's client names a client only for the entries, which name it too.
        named = [t for t in supplied if "client_id" in TABLES[t].column_names
                 and t not in ("rates", "project_clients")]
        union = " UNION ".join(f"SELECT client_id FROM {clean_rows(t)}" for t in sorted(named))
        cols = ", ".join(
            "client_id" if c.name == "client_id" else "client_id AS client_name"
            if c.name == "client_name" else f"NULL::{SQL_TYPES[c.type]} AS {q(c.name)}"
            for c in TABLES["clients"].columns)
        source = union or "SELECT NULL::VARCHAR AS client_id WHERE false"
        _copy(con, f"SELECT {cols} FROM (SELECT DISTINCT client_id FROM ({source})) "
                   f"WHERE client_id IS NOT NULL ORDER BY client_id",
              out / "clients.parquet")
        assert_schema(out / "clients.parquet", TABLES["clients"])
        written.append("clients")
    return written


# The hidden characters pages and downloads neutralise (display.HIDDEN_CHARACTERS), as RE2 escapes.
HIDDEN_RE2 = "".join(ch if ch in "[]-" else f"\\x{{{ord(ch):04X}}}" for ch in HIDDEN_CHARACTERS.pattern)


def _for_spreadsheet(column: str) -> str:
    """A text column of quarantine.csv as a spreadsheet should get it: hidden characters shown
    as U+FFFD (display.neutralise), then a quote before what would start a formula."""
    shown = f"regexp_replace({column}, {lit(HIDDEN_RE2)}, {lit(SHOWN_INSTEAD)}, 'g')"
    return (f"CASE WHEN regexp_matches({shown}, '^[=+\\-@\\t\\r]') THEN '''' || {shown} "
            f"ELSE {shown} END AS {column}")


def write_quarantine(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    select = ("SELECT f.name AS file, r.tbl AS \"table\", r.row AS row, r.col AS \"column\", "
              "r.val AS value, r.reason AS reason FROM quarantine_rows r "
              "JOIN input_files f ON f._file = r.file_no "
              "ORDER BY r.file_no, r.row, r.ord, r.reason, r.val")
    con.execute(f"CREATE TABLE quarantine_out AS {select}")
    _copy(con, "SELECT * FROM quarantine_out", out / "quarantine.parquet")
    text = ", ".join(_for_spreadsheet(q(c)) if c != "row" else q(c) for c in QUARANTINE_COLUMNS)
    con.execute(f"COPY (SELECT {text} FROM quarantine_out) TO {lit(out / 'quarantine.csv')} "
                f"(FORMAT csv, HEADER true)")


def summarise(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> pd.DataFrame:
    """One line per file; accepted rows are counted, not inferred, so the identity is a real check."""
    quarantined = dict(con.execute(
        "SELECT file_no, count(DISTINCT row) FROM quarantine_rows GROUP BY file_no").fetchall())
    accepted: dict[int, int] = {}
    for table in sorted({sf.mapping.table for sf in staged}):
        accepted.update(con.execute(
            f"SELECT _file, count(*) FROM {clean_rows(table)} GROUP BY _file").fetchall())
    rows = []
    for sf in staged:
        ok, bad = accepted.get(sf.index, 0), quarantined.get(sf.index, 0)
        skipped = sum(sf.skipped.values())
        if sf.rows_read != ok + bad + sf.merged + skipped:
            raise RuntimeError(f"internal error: {sf.source.name}: {sf.rows_read} rows read but "
                               f"{ok} accepted + {bad} quarantined + {sf.merged} merged + "
                               f"{skipped} skipped")
        because = "; ".join(f"{reason}: {n}" for reason, n in sf.skipped.items())
        rows.append((sf.source.name, sf.mapping.table, sf.mapping.format, sf.source.encoding,
                     sf.rows_read, ok, bad, sf.merged, skipped, because))
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return frame.astype({c: "int64" for c in SUMMARY_COLUMNS[4:-1]})


def check_files_kept_rows(con: duckdb.DuckDBPyConnection, staged: list[StagedFile],
                          summary: pd.DataFrame) -> None:
    """Stop when every row of a file was set aside and the file is long enough for that to
    mean a misreading (a column taken for another, a format guessed wrong) rather than one
    bad row, or when a required table is left with no row at all: the chain would go on
    without the file, or fail later blaming something else."""
    accepted_by_table = summary.groupby("table")["rows_accepted"].sum()
    for sf, line in zip(staged, summary.itertuples()):
        if line.rows_quarantined == 0 or line.rows_accepted > 0:
            continue
        required_left_empty = (TABLES[sf.mapping.table].required_table
                               and accepted_by_table[sf.mapping.table] == 0)
        if line.rows_read < MISREAD_MIN_ROWS and not required_left_empty:
            continue
        column, value, reason, rows = con.execute(
            "SELECT col, any_value(val ORDER BY row), reason, count(DISTINCT row) AS n "
            "FROM quarantine_rows WHERE file_no = ? GROUP BY col, reason "
            "ORDER BY n DESC, min(ord), col, reason LIMIT 1", [sf.index]).fetchall()[0]
        header = _header_of(sf, column)
        kept_none = (f"all {line.rows_read:,} rows were set aside" if line.rows_quarantined == line.rows_read
                     else f"no row was kept ({line.rows_quarantined:,} of {line.rows_read:,} set aside, "
                          f"the rest skipped or merged)")
        raise IngestError(
            f"{display_path(sf.source.path)}: {kept_none} "
            f"({sf.mapping.table}, {sf.mapping.format}); the commonest reason, on {rows:,} rows: "
            f"{column}{header} {reason} (e.g. {value!r}); check that the file holds "
            f"{sf.mapping.table} and that this column means {column}")


def _header_of(sf: StagedFile, column: str) -> str:
    """ ' (header Type)' when a canonical column is read from one header of the file."""
    expr = {**sf.mapping.columns, **sf.mapping.hidden}.get(column, "")
    found = re.fullmatch(r'"c(\d+)"', expr)
    if not found or int(found.group(1)) >= len(sf.source.headers):
        return ""
    return f" (header {sf.source.headers[int(found.group(1))]!r})"


def _date_range(con: duckdb.DuckDBPyConnection, out: Path, written: list[str]) -> tuple[str | None, str | None]:
    def scan(t: str) -> str:
        return f"read_parquet([{', '.join(lit(part) for part in table_parts(out / f'{t}.parquet'))}])"

    parts = [f"SELECT {col} AS d FROM {scan(t)}"
             for t, col in (("time_entries", "date"), ("invoices", "issue_date")) if t in written]
    if not parts:
        return None, None
    lo, hi = con.execute(f"SELECT min(d), max(d) FROM ({' UNION ALL '.join(parts)})").fetchall()[0]
    return (lo.isoformat() if lo else None), (hi.isoformat() if hi else None)


def _publish(tmp_out: Path, processed_dir: Path, written: list[str], replaced: Path) -> None:
    """Move the finished files and folders into place and drop tables no longer supplied.

    A folder cannot replace another in one rename: the old one is first moved into
    `replaced` (in the ingest's temporary folder), so a reader finds the old table or the
    new one, never a mix of their parts.
    """
    (processed_dir / "quarantine").mkdir(parents=True, exist_ok=True)
    replaced.mkdir()
    for name in TABLES:
        stale = processed_dir / f"{name}.parquet"
        if name not in written and stale.exists():
            os.replace(stale, replaced / stale.name)
    for path in sorted(tmp_out.iterdir()):
        target = processed_dir / "quarantine" / path.name if path.name.startswith("quarantine.") \
            else processed_dir / path.name
        if (path.is_dir() or target.is_dir()) and target.exists():
            os.replace(target, replaced / target.name)
        os.replace(path, target)


# --- the stage -------------------------------------------------------------------
def run_ingest(raw_dir: Path, processed_dir: Path, params: Params, progress: bool = False) -> IngestResult:
    """Read every export in raw_dir, write canonical tables, quarantine, summary and manifest."""
    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    as_of = as_of_date(params)
    derive = derive_params(params)
    files = find_inputs(raw_dir)
    if not files:
        raise IngestError(f"{display_path(raw_dir)}: no input files (csv, xlsx or parquet)")
    processed_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=processed_dir) as tmpname:
        tmp = Path(tmpname)
        (tmp / "out").mkdir()
        (tmp / "spill").mkdir()
        con = duckdb.connect(config={"preserve_insertion_order": True, "memory_limit": MEMORY_LIMIT,
                                     "temp_directory": str(tmp / "spill")})
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashes = [pool.submit(scan_bytes, path, path.suffix.lower() in TEXT_SUFFIXES) for path in files]
            try:
                return _ingest(con, raw_dir, processed_dir, files, tmp, as_of, derive, progress,
                               hashes)
            finally:
                con.close()
                for future in hashes:
                    future.cancel()


def _ingest(con, raw_dir, processed_dir, files, tmp, as_of, derive, progress,
            hashes: list[Future]) -> IngestResult:
    install_macros(con, derive.hours_per_day)
    install_identity(con)
    _check_patterns(con, derive)
    staged: list[StagedFile] = []
    position: dict[int, int] = {}  # stage number -> the file's place in `files`
    for k, path in enumerate(files):
        started = time.monotonic()
        name = path.relative_to(raw_dir).as_posix()
        for sf in stage_file(con, len(staged), path, name, tmp, as_of, hashes[k]):
            staged.append(sf)
            position[sf.index] = k
            if progress:
                print(f"ingest: {name} -> {sf.mapping.table} ({sf.mapping.format}): {sf.rows_read:,} "
                      f"rows in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
    con.execute("CREATE TABLE input_files (_file INTEGER, name VARCHAR, path VARCHAR)")
    con.executemany("INSERT INTO input_files VALUES (?, ?, ?)",
                    [[sf.index, sf.source.name, str(sf.source.path)] for sf in staged])
    supplied = {sf.mapping.table for sf in staged}
    for name, table in TABLES.items():
        if table.required_table and name not in supplied:
            raise IngestError(f"{display_path(raw_dir)}: no {name} file, and {name} is required "
                              f"(name it {name}.csv, or drop in a Harvest, Toggl or Tempo export)")
    project_client_macros(con, supplied=False)  # until project_clients is checked
    for name in supplied:
        parts = [(sf.index, part) for sf in staged if sf.mapping.table == name for part in sf.parts]
        con.execute(f"CREATE VIEW {q('t_' + name)} AS {stage_view_sql(TABLES[name], parts, staged)}")
    con.execute("CREATE TABLE quarantine_rows (file_no INTEGER, row BIGINT, tbl VARCHAR, col VARCHAR, "
                "val VARCHAR, reason VARCHAR, ord INTEGER)")
    for name in supplied:
        _add_violations(con, name, (
            f"SELECT _file AS file_no, _row AS row, v.c AS col, v.v AS val, v.w AS reason, v.o AS ord "
            f"FROM (SELECT _file, _row, unnest(_viol) AS v FROM {q('t_' + name)} "
            f"WHERE _viol IS NOT NULL AND NOT _blank)"))
    for name in ORDERED_TABLES:
        if name == "clients":
            check_client_identity(con, supplied)
        if name == "project_clients" and name in supplied:
            check_project_identity(con)
        if name in supplied:
            check_references(con, TABLES[name], supplied)
            check_duplicates(con, TABLES[name], sum(sf.rows_read for sf in staged
                                                    if sf.mapping.table == name))
        if name == "clients":
            build_client_lookup(con, supplied)
        if name == "rates" and name in supplied:
            _add_violations(con, name, rate_card_conflicts_sql())
        if name == "project_clients" and name in supplied:
            project_client_macros(con, supplied=True)
    check_client_spellings(con, supplied)
    derive = dataclasses.replace(derive, reporting_currency=resolve_reporting_currency(
        con, supplied, derive))
    _build_fx(con, derive.reporting_currency, "fx_rates" in supplied)
    for name in ORDERED_TABLES:
        if name in supplied:
            check_currencies(con, TABLES[name], derive.reporting_currency, raw_dir)
    con.execute("CREATE TABLE final_people (person VARCHAR, role VARCHAR, cost_rate DOUBLE, "
                "bill_rate DOUBLE, currency VARCHAR)")
    out = tmp / "out"
    summary = summarise(con, staged)
    check_files_kept_rows(con, staged, summary)
    written = write_tables(con, out, supplied, derive, progress, staged, summary)
    write_quarantine(con, out)
    write_project_clients_used(con, staged, out / "project_clients_used.parquet")
    write_client_names_used(con, supplied, out / "client_names_used.parquet")
    con.register("summary_frame", summary)
    _copy(con, "SELECT * FROM summary_frame", out / "ingest_summary.parquet")
    lo, hi = _date_range(con, out, written)
    measured = [t for t in TABLES if t in supplied]
    manifest = {
        "reporting_currency": derive.reporting_currency,
        "as_of": as_of.isoformat(),
        "measured_tables": measured,
        "inputs": [{"file": sf.source.name, "blake3": hashes[position[sf.index]].result()[0],
                    "bytes": hashes[position[sf.index]].result()[1],
                    "table": sf.mapping.table, "format": sf.mapping.format} for sf in staged],
        "data_min_date": lo,
        "data_max_date": hi,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    _publish(out, processed_dir, written, tmp / "replaced")
    return IngestResult(summary, measured, int(summary["rows_quarantined"].sum()), manifest)


def _check_patterns(con: duckdb.DuckDBPyConnection, p: DeriveParams) -> None:
    for pattern in [r for r, _w in p.work_type_rules] + ([p.rework_pattern] if p.rework_pattern else []):
        try:
            con.execute("SELECT regexp_matches('', ?)", [pattern])
        except duckdb.Error as exc:
            raise IngestError(f"config/params.yaml: pattern {pattern!r} is not a valid regular "
                              f"expression ({_duckdb_message(exc)})") from exc


def _build_fx(con: duckdb.DuckDBPyConnection, reporting: str, supplied: bool) -> None:
    """Rates per currency; the reporting currency is always 1 whatever the file says."""
    rows = (f"SELECT currency, rate FROM {clean_rows('fx_rates')} WHERE currency <> {lit(reporting)}"
            if supplied else "SELECT NULL::VARCHAR AS currency, NULL::DOUBLE AS rate WHERE false")
    con.execute(f"CREATE TABLE fx AS SELECT currency, rate FROM ({rows}) "
                f"UNION ALL SELECT {lit(reporting)}, 1.0")
