"""generate(): the demo firm's CSV files, appended chunk by chunk, then its planted truth."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from clientlens.demo.archetypes import assign_clients
from clientlens.demo.arrow_columns import arrow_table
from clientlens.demo.chunks import ChunkTask, rendered_chunks
from clientlens.demo.currencies import FX_RATES, REPORTING_CURRENCY
from clientlens.demo.deals import deals_table
from clientlens.demo.firms import FirmConfig, firm_config
from clientlens.demo.harvest import HARVEST_COLUMNS, HARVEST_FILE
from clientlens.demo.people import ROLES, make_people
from clientlens.demo.truth import WHALE_PROFIT_SHARE, truth_document
from clientlens.demo.window import make_calendar
from clientlens.intake.contract import TABLES

TABLE_FILES = ("clients", "contracts", "invoices", "time_entries", "requests", "deliverables",
               "surveys", "team_feedback", "contacts", "people", "fx_rates", "deals")
CHUNK_CLIENTS = 100  # clients rendered and written together (about 400k time entries at most)
WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")


class CsvSink:
    """One CSV file written chunk by chunk: our own header line, then Arrow-written rows.

    Quoting is off: every text we write is free of commas, quotes and newlines, and Arrow
    refuses a value that is not, so a stray comma fails loudly instead of shifting columns.
    """

    def __init__(self, path: Path, header: tuple[str, ...]):
        self.path = path
        self.header = header
        self.rows = 0
        self.fh = open(path, "wb")
        self.fh.write((",".join(header) + "\n").encode())

    def write(self, table: pa.Table | None) -> None:
        if table is not None and table.num_rows:
            pacsv.write_csv(table, self.fh, WRITE_OPTIONS)
            self.rows += table.num_rows

    def close(self) -> None:
        self.fh.close()


def generate(out_dir: Path, truth_path: Path, *, clients: int, years: int, seed: int, end_quarter: str,
             progress: bool = False, workers: int | None = None, firm: str | FirmConfig = "demo",
             lapse_quarters: int | None = None) -> dict:
    """Write the demo company's raw exports to out_dir and its planted truth to truth_path.

    Returns the truth document. `firm`: a preset of firms.FIRMS ("demo", "agency") or a
    FirmConfig. `lapse_quarters` defaults to config/params.yaml's (the truth's active count and
    its stale contracts follow it). `workers` processes render chunks ahead of the writer; the
    default uses two when there are more than four chunks (over 400 clients). Output never
    depends on it.
    """
    started = time.perf_counter()
    out_dir, truth_path = Path(out_dir), Path(truth_path)
    if years < 1:
        raise ValueError(f"years={years}: the demo needs at least one year")
    config = firm_config(firm)
    if lapse_quarters is None:
        from clientlens.parameters import load
        lapse_quarters = load().lapse_quarters
    cal = make_calendar(end_quarter, years)
    assignments = assign_clients(clients, seed, config)
    people = make_people(clients, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    tasks = [ChunkTask(first, min(clients, first + CHUNK_CLIENTS),
                       tuple(assignments[first:first + CHUNK_CLIENTS]), cal, people, seed, config,
                       lapse_quarters)
             for first in range(0, clients, CHUNK_CLIENTS)]
    if workers is None:
        workers = 2 if len(tasks) > 4 else 1

    def say(msg: str) -> None:
        if progress:
            print(f"demo: {msg}", file=sys.stderr, flush=True)

    sinks = {name: CsvSink(out_dir / f"{name}.csv", TABLES[name].column_names) for name in TABLE_FILES}
    sinks[HARVEST_FILE] = CsvSink(out_dir / f"{HARVEST_FILE}.csv", HARVEST_COLUMNS)
    truth_clients: dict[str, dict] = {}
    profit: dict[str, float] = {}
    try:
        usd = pa.array([REPORTING_CURRENCY] * len(people.name))
        sinks["people"].write(arrow_table([
            pa.array(people.name.tolist()), pa.array(np.array(ROLES)[people.role].tolist()),
            pa.array(people.cost_rate), pa.array(people.bill_rate), usd,
        ], TABLES["people"].column_names))
        rates = [(c, r) for c, r in FX_RATES if c in dict(config.currencies)]
        sinks["fx_rates"].write(arrow_table([pa.array([c for c, _ in rates]),
                                        pa.array([r for _, r in rates])], TABLES["fx_rates"].column_names))
        say(f"firm {config.name}; people.csv: {sinks['people'].rows:,} people; "
            f"fx_rates.csv: {len(rates)} currencies")
        for i, (task, out) in enumerate(zip(tasks, rendered_chunks(tasks, workers))):
            for name, table in out.tables.items():
                sinks[name].write(table)
            truth_clients.update(out.truth)
            profit.update(out.profit)
            entries = sum(out.tables[t].num_rows for t in ("time_entries", HARVEST_FILE)
                          if out.tables[t] is not None)
            say(f"chunk {i + 1}/{len(tasks)}: clients {task.first + 1}-{task.stop}, "
                f"{entries:,} time entries ({time.perf_counter() - started:.1f} s)")
        deals, deals_truth = deals_table(truth_clients, cal, seed, config)
        sinks["deals"].write(deals)
    finally:
        for sink in sinks.values():
            sink.close()

    truth = truth_document(truth_clients, profit, seed, years, end_quarter, config, lapse_quarters)
    truth["pipeline"] = deals_truth
    with open(truth_path, "w", encoding="utf-8") as fh:
        json.dump(truth, fh, sort_keys=True, indent=1)
        fh.write("\n")
    for name, sink in sinks.items():
        if name not in ("people", "fx_rates"):
            say(f"{name}.csv: {sink.rows:,} rows")
    n_loss = sum(v["loss_making"] for v in truth_clients.values())
    entries = sinks["time_entries"].rows + sinks[HARVEST_FILE].rows
    planted = {c for c, v in truth_clients.items() if v["archetype"] == "whale"}
    whales = {c for c, v in truth_clients.items() if v["whale"]}
    warning = ""
    if whales != planted or not truth["whale_profit_share"] > WHALE_PROFIT_SHARE:
        warning = " WARNING: the planted whales are not the top of the whale curve in this run;"
    say(f"{config.name}: {clients} clients x {years} years to {end_quarter} (seed {seed}): {entries:,} time "
        f"entries ({sinks[HARVEST_FILE].rows:,} in Harvest format), {sinks['invoices'].rows:,} "
        f"invoices, {sinks['requests'].rows:,} requests; whales carry "
        f"{truth['whale_profit_share']:.0%} of profit, {n_loss} clients lose money;{warning} "
        f"wrote {out_dir} and {truth_path} in {time.perf_counter() - started:.1f} s")
    return truth
