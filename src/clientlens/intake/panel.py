"""The client-quarter panel: processed tables -> one row per client and quarter.

This is the heavy stage and it is plain SQL (DuckDB here), so a firm that outgrows
one machine can run the same statements on a warehouse engine. Source tables that
were not supplied give NULL columns ("not measured"), never zeros.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clientlens.analysis.pipeline import deal_clients
from clientlens.intake.contract import TABLES
from clientlens.intake.panel_columns import COLUMN_SOURCE, PANEL_COLUMNS
from clientlens.parameters import OfficeHours
from clientlens.processed import PANEL_FILE, PANEL_META_FILE
from clientlens.quarters import quarter_end, quarter_index_of, quarter_of, shift_quarter

WORK_TYPE_HOURS = ("feature", "ux", "stability", "support", "presale", "communication", "other")
PHASE_VALUES = ("feature", "ux", "stability", "support", "other")


def _q(expr: str) -> str:
    """SQL for the quarter index (year*4 + quarter-1) of a date expression."""
    return f"(year({expr}) * 4 + quarter({expr}) - 1)"


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def auto_period_end(data_max_date: dt.date) -> str:
    """The last complete quarter on or before the latest date in the data."""
    return shift_quarter(quarter_of(data_max_date + dt.timedelta(days=1)), -1)


def build_panel_sql(tables: set[str], period_end: str, office_hours: OfficeHours, *,
                    lapse_quarters: int, deadline_grace_days: int) -> str:
    """One SELECT over views named after the canonical tables present in `tables`.

    `lapse_quarters`: quarters in a row without work or an invoice after which an open
    contract no longer makes a client active. `deadline_grace_days`: a deliverable this many
    days or fewer past its promised date has not missed it."""
    if int(lapse_quarters) < 1:
        raise ValueError(f"lapse_quarters must be at least 1, not {lapse_quarters}")
    if int(deadline_grace_days) < 0:
        raise ValueError(f"deadline_grace_days must be 0 or more, not {deadline_grace_days}")
    end_idx = quarter_index_of(period_end)
    end_date = quarter_end(period_end).isoformat()
    start_min, end_min = _minutes(office_hours.start), _minutes(office_hours.end)
    ctes: list[str] = []
    joins: list[str] = []
    selects: list[str] = []

    def measured(table: str, cte: str, body: str, columns: dict[str, str]) -> None:
        """Columns from a source table, or NULLs when the table was not supplied."""
        if table in tables:
            ctes.append(f"{cte} AS ({body})")
            joins.append(f"LEFT JOIN {cte} USING (client_id, quarter_index)")
            selects.extend(f"{expr} AS {name}" for name, expr in columns.items())
        else:
            selects.extend(f"NULL AS {name}" for name in columns)

    # --- time entries, read once: every client-quarter, later ones included ----------
    # Two steps: a narrow GROUP BY of the rows by client, quarter and the flags the columns
    # split on, then the columns from those groups. The many FILTERed sums run over a
    # million groups instead of tens of millions of rows, which halves the panel's time.
    hours_cols = ", ".join(f"sum(hours) FILTER (WHERE work_type = '{w}') AS hours_{w}"
                           for w in WORK_TYPE_HOURS)
    value_cols = ", ".join(
        f"sum(billable_amount) FILTER (WHERE billable AND work_type = '{w}') AS value_{w}"
        for w in PHASE_VALUES[:-1])
    nonbill = "NOT coalesce(billable, false)"
    # list rates: what the hours would bill at the people's list rates
    people = "people" in tables
    list_base = ", sum(t.hours * p.bill_rate) AS list_value" if people else ""
    list_value = ", sum(list_value) AS list_value" if people else ""
    people_join = " LEFT JOIN people p ON p.person = t.person" if people else ""
    # Money the export does not give is not measured, never 0: a billable entry without an
    # amount or a rate, an entry without a cost, and every entry of an export that says nothing
    # of billing (no row billable or with an amount: ingest reads a row that says nothing as
    # non-billable at 0) leave their client-quarter's revenue or cost NULL. The filename tells
    # the exports apart (one part file each); the groups are few, so the checks cost nothing.
    ctes.append(f"""time_groups AS MATERIALIZED (
        SELECT client_id, {_q('date')} AS quarter_index, work_type, billable, rework, after_hours, filename,
               sum(hours) AS hours, sum(billable_amount) AS billable_amount,
               sum(cost_amount) AS cost_amount, count(*) AS entries,
               sum(hours) FILTER (WHERE billable IS NULL OR (billable AND billable_amount IS NULL))
                 AS hours_no_amount,
               sum(hours) FILTER (WHERE cost_amount IS NULL) AS hours_no_cost,
               count(cost_amount) AS costed_entries,
               bool_or(billable_amount > 0) AS amount_positive{list_base}
        FROM time_entries t{people_join} GROUP BY ALL)""")
    ctes.append("""export_bills AS (
        SELECT filename, coalesce(bool_or(billable), false) OR coalesce(bool_or(amount_positive), false) AS bills
        FROM time_groups GROUP BY 1)""")
    ctes.append(f"""time_people AS (
        SELECT client_id, {_q('date')} AS quarter_index, count(DISTINCT person) AS people_count
        FROM time_entries GROUP BY 1, 2)""")
    ctes.append(f"""time_all AS MATERIALIZED (
        SELECT * FROM (SELECT client_id, quarter_index,
               sum(hours) AS hours,
               sum(hours) FILTER (WHERE billable) AS billable_hours,
               coalesce(sum(hours) FILTER (WHERE NOT bills), 0) AS silent_hours,
               coalesce(sum(hours) FILTER (WHERE NOT bills), 0)
                 + coalesce(sum(hours_no_amount) FILTER (WHERE bills), 0) AS hours_without_bill,
               coalesce(sum(hours_no_cost), 0) AS hours_without_cost,
               sum(hours) FILTER (WHERE after_hours) AS after_hours_hours,
               coalesce(sum(entries) FILTER (WHERE after_hours IS NOT NULL), 0) AS after_hours_known,
               sum(billable_amount) FILTER (WHERE billable) AS billable_value,
               sum(cost_amount) AS delivery_cost,
               sum(cost_amount) FILTER (WHERE billable) AS cost_billable,
               sum(cost_amount) FILTER (WHERE {nonbill} AND coalesce(rework, false)) AS cost_rework,
               sum(cost_amount) FILTER (WHERE {nonbill} AND NOT coalesce(rework, false)
                                        AND work_type = 'communication') AS cost_communication,
               sum(cost_amount) FILTER (WHERE {nonbill} AND NOT coalesce(rework, false)
                                        AND work_type = 'presale') AS cost_presale,
               sum(cost_amount) FILTER (WHERE {nonbill} AND NOT coalesce(rework, false)
                                        AND work_type NOT IN ('communication', 'presale'))
                 AS cost_unbilled_scope,
               {hours_cols}, {value_cols},
               sum(billable_amount) FILTER (WHERE billable AND work_type NOT IN
                   ('feature', 'ux', 'stability', 'support')) AS value_other{list_value}
        FROM time_groups JOIN export_bills USING (filename) GROUP BY 1, 2)
        LEFT JOIN time_people USING (client_id, quarter_index))""")

    # --- activity spine: first quarter of activity to the period end or exit -------
    activity = ["SELECT client_id, min(quarter_index) AS q FROM time_all GROUP BY 1"]
    if "invoices" in tables:
        activity.append(f"SELECT client_id, min({_q('issue_date')}) FROM invoices GROUP BY 1")
    if "contracts" in tables:
        activity.append(f"SELECT client_id, min({_q('start_date')}) FROM contracts GROUP BY 1")
    ctes.append("first_activity AS (SELECT client_id, min(q) AS first_q FROM ("
                + " UNION ALL ".join(activity) + ") GROUP BY 1)")
    ctes.append(f"""spine AS (
        SELECT f.client_id, c.client_name, c.exit_reason AS client_exit_reason,
               {_q('CAST(c.exit_date AS DATE)')} AS exit_q,
               unnest(range(f.first_q, least({end_idx}, coalesce({_q('CAST(c.exit_date AS DATE)')},
                                                                 {end_idx})) + 1))
                 AS quarter_index
        FROM first_activity f JOIN clients c USING (client_id)
        WHERE f.first_q <= {end_idx})""")

    # --- time entries up to the period end ----------------------------------------
    ctes.append(f"time_q AS (SELECT * FROM time_all WHERE quarter_index <= {end_idx})")
    joins.append("LEFT JOIN time_q USING (client_id, quarter_index)")
    # A quarter without entries bills and costs 0 where the firm's exports carry that money at
    # all, and is not measured where none does.
    any_bills = "(SELECT coalesce(bool_or(bills), false) FROM export_bills)"
    any_cost = "(SELECT coalesce(sum(costed_entries), 0) > 0 FROM time_groups)"

    def money(column: str, unknown_hours: str, firm_has_it: str) -> str:
        return (f"CASE WHEN time_q.hours IS NULL THEN CASE WHEN {firm_has_it} THEN 0 END "
                f"WHEN time_q.{unknown_hours} > 0 THEN NULL ELSE round(coalesce(time_q.{column}, 0), 2) END")

    billed = lambda c: money(c, "hours_without_bill", any_bills)  # noqa: E731
    costed = lambda c: money(c, "hours_without_cost", any_cost)  # noqa: E731
    selects.append("coalesce(time_q.hours, 0) AS hours")
    selects.append(f"CASE WHEN time_q.hours IS NULL THEN CASE WHEN {any_bills} THEN 0 END "
                   "WHEN time_q.silent_hours > 0 THEN NULL ELSE coalesce(time_q.billable_hours, 0) END "
                   "AS billable_hours")
    selects.append(f"CASE WHEN time_q.hours IS NULL THEN CASE WHEN {any_bills} THEN 0 END "
                   "ELSE time_q.hours_without_bill END AS hours_without_bill")
    selects.append(f"CASE WHEN time_q.hours IS NULL THEN CASE WHEN {any_cost} THEN 0 END "
                   "ELSE time_q.hours_without_cost END AS hours_without_cost")
    selects.append("CASE WHEN time_q.after_hours_known > 0 THEN coalesce(time_q.after_hours_hours, 0) "
                   "END AS after_hours_hours")
    selects.append("coalesce(time_q.people_count, 0) AS people_count")
    selects.append(f"{billed('billable_value')} AS billable_value")
    for col in ("delivery_cost", "cost_billable", "cost_communication", "cost_presale",
                "cost_rework", "cost_unbilled_scope"):
        selects.append(f"{costed(col)} AS {col}")
    selects += [f"coalesce(time_q.hours_{w}, 0) AS hours_{w}" for w in WORK_TYPE_HOURS]
    selects += [f"{billed('value_' + w)} AS value_{w}" for w in PHASE_VALUES]

    if people:
        selects.append("round(time_q.list_value, 2) AS list_value")
    else:
        selects.append("NULL AS list_value")

    # --- invoices ----------------------------------------------------------------
    if "invoices" in tables:
        # A client's invoices issued or paid after its last row (its exit quarter; the panel
        # ends there) are folded into that row's revenue_billed and revenue_collected, so its
        # receivables are those at the period end and no payment is lost. Folding, rather than
        # rows after the exit, leaves every count of rows and quarters (active, churn, tenure,
        # the markers' windows) as it was. Revenue and activity stay on the issue quarter:
        # revenue_issued is what was issued in the row's own quarter.
        ctes.append("last_row AS (SELECT client_id, max(quarter_index) AS last_q FROM spine GROUP BY 1)")
        ctes.append(f"""inv_issued AS (
            SELECT client_id, least(issue_q, coalesce(last_q, issue_q)) AS quarter_index,
                   sum(amount) FILTER (WHERE issue_q <= coalesce(last_q, issue_q)) AS revenue_issued,
                   sum(amount) AS revenue_billed
            FROM (SELECT client_id, amount, {_q('issue_date')} AS issue_q
                  FROM invoices WHERE issue_date <= DATE '{end_date}')
            LEFT JOIN last_row USING (client_id)
            GROUP BY 1, 2)""")
        # An invoice paid in full on a date the export does not give (contract: paid_in_full)
        # is collected when due, and its lateness is not measured: it counts in no column of
        # inv_due, so days_late_mean x invoices_due stays the sum of days late measured.
        undated = "coalesce(paid_in_full, false) AND paid_date IS NULL"
        ctes.append(f"""inv_paid AS (
            SELECT client_id, least(paid_q, coalesce(last_q, paid_q)) AS quarter_index,
                   sum(amount) AS revenue_collected
            FROM (SELECT client_id, amount, CASE WHEN {undated} THEN {_q('due_date')}
                                                 ELSE {_q('paid_date')} END AS paid_q
                  FROM invoices WHERE issue_date <= DATE '{end_date}'
                                  AND (paid_date <= DATE '{end_date}'
                                       OR ({undated} AND due_date <= DATE '{end_date}')))
            LEFT JOIN last_row USING (client_id)
            GROUP BY 1, 2)""")
        ctes.append(f"""inv_due AS (
            SELECT client_id, {_q('due_date')} AS quarter_index,
                   count(*) AS invoices_due,
                   count(*) FILTER (WHERE settled > due_date) AS invoices_paid_late,
                   avg(greatest(0, date_diff('day', due_date, settled))) AS days_late_mean,
                   sum(amount) FILTER (WHERE paid_date IS NULL OR paid_date > DATE '{end_date}')
                     AS overdue_unpaid_amount
            FROM (SELECT *, CASE WHEN paid_date IS NULL OR paid_date > DATE '{end_date}'
                                 THEN greatest(due_date, DATE '{end_date}') ELSE paid_date END AS settled
                  FROM invoices WHERE due_date <= DATE '{end_date}' AND NOT ({undated}))
            GROUP BY 1, 2)""")
        # A client with billable work and no invoice in any invoice export is one the exports
        # do not cover (an accounting tool for some clients only): its revenue is not
        # measured, not 0, or its billable work would make it a loss-maker.
        ctes.append("""uninvoiced AS (
            SELECT client_id FROM time_all GROUP BY 1 HAVING coalesce(sum(billable_value), 0) > 0
            EXCEPT SELECT client_id FROM invoices)""")
        # Quarters the invoice exports do not reach (an accounting tool adopted later, an export
        # of the last year only): their revenue is not measured, not 0. They begin a quarter
        # before the first invoice of any export, for a firm invoicing in arrears bills its
        # first quarter's work in the second.
        ctes.append(f"invoiced_from AS (SELECT min({_q('issue_date')}) - 1 AS q FROM invoices)")
        joins += ["LEFT JOIN inv_issued USING (client_id, quarter_index)",
                  "LEFT JOIN inv_paid USING (client_id, quarter_index)",
                  "LEFT JOIN inv_due USING (client_id, quarter_index)",
                  "LEFT JOIN uninvoiced un ON un.client_id = spine.client_id"]
        invoiced = lambda column: (f"CASE WHEN un.client_id IS NULL AND spine.quarter_index >= "  # noqa: E731
                                   f"(SELECT q FROM invoiced_from) THEN {column} END")
        selects += [
            f"{invoiced('round(coalesce(inv_issued.revenue_issued, 0), 2)')} AS revenue",
            f"{invoiced('round(coalesce(inv_issued.revenue_billed, 0), 2)')} AS revenue_billed",
            f"{invoiced('round(coalesce(inv_paid.revenue_collected, 0), 2)')} AS revenue_collected",
            "coalesce(inv_due.invoices_due, 0) AS invoices_due",
            "coalesce(inv_due.invoices_paid_late, 0) AS invoices_paid_late",
            "inv_due.days_late_mean AS days_late_mean",
            "round(coalesce(inv_due.overdue_unpaid_amount, 0), 2) AS overdue_unpaid_amount",
        ]
    else:
        selects.append(f"{billed('billable_value')} AS revenue")
        selects += [f"NULL AS {c}" for c, s in COLUMN_SOURCE.items() if s == "invoices"]

    # --- requests ----------------------------------------------------------------
    minute = "(hour(created_at) * 60 + minute(created_at))"
    after_hours = (f"(isodow(created_at) >= 6 OR {minute} < {start_min} OR {minute} >= {end_min})")
    measured("requests", "req_q", f"""
        SELECT client_id, {_q('created_at')} AS quarter_index,
               count(*) AS requests_total,
               count(*) FILTER (WHERE request_type = 'change_request') AS change_requests,
               count(*) FILTER (WHERE request_type = 'incident') AS incidents,
               count(*) FILTER (WHERE request_type = 'estimate_request') AS estimate_requests,
               count(*) FILTER (WHERE request_type = 'estimate_request' AND NOT coalesce(became_order, false))
                 AS estimates_without_order,
               count(*) FILTER (WHERE urgency IN ('high', 'urgent') AND {after_hours})
                 AS urgent_after_hours_requests,
               count(*) FILTER (WHERE contradicts_earlier) AS contradicting_requests,
               avg(approval_lead_days) AS approval_days_mean,
               count(*) FILTER (WHERE request_type = 'change_request' AND planned = false AND accepted)
                 AS unplanned_accepted,
               count(*) FILTER (WHERE request_type = 'support') AS support_requests,
               count(*) FILTER (WHERE request_type = 'support' AND followed_up = false)
                 AS support_without_followup
        FROM requests WHERE created_at < DATE '{end_date}' + INTERVAL 1 DAY GROUP BY 1, 2""",
             {c: (f"req_q.{c}" if c == "approval_days_mean" else f"coalesce(req_q.{c}, 0)")
              for c, s in COLUMN_SOURCE.items() if s == "requests"})

    # --- deals: the ones an existing client closed, won or lost --------------------------
    # `deals` here is the view build_panel makes, its client_id resolved as the pipeline does.
    measured("deals", "deal_q", f"""
        SELECT client_id, {_q('closed_date')} AS quarter_index,
               count(*) AS deals_closed,
               count(*) FILTER (WHERE outcome = 'lost') AS deals_lost
        FROM deals WHERE client_id IS NOT NULL AND outcome IN ('won', 'lost')
          AND closed_date <= DATE '{end_date}' GROUP BY 1, 2""",
             {c: f"coalesce(deal_q.{c}, 0)" for c, s in COLUMN_SOURCE.items() if s == "deals"})

    # --- deliverables --------------------------------------------------------------
    measured("deliverables", "del_q", f"""
        SELECT client_id, {_q('delivered_date')} AS quarter_index,
               count(*) AS delivered_count,
               count(*) FILTER (WHERE status = 'launched') AS launched_count,
               count(*) FILTER (WHERE status = 'shelved') AS shelved_count,
               count(*) FILTER (WHERE delivered_date > promised_date + {int(deadline_grace_days)}) AS missed_deadlines,
               count(*) FILTER (WHERE delivered_date < promised_date AND NOT coalesce(billed_extra, false))
                 AS early_free_deliveries
        FROM deliverables WHERE delivered_date <= DATE '{end_date}' GROUP BY 1, 2""",
             {c: f"coalesce(del_q.{c}, 0)" for c, s in COLUMN_SOURCE.items() if s == "deliverables"})

    # --- surveys and team feedback ----------------------------------------------------
    measured("surveys", "srv_q", f"""
        SELECT client_id, {_q('survey_date')} AS quarter_index,
               avg(score) FILTER (WHERE survey_type = 'nps') AS nps_mean,
               avg(score) FILTER (WHERE survey_type = 'csat') AS csat_mean,
               count(score) FILTER (WHERE survey_type = 'nps') AS nps_answers,
               count(score) FILTER (WHERE survey_type = 'csat') AS csat_answers,
               count(*) AS survey_responses
        FROM surveys WHERE survey_date <= DATE '{end_date}' GROUP BY 1, 2""",
             {"nps_mean": "srv_q.nps_mean", "csat_mean": "srv_q.csat_mean",
              "nps_answers": "coalesce(srv_q.nps_answers, 0)",
              "csat_answers": "coalesce(srv_q.csat_answers, 0)",
              "survey_responses": "coalesce(srv_q.survey_responses, 0)"})
    measured("team_feedback", "team_q", f"""
        SELECT client_id, {_q('feedback_date')} AS quarter_index,
               avg(score) AS team_score_mean, count(*) FILTER (WHERE escalation) AS escalations
        FROM team_feedback WHERE feedback_date <= DATE '{end_date}' GROUP BY 1, 2""",
             {"team_score_mean": "team_q.team_score_mean",
              "escalations": "coalesce(team_q.escalations, 0)"})

    # --- contacts: who speaks for whom, and for how long ------------------------------
    measured("contacts", "con_q", """
        SELECT client_id, quarter_index, client_contact, our_communicator, communicator_role,
               prev_contact IS NOT NULL AND prev_contact <> client_contact AS client_contact_changed,
               row_number() OVER (PARTITION BY client_id, our_communicator, run ORDER BY quarter_index)
                 AS communicator_tenure_quarters
        FROM (
            SELECT *, quarter_index - row_number() OVER (PARTITION BY client_id, our_communicator
                                                         ORDER BY quarter_index) AS run,
                   lag(client_contact) OVER (PARTITION BY client_id ORDER BY quarter_index) AS prev_contact
            FROM (SELECT client_id, CAST(left(quarter, 4) AS INTEGER) * 4
                         + CAST(right(quarter, 1) AS INTEGER) - 1 AS quarter_index,
                         client_contact, our_communicator, communicator_role FROM contacts))""",
             {c: f"con_q.{c}" for c, s in COLUMN_SOURCE.items() if s == "contacts"})

    # --- contracts ---------------------------------------------------------------------
    if "contracts" in tables:
        ctes.append(f"""con_signed AS (
            SELECT client_id, {_q('start_date')} AS quarter_index, sum(value) AS contract_value_signed,
                   sum(value) FILTER (WHERE contract_type IN ('retainer', 'support'))
                     AS recurring_value_signed
            FROM contracts GROUP BY 1, 2)""")
        ctes.append(f"""con_active AS (
            SELECT s.client_id, s.quarter_index, count(c.contract_id) AS active_contracts,
                   bool_or(c.contract_type IN ('retainer', 'support')) AS retainer_active
            FROM spine s JOIN contracts c
              ON c.client_id = s.client_id
             AND {_q('c.start_date')} <= s.quarter_index
             AND (c.end_date IS NULL OR {_q('c.end_date')} >= s.quarter_index)
            GROUP BY 1, 2)""")
        joins += ["LEFT JOIN con_signed USING (client_id, quarter_index)",
                  "LEFT JOIN con_active USING (client_id, quarter_index)"]
        selects += ["round(coalesce(con_signed.contract_value_signed, 0), 2) AS contract_value_signed",
                    "round(coalesce(con_signed.recurring_value_signed, 0), 2) AS recurring_value_signed",
                    "coalesce(con_active.active_contracts, 0) AS active_contracts",
                    "coalesce(con_active.retainer_active, false) AS retainer_active"]
    else:
        selects += [f"NULL AS {c}" for c, s in COLUMN_SOURCE.items() if s == "contracts"]

    # Activity is work or an invoice (analysis.activity reads the same rule off these columns).
    # An open contract counts too, but only until the client has gone lapse_quarters quarters in
    # a row without either: an open-ended contract nobody works or bills on is not a relationship.
    worked_terms = ["coalesce(time_q.hours, 0) > 0"]
    if "invoices" in tables:
        worked_terms.append("coalesce(inv_issued.revenue_issued, 0) <> 0")
    worked = f"({' OR '.join(worked_terms)})"
    active_terms = [worked]
    if "contracts" in tables:
        recent = (f"OVER (PARTITION BY spine.client_id ORDER BY spine.quarter_index "
                  f"RANGE BETWEEN {int(lapse_quarters) - 1} PRECEDING AND CURRENT ROW)")
        not_lapsed = f"(bool_or({worked}) {recent} OR count(*) {recent} < {int(lapse_quarters)})"
        active_terms.append(f"(coalesce(con_active.active_contracts, 0) > 0 AND {not_lapsed})")
    identity = [
        "spine.client_id AS client_id", "spine.client_name AS client_name",
        "CAST(spine.quarter_index // 4 AS VARCHAR) || 'Q' || CAST(spine.quarter_index % 4 + 1 AS VARCHAR)"
        " AS quarter",
        "make_date(CAST(spine.quarter_index // 4 AS INTEGER), CAST(spine.quarter_index % 4 * 3 + 1 AS INTEGER), 1)"
        " AS quarter_start",
        "spine.quarter_index AS quarter_index",
        f"({' OR '.join(active_terms)}) AS is_active",
        "coalesce(spine.exit_q = spine.quarter_index, false) AS exited",
        "CASE WHEN spine.exit_q = spine.quarter_index THEN spine.client_exit_reason END AS exit_reason",
    ]
    by_name = {}
    for expr in identity + selects:
        by_name[expr.rsplit(" AS ", 1)[1].strip()] = expr
    ordered = [by_name[name] for name in PANEL_COLUMNS]
    return ("WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(ordered) + "\nFROM spine\n"
            + "\n".join(joins) + "\nORDER BY spine.client_id, spine.quarter_index")


ANONYMIZE_KEY_FILE = "anonymize.key"


def anonymize_key(data_dir: Path) -> str:
    """The secret behind the pseudonyms: made once, kept beside the data, never published.

    A public value (the demo seed, say) would let anyone who forwards a report on hash a list
    of likely client names and match them to the pseudonyms.
    """
    path = Path(data_dir) / ANONYMIZE_KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


# What anonymising does to each text column: a name or a key becomes a pseudonym of its kind
# ("Client 3F7A2C", "Person 1A2B3C"), the same wherever the value appears, so a person is one
# pseudonym in the time entries, the people, the contacts and the feedback, and a contract's
# renewals and invoices still join it; a client's name becomes its id's pseudonym; free text
# is dropped, for ingest has already read what it needs from it (the work type and rework of a
# task); a code (currency, role, industry, a table or column name) is kept; a file becomes
# its checksum label (input_labels); a quarantine reason loses what it quotes (anonymous_reason).
CLIENT, PERSON, PROJECT = "Client", "Person", "Project"
CLIENT_NAME, KEEP, DROP, FILE, REASON = "client name", "keep", "drop", "file", "reason"
# A time entry's key, made from file and row where the export has none, is referenced by no
# table: it becomes its place among the entries ("Entry 0-17"), which costs no keyed hash of
# tens of millions of values.
ENTRY_PLACE = "entry place"
ANONYMIZED_COLUMNS: dict[str, dict[str, str]] = {
    "clients": {"client_id": CLIENT, "client_name": CLIENT_NAME, "industry": KEEP},
    "contracts": {"contract_id": "Contract", "client_id": CLIENT, "currency": KEEP,
                  "renewal_of": "Contract"},
    "invoices": {"invoice_id": "Invoice", "client_id": CLIENT, "contract_id": "Contract", "currency": KEEP},
    "time_entries": {"entry_id": ENTRY_PLACE, "client_id": CLIENT, "project": PROJECT, "task": DROP,
                     "person": PERSON, "role": KEEP, "currency": KEEP},
    "requests": {"request_id": "Request", "client_id": CLIENT, "deliverable_id": "Deliverable"},
    "deliverables": {"deliverable_id": "Deliverable", "client_id": CLIENT, "name": DROP},
    "surveys": {"survey_id": "Response", "client_id": CLIENT, "respondent": PERSON},
    "team_feedback": {"feedback_id": "Feedback", "client_id": CLIENT, "person": PERSON, "comment": DROP},
    "contacts": {"client_id": CLIENT, "client_contact": PERSON, "our_communicator": PERSON},
    "people": {"person": PERSON, "role": KEEP, "currency": KEEP},
    "fx_rates": {"currency": KEEP},
    "rates": {"client_id": CLIENT, "role": KEEP, "person": PERSON, "currency": KEEP},
    "project_clients": {"project": PROJECT, "client_id": CLIENT},
    "deals": {"deal_id": "Deal", "client_id": CLIENT, "prospect": CLIENT, "deal_name": DROP, "stage": KEEP,
              "currency": KEEP, "lost_reason": DROP},
}
# Ingest's other outputs the ingest page reads (a text column not named here is dropped).
INGEST_OUTPUTS: dict[str, dict[str, str]] = {
    "ingest_summary.parquet": {"file": FILE, "table": KEEP, "format": KEEP, "encoding": KEEP,
                               "skipped_because": KEEP},
    "quarantine/quarantine.parquet": {"file": FILE, "table": KEEP, "column": KEEP, "value": DROP,
                                      "reason": REASON},
    "project_clients_used.parquet": {"project": PROJECT, "client_id": CLIENT},
    "client_names_used.parquet": {"file": FILE, "table": KEEP, "written": DROP, "client_id": CLIENT,
                                  "client_name": CLIENT_NAME},
}
QUARANTINE_CSV = "quarantine/quarantine.csv"
REWRITE_BATCH_ROWS = 1 << 20


def _prefix(kind: str) -> str:
    """What a pseudonym hashes before the value: nothing for a client's id (the pseudonyms of
    earlier runs), the kind for any other value, so a text that is both a person's name and a
    project's gets two unrelated pseudonyms."""
    return "" if kind == CLIENT else f"{kind}:"


