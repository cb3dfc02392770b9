"""The demo company: a seeded, deterministic synthetic IT services firm with planted truth.

`generate()` writes raw exports in the canonical formats of `clientlens.intake.contract` (one CSV
per table, headers exactly the contract's column names) plus one Harvest-format detailed
time report, so that every report is meaningful out of the box. Beside them it writes a
planted-truth JSON that only the tests read: the analysis must never open it.

    from clientlens.demo import generate
    truth = generate(Path("data/raw"), Path("data/demo_truth.json"), clients=200, years=3, seed=42,
                     end_quarter="2026Q3", firm="demo")

    python -m clientlens.demo --out data/raw --truth data/demo_truth.json \
        --clients 200 --years 3 --seed 42 --end-quarter 2026Q3 --firm agency

`firm` picks a configuration of firms.FIRMS: "demo" (the default) or "agency", a differently
shaped firm (mostly lumpy projects, strongly seasonal, three currencies, more clients missing
tables), so that tests checking the analysis against the planted truth cannot tune to one
shape. Both plant the same kinds of variety: retainers beside lumpy projects, seasonal hours,
a support phase with less work, stale open-ended contracts, clients missing some tables and
toxic clients with exactly two markers (see truth for how each is recorded).

Module by module:

    firms           FirmConfig and the named firms: mix, currencies, season, contracts, gaps
    archetypes      the archetypes, how each behaves (Profile) and their mix over the clients
    spiral_chain    the planted Markov chain of spiral phases and the mistakes that bend it
    random_streams  one independent random stream per purpose and client
    window          the window's quarters, months, workdays and 15-minute slots
    people          the firm's staff: names, roles, rates
    client_plan     each client's name, lifetime, phases and volumes, quarter by quarter
    team            our people on a client, its communicator and the client's contacts
    time_entries    time entries, and time_entries.csv
    harvest         harvest_time_report.csv: the same time entries, for the Harvest clients
    contracts       contracts.csv: yearly retainers, lumpy projects (or one per phase run)
    invoices        invoices.csv: the billable value, invoiced and (mostly) paid
    client_requests requests.csv: change requests, incidents, estimates, questions, support
    deliverables    deliverables.csv
    surveys         surveys.csv: NPS and CSAT
    team_feedback   team_feedback.csv: the team's ratings of the client
    client_rows     every row of one client, from its own random stream
    chunks          a run of clients as Arrow tables, rendered ahead in worker processes
    arrow_columns   rendered arrays as typed Arrow columns
    truth           the planted truth
    writer          generate(): the files, chunk by chunk, then the truth
    cli             python -m clientlens.demo

Determinism and scale: numpy Generator(PCG64) with its own SeedSequence per client and
purpose (plan, rows), so client k's rows do not depend on chunking or on which process
renders them; the same seed gives byte-identical files. Clients are rendered with vectorised
numpy in chunks of writer.CHUNK_CLIENTS and appended to the files through Arrow's CSV writer, so
memory stays flat (under 1 GB for 10,000 clients x 5 years, about 39 million time entries);
above four chunks two spawned worker processes render ahead of the writer.

Dates: every event date (work, issue, payment, request, delivery, launch, survey, feedback,
acquisition, exit) is on or before the last day of `end_quarter`. Three kinds of date are
plans, not events, and may lie after it: an invoice's due date, a running contract's planned
end date and an unfinished deliverable's promised date (never later than end_quarter
either, in practice: promises are made inside active quarters).
"""
from clientlens.demo.writer import generate

__all__ = ["generate"]
