"""The accepted rows of a table as its canonical output: converted, resolved, filled in.

Money is converted to the reporting currency (the original `currency` stays),
client names are resolved to client ids, missing ids are made from file and row,
and time entries get every derived column (billable, amounts, after-hours, work
type, rework) from the rules in config/params.yaml.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from clientlens.intake.contract import TABLES, Table
from clientlens.intake.readers.parse import SQL_TYPES
from clientlens.intake.readers.source import lit, q
from clientlens.parameters import Params


@dataclass(frozen=True)
class DeriveParams:
    reporting_currency: str
    office_start: dt.time
    office_end: dt.time
    work_type_rules: tuple[tuple[str, str], ...]  # (pattern, work_type), first match wins
    rework_pattern: str
    hours_per_day: float  # the hours of a day in an ISO 8601 duration (P1D) of a time export
    unnamed_currency: str  # under reporting_currency auto, when no export names a currency


def derive_params(params: Params) -> DeriveParams:
    """The derivation settings of the run's checked parameters."""
    return DeriveParams(params.reporting_currency, params.office_hours.start, params.office_hours.end,
                        tuple((rule.pattern, rule.work_type) for rule in params.work_type_rules),
                        params.rework_pattern, hours_per_day=params.hours_per_day,
                        unnamed_currency=params.unnamed_currency)


@dataclass(frozen=True)
class StageFacts:
    """What the statistics of a table's stage files prove of every staged row (see
    ingest.stage_facts): the columns never NULL, and the columns with one value wherever
    they are not NULL (the value, or None for a column NULL in every row). The time-entry
    select leaves out the fallbacks such columns can never reach, so the check that a clean
    export needs no change reads the few columns it could change, not a dozen."""
    never_null: frozenset[str] = frozenset()
    one_value: Mapping[str, Any] = field(default_factory=dict)

    def only(self, column: str, value: Any) -> bool:
        """Whether every non-NULL value of `column` is `value` (true of a column always NULL)."""
        return column in self.one_value and self.one_value[column] in (None, value)


def clean_rows(table: str) -> str:
    """SQL of a table's rows that broke no rule (so far).

    An anti join with the quarantine, not a correlated NOT EXISTS: DuckDB would decorrelate
    that into a hash table of every row's (file, row) of the table, which at a hundred
    million time entries asks for more memory in one piece than ingest's limit allows.
    """
    return (f"(SELECT x.* FROM {q('t_' + table)} x ANTI JOIN "
            f"(SELECT file_no, row FROM quarantine_rows WHERE tbl = {lit(table)}) r "
            f"ON r.file_no = x._file AND r.row = x._row WHERE NOT x._blank)")


def at_word_start(pattern: str) -> str:
    """A rule's pattern matched from the start of a word only, so the stem "ui" finds
    "UI review" and "ui-kit" but not "build", and "оценк" finds "Оценка" (any letter or
    digit of any script counts as inside a word)."""
    return f"(?:^|[^\\pL\\pN])(?:{pattern})"


def _work_type_case(text: str, rules: tuple[tuple[str, str], ...]) -> str:
    if not rules:
        return "NULL::VARCHAR"
    whens = " ".join(f"WHEN regexp_matches({text}, {lit(at_word_start(p))}, 'i') THEN {lit(w)}"
                     for p, w in rules)
    return f"(CASE {whens} END)"


def _typed(expr: str, table: Table, column: str) -> str:
    return f"CAST({expr} AS {SQL_TYPES[table.column(column).type]})"


def _cast(expr: str, table: Table, column: str) -> str:
    return f"{_typed(expr, table, column)} AS {q(column)}"


# A double holds an amount read from an export (up to 6 decimals) or a rate (up to 9) to
# within one part in 2^53, and a product of two such to within a few: scaled up by more
# than that error, a half cent the double shows as 706.33499999999992 reads as the 706.335
# it is. Products whose exact digits run past 15 significant ones (an amount of billions
# with 6 decimals) could be nudged across a half cent they do not reach; no export's money
# comes close.
HALF_UP_NUDGE = 1 + 2 ** -51