def pseudonym(value: Any, key: str, digits: int = 6, kind: str = CLIENT) -> str:
    """A stable stand-in: "Client 3F7A2C" from a keyed hash (HMAC-SHA256) of a client's id,
    "Person 1A2B3C" of a person's name, and so on for each kind."""
    digest = hmac.new(key.encode("utf-8"), f"{_prefix(kind)}{value}".encode("utf-8"), hashlib.sha256)
    return f"{kind} {digest.hexdigest().upper()[:digits]}"


def pseudonym_map(values: Iterable[Any], key: str, kind: str = CLIENT) -> dict[str, str]:
    """{value: pseudonym}, distinct for distinct values (more digits only if 6 collide)."""
    values = sorted({str(c) for c in values if c is not None})
    for digits in range(6, 65, 2):
        mapping = {c: pseudonym(c, key, digits, kind) for c in values}
        if len(set(mapping.values())) == len(mapping):
            return mapping
    raise ValueError(f"{kind.lower()} values collide under every pseudonym length")  # pragma: no cover


def install_hmac(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """The SQL macro cl_hmac(text): HMAC-SHA256 of text under `key`, in upper-case hex, as
    `pseudonym` computes it, for the sets of keys too large to hash one by one in Python."""
    block = key.encode("utf-8")
    if len(block) > 64:
        block = hashlib.sha256(block).digest()
    block = block.ljust(64, b"\0")
    inner, outer = (bytes(b ^ pad for b in block).hex() for pad in (0x36, 0x5C))
    con.execute(f"CREATE OR REPLACE MACRO cl_hmac(m) AS upper(sha256(unhex('{outer}') || "
                f"unhex(sha256(unhex('{inner}') || encode(m)))))")


def pseudonym_table(con: duckdb.DuckDBPyConnection, values_sql: str, kind: str) -> pa.Table:
    """(value, pseudonym) for each distinct value of the column `values_sql` selects as v:
    pseudonym_map in SQL (install_hmac first)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE pseudonym_hashes AS SELECT v, "
                f"cl_hmac({_sql_text(_prefix(kind))} || v) AS h "
                f"FROM (SELECT DISTINCT CAST(v AS VARCHAR) AS v FROM ({values_sql}) WHERE v IS NOT NULL)")
    count = con.execute("SELECT count(*) FROM pseudonym_hashes").fetchall()[0][0]
    for digits in range(6, 65, 2):
        if con.execute(f"SELECT count(DISTINCT left(h, {digits})) FROM pseudonym_hashes").fetchall()[0][0] == count:
            break
    return con.sql(f"SELECT v AS value, {_sql_text(kind + ' ')} || left(h, {digits}) AS pseudonym "
                   "FROM pseudonym_hashes ORDER BY v").to_arrow_table()


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


INPUT_LABEL = re.compile(r"input [0-9a-f]{8,64}(?: #\d+)? \([^()]*\)|input #\d+ \([^()]*\)")


def input_labels(inputs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{file: label} for the manifest's inputs: each file named by its checksum and type,
    "input 3fa2c1d4 (.csv)" (more digits where two files' first 8 agree; "#1", "#2" for files
    of the same bytes under two names; "input #1 (.csv)" for a file with no checksum). A file
    already so named keeps its name."""
    digests: dict[str, str] = {}
    for item in inputs:
        name = str(item.get("file", ""))
        if not INPUT_LABEL.fullmatch(name):
            digests.setdefault(name, str(item.get("blake3") or "").lower())
    distinct = sorted({d for d in digests.values() if d})
    for digits in range(8, 65, 2):
        if len({d[:digits] for d in distinct}) == len(distinct):
            break
    labels: dict[str, str] = {}
    unhashed = 0
    for name, digest in sorted(digests.items()):
        suffix = f"({PurePosixPath(name).suffix.lower()})"
        if not digest:
            unhashed += 1
            labels[name] = f"input #{unhashed} {suffix}"
            continue
        twins = sorted(n for n, d in digests.items() if d == digest)
        number = f" #{twins.index(name) + 1}" if len(twins) > 1 else ""
        labels[name] = f"input {digest[:digits]}{number} {suffix}"
    return labels


def anonymized_inputs(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's inputs with each file named by its label (input_labels)."""
    labels = input_labels(inputs)
    return [{**item, "file": labels.get(str(item.get("file", "")), item.get("file"))} for item in inputs]


def anonymous_reason(reasons: pa.Array, labels: dict[str, str]) -> pa.Array:
    """Quarantine reasons with each input file named by its label and nothing from the first
    quote on: what a reason quotes is a raw value (a client's name, an id, a cell)."""
    for name in sorted(labels, key=len, reverse=True):
        reasons = pc.replace_substring(reasons, name, labels[name])
    return pc.utf8_rtrim_whitespace(pc.replace_substring_regex(reasons, "(?s)'.*", ""))


def parquet_files(path: Path) -> list[Path]:
    """The files of a processed table: its Parquet file, or the part files of its folder (the
    time entries are a folder of parts, one per time export), or none where it is missing."""
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path] if path.exists() else []


def column_plans(processed_dir: Path) -> dict[Path, dict[str, str]]:
    """{file under processed_dir: what anonymising does to each of its columns} for the
    canonical tables and ingest's other outputs that exist. A contract column that is not
    text ("str") holds a checked type or one of an enum's values, and is kept."""
    plans: dict[Path, dict[str, str]] = {}
    for name, table in TABLES.items():
        plan = {c.name: ANONYMIZED_COLUMNS[name][c.name] if c.type == "str" else KEEP for c in table.columns}
        for part in parquet_files(processed_dir / f"{name}.parquet"):
            plans[part] = plan
    for name, plan in INGEST_OUTPUTS.items():
        if (processed_dir / name).exists():
            plans[processed_dir / name] = plan
    return plans


def _mapped(column: pa.ChunkedArray | pa.Array, mapping: pa.Table) -> pa.Array:
    """Each value of `column` replaced by its pseudonym in `mapping` (value, pseudonym)."""
    values = mapping.column("value").combine_chunks().cast(column.type)
    out = pc.take(mapping.column("pseudonym").combine_chunks(), pc.index_in(column, value_set=values))
    if out.null_count != column.null_count:
        raise RuntimeError("internal error: a value has no pseudonym")  # pragma: no cover
    return out.cast(column.type)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _rewrite(path: Path, plan: dict[str, str], maps: dict[str, pa.Table], labels: pa.Table,
             labels_by_file: dict[str, str], place: str) -> None:
    """Write `path` again, anonymised by `plan`, a batch at a time (a time export's part may
    hold tens of millions of entries); the file is replaced only once it is whole."""
    source = pq.ParquetFile(path)
    read = source.schema_arrow
    treatment = {f.name: plan.get(f.name, DROP if _is_text(f.type) else KEEP) for f in read}
    # a column written without nulls may be marked so: a dropped one has nothing else
    schema = pa.schema([f.with_nullable(True) if treatment[f.name] == DROP and _is_text(f.type) else f
                        for f in read])
    tmp = path.with_name(path.name + ".anonymizing")
    rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for batch in source.iter_batches(batch_size=REWRITE_BATCH_ROWS):
            columns = []
            for field, column in zip(schema, batch.columns):
                text = _is_text(field.type)
                what = treatment[field.name]
                if what == KEEP or not text:
                    columns.append(column)
                elif what == DROP:
                    columns.append(pa.nulls(len(column), field.type))
                elif what == CLIENT_NAME:
                    columns.append(_mapped(batch.column(schema.get_field_index("client_id")), maps[CLIENT])
                                   .cast(field.type))
                elif what == FILE:
                    columns.append(_mapped(column, labels))
                elif what == REASON:
                    columns.append(anonymous_reason(column, labels_by_file).cast(field.type))
                elif what == ENTRY_PLACE:
                    places = pc.cast(pa.array(np.arange(rows, rows + len(column), dtype=np.int64)), pa.string())
                    entries = pc.binary_join_element_wise(f"Entry {place}-", places, "")
                    columns.append(pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()), entries)
                                   .cast(field.type))
                else:
                    columns.append(_mapped(column, maps[what]))
            writer.write_batch(pa.record_batch(columns, schema=schema))
            rows += batch.num_rows
    tmp.replace(path)


