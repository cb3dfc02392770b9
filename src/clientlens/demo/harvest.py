"""harvest_time_report.csv: a Harvest detailed time report, the time export of some clients.

Some clients (firms.FirmConfig.harvest_share; never a toxic one: their after-hours start
times matter) log time here instead of in time_entries.csv: the same time entries, in Harvest's
columns and spelling.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from clientlens.demo.arrow_columns import arrow_table, coded
from clientlens.demo.client_plan import ClientPlan
from clientlens.demo.people import People
from clientlens.demo.time_entries import time_columns

HARVEST_FILE = "harvest_time_report"
HARVEST_COLUMNS = ("Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours",
                   "Hours Rounded", "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name",
                   "Roles", "Employee?", "Billable Rate", "Billable Amount", "Cost Rate",
                   "Cost Amount", "Currency", "External Reference URL")
HARVEST_CURRENCY = {"USD": "United States Dollar - USD", "EUR": "Euro - EUR"}


def harvest_table(parts: list[tuple[ClientPlan, dict[str, np.ndarray]]], people: People,
                  dicts: dict[str, pa.Array]) -> pa.Table:
    """The Harvest rows of clients that log their time there."""
    tc = time_columns(parts, people, dicts)
    cat, n = tc.entries, tc.n
    names = pa.array([p.name for p, _ in parts], type=pa.string())
    codes = pa.array([c for p, _ in parts for c in p.project_codes], type=pa.string())
    yes_no = dicts["yes_no"]
    billable = cat["billable"].astype(np.int64)
    return arrow_table([
        tc.date, coded(names, tc.client_code), coded(tc.projects, tc.project_code),
        coded(codes, tc.project_code), tc.task, coded(dicts["empty"], np.zeros(n)), tc.hours,
        pa.array(np.ceil(cat["hours"] * 4) / 4),  # Harvest's quarter-hour rounding
        coded(yes_no, billable), coded(yes_no, billable),  # everything billable is invoiced
        coded(yes_no, np.ones(n)),
        coded(dicts["first"], cat["person"]), coded(dicts["last"], cat["person"]),
        coded(dicts["role_display"], tc.role),
        coded(yes_no, people.employee[cat["person"]].astype(np.int64)),
        tc.bill_rate, tc.billable_amount, tc.cost_rate, tc.cost_amount,
        coded(dicts["harvest_usd"], np.zeros(n)), coded(dicts["empty"], np.zeros(n)),
    ], HARVEST_COLUMNS)
