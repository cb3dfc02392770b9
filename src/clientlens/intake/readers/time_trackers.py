"""Time-tracking exports beyond Harvest, Toggl and Tempo: Redmine, Clockify, Kimai, Productive.io.

Each is recognised from the header row its tool writes (tests/test_adapters_time.py cites
the source of each) and mapped like the exports of adapters.py. What the formats write
differently is read by the shared parsers: Redmine's Russian interface writes `;`, a BOM
and decimal commas, its English one ISO-8859-1 (sniff.py); Clockify writes 12-hour start
times, Kimai durations as h:mm, Productive minutes (FileMapping.units).
"""
from __future__ import annotations


from clientlens.intake.readers.mapping import (
    Export, FileMapping, Headers, currency_in_header, first_given, joined, present,
)

# --- Redmine: Spent time -> CSV ------------------------------------------------------
# Captions of TimeEntryQuery's columns (config/locales/en.yml, ru.yml: field_spent_on,
# field_user, field_activity, field_issue, field_comments, field_hours, field_project).
# The hours caption carries the unit in Russian ("час(а,ов)"); older locales said "Часы".
_REDMINE_HOURS = ("hours", "час(а,ов)", "часы", "часов", "трудозатраты")
# Redmine has no client: a custom field of that name, shown as its own column, names it.
_REDMINE_CLIENT = ("client", "customer", "клиент", "заказчик", "контрагент",
                   "project client", "project customer", "проект клиент", "проект заказчик")


def redmine(h: Headers) -> FileMapping:
    project = h.col("project", "проект")
    issue = h.col("issue", "задача")
    client = h.col(*_REDMINE_CLIENT)
    cols = {
        "date": h.col("date", "дата"), "person": h.col("user", "пользователь"),
        "client_id": client or project, "project": project, "task": issue,
        "hours": h.col(*_REDMINE_HOURS),
    }
    # The issue cell is "Tracker #id: subject", so the tracker (Bug, Feature) is work text too.
    work = joined(h.col("activity", "деятельность"), issue, h.col("comment", "комментарий"))
    return FileMapping("time_entries", "redmine", present(cols), present({"_work_text": work}),
                       client_from_project=client is None)


# --- Clockify detailed report --------------------------------------------------------
def clockify(h: Headers) -> FileMapping:
    money = {name: h.cols_matching(rf"^{name}\b") for name in
             ("billable rate", "billable amount", "cost rate", "cost amount")}
    cols = {
        "date": h.col("start date"), "start_time": h.col("start time"),
        "client_id": h.col("client"), "project": h.col("project"),
        "task": first_given(h.col("task"), h.col("description")),
        "person": first_given(h.col("user"), h.col("email")),
        # Duration (h) is h:mm:ss, rounded to the second; the decimal is the same time.
        "hours": h.col("duration (decimal)", "duration (h)"), "billable": h.col("billable"),
        "bill_rate": next((sql for _h, sql in money["billable rate"]), None),
        "billable_amount": next((sql for _h, sql in money["billable amount"]), None),
        "cost_rate": next((sql for _h, sql in money["cost rate"]), None),
        "cost_amount": next((sql for _h, sql in money["cost amount"]), None),
        "currency": currency_in_header([pair for found in money.values() for pair in found]),
    }
    work = joined(h.col("task"), h.col("tags"), h.col("description"))
    return FileMapping("time_entries", "clockify", present(cols), present({"_work_text": work}))


# --- Kimai timesheet export ----------------------------------------------------------
def kimai(h: Headers) -> FileMapping:
    billable = h.col("billable")
    # Kimai writes a false flag as an empty cell, and prices non-billable work all the same:
    # only billable work is revenue.
    flag = f"coalesce(nullif(trim({billable}), ''), '0')" if billable else None
    price = h.col("price")
    amount = (f"CASE WHEN coalesce(cl_bool({flag}), true) THEN {price} ELSE '0' END"
              if price and flag else price)
    cols = {
        "date": h.col("date"), "start_time": h.col("from"), "hours": h.col("duration"),
        "person": first_given(h.col("name"), h.col("user")), "client_id": h.col("customer"),
        "project": h.col("project"), "task": h.col("activity"), "billable": flag,
        "billable_amount": amount, "cost_amount": h.col("internal price"),
        "bill_rate": h.col("hourly price"), "currency": h.col("currency"),
    }
    # Not its Type column: that says timesheet (or expense) for every row, not the kind of work.
    work = joined(h.col("activity"), h.col("tags"), h.col("description"))
    return FileMapping("time_entries", "kimai", present(cols), present({"_work_text": work}))


# --- Productive.io time entries ------------------------------------------------------
def productive(h: Headers) -> FileMapping:
    billed = h.col("billable time (minutes)")
    cols = {
        "entry_id": h.col("id", "time entry id"), "date": h.col("date"),
        "person": h.col("person", "person name"),
        "client_id": first_given(h.col("company"), h.col("client"), h.col("customer")),
        "project": h.col("project"), "task": first_given(h.col("task"), h.col("service")),
        "hours": h.col("time (minutes)"),
        "billable": (f"CASE WHEN try_cast(trim({billed}) AS DOUBLE) > 0 THEN 'yes' "
                     f"WHEN try_cast(trim({billed}) AS DOUBLE) = 0 THEN 'no' END") if billed else None,
    }
    work = joined(h.col("service"), h.col("task"), h.col("note"))
    hidden = present({"_work_text": work, "_billed_hours": billed})
    return FileMapping("time_entries", "productive", present(cols), hidden,
                       units={"hours": "minutes", **({"_billed_hours": "minutes"} if billed else {})})


ADAPTERS: tuple[Export, ...] = (
    Export("redmine", "time_entries", (("date", "дата"), ("user", "пользователь"),
                                       ("activity", "деятельность"), _REDMINE_HOURS,
                                       ("issue", "задача", "comment", "комментарий")),
           redmine, label="Redmine"),
    Export("clockify", "time_entries", (("start date",), ("start time",),
                                        ("duration (decimal)", "duration (h)"), ("user", "email"),
                                        ("project",)), clockify, label="Clockify"),
    Export("kimai", "time_entries", (("date",), ("from",), ("to",), ("duration",), ("customer",),
                                     ("project",), ("activity",)), kimai, label="Kimai"),
    Export("productive", "time_entries", (("date",), ("time (minutes)",), ("person", "person name")),
           productive, label="Productive.io"),
)