def cents(amount: str, factor: str | None = None) -> str:
    """SQL of `amount` (times `factor`: an fx rate, or hours times a rate) rounded once to the
    cent, half away from zero, as decimal arithmetic would: 470.89 x 1.5 = 706.335 gives
    706.34, which round(x * r, 2) on doubles makes 706.33 (the product is 706.33499...).

    A nudge rather than DECIMAL or integer arithmetic: over tens of millions of entries
    those cost seconds (the expression grows, and DuckDB inlines it where it is read), the
    nudge a multiplication."""
    product = amount if factor is None else f"{amount} * {factor}"
    return f"round(({product}) * {HALF_UP_NUDGE!r}, 2)"


def final_select(table_name: str, p: DeriveParams, clients_supplied: bool,
                 files: dict[int, str] | None = None, quarantined: str = "false",
                 lookups: dict[str, Lookup] | None = None,
                 stage: str = "t_time_entries", facts: StageFacts = StageFacts()) -> str:
    """SELECT of the canonical output rows of a table, in a fixed order.

    Time entries need `files` ({file number: name}), the lookups of
    create_time_entry_lookups and `quarantined`, SQL true for a stage row `a` in the
    quarantine (ingest.quarantined_rows_sql); they are read from the view `stage`
    (all of them, or one file's: see ingest.parts_sql), of which `facts` may tell what
    its statistics prove. Other tables are sorted by their key.
    """
    if table_name == "time_entries":
        return _time_entries_select(TABLES[table_name], p, files or {}, lookups or {}, quarantined,
                                    stage, facts=facts)
    table = TABLES[table_name]
    names = table.column_names
    money = [c.name for c in table.columns if c.type == "money"]
    joins = ["JOIN input_files f ON f._file = a._file"]
    if money:
        joins.append(f"LEFT JOIN fx ON fx.currency = coalesce(a.currency, {lit(p.reporting_currency)})")
    derived_key = (table.key[0] if len(table.key) == 1 and not table.column(table.key[0]).required
                   else None)
    exprs: dict[str, str] = {c: f"a.{q(c)}" for c in names}
    for c in money:
        # amounts land in whole cents, as the books keep them; rates keep their precision
        per_hour = table.column(c).unit.endswith("/hour")
        exprs[c] = f"a.{q(c)} * fx.rate" if per_hour else cents(f"a.{q(c)}", "fx.rate")
    if derived_key:
        exprs[derived_key] = f"coalesce(a.{q(derived_key)}, f.name || ':' || a._row)"
    refs_client = any(c.references == "clients.client_id" for c in table.columns)
    if refs_client and clients_supplied:
        joins.append("LEFT JOIN client_lookup l ON l.k = a.client_id")
        exprs["client_id"] = "coalesce(l.client_id, a.client_id)"
    order = ", ".join([q(k) for k in table.key] + ["_file", "_row"])
    cols = ", ".join(_cast(q(c), table, c) for c in names)
    return (f"SELECT {cols} FROM (SELECT {', '.join(f'{e} AS {q(c)}' for c, e in exprs.items())}, "
            f"a._file, a._row FROM {clean_rows(table_name)} a {' '.join(joins)}) ORDER BY {order}")


def _key(*columns: str) -> str:
    """One text key for a tuple of text columns, NULLs included, without collisions."""
    return " || ".join(f"coalesce(length({c})::VARCHAR || ':' || {c}, '-')" for c in columns)


