"""Text cells to typed values, as SQL: the formats real exports use.

Each parser is a DuckDB macro, so one definition serves every file and table and
the heavy work stays in the engine. Two choices cannot be made per value and are
made per file and column from a sample (`detect_hints`): whether a lone comma is
a decimal comma (7,5 vs 1,234) and whether slashed dates are US month-first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from clientlens.intake.contract import Column
from clientlens.intake.readers.source import lit, q

HINT_SAMPLE_ROWS = 20_000
SLASHED_DATE = "\\d{1,2}/\\d{1,2}/\\d{4}"  # a date cl_date reads by its slash format alone

# Characters dropped from numbers: spaces of every kind (thousands), apostrophes
# (Swiss thousands) and currency signs.
_NUMBER_NOISE = "[\\s\u00a0\u202f\u2009''’$€£₽¥]"
# Durations in words (cl_duration). ISO 8601: days, then hours, minutes and seconds after
# the T; the smallest unit may have a fraction. Units: 2h 30m, 1.5 hrs, 45 min, 30s, and
# the Russian 2ч 30м / 2 ч 30 мин.
_NUM = "(\\d+(?:[.,]\\d+)?)"
_ISO_DURATION = (f"[Pp](?:{_NUM}[Dd])?(?:[Tt](?:{_NUM}[Hh])?(?:{_NUM}[Mm])?(?:{_NUM}[Ss])?)?")
_UNIT_DURATION = (f"(?:{_NUM} ?(?:h|hr|hrs|hour|hours|ч|час|часа|часов)\\.?)? ?"
                  f"(?:{_NUM} ?(?:m|min|mins|minute|minutes|м|мин)\\.?)? ?"
                  f"(?:{_NUM} ?(?:s|sec|secs|second|seconds|с|сек)\\.?)?")
# How many hours one unit of a duration column holds, by the unit an adapter gives it.
DURATION_UNITS = {"hours": 1, "minutes": 60, "seconds": 3600}

MACROS = f"""
CREATE OR REPLACE MACRO cl_text(x) AS nullif(trim(x), '');

CREATE OR REPLACE MACRO cl_num_clean(x) AS
    CASE WHEN regexp_replace(x, '{_NUMBER_NOISE}', '', 'g') LIKE '(%)'
         THEN '-' || trim(regexp_replace(x, '{_NUMBER_NOISE}', '', 'g'), '()')
         ELSE regexp_replace(x, '{_NUMBER_NOISE}', '', 'g') END;

CREATE OR REPLACE MACRO cl_num_text(s, dc) AS
    CASE
      WHEN contains(s, ',') AND contains(s, '.') THEN
        CASE WHEN strpos(reverse(s), ',') < strpos(reverse(s), '.')
             THEN replace(replace(s, '.', ''), ',', '.') ELSE replace(s, ',', '') END
      WHEN contains(s, ',') THEN
        CASE WHEN regexp_full_match(s, '[-+]?[1-9]\\d{{0,2}}(,\\d{{3}}){{2,}}') THEN replace(s, ',', '')
             WHEN NOT dc AND regexp_full_match(s, '[-+]?[1-9]\\d{{0,2}}(,\\d{{3}})+') THEN replace(s, ',', '')
             ELSE replace(s, ',', '.') END
      WHEN dc AND regexp_full_match(s, '[-+]?[1-9]\\d{{0,2}}(\\.\\d{{3}})+') THEN replace(s, '.', '')
      ELSE s END;

CREATE OR REPLACE MACRO cl_finite(v) AS CASE WHEN isfinite(v) THEN v END;

-- x is the cell, s the same cell through cl_num_clean (computed once, a layer below).
CREATE OR REPLACE MACRO cl_number(x, s, dc) AS cl_finite(
    CASE WHEN NOT dc THEN coalesce(try_cast(x AS DOUBLE), try_cast(cl_num_text(s, dc) AS DOUBLE))
         ELSE try_cast(cl_num_text(s, dc) AS DOUBLE) END);

-- A duration written in words: ISO 8601 (PT1H30M, P1DT2H: a day is cl_day_hours(), the
-- hours_per_day parameter, NULL where none is given) or units (2h 30m, 45m, 1h30m, 90 min).
-- ISO months and years (P1M, P1Y) are no fixed number of hours, so they are not read.
CREATE OR REPLACE MACRO cl_duration_part(x, pattern, k) AS
    coalesce(try_cast(replace(nullif(regexp_extract(x, pattern, k), ''), ',', '.') AS DOUBLE), 0);