def anonymize_tables(processed_dir: Path, key: str) -> dict[str, str]:
    """Anonymise, in place, every table ingest wrote and the ingest page reads: names and keys
    become pseudonyms, free text is dropped, files are named by checksum (ANONYMIZED_COLUMNS,
    INGEST_OUTPUTS), in the tables, the summary, the quarantine and the manifest. Return the
    clients' {id: pseudonym}.

    Done once per ingest: the manifest records it, so a second call changes nothing.
    Later stages read only these files and the panel, so no name gets back in.
    """
    processed_dir = Path(processed_dir)
    manifest_path = processed_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("anonymized"):
        return {}
    plans = column_plans(processed_dir)
    con = duckdb.connect()
    install_hmac(con, key)
    columns_of = {path: set(pq.read_schema(path).names) for path in plans}
    maps: dict[str, pa.Table] = {}
    kinds = {what for plan in plans.values() for what in plan.values()} - {KEEP, DROP, CLIENT_NAME, FILE, REASON,
                                                                           ENTRY_PLACE}
    for kind in sorted(kinds | {CLIENT}):  # a client's name is its id's pseudonym, even with no id column
        selects = [f"SELECT CAST({_sql_name(column)} AS VARCHAR) AS v FROM read_parquet({_sql_text(path.as_posix())})"
                   for path, plan in plans.items() for column, what in plan.items()
                   if what == kind and column in columns_of[path]]
        source = " UNION ALL ".join(selects) or "SELECT NULL::VARCHAR AS v WHERE false"
        maps[kind] = pseudonym_table(con, source, kind)
    files = [f"SELECT CAST(file AS VARCHAR) AS v FROM read_parquet({_sql_text(path.as_posix())})"
             for path, plan in plans.items() if plan.get("file") == FILE and "file" in columns_of[path]]
    named = {name for (name,) in (con.execute(" UNION ".join(files)).fetchall() if files else [])
             if name is not None}
    inputs = manifest.get("inputs", [])
    # a file the manifest does not list has no checksum: it is numbered, never left as it is
    unlisted = sorted(named - {item["file"] for item in inputs})
    labels_by_file = input_labels([*inputs, *({"file": name} for name in unlisted)])
    labels = pa.table({"value": list(labels_by_file), "pseudonym": list(labels_by_file.values())},
                      schema=pa.schema([("value", pa.string()), ("pseudonym", pa.string())]))
    time_parts = parquet_files(processed_dir / "time_entries.parquet")
    for path, plan in plans.items():
        _rewrite(path, plan, maps, labels, labels_by_file,
                 place=str(time_parts.index(path)) if path in time_parts else "0")
    quarantine = processed_dir / "quarantine" / "quarantine.parquet"
    if quarantine.exists():
        _write_quarantine_csv(quarantine, processed_dir / QUARANTINE_CSV)
    con.close()
    manifest["inputs"] = anonymized_inputs(manifest.get("inputs", []))
    manifest["anonymized"] = True
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    clients = maps[CLIENT]
    return dict(zip(clients.column("value").to_pylist(), clients.column("pseudonym").to_pylist()))


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_quarantine_csv(source: Path, target: Path) -> None:
    """quarantine.csv again from the anonymised quarantine, guarded as a spreadsheet should get
    it (publishing.downloads.guard_frame); what it holds is code's text, labels and numbers."""
    import pandas as pd

    from clientlens.publishing.downloads import guard_frame

    tmp = target.with_name(target.name + ".anonymizing")
    guard_frame(pd.read_parquet(source)).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    tmp.replace(target)