def work_text_map_sql(p: DeriveParams) -> str:
    """Work type and rework per distinct (work text, task, project): the regexes run once per
    distinct text instead of once per row, which matters at tens of millions of entries."""
    rules = p.work_type_rules
    rework = (f"regexp_matches(concat_ws(' ', task, _work_text), {lit(at_word_start(p.rework_pattern))}, 'i')"
              if p.rework_pattern else "false")
    return (f"SELECT {_key('_work_text', 'task', 'project')} AS k, "
            f"coalesce({_work_type_case('_work_text', rules)}, "
            f"{_work_type_case('task', rules)}, {_work_type_case('project', rules)}) AS work_type, "
            f"{rework} AS rework FROM (SELECT DISTINCT _work_text, task, project "
            f"FROM {clean_rows('time_entries')} WHERE work_type IS NULL OR rework IS NULL)")


GROUPED_LOOKUP_MAX = 64  # distinct values a lookup answers by code ranges rather than a list


def _value_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"  # repr round-trips a double exactly
    return lit(value)


@dataclass(frozen=True)
class Lookup:
    """SQL templates of a lookup: `code` gives the ENUM code of the text `{key}` (NULL if it is
    no key), and `values[column]` the value for the code `{code}` (NULL if none)."""
    code: str
    values: dict[str, str]

    def value(self, column: str, key: str) -> str:
        return self.by_code(column, self.code.format(key=key))

    def by_code(self, column: str, code: str) -> str:
        """The value for a code already computed: an expression read more than once (code
        ranges compare it once per value group) should be a column, not the code's SQL."""
        return self.values[column].format(code=code)


def create_lookup(con, name: str, select: str) -> Lookup:
    """Table `name` from `select` (a unique text key k, then values) as a Lookup, whose
    templates give each value column's value for a key inside an expression.

    A join would do the same, but DuckDB keeps row order only through scans, filters,
    projections and UNION ALL, and the time entries are written in file order without a
    sort (a sort of tens of millions of wide rows costs more than the rest of ingest). So
    a key is found by a cast to an ENUM of the keys (a hash lookup), and its value read off
    the ENUM code: by code ranges when few distinct values (keys sorted by value), else
    from a list, which DuckDB copies for every 2048 rows and so suits short lists only.
    """
    con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT * FROM ({select}) WHERE k IS NOT NULL")
    values = [r[0] for r in con.execute(f"DESCRIBE {q(name)}").fetchall() if r[0] != "k"]
    cols = ", ".join(q(v) for v in values)
    groups = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {q(name)})").fetchall()[0][0]
    grouped = groups <= GROUPED_LOOKUP_MAX
    enum = q(name + "_k")
    order = ", ".join(f"{q(v)} NULLS LAST" for v in values) + ", k" if grouped else "k"
    con.execute(f"DROP TYPE IF EXISTS {enum}")
    con.execute(f"CREATE TYPE {enum} AS ENUM (SELECT k FROM {q(name)} ORDER BY {order})")
    code = f"enum_code(try_cast({{key}} AS {enum}))"
    if grouped:
        ranges = con.execute(f"SELECT {cols}, max(enum_code(CAST(k AS {enum}))) AS last FROM {q(name)} "
                             f"GROUP BY ALL ORDER BY last").fetchall()
        if not ranges:  # no keys: every lookup misses
            return Lookup(code, {v: "NULL" for v in values})
        return Lookup(code, {v: "(CASE " + " ".join(f"WHEN {{code}} <= {r[-1]} THEN {_value_literal(r[i])}"
                                                   for r in ranges) + " END)"
                             for i, v in enumerate(values)})
    out = {}
    for v in values:
        con.execute(f"SET VARIABLE {q(name + '_' + v)} = (SELECT list({q(v)} ORDER BY "
                    f"enum_code(CAST(k AS {enum}))) FROM {q(name)})")
        out[v] = f"getvariable({lit(name + '_' + v)})[{{code}} + 1]"
    return Lookup(code, out)