CREATE OR REPLACE MACRO cl_duration(x) AS
    CASE WHEN NOT regexp_matches(x, '\\d') THEN NULL
         WHEN regexp_full_match(x, '{_ISO_DURATION}') AND NOT regexp_matches(x, '[Tt]$') THEN
           CASE WHEN regexp_extract(x, '{_ISO_DURATION}', 1) = '' THEN 0
                ELSE cl_duration_part(x, '{_ISO_DURATION}', 1) * cl_day_hours() END
           + cl_duration_part(x, '{_ISO_DURATION}', 2)
           + cl_duration_part(x, '{_ISO_DURATION}', 3) / 60
           + cl_duration_part(x, '{_ISO_DURATION}', 4) / 3600
         WHEN regexp_full_match(lower(x), '{_UNIT_DURATION}') THEN
           cl_duration_part(lower(x), '{_UNIT_DURATION}', 1)
           + cl_duration_part(lower(x), '{_UNIT_DURATION}', 2) / 60
           + cl_duration_part(lower(x), '{_UNIT_DURATION}', 3) / 3600
    END;

-- Durations in words only where the cell is no number (1e-1 is one), for the CSV
-- parser's typed read agrees with cl_number on numbers (parse.typed_reads).
CREATE OR REPLACE MACRO cl_hours(x, s, dc) AS
    CASE WHEN contains(x, ':') THEN
        CASE WHEN regexp_full_match(x, '\\d+:\\d{{1,2}}(:\\d{{1,2}})?')
             THEN try_cast(split_part(x, ':', 1) AS DOUBLE)
                  + try_cast(split_part(x, ':', 2) AS DOUBLE) / 60
                  + coalesce(try_cast(split_part(x, ':', 3) AS DOUBLE), 0) / 3600 END
         ELSE coalesce(cl_number(x, s, dc), CASE WHEN regexp_matches(x, '[A-Za-zА-Яа-я]')
                                                 THEN cl_finite(cl_duration(x)) END) END;

-- A cell in minutes or seconds (FileMapping.units), as hours.
CREATE OR REPLACE MACRO cl_hours_from(x, s, dc, per_hour) AS cl_number(x, s, dc) / per_hour;

CREATE OR REPLACE MACRO cl_date(x, slash_fmt) AS coalesce(
    try_cast(x AS DATE),
    CASE
      WHEN regexp_matches(x, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}[ T]') THEN try_cast(try_cast(x AS TIMESTAMP) AS DATE)
      WHEN regexp_matches(x, '^\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{4}}( |$)') THEN
        try_cast(try_strptime(split_part(x, ' ', 1), '%d.%m.%Y') AS DATE)
      WHEN regexp_matches(x, '^\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{2}}$') THEN
        try_cast(try_strptime(x, '%d.%m.%y') AS DATE)
      WHEN regexp_matches(x, '^\\d{{1,2}}/\\d{{1,2}}/\\d{{4}}( |$)') THEN
        try_cast(try_strptime(split_part(x, ' ', 1), slash_fmt) AS DATE)
      WHEN regexp_matches(x, '^\\d{{1,2}}/[A-Za-z]{{3}}/\\d{{2}}( |$)') THEN
        try_cast(try_strptime(split_part(x, ' ', 1), '%d/%b/%y') AS DATE)
      WHEN regexp_matches(x, '^\\d{{4}}/\\d{{1,2}}/\\d{{1,2}}( |$)') THEN
        try_cast(try_strptime(split_part(x, ' ', 1), '%Y/%m/%d') AS DATE)
    END);

CREATE OR REPLACE MACRO cl_timestamp(x, slash_fmt) AS coalesce(
    try_cast(x AS TIMESTAMP),
    try_strptime(x, ['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d/%b/%y %I:%M %p', '%d/%b/%y %H:%M',
                     '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M']),
    try_strptime(x, [slash_fmt || ' %H:%M:%S', slash_fmt || ' %H:%M', slash_fmt || ' %I:%M %p',
                     slash_fmt || ' %I:%M:%S %p']),
    try_cast(cl_date(x, slash_fmt) AS TIMESTAMP));

