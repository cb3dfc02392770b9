"""A chunk: a run of clients rendered together into Arrow tables, here or in a worker process.

Clients are rendered with vectorised numpy in chunks (writer.CHUNK_CLIENTS) that the writer
appends to the files; above four chunks two spawned worker processes render ahead of it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from clientlens.demo.archetypes import Assignment
from clientlens.demo.arrow_columns import arrow_table, rows_to_arrays
from clientlens.demo.client_plan import plan_client
from clientlens.demo.client_requests import REQUEST_TYPES, URGENCY, requests_table
from clientlens.demo.client_rows import client_row, render_client
from clientlens.demo.currencies import REPORTING_CURRENCY
from clientlens.demo.deliverables import DELIVERABLE_STATUS, deliverables_table
from clientlens.demo.firms import FirmConfig
from clientlens.demo.harvest import HARVEST_CURRENCY, HARVEST_FILE, harvest_table
from clientlens.demo.people import ROLE_DISPLAY, ROLES, People
from clientlens.demo.time_entries import TASK_TEXT, time_entries_table
from clientlens.demo.truth import client_truth
from clientlens.demo.window import SLOT_TEXT, Calendar
from clientlens.intake.contract import TABLES, WORK_TYPES


def make_dictionaries(people: People) -> dict[str, pa.Array]:
    return {
        "task": pa.array(TASK_TEXT.tolist()), "slot": pa.array(SLOT_TEXT.tolist()),
        "person": pa.array(people.name.tolist()), "first": pa.array(people.first.tolist()),
        "last": pa.array(people.last.tolist()), "role": pa.array(list(ROLES)),
        "role_display": pa.array(ROLE_DISPLAY.tolist()), "work_type": pa.array(list(WORK_TYPES)),
        "usd": pa.array([REPORTING_CURRENCY]), "harvest_usd": pa.array([HARVEST_CURRENCY["USD"]]),
        "yes_no": pa.array(["No", "Yes"]), "empty": pa.array([""]),
        "request_type": pa.array(list(REQUEST_TYPES)), "urgency": pa.array(list(URGENCY)),
        "status": pa.array(list(DELIVERABLE_STATUS)),
    }


@dataclass(frozen=True)
class ChunkTask:
    """What a (possibly separate) process needs to render clients `first`..`stop`-1."""
    first: int
    stop: int
    assignments: tuple[Assignment, ...]
    cal: Calendar
    people: People
    seed: int
    firm: FirmConfig
    lapse_quarters: int


@dataclass
class ChunkOutput:
    tables: dict[str, pa.Table | None]  # file stem -> rows of this chunk
    truth: dict[str, dict]  # client_id -> its truth entry (whale not yet known)
    profit: dict[str, float]


def render_chunk(task: ChunkTask) -> ChunkOutput:
    """Every row of a run of clients, as Arrow tables ready to append to the files.

    Each client draws from its own streams, so the output does not depend on where chunks
    begin or which process renders them.
    """
    dicts = make_dictionaries(task.people)
    small: dict[str, dict[str, list]] = {}
    time_parts, request_parts, deliverable_parts = [], [], []
    truth, profit = {}, {}

    def add(table: str, rows: dict[str, list]) -> None:
        dest = small.setdefault(table, {c: [] for c in TABLES[table].column_names})
        for c, v in rows.items():
            dest[c].extend(v)

    for k, assignment in zip(range(task.first, task.stop), task.assignments):
        plan = plan_client(k, assignment, task.cal, task.seed, task.firm, task.lapse_quarters)
        result = render_client(plan, task.people, task.cal, task.seed)
        profit[plan.client_id] = result.revenue - result.cost
        truth[plan.client_id] = client_truth(plan, task.cal, profit[plan.client_id],
                                             task.lapse_quarters)
        add("clients", client_row(plan))
        for table, rows in result.small.items():
            add(table, rows)
        time_parts.append((plan, result.time))
        request_parts.append((plan, result.requests))
        deliverable_parts.append((plan, result.deliverables))
    tables: dict[str, pa.Table | None] = {}
    own_export = [(p, t) for p, t in time_parts if not p.harvest]
    harvest_export = [(p, t) for p, t in time_parts if p.harvest]
    tables["time_entries"] = time_entries_table(own_export, task.people, dicts) if own_export else None
    tables[HARVEST_FILE] = harvest_table(harvest_export, task.people, dicts) if harvest_export else None
    tables["requests"] = requests_table(request_parts, dicts)
    tables["deliverables"] = deliverables_table(deliverable_parts, dicts)
    for name, rows in small.items():
        tables[name] = arrow_table(rows_to_arrays(rows, TABLES[name].column_names), TABLES[name].column_names)
    return ChunkOutput(tables, truth, profit)


def rendered_chunks(tasks: list[ChunkTask], workers: int):
    """Chunk outputs in order; with workers > 1, rendered ahead in separate processes.

    At most `workers` chunks are in flight besides the one being written, so memory stays
    bounded whatever the number of clients. Processes are spawned (not forked): Arrow's threads do not survive a fork.
    """
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield render_chunk(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as ex:
        pending = []
        todo = iter(tasks)
        for task in todo:
            pending.append(ex.submit(render_chunk, task))
            if len(pending) >= workers:
                break
        while pending:
            result = pending.pop(0).result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(ex.submit(render_chunk, nxt))
            yield result