def create_time_entry_lookups(con, p: DeriveParams, clients_supplied: bool) -> dict[str, Lookup]:
    """The lookups _time_entries_select reads: fx, clients, people, work types."""
    lookups = {
        "fx": create_lookup(con, "fx_lookup", "SELECT currency AS k, rate FROM fx"),
        "people": create_lookup(con, "people_lookup",
                                "SELECT person AS k, role, bill_rate, cost_rate FROM final_people"),
        "work": create_lookup(con, "work_lookup", work_text_map_sql(p)),
    }
    if clients_supplied:
        # Most files name clients by id: those keys are their own answer, no lookup needed.
        con.execute("DROP TYPE IF EXISTS client_ids_self")
        con.execute("CREATE TYPE client_ids_self AS ENUM (SELECT k FROM client_lookup "
                    "WHERE k = client_id ORDER BY k)")
        # The other keys are looked up from a list, which DuckDB copies for every 2048 rows:
        # only the values the time entries hold (a thousand of 40,000 keys in the 10,000-client
        # demo, whose Harvest rows it cost 1.3 CPU-seconds), which client_values has already,
        # and the clients project_clients gives the projects of exports without clients.
        lookups["clients"] = create_lookup(
            con, "client_ids", "SELECT k, client_id FROM client_lookup WHERE k <> client_id AND k IN "
                               "(SELECT v FROM client_values WHERE tbl IN ('time_entries', 'project_clients'))")
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'final_rates'").fetchall()[0][0]:
        lookups["card"] = create_rate_card(con, lookups)
    return lookups


def _resolved_client(lookups: dict[str, Lookup]) -> str:
    """SQL of the client id of a stage row `a`: its client_id, resolved to the clients table."""
    if "clients" not in lookups:
        return "a.client_id"
    client = lookups["clients"]
    return (f"CASE WHEN try_cast(a.client_id AS client_ids_self) IS NOT NULL "
            f"THEN a.client_id ELSE coalesce({client.value('client_id', 'a.client_id')}, a.client_id) END")


def _entry_role(lookups: dict[str, Lookup]) -> str:
    return f"coalesce(a.role, {lookups['people'].value('role', 'a.person')})"


RATE_KINDS = ("bill_rate", "cost_rate")
# How specific a rate of the card is (contract.RATES): naming the person counts most; with
# the person, the client before the role (a rate agreed with a client for that person),
# without, the role before the client (what a role costs the firm varies more than clients).
RATE_RANK = ("CASE WHEN r.person IS NOT NULL THEN 4 + 2 * (r.client_id IS NOT NULL)::INTEGER "
             "+ (r.role IS NOT NULL)::INTEGER ELSE 2 * (r.role IS NOT NULL)::INTEGER "
             "+ (r.client_id IS NOT NULL)::INTEGER END")


def create_rate_card(con, lookups: dict[str, Lookup]) -> Lookup:
    """The card's rates of every (person, role, client, date) the time entries hold, as the
    table rate_card, and a Lookup whose code is a stage row's key into it and whose values
    are its columns once the row is joined to it (_time_entries_select).

    A date range is no key a cast to an ENUM can find (create_lookup), so the entries are
    joined to the card and sorted back into file order: a sort the exports without a card
    never pay for. The card is matched once per distinct (person, role, client, date), not
    per entry. For each kind of rate, `named` is the most specific rate naming the person
    and `general` the most specific of the others, for the people table's rates of the
    person rank between them. Conflicting rows were set aside (rate_card_conflicts_sql),
    so the most specific rate is one.
    """
    role, client = _entry_role(lookups), _resolved_client(lookups)
    fits = (f"SELECT DISTINCT a.person, {role} AS role, {client} AS client_id, a.date "
            f"FROM t_time_entries a WHERE NOT a._blank")
    picks = ", ".join(
        f"arg_max(r.{kind}, {RATE_RANK}) FILTER (WHERE r.{kind} IS NOT NULL AND r.person IS "
        f"{'NOT ' if named else ''}NULL) AS {q(f'_card_{kind}_{which}')}"
        for kind in RATE_KINDS for named, which in ((True, "named"), (False, "general")))
    key = _key("e.person", "e.role", "e.client_id") + " || '@' || CAST(e.date AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TABLE rate_card AS SELECT {key} AS k, {picks} FROM ({fits}) e "
        f"JOIN final_rates r ON (r.person IS NULL OR r.person = e.person) "
        f"AND (r.role IS NULL OR r.role = e.role) AND (r.client_id IS NULL OR r.client_id = e.client_id) "
        f"AND e.date >= coalesce(r.valid_from, e.date) AND e.date <= coalesce(r.valid_to, e.date) "
        f"GROUP BY 1")
    columns = [f"_card_{kind}_{which}" for kind in RATE_KINDS for which in ("named", "general")]
    return Lookup(_key("a.person", f"({role})", f"({client})") + " || '@' || CAST(a.date AS VARCHAR)",
                  {c: f"a.{q(c)}" for c in columns})