-- A 12-hour time first: DuckDB's TIME cast reads '01:00:00 PM' as 01:00, dropping the PM.
-- (A cell without an M cannot be one: the test spares most cells the regex.)
CREATE OR REPLACE MACRO cl_time(x) AS
    CASE WHEN (contains(x, 'M') OR contains(x, 'm')) AND regexp_matches(x, '\\d\\s*[AaPp]\\.?[Mm]\\.?$')
         THEN try_cast(try_strptime(upper(replace(x, '.', '')),
                                    ['%I:%M %p', '%I:%M:%S %p', '%I:%M%p', '%I:%M:%S%p']) AS TIME)
         ELSE coalesce(try_cast(x AS TIME), try_cast(try_strptime(x, '%H.%M') AS TIME),
                       try_cast(try_cast(x AS TIMESTAMP) AS TIME)) END;

-- Simple CASE rather than IN (...): DuckDB plans a long IN list as a join per column.
CREATE OR REPLACE MACRO cl_bool(x) AS
    CASE lower(x) WHEN 'true' THEN true WHEN 'yes' THEN true WHEN '1' THEN true WHEN 't' THEN true
         WHEN 'y' THEN true WHEN 'x' THEN true WHEN 'да' THEN true WHEN 'д' THEN true
         WHEN 'истина' THEN true WHEN '+' THEN true WHEN 'billable' THEN true
         WHEN 'false' THEN false WHEN 'no' THEN false WHEN '0' THEN false WHEN 'f' THEN false
         WHEN 'n' THEN false WHEN 'нет' THEN false WHEN 'н' THEN false WHEN 'ложь' THEN false
         WHEN '-' THEN false WHEN 'non-billable' THEN false END;

CREATE OR REPLACE MACRO cl_quarter(x) AS
    CASE WHEN regexp_full_match(upper(regexp_replace(x, '[\\s_/-]', '', 'g')), '\\d{{4}}Q[1-4]')
         THEN upper(regexp_replace(x, '[\\s_/-]', '', 'g'))
         WHEN regexp_full_match(upper(regexp_replace(x, '[\\s_/-]', '', 'g')), 'Q[1-4]\\d{{4}}')
         THEN substr(upper(regexp_replace(x, '[\\s_/-]', '', 'g')), 3, 4) || 'Q'
              || substr(upper(regexp_replace(x, '[\\s_/-]', '', 'g')), 2, 1) END;

CREATE OR REPLACE MACRO cl_currency(x) AS
    CASE WHEN regexp_full_match(x, '[A-Z]{{3}}') THEN x
         ELSE CASE upper(x) WHEN '$' THEN 'USD' WHEN 'US$' THEN 'USD' WHEN '€' THEN 'EUR'
              WHEN '£' THEN 'GBP' WHEN '₽' THEN 'RUB' WHEN 'РУБ' THEN 'RUB' WHEN 'РУБ.' THEN 'RUB'
              WHEN 'Р.' THEN 'RUB' WHEN 'РУБЛЬ' THEN 'RUB' WHEN 'РУБЛИ' THEN 'RUB' WHEN 'RUR' THEN 'RUB'
              WHEN 'РОССИЙСКИЙ РУБЛЬ' THEN 'RUB'
              ELSE nullif(regexp_extract(upper(x), '(?:^|[^A-Z])([A-Z]{{3}})\\s*\\)?$', 1), '') END END;