# The dated rows of each table: what falls after the period analysed is left out of it.
EVENT_DATES = {"time_entries": "date", "invoices": "issue_date", "requests": "created_at",
               "surveys": "survey_date", "team_feedback": "feedback_date"}


def rows_after(con: duckdb.DuckDBPyConnection, tables: set[str], last_day: dt.date) -> dict[str, int]:
    """Rows dated after `last_day`, by table (tables with none are left out)."""
    counts = {}
    for table, column in EVENT_DATES.items():
        if table in tables:
            n = con.execute(f"SELECT count(*) FROM {table} WHERE CAST({column} AS DATE) > ?",
                            [last_day]).fetchone()[0]
            if n:
                counts[table] = int(n)
    return counts


def _resolve_deal_clients(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """Replace the deals view by one whose client_id is each deal's existing client, matched as
    the pipeline matches it (a prospect named as a client is that client's), so the panel's deal
    columns and the pipeline's page count the same deals."""
    given = set(con.sql("SELECT * FROM deals").columns)
    wanted = [c for c in ("deal_id", "client_id", "prospect", "outcome", "closed_date") if c in given]
    deals = con.sql(f"SELECT {', '.join(wanted)} FROM deals").df()
    clients = con.sql("SELECT client_id, client_name FROM clients").df() if "clients" in tables else None
    deals["client_id"] = deal_clients(deals, clients)
    con.register("deals_resolved", deals)
    con.execute("CREATE OR REPLACE VIEW deals AS SELECT deal_id, CAST(client_id AS VARCHAR) AS client_id, "
                "outcome, CAST(closed_date AS DATE) AS closed_date FROM deals_resolved")


def build_panel(processed_dir: Path, period_end: str, office_hours: OfficeHours,
                threads: int | None = None, *, lapse_quarters: int, deadline_grace_days: int,
                anonymize: bool,
                key: str | None = None) -> dict[str, Any]:
    """Write client_quarter.parquet and panel_meta.json; return the meta.

    With `anonymize`, every name (client, person, project), key and input file in what ingest
    wrote is first replaced by a stable pseudonym and free text dropped (see `anonymize_tables`),
    so every later table, chart and page shows pseudonyms only. The key defaults to the secret
    in data/anonymize.key (anonymize_key).
    """
    processed_dir = Path(processed_dir)
    if anonymize:
        anonymize_tables(processed_dir, key or anonymize_key(processed_dir.parent))
    manifest = json.loads((processed_dir / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    tables = set()
    for name in TABLES:
        path = processed_dir / f"{name}.parquet"
        if path.exists():
            files = path / "*.parquet" if path.is_dir() else path
            # the time entries' part file tells one export from another (see time_groups)
            by_file = ", filename = true" if name == "time_entries" else ""
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{files.as_posix()}'{by_file})")
            tables.add(name)
    if "invoices" in tables and "paid_in_full" not in con.sql("SELECT * FROM invoices").columns:
        # invoices written before the contract had the column (or by hand, in tests)
        con.execute("CREATE OR REPLACE VIEW invoices AS SELECT *, NULL::BOOLEAN AS paid_in_full "
                    f"FROM read_parquet('{(processed_dir / 'invoices.parquet').as_posix()}')")
    if "deals" in tables:
        _resolve_deal_clients(con, tables)
    chosen = period_end not in (None, "", "auto")
    if not chosen:
        max_date = manifest.get("data_max_date")
        if not max_date:
            raise ValueError("period_end=auto but the data has no dates; set PERIOD_END=2025Q4")
        period_end = auto_period_end(dt.date.fromisoformat(str(max_date)[:10]))
    arrow = con.sql(build_panel_sql(tables, period_end, office_hours,
                                     lapse_quarters=lapse_quarters,
                                     deadline_grace_days=deadline_grace_days)).to_arrow_table()
    pq.write_table(arrow, processed_dir / PANEL_FILE)
    measured = sorted(tables)
    meta = {
        "period_end": period_end,
        "rows": arrow.num_rows,
        "clients": len(set(arrow.column("client_id").to_pylist())),
        "measured_tables": measured,
        "anonymized": bool(anonymize),
        "left_out": rows_after(con, tables, quarter_end(period_end)),
        "period_end_chosen": chosen,
        "data_max_date": manifest.get("data_max_date"),
    }
    (processed_dir / PANEL_META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n",
                                                 encoding="utf-8")
    return meta