def rate_card_conflicts_sql() -> str:
    """Quarantine rows (file_no, row, col, val, reason, ord) of the rate card's clean rows
    that set no rate, or that conflict: same client (once resolved), role and person as
    another row, both valid on a day and both setting a bill rate (or both a cost rate).
    Each of the two names the first other row it conflicts with."""
    rows = ("SELECT a._file, a._row, a.person, a.role, a.valid_from, a.bill_rate, a.cost_rate, "
            "coalesce(l.client_id, a.client_id) AS client_id, "
            "coalesce(a.valid_from, DATE '0001-01-01') AS lo, "
            "coalesce(a.valid_to, DATE '9999-12-31') AS hi "
            f"FROM {clean_rows('rates')} a LEFT JOIN client_lookup l ON l.k = a.client_id")
    same = " AND ".join(f"b.{c} IS NOT DISTINCT FROM a.{c}" for c in ("person", "role", "client_id"))
    both = " OR ".join(f"(a.{k} IS NOT NULL AND b.{k} IS NOT NULL)" for k in RATE_KINDS)
    conflicts = (
        "SELECT a._file AS file_no, a._row AS row, 'valid_from' AS col, "
        "CAST(a.valid_from AS VARCHAR) AS val, 'rate for the same client, role and person also "
        "on row ' || b._row || CASE WHEN b._file <> a._file THEN ' of ' || f.name ELSE '' END || "
        "', both valid on ' || strftime(greatest(a.lo, b.lo), '%Y-%m-%d') AS reason, 8000 AS ord "
        f"FROM r a JOIN r b ON {same} AND (b._file, b._row) <> (a._file, a._row) "
        f"AND a.lo <= b.hi AND b.lo <= a.hi AND ({both}) JOIN input_files f ON f._file = b._file "
        "QUALIFY row_number() OVER (PARTITION BY a._file, a._row ORDER BY b._file, b._row) = 1")
    no_rate = ("SELECT _file, _row, 'bill_rate', NULL, 'no bill rate and no cost rate', 8000 "
               "FROM r WHERE bill_rate IS NULL AND cost_rate IS NULL")
    return f"WITH r AS ({rows}) {conflicts} UNION ALL {no_rate}"


def project_client_macros(con, supplied: bool) -> None:
    """The macros cl_project_listed(project), the client project_clients gives a project (as
    written, else in any case; NULL when not listed or not supplied), and
    cl_project_client(project), the client an entry of an export without clients names:
    the listed one, else the project itself."""
    listed = "NULL::VARCHAR"
    if supplied:
        lookup = create_lookup(con, "project_client_lookup", (
            f"SELECT k, arg_min(client_id, p) AS client_id FROM ("
            f"SELECT project AS k, client_id, 1 AS p FROM {clean_rows('project_clients')} UNION ALL "
            f"SELECT lower(project), client_id, 2 FROM {clean_rows('project_clients')}) GROUP BY k"))
        listed = f"coalesce({lookup.value('client_id', 'project')}, {lookup.value('client_id', 'lower(project)')})"
    con.execute(f"CREATE OR REPLACE MACRO cl_project_listed(project) AS {listed}")
    con.execute("CREATE OR REPLACE MACRO cl_project_client(project) AS "
                "coalesce(cl_project_listed(project), project)")