"""

# Russian and common English spellings accepted for enum values, normalised the
# way `enum_sql` normalises a cell (lower case, spaces and hyphens to _).
ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "project": ("проект", "проектный", "fixed_price", "fixed"),
    "retainer": ("ретейнер", "ретайнер", "абонемент", "абонентский", "абонентское_обслуживание",
                 "t&m", "time_and_materials"),
    "support": ("поддержка", "сопровождение", "техподдержка", "maintenance", "sla"),
    "change_request": ("change", "cr", "изменение", "запрос_на_изменение", "доработка"),
    "incident": ("инцидент", "авария", "bug", "сбой"),
    "estimate_request": ("estimate", "оценка", "запрос_оценки", "presale"),
    "question": ("вопрос", "консультация"),
    "low": ("низкий",),
    "normal": ("medium", "средний", "обычный", "нормальный"),
    "high": ("высокий",),
    "urgent": ("срочный", "критический", "critical", "blocker", "highest"),
    "in_progress": ("в_работе", "wip", "in_work"),
    "delivered": ("сдано", "передано", "done"),
    "launched": ("запущено", "запущен", "live", "released", "в_продакшене"),
    "shelved": ("в_стол", "отложено", "заморожено", "on_hold"),
    "feature": ("features", "функционал", "разработка", "development"),
    "ux": ("ui", "ui/ux", "ux/ui", "дизайн", "design"),
    "stability": ("стабильность", "стабилизация", "bugfix"),
    "presale": ("пресейл", "предпродажа"),
    "communication": ("коммуникации", "общение", "meetings"),
    "insourcing": ("in_house", "inhouse", "свой_it", "инсорсинг"),
    "churn": ("отток", "ушел", "ушёл", "lost"),
    "parted_ways": ("расстались", "parted"),
    "account_manager": ("am", "аккаунт", "аккаунт_менеджер", "account"),
    "project_manager": ("pm", "менеджер_проекта", "руководитель_проекта"),
    "technical": ("tech", "developer", "engineer", "разработчик", "технический", "техспециалист"),
    "other": ("другое", "прочее"),
    "nps": (), "csat": (),
}

PARSE_REASONS = {
    "date": "not a date", "datetime": "not a date and time", "time": "not a time (HH:MM)",
    "float": "not a number", "money": "not a number", "int": "not a whole number",
    "bool": "not yes/no", "quarter": "not a quarter like 2025Q3",
}


@dataclass(frozen=True)
class Hints:
    """Per-file, per-column reading choices made from a sample."""
    decimal_comma: frozenset[str] = frozenset()
    day_first: frozenset[str] = frozenset()  # slashed dates read as DD/MM/YYYY
    slashed: frozenset[str] = frozenset()  # dates mostly written D/M/YYYY or M/D/YYYY


def install_macros(con: duckdb.DuckDBPyConnection, hours_per_day: float | None = None) -> None:
    """The parsing macros on a connection. `hours_per_day` (DeriveParams) is the hours of a
    day in an ISO 8601 duration (P1D); without it such a duration is not read."""
    day = "NULL::DOUBLE" if hours_per_day is None else f"CAST({float(hours_per_day)!r} AS DOUBLE)"
    con.execute(f"CREATE OR REPLACE MACRO cl_day_hours() AS {day}")
    for statement in MACROS.split(";"):
        if statement.strip():
            con.execute(statement)


def enum_sql(x: str, values: tuple[str, ...]) -> str:
    key = f"regexp_replace(lower({x}), '[\\s-]+', '_', 'g')"
    whens = []
    for value in values:
        for spelling in (value, *ENUM_SYNONYMS.get(value, ())):
            whens.append(f"WHEN {lit(spelling)} THEN {lit(value)}")
    return f"(CASE {key} {' '.join(whens)} END)"


def is_numeric(col: Column) -> bool:
    return col.type in ("float", "money", "int")


def cleaned_number_sql(col: Column, x: str, hints: Hints) -> str:
    """The cell through cl_num_clean, only where the plain cast will not do (regexes are dear)."""
    if col.name in hints.decimal_comma:
        return f"cl_num_clean({x})"
    return f"CASE WHEN try_cast({x} AS DOUBLE) IS NULL THEN cl_num_clean({x}) END"


def typed_sql(col: Column, x: str, hints: Hints, cleaned: str = "") -> str:
    """SQL turning the trimmed text `x` of a column into its contract type (NULL if it cannot).

    Numbers also take `cleaned`: the cell through cl_num_clean, computed in a layer
    below so the long number expression does not repeat the cleaning.
    """
    dc = "true" if col.name in hints.decimal_comma else "false"
    s = cleaned or f"cl_num_clean({x})"
    slash = lit("%d/%m/%Y" if col.name in hints.day_first else "%m/%d/%Y")
    if col.name == "currency":
        return f"cl_currency({x})"
    if col.type in ("float", "money"):
        if col.unit in ("minutes", "seconds"):
            return f"cl_hours_from({x}, {s}, {dc}, {DURATION_UNITS[col.unit]})"
        return f"cl_hours({x}, {s}, {dc})" if col.unit == "hours" else f"cl_number({x}, {s}, {dc})"
    if col.type == "int":
        n = f"cl_number({x}, {s}, {dc})"
        return f"try_cast(CASE WHEN {n} = round({n}) THEN {n} END AS BIGINT)"
    if col.type == "date":
        if col.name in hints.slashed:
            # What cl_date gives such a date, without first failing the ISO cast (which
            # wants the year first) and three patterns: 0.6 microseconds a row.
            return (f"CASE WHEN regexp_full_match({x}, '{SLASHED_DATE}') THEN "
                    f"try_cast(try_strptime({x}, {slash}) AS DATE) ELSE cl_date({x}, {slash}) END")
        return f"cl_date({x}, {slash})"
    if col.type == "datetime":
        return f"cl_timestamp({x}, {slash})"
    if col.type == "time":
        return f"cl_time({x})"
    if col.type == "bool":
        return f"cl_bool({x})"
    if col.type == "enum":
        return enum_sql(x, col.values)
    if col.type == "quarter":
        return f"cl_quarter({x})"
    return x


def parses_padded_as_trimmed(col: Column) -> bool:
    """Whether typed_sql gives a cell padded with spaces the value of its trimmed text, or
    NULL, never another value: dates (cl_date: the ISO cast skips spaces, the patterns are
    anchored), times (cl_time: the TIME cast refuses spaces, the 12-hour patterns are
    anchored at the end), currencies (cl_currency: a code at the end, spaces allowed) and
    enums (enum_sql: a padded key gains a '_' that no spelling has)."""
    return col.type in ("date", "time", "enum") or col.name == "currency"


def parse_reason(col: Column) -> str:
    if col.name == "currency":
        return "not a currency code"
    if col.type == "enum":
        return "not one of " + ", ".join(col.values)
    return PARSE_REASONS.get(col.type, "not readable")


# Contract types DuckDB's CSV parser may type on its own: on every value it accepts it
# agrees with the text parsers above (tests/test_readers.py checks this), and a value it
# refuses goes to the text path. Dates and timestamps are not here: the CSV parser
# accepts '2024-01-05x' as a date, the text path rightly does not. Nor are times: it reads
# '01:00:00 PM' as 01:00, so a 12-hour time past the sample would be misread without a word.
TYPED_READS = {"float": "DOUBLE", "money": "DOUBLE", "int": "DOUBLE", "bool": "BOOLEAN"}

SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "money": "DOUBLE",
             "date": "DATE", "datetime": "TIMESTAMP", "time": "TIME", "bool": "BOOLEAN",
             "enum": "VARCHAR", "quarter": "VARCHAR"}


def typed_reads(con: duckdb.DuckDBPyConnection, sample: str, columns: dict[str, tuple[Column, str]],
                hints: Hints) -> dict[str, str]:
    """Columns worth reading typed: canonical name -> DuckDB type of the read.

    A column qualifies when its cell is a file column used by nothing else, its type is
    in TYPED_READS, it is not written with a decimal comma, and DuckDB casts every
    value of the sample. Later values that do not cast are not lost: the typed read
    logs them and their rows go through the text path.
    """
    refs: dict[str, int] = {}
    for _col, expr in columns.values():
        for ref in re.findall(r'"c\d+"', expr):
            refs[ref] = refs.get(ref, 0) + 1
    # A column in minutes or seconds is read as text: the parser would give its number as hours.
    candidates = {name: (expr, TYPED_READS[col.type]) for name, (col, expr) in columns.items()
                  if col.type in TYPED_READS and name != "currency" and name not in hints.decimal_comma
                  and DURATION_UNITS.get(col.unit, 1) == 1
                  and re.fullmatch(r'"c\d+"', expr) and refs[expr] == 1}
    if not candidates:
        return {}
    checks = [f"count(*) FILTER (WHERE cl_text({e}) IS NOT NULL AND try_cast({e} AS {t}) IS NULL)"
              for e, t in candidates.values()]
    misses = con.execute(f"SELECT {', '.join(checks)} FROM {sample}").fetchall()[0]
    return {name: t for (name, (_e, t)), miss in zip(candidates.items(), misses) if miss == 0}


MEMO_MAX_VALUES = 64


def _sql_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return lit(value)


def sample_memo(con: duckdb.DuckDBPyConnection, sample: str, columns: dict[str, tuple[Column, str]],
                hints: Hints, read_types: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """For text columns of few distinct values (enums, yes/no, currencies): each value of the
    sample with its parsed value as a SQL literal, so the stage parses them by a lookup and
    keeps the regexes for values the sample did not have. The literals come from typed_sql
    itself, so the result is the same either way."""
    memo: dict[str, list[tuple[str, str]]] = {}
    for name, (col, expr) in columns.items():
        if name in read_types or not (col.type in ("enum", "bool") or name == "currency"):
            continue
        rows = con.execute(
            f"SELECT x, {typed_sql(col, 'x', hints)} FROM (SELECT DISTINCT cl_text({expr}) AS x "
            f"FROM {sample}) WHERE x IS NOT NULL ORDER BY x LIMIT {MEMO_MAX_VALUES + 1}").fetchall()
        if 0 < len(rows) <= MEMO_MAX_VALUES:
            memo[name] = [(lit(x), _sql_literal(v)) for x, v in rows]
    return memo


def memo_sql(x: str, pairs: list[tuple[str, str]], otherwise: str) -> str:
    return f"(CASE {x} {' '.join(f'WHEN {a} THEN {b}' for a, b in pairs)} ELSE {otherwise} END)"


def detect_hints(con: duckdb.DuckDBPyConnection, relation: str,
                 columns: dict[str, tuple[Column, str]], limit: bool = True) -> Hints:
    """Decimal comma and day-first dates per column, judged on the first rows of a file.

    `columns` maps a column name to its contract column and raw SQL expression.
    A comma is decimal when more values end in ',d' / ',ddd d' patterns that
    cannot be thousands than values end in a decimal point; slashed dates are
    day-first only when some day part exceeds 12 and no month part does.
    """
    rows = f"(SELECT * FROM {relation} LIMIT {HINT_SAMPLE_ROWS})" if limit else relation
    if limit and any(not re.fullmatch(r'"c\d+"', expr) for _col, expr in columns.values()):
        # An export's mapping may compute a column (Xero's amount net of tax, a status read
        # as paid): each check repeats it, and DuckDB plans the repeats anew, seconds for
        # a few rows. The sample is computed once instead.
        con.execute(f"CREATE OR REPLACE TEMP TABLE hint_sample AS SELECT "
                    f"{', '.join(f'{expr} AS {q(name)}' for name, (_col, expr) in columns.items())} "
                    f"FROM {rows}")
        rows = "hint_sample"
        columns = {name: (col, q(name)) for name, (col, _e) in columns.items()}

    def counts(checks: list[tuple[str, str, str]]) -> dict[tuple[str, str], int]:
        if not checks:
            return {}
        values = con.execute(f"SELECT {', '.join(s for _n, _k, s in checks)} FROM {rows}").fetchall()[0]
        return {(n, k): v for (n, k, _s), v in zip(checks, values)}

    def number_check(name: str, expr: str, kind: str, mark: str) -> tuple[str, str, str]:
        x = f"cl_num_clean(cl_text({expr}))"
        m = "\\" + mark if mark == "." else mark
        return (name, kind, f"count(*) FILTER (WHERE contains({expr}, '{mark}') AND "
                f"regexp_matches({x}, '{m}\\d*$') AND NOT "
                f"regexp_full_match({x}, '[-+]?[1-9]\\d{{0,2}}({m}\\d{{3}})+'))")

    checks: list[tuple[str, str, str]] = []
    for name, (col, expr) in columns.items():
        if col.type in ("float", "money", "int"):
            checks.append(number_check(name, expr, "comma", ","))
        elif col.type in ("date", "datetime"):
            t = f"trim({expr})"
            checks.append((name, "dmy", f"count(*) FILTER (WHERE contains({expr}, '/') AND "
                           f"regexp_matches({t}, '^(1[3-9]|2\\d|3[01])/\\d{{1,2}}/\\d{{4}}'))"))
            checks.append((name, "mdy", f"count(*) FILTER (WHERE contains({expr}, '/') AND "
                           f"regexp_matches({t}, '^\\d{{1,2}}/(1[3-9]|2\\d|3[01])/\\d{{4}}'))"))
            checks.append((name, "slashed", f"count(*) FILTER (WHERE regexp_full_match({t}, '{SLASHED_DATE}'))"))
            checks.append((name, "dated", f"count({t})"))
    got = counts(checks)
    # Decimal points are counted only where commas were seen: with none, the answer is no.
    got.update(counts([number_check(n, columns[n][1], "point", ".") for (n, k), v in got.items()
                       if k == "comma" and v > 0]))
    comma = frozenset(n for (n, k) in got if k == "comma" and got[(n, "comma")] > got.get((n, "point"), 0))
    day_first = frozenset(n for (n, k) in got if k == "dmy" and got[(n, "dmy")] > 0
                          and got[(n, "mdy")] == 0)
    slashed = frozenset(n for (n, k) in got if k == "slashed" and got[(n, "slashed")] * 2 > got[(n, "dated")])
    return Hints(comma, day_first, slashed)
