"""Contract rules as SQL: one pass per file types every cell and lists its broken rules.

The stage query reads a file's relation once and yields, per record, the typed
canonical columns plus `_viol`: a list of (column, value, reason, order) for
every rule the row breaks, NULL for a clean row. Rules that need other rows
(duplicate keys, references to other tables) run later on these stages.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from clientlens.intake.contract import Column, Table
from clientlens.intake.readers.adapters import FileMapping
from clientlens.intake.readers.parse import (
    DURATION_UNITS,
    SQL_TYPES,
    Hints,
    cleaned_number_sql,
    is_numeric,
    memo_sql,
    parse_reason,
    parses_padded_as_trimmed,
    typed_sql,
)
from clientlens.intake.readers.source import CONTROL_CHARACTERS, RawSource, lit, q

VIOLATION_TYPE = "STRUCT(c VARCHAR, v VARCHAR, w VARCHAR, o INTEGER)[]"

# Columns no export can carry in the contract's terms but derivation needs.
HIDDEN_COLUMNS = (
    Column("_work_text", "str", "Task, tags and activity text of an adapter row."),
    Column("_billed_hours", "float", "Hours billed (Tempo).", min=0, unit="hours"),
)

# Columns where 0 is as wrong as a negative number, with the words for each.
STRICTLY_POSITIVE = {
    ("time_entries", "hours"): ("zero hours", "negative hours"),
    ("fx_rates", "rate"): ("rate is 0", "negative rate"),
}
OVERFLOW_COLUMN = "(extra fields)"


def raw_name(column: str) -> str:
    return q(f"raw:{column}")


def stage_columns(table: Table) -> tuple[Column, ...]:
    return table.columns + HIDDEN_COLUMNS


def file_columns(table: Table, mapping: FileMapping) -> tuple[Column, ...]:
    """The stage columns as a file writes them: a duration the export gives in minutes or
    seconds (FileMapping.units) carries that unit, so it is parsed and read accordingly."""
    return tuple(dataclasses.replace(c, unit=mapping.units[c.name]) if c.name in mapping.units else c
                 for c in stage_columns(table))


def mapped_columns(table: Table, mapping: FileMapping) -> dict[str, tuple[Column, str]]:
    """Each stage column the file maps, as it writes it, with its SQL expression."""
    exprs = {**mapping.columns, **mapping.hidden}
    return {c.name: (c, exprs[c.name]) for c in file_columns(table, mapping) if c.name in exprs}


def _violation(column: str, value: str, reason: str, order: int, reason_sql: str = "") -> str:
    return f"{{'c': {lit(column)}, 'v': {value}, 'w': {reason_sql or lit(reason)}, 'o': {order}}}"


def control_cells(columns: tuple[Column, ...], exprs: dict[str, str], source: RawSource) -> list[str]:
    """For each field of the file, mapped or not, a SQL column over the file's relation: the
    violation struct where the field holds a control character, else NULL. A record holding
    one is damaged, whichever of its cells shows it. The column is named as the contract
    names it where a column reads the field as it is, else by its header; the value shows
    each control character as U+FFFD, so the quarantine holds none."""
    named: dict[str, tuple[str, int]] = {}
    for index, col in enumerate(columns):
        if col.name in exprs:
            named.setdefault(exprs[col.name], (col.name.lstrip("_"), index * 10 + 6))
    fields = [(source.column(k), header or f"column {k + 1}") for k, header in enumerate(source.headers)]
    fields += [(q(c), OVERFLOW_COLUMN) for c in source.overflow]
    pattern = lit(CONTROL_CHARACTERS)
    out = []
    for k, (field, header) in enumerate(fields):
        name, order = named.get(field, (header, 9000 + k))
        reason = (f"printf('control character U+%04X in the cell', "
                  f"unicode(regexp_extract({field}, {pattern})))")
        value = f"regexp_replace(cl_text({field}), {pattern}, '\ufffd', 'g')"
        out.append(f"CASE WHEN regexp_matches({field}, {pattern}) THEN "
                   f"{_violation(name, value, '', order, reason)} END AS {q(f'control:{k}')}")
    return out


def column_rules(table: Table, col: Column, order: int, as_of: dt.date) -> list[tuple[str, str]]:
    """(predicate, violation struct) for each single-cell rule of a column."""
    raw, typed = raw_name(col.name), q(col.name)
    name = col.name.lstrip("_")
    out: list[tuple[str, str]] = []
    if not col.nullable:
        out.append((f"{raw} IS NULL", _violation(name, raw, f"{name} is empty", order)))
    if col.type != "str" or col.name == "currency":
        out.append((f"{raw} IS NOT NULL AND {typed} IS NULL",
                    _violation(name, raw, parse_reason(col), order + 1)))
    positive = STRICTLY_POSITIVE.get((table.name, col.name))
    if positive:
        out.append((f"{typed} = 0", _violation(name, raw, positive[0], order + 2)))
        out.append((f"{typed} < 0", _violation(name, raw, positive[1], order + 2)))
    elif col.min is not None:
        out.append((f"{typed} < {col.min!r}", _violation(name, raw, f"{name} below {col.min:g}",
                                                          order + 2)))
    if col.max is not None:
        reason = (f"more than {col.max:g} hours" if col.unit in DURATION_UNITS
                  else f"{name} above {col.max:g}")
        out.append((f"{typed} > {col.max!r}", _violation(name, raw, reason, order + 3)))
    if col.not_in_future:
        out.append((f"CAST({typed} AS DATE) > DATE {lit(as_of.isoformat())}",
                    _violation(name, raw, f"{name} in the future (after {as_of.isoformat()})",
                               order + 4)))
    return out


def _read_typed_sql(col: Column, raw: str) -> str:
    """The canonical value of a cell DuckDB's CSV parser already typed (parse.TYPED_READS):
    the same value typed_sql gives the cell's text."""
    if col.type in ("float", "money"):
        return f"cl_finite({raw})"
    if col.type == "int":
        return f"try_cast(CASE WHEN cl_finite({raw}) = round({raw}) THEN {raw} END AS BIGINT)"
    return raw