def time_entries_changed_sql(p: DeriveParams, files: dict[int, str], lookups: dict[str, Lookup],
                             quarantined: str, stage: str, facts: StageFacts = StageFacts()) -> str:
    """SQL giving 1 if final_select would drop (blank or quarantined) or change in any column
    a row of the view `stage`, else 0 (it stops at the first such row). A 0 means the
    stage's contract columns are the output as they are, so ingest can publish them without
    encoding them again (ingest.write_time_entries)."""
    return _time_entries_select(TABLES["time_entries"], p, files, lookups, quarantined, stage,
                                any_changed=True, facts=facts)


def _time_entries_select(table: Table, p: DeriveParams, files: dict[int, str],
                         lookups: dict[str, Lookup], quarantined: str,
                         stage: str = "t_time_entries", any_changed: bool = False,
                         facts: StageFacts = StageFacts()) -> str:
    """Time entries with every derived column filled; kept in input order (file, row).

    Input order rather than a sort by entry_id: at tens of millions of rows a sort
    costs more than the rest of ingest, and file order is just as deterministic. So
    the query is a scan, a filter and expressions only (see create_lookup): quarantined
    rows are dropped by the expression `quarantined`, not by an anti-join.
    """
    names = table.column_names
    # Amounts all in the reporting currency need no conversion: its rate is 1. Else the rate is
    # a column of the source, looked up once per row: cents() reads its factor several times,
    # and DuckDB would evaluate the lookup at each.
    rate_lookup = (None if facts.only("currency", p.reporting_currency) else
                   lookups["fx"].value("rate", f"coalesce(a.currency, {lit(p.reporting_currency)})"))
    rate = None if rate_lookup is None else "a._fx_rate"
    person = lambda col: lookups["people"].value(col, "a.person")  # noqa: E731
    work = lambda col: lookups["work"].by_code(col, "a._work_code")  # noqa: E731

    def staged(column: str) -> str:
        return f"a.{q(column)}"

    def converted(column: str) -> str:
        return staged(column) if rate is None else f"{staged(column)} * {rate}"

    def given(column: str, fallback: str, value: str | None = None) -> str:
        """`value` (the staged column), or `fallback` where it is NULL: just the column where
        the stage has no NULL in it, for then the fallback is never read."""
        value = value or staged(column)
        return value if value == staged(column) and column in facts.never_null \
            else f"coalesce({value}, {fallback})"

    # The work text's code once per row, and only where the stage lacks a work type or rework:
    # read inside each of their CASEs, which DuckDB does not factor out, it was reckoned a
    # dozen times over.
    work_code = lookups["work"].code.format(key=_key("_work_text", "task", "project"))
    source = (q(stage) if {"work_type", "rework"} <= facts.never_null else
              f"(SELECT *, CASE WHEN work_type IS NULL OR rework IS NULL THEN {work_code} END "
              f"AS _work_code FROM {q(stage)})")
    if rate_lookup is not None:
        source = f"(SELECT a.*, {rate_lookup} AS _fx_rate FROM {source} a)"
    card = lookups.get("card")
    if card is not None:
        source = (f"(SELECT s.*, c.* EXCLUDE (k) FROM (SELECT a.*, {card.code} AS _card_k "
                  f"FROM {source} a) s LEFT JOIN rate_card c ON c.k = s._card_k "
                  f"ORDER BY s._file, s._row)")

    def rated(kind: str) -> str:
        """The rates an entry without its own falls back to, most specific first."""
        if card is None:
            return person(kind)
        return (f"{card.values[f'_card_{kind}_named']}, {person(kind)}, "
                f"{card.values[f'_card_{kind}_general']}")

    file_name = "CASE a._file " + " ".join(f"WHEN {i} THEN {lit(n)}" for i, n in files.items()) + " END"
    passed_through = {c: (staged(c), q(c)) for c in names}  # (inner, outer) of a staged column
    inner = {c: plain for c, (plain, _outer) in passed_through.items()}
    inner["entry_id"] = given("entry_id", f"{file_name} || ':' || a._row")
    if "clients" in lookups:
        inner["client_id"] = _resolved_client(lookups)
    inner["role"] = given("role", person("role"))
    inner["bill_rate"] = given("bill_rate", rated("bill_rate"), converted("bill_rate"))
    inner["cost_rate"] = given("cost_rate", rated("cost_rate"), converted("cost_rate"))
    # Not stated: billable when the row bills money (an amount, billed hours or its own rate),
    # or the rate card prices it; with none of these, not known (NULL), so the panel counts
    # its hours as hours without a bill and never reads them as unbilled at 0.
    card_bills = ("" if card is None else f"coalesce({card.values['_card_bill_rate_named']}, "
                                          f"{card.values['_card_bill_rate_general']}) > 0, ")
    inner["billable"] = given("billable", "a.billable_amount > 0, a._billed_hours > 0, "
                                          f"a.bill_rate > 0, {card_bills}NULL::BOOLEAN")
    inner["_amount_given"] = cents(staged("billable_amount"), rate)
    inner["_cost_given"] = cents(staged("cost_amount"), rate)
    inner["_billed_hours"] = "coalesce(a._billed_hours, a.hours)"
    weekend = "isodow(a.date) IN (6, 7)"
    inner["after_hours"] = given("after_hours", f"CASE WHEN a.start_time IS NOT NULL THEN "
                                                f"a.start_time < TIME {lit(p.office_start.isoformat())} OR "
                                                f"a.start_time >= TIME {lit(p.office_end.isoformat())} OR "
                                                f"{weekend} END")
    inner["work_type"] = given("work_type", f"coalesce({work('work_type')}, 'other')")
    inner["rework"] = given("rework", f"coalesce({work('rework')}, false)")
    outer = {c: plain for c, (_inner, plain) in passed_through.items()}
    # A staged amount is never NULL after conversion at rate 1 (a rate is never NULL either,
    # check_currencies sees to it, but the select does not lean on that).
    known = lambda column: rate is None and column in facts.never_null  # noqa: E731
    outer["billable_amount"] = ("_amount_given" if known("billable_amount") else
                                "CASE WHEN _amount_given IS NOT NULL THEN _amount_given "
                                f"WHEN billable THEN {cents('_billed_hours', 'bill_rate')} "
                                "WHEN billable IS NULL THEN NULL ELSE 0 END")
    outer["cost_amount"] = ("_cost_given" if known("cost_amount") else
                            f"coalesce(_cost_given, {cents('hours', 'cost_rate')})")
    inner_sql = ", ".join(f"{e} AS {q(c)}" for c, e in inner.items())
    if any_changed:
        # A column the select passes through as staged cannot differ: comparing it would only
        # cost a read of tens of millions of values.
        derived = [c for c in names if (inner[c], outer[c]) != passed_through[c]]
        as_staged = ", ".join(f"a.{q(c)} AS {q('stage:' + c)}" for c in derived)
        same = " AND ".join(f"{_typed(outer[c], table, c)} IS NOT DISTINCT FROM {q('stage:' + c)}"
                            for c in derived)
        return (f"SELECT count(*) FROM (SELECT 1 FROM "
                f"(SELECT {inner_sql}, {as_staged}, a._blank, {quarantined} AS _quarantined "
                f"FROM {source} a) WHERE _blank OR _quarantined OR NOT ({same}) LIMIT 1)")
    cols = ", ".join(_cast(outer[c], table, c) for c in names)
    return (f"SELECT {cols} FROM (SELECT {inner_sql} FROM {source} a "
            f"WHERE NOT a._blank AND NOT {quarantined})")