def stage_sql(table: Table, mapping: FileMapping, source: RawSource, hints: Hints,
              as_of: dt.date, relation: str, read_types: dict[str, str] | None = None,
              memo: dict[str, list[tuple[str, str]]] | None = None, controls: bool = True) -> str:
    """SELECT yielding [_row,] typed columns, _blank and _viol for every record of a file.

    With `read_types` (canonical column -> type DuckDB read it as, see csv_reader.
    typed_relation) the relation is a typed read, and the stage gives `_suspect` instead
    of `_viol`: true where the row breaks a rule. Raw texts of typed cells are gone, so
    such rows are staged again through the text path, which names value and reason.
    `memo` (parse.sample_memo) gives the parsed value of frequent texts of some columns.
    With `controls` the text path looks for control characters in every field
    (control_cells); ingest leaves it out for a text file whose bytes hold none.
    """
    columns = file_columns(table, mapping)
    exprs = {**mapping.columns, **mapping.hidden}
    typed_mode = read_types is not None
    read_types = read_types or {}
    typed_fields = {exprs[n] for n in read_types}
    every_field = [source.column(i) for i in range(len(source.headers))] + [q(c) for c in source.overflow]

    def raw_sql(c: Column) -> str:
        # On the typed path a padded date, currency or enum cell parses as its trimmed text
        # does, or not at all, which flags the row for the text path: their trims (a third
        # of a time export's, 8% of its staging) are left out. The text path trims every
        # cell, for the quarantine quotes them.
        if c.name in read_types or (typed_mode and parses_padded_as_trimmed(c)):
            return exprs[c.name]
        return f"cl_text({exprs[c.name]})"

    raw = (["_row"] if source.row_column else []) + [
        f"{raw_sql(c)} AS {raw_name(c.name)}" for c in columns if c.name in exprs]
    overflow = [q(c) for c in source.overflow]
    extra = (f"CASE WHEN coalesce({', '.join(overflow)}) IS NOT NULL THEN "
             f"nullif(concat_ws(' | ', {', '.join(f'cl_text({c})' for c in overflow)}), '') END"
             if overflow else "NULL::VARCHAR")
    raw.append(f"{extra} AS _extra")
    if typed_mode:
        # In a projection DuckDB evaluates every term of an AND on every row. A typed cell
        # of a required column (no trim to test it) settles almost every row, so the rest
        # runs on the few it leaves: on a 3.9-million-row Harvest export 0.9 of 6 CPU-seconds
        # less.
        required = {exprs[c] for c in table.required_columns if c in exprs}
        tests = [f"{f} IS NULL" if f in typed_fields else f"cl_text({f}) IS NULL"
                 for f in sorted(every_field, key=lambda f: (f not in typed_fields, f not in required))]
        blank = (f"CASE WHEN NOT {tests[0]} THEN false ELSE {' AND '.join(tests)} END"
                 if tests else "true")
    else:
        blank = (f"coalesce({', '.join(f'cl_text({c})' for c in every_field)}) IS NULL"
                 if every_field else "true")
    if mapping.skip:
        # A row the export says is no record of this table (mapping.skip) is staged as blank:
        # ingest counts it by its reason (skipped_rows) instead.
        blank = f"({blank}) OR coalesce({' OR '.join(f'({p})' for p, _r in mapping.skip)}, false)"
    raw.append(f"({blank}) AS _blank")
    # Columns the file lacks are typed NULLs with no rules: a shorter query plans faster.
    present = [c for c in columns if c.name in exprs]
    cleaned = [f"{cleaned_number_sql(c, raw_name(c.name), hints)} AS {q('num:' + c.name)}"
               for c in present if is_numeric(c) and c.name not in read_types]

    def value(c: Column) -> str:
        if c not in present:
            return f"NULL::{SQL_TYPES[c.type]}"
        if c.name in read_types:
            return _read_typed_sql(c, raw_name(c.name))
        number = q("num:" + c.name) if is_numeric(c) else ""
        parsed = typed_sql(c, raw_name(c.name), hints, number)
        return memo_sql(raw_name(c.name), memo[c.name], parsed) if c.name in (memo or {}) else parsed

    typed = [f"CAST({value(c)} AS {SQL_TYPES[c.type]}) AS {q(c.name)}" for c in columns]

    rules: list[tuple[str, str]] = []
    for index, col in enumerate(columns):
        if col in present:
            rules += column_rules(table, col, index * 10, as_of)
    for earlier, later in table.ordered_dates:
        if earlier not in exprs or later not in exprs:
            continue
        order = [c.name for c in columns].index(later) * 10 + 5
        rules.append((f"{q(later)} < {q(earlier)}",
                      _violation(later, raw_name(later), f"{later} before {earlier}", order)))
    for column, other, values in table.required_when:
        if other not in exprs:
            continue
        order = [c.name for c in columns].index(column) * 10
        for value in values:
            empty = f"{raw_name(column)} IS NULL" if column in exprs else "true"
            rules.append((f"{q(other)} = {lit(value)} AND {empty}",
                          _violation(column, "NULL::VARCHAR", f"{column} is empty while {other} is {value}",
                                     order)))
    rules.append(("_extra IS NOT NULL",
                  _violation(OVERFLOW_COLUMN, "_extra", "more fields than the header", 9999)))
    if controls and not typed_mode:
        # The typed read leaves this to the line scan of ingest (sniff.scan_bytes), which
        # sends the lines holding a control character here, and spares the text path this
        # pattern on every cell where the file's bytes hold none.
        cells = control_cells(columns, exprs, source)
        raw += cells
        rules += [(f"{q(f'control:{k}')} IS NOT NULL", q(f"control:{k}")) for k in range(len(cells))]
    any_broken = " OR ".join(f"({p})" for p, _v in rules)
    if typed_mode:
        flag = f"coalesce(NOT _blank AND ({any_broken}), false) AS _suspect"
    else:
        listed = ", ".join(f"CASE WHEN {p} THEN {v} END" for p, v in rules)
        flag = (f"CAST(CASE WHEN {any_broken} THEN list_filter([{listed}], lambda x: x IS NOT NULL) END "
                f"AS {VIOLATION_TYPE}) AS _viol")
    keep = (["_row"] if source.row_column else []) + [q(c.name) for c in columns] + ["_blank", flag]
    base = f"SELECT {', '.join(raw)} FROM {relation}"
    if cleaned:
        base = f"SELECT *, {', '.join(cleaned)} FROM ({base})"
    return f"SELECT {', '.join(keep)} FROM (SELECT *, {', '.join(typed)} FROM ({base}))"
