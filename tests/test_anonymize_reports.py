"""An anonymised run leaves no raw name anywhere under reports/.

One firm of 22 clients runs `make report ANONYMIZE=true` over exports that name their clients
everywhere they can: in the files' names ("time_entries_Northwind Logistics Inc.csv"), the
projects, the tasks, the people who log time (a freelancer of a client's), the client contacts
and our communicators, the survey respondents, the team's feedback and its comments, the
deliverables, the keys (CT-NORTHWIND-1), the rate card, the map of projects to clients, and the
rows set aside (an unknown client, a duplicate entry naming another file, hours written as a
name). It has clients named with a quote and an ampersand, which pages escape, one in
Cyrillic, which JSON may escape, and the hostile names of tests/test_e2e_hostile.py (a script
tag, a spreadsheet formula). Every byte of every file published (pages, cards, CSV
downloads, executed notebooks, pages.json) is then searched for every raw client name, client
id, person, project, key, free text and file name, as written, HTML-escaped and JSON-escaped:
none may be there, nor in a published file's path.

Exports: a Harvest detailed time report (e2e_support.HARVEST_HEADER, Harvest's own CSV columns
as tests/test_adapters.py cites them) and a Redmine "Spent time" CSV in its English interface
(test_adapters_time.REDMINE_EN, from redmine/redmine app/models/time_entry_query.rb and
config/locales/en.yml: ',' separated, ISO-8859-1, dates %m/%d/%Y); the rest are canonical
tables (docs/data-contract.md).
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from e2e_support import HARVEST_HEADER
from test_adapters_time import REDMINE_EN

pytestmark = pytest.mark.e2e

# (client name, the slug of its id and keys)
CLIENTS = [("Northwind Logistics Inc", "NORTHWIND"), ("Marrowstone Foods & Co", "MARROW"),
           ("Quillfeather Analytics", "QUILL"), ("Brackenridge Dental", "BRACKEN"),
           ("Cobaltmere Shipping", "COBALT"), ("Fernhollow Bakery", "FERN"),
           ("Glimmerford Insurance", "GLIMMER"), ("Harrowgate Motors", "HARROW"),
           ("Ivorywell Pharma", "IVORY"), ("Juniperbrook Realty", "JUNIPER"),
           ("Kestrelmoor Energy", "KESTREL"), ("Lanternfield Media", "LANTERN"),
           ("Mistvale Textiles", "MISTVALE"), ("Nettlecombe Legal", "NETTLE"),
           ("O'Malley & Daughters", "OMALLEY"), ("Pebbleshore Hotels", "PEBBLE"),
           ("Ромашка Трейд", "ROMASHKA"), ("Ravenscar Telecom", "RAVEN"),
           ("Saltmarsh Fisheries", "SALTMARSH"), ("Thistledown Academy", "THISTLE"),
           ("<script>alert(1)</script>", "SCRIPT"), ('=HYPERLINK("http://x","y")', "FORMULA")]
NAMES = [name for name, _slug in CLIENTS]
ID = {name: f"ACCT-{slug}" for name, slug in CLIENTS}
SLUG = dict(CLIENTS)
# Our people: (name, role); the first three speak for us to clients, Casimir as a technical one.
OURS = [("Thaddeus Wrenfield", "account_manager"), ("Philippa Grizzlethorpe", "project_manager"),
        ("Casimir Blatherwick", "developer"), ("Ottoline Varga", "designer"),
        ("Barnaby Quillon", "developer"), ("Ludmila Oyelaran", "developer")]
COMMUNICATORS = {"Thaddeus Wrenfield": "account_manager", "Philippa Grizzlethorpe": "project_manager",
                 "Casimir Blatherwick": "technical"}
HARVEST_PEOPLE = [("Wilhelmina", "Fotheringay"), ("Ignatius", "Poppleton")]
REDMINE_PEOPLE = ["Eustace Pemberton-Hale", "Clementine Ashdown"]
QUARTERS = [f"{year}Q{q}" for year in (2024, 2025) for q in (1, 2, 3, 4)]
FIRST_DAY, DAYS = dt.date(2024, 1, 2), 725
TASKS = ["Feature development for {c}", "UX design of the {c} checkout", "Bug fixing in {c} payments",
         "Support ticket from {c}", "Client call with {c}", "Estimate of {c} phase 2"]

# The files, each named after a client.
CLIENTS_FILE = "clients_Northwind Logistics Inc and friends.csv"
TIME_FILES = ["time_entries_Northwind Logistics Inc.csv", "time_entries_Marrowstone Foods & Co.csv"]
HARVEST_FILE = "harvest_Cobaltmere Shipping.csv"
REDMINE_FILE = "Redmine spent time Fernhollow Bakery.csv"
PROJECT_CLIENTS_FILE = "project_clients_Glimmerford Insurance.csv"
RATES_FILE = "rates_Harrowgate Motors.csv"
PEOPLE_FILE = "people_Ivorywell Pharma team.csv"
CONTACTS_FILE = "contacts_Juniperbrook Realty.csv"
SURVEYS_FILE = "surveys_Kestrelmoor Energy.csv"
FEEDBACK_FILE = "team_feedback_Lanternfield Media.csv"
DELIVERABLES_FILE = "deliverables_Mistvale Textiles.csv"
REQUESTS_FILE = "requests_Nettlecombe Legal.csv"
CONTRACTS_FILE = "contracts_Pebbleshore Hotels.csv"
INVOICES_FILE = "invoices_Ravenscar Telecom.csv"
FILES = [CLIENTS_FILE, *TIME_FILES, HARVEST_FILE, REDMINE_FILE, PROJECT_CLIENTS_FILE, RATES_FILE,
         PEOPLE_FILE, CONTACTS_FILE, SURVEYS_FILE, FEEDBACK_FILE, DELIVERABLES_FILE, REQUESTS_FILE,
         CONTRACTS_FILE, INVOICES_FILE]
# Rows set aside, each quoting a raw value.
UNKNOWN_CLIENT = "Zanzibar Quarry Holdings"
HOURS_AS_NAME = "Northwind overtime"
DUPLICATE_ENTRY = "TE-NORTHWIND-0001"
# Redmine's projects: one named as its client is, one mapped to its client by project_clients.
REDMINE_PROJECTS = {"Fernhollow Bakery": "Fernhollow Bakery", "Glimmerford rebrand": "Glimmerford Insurance"}


def day(rng: random.Random) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=rng.randint(0, DAYS))


def write(raw: Path, name: str, rows: list[list[object]], encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["" if v is None else v for v in row] for row in rows])
    (raw / name).write_bytes(buf.getvalue().encode(encoding))


def write_firm(root: Path) -> dict[str, set[str]]:
    """The firm's exports in root/data/raw; {what: the raw values that must not be published}."""
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = random.Random(25)
    secret: dict[str, set[str]] = {k: set() for k in ("client", "id", "person", "project", "key", "text", "file")}
    secret["client"].update(NAMES)
    secret["id"].update(ID.values())
    secret["file"].update(FILES)
    secret["person"].update(name for name, _role in OURS)
    # Harvest writes first and last names apart; ingest joins them
    secret["person"].update(f"{first} {last}" for first, last in HARVEST_PEOPLE)
    secret["person"].update(part for pair in HARVEST_PEOPLE for part in pair)
    secret["person"].update(REDMINE_PEOPLE)

    write(raw, CLIENTS_FILE, [["client_id", "client_name", "industry", "acquired_date"],
                              *[[ID[c], c, "services", "2023-06-01"] for c in NAMES]])
    # canonical time entries: half the clients in each file, a freelancer of the client's among the people
    for k, name in enumerate(TIME_FILES):
        rows = [["entry_id", "date", "client_id", "project", "task", "person", "role", "hours", "billable",
                 "bill_rate", "cost_rate"]]
        for client in NAMES[k * 10:(k + 1) * 10]:
            project = f"{client} customer portal"
            freelancer = f"Freelancer from {client}"
            secret["project"].add(project)
            secret["person"].add(freelancer)
            for n in range(1, 41):
                task = rng.choice(TASKS).format(c=client)
                secret["text"].add(task)
                person, role = rng.choice(OURS + [(freelancer, "developer")])
                billable = not task.startswith(("Client call", "Estimate"))
                entry = f"TE-{SLUG[client]}-{n:04d}"
                secret["key"].add(entry)
                rows.append([entry, day(rng).isoformat(), ID[client], project, task, person, role,
                             rng.choice([1, 2, 3.5, 6]), "true" if billable else "false", 120, 55])
        if k == 1:  # set aside: an entry of the first file again, an unknown client, hours as a name
            rows.append([DUPLICATE_ENTRY, "2025-03-03", ID[NAMES[0]], "Northwind Logistics Inc customer portal",
                         "Feature development for Northwind Logistics Inc", "Thaddeus Wrenfield", "developer",
                         2, "true", 120, 55])
            rows.append(["TE-ZANZIBAR-1", "2025-03-04", UNKNOWN_CLIENT, f"{UNKNOWN_CLIENT} mine", "Support",
                         "Barnaby Quillon", "developer", 2, "true", 120, 55])
            rows.append(["TE-MARROW-9999", "2025-03-05", ID[NAMES[1]], "Marrowstone Foods & Co customer portal",
                         "Support", "Barnaby Quillon", "developer", HOURS_AS_NAME, "true", 120, 55])
            secret["client"].add(UNKNOWN_CLIENT)
            secret["text"].add(HOURS_AS_NAME)
        write(raw, name, rows)
    # Harvest names its clients by name
    harvest = [HARVEST_HEADER]
    for _ in range(120):
        client = rng.choice(NAMES[14:19])
        first, last = rng.choice(HARVEST_PEOPLE)
        task = rng.choice(["Feature development", "Bug fixing", "Support"])
        notes = f"Worked on {client} data import"
        hours = rng.choice([1.0, 2.5, 4.0])
        harvest.append([day(rng).isoformat(), client, f"{client} warehouse app", f"P-{SLUG[client]}", task, notes,
                        hours, hours, "Yes", "No", "Yes", first, last, "Developer", "Yes", 110,
                        round(hours * 110, 2), 50, round(hours * 50, 2), "United States Dollar - USD", ""])
        secret["project"].add(f"{client} warehouse app")
        secret["text"].add(notes)
    write(raw, HARVEST_FILE, harvest)
    # Redmine has no client column: its projects stand for clients; no money, which the rate card gives
    redmine = [REDMINE_EN]
    for _ in range(80):
        project = rng.choice(sorted(REDMINE_PROJECTS))
        issue = f"Feature #{rng.randint(1, 300)}: {REDMINE_PROJECTS[project]} ordering"
        redmine.append([project, day(rng).strftime("%m/%d/%Y"), rng.choice(REDMINE_PEOPLE), "Development", issue,
                        f"Call notes for {REDMINE_PROJECTS[project]}", rng.choice(["1.00", "2.50"])])
        secret["text"].update([issue, f"Call notes for {REDMINE_PROJECTS[project]}"])
    secret["project"].update(REDMINE_PROJECTS)
    write(raw, REDMINE_FILE, redmine, encoding="iso-8859-1")
    write(raw, PROJECT_CLIENTS_FILE, [["project", "client_id"], ["Glimmerford rebrand", ID["Glimmerford Insurance"]]])
    write(raw, RATES_FILE, [["client_id", "role", "person", "valid_from", "valid_to", "bill_rate", "cost_rate"],
                            ["", "", "", "", "", 100, 45],
                            [ID["Fernhollow Bakery"], "", "Eustace Pemberton-Hale", "", "", 130, 60]])
    write(raw, PEOPLE_FILE, [["person", "role", "cost_rate", "bill_rate"],
                             *[[name, role, 55, 120] for name, role in OURS]])
    # contacts: the client's contact changes every other quarter; our communicator never does
    contacts = [["client_id", "quarter", "client_contact", "our_communicator", "communicator_role"]]
    for k, client in enumerate(NAMES):
        ours = list(COMMUNICATORS)[k % len(COMMUNICATORS)]
        for i, quarter in enumerate(QUARTERS):
            theirs = f"{['Gwendolyn Marchbanks', 'Rupert Vexley'][i // 2 % 2]} of {client}"
            secret["person"].add(theirs)
            contacts.append([ID[client], quarter, theirs, ours, COMMUNICATORS[ours]])
    write(raw, CONTACTS_FILE, contacts)
    surveys = [["survey_id", "client_id", "survey_date", "survey_type", "score", "respondent"]]
    feedback = [["feedback_id", "client_id", "feedback_date", "person", "score", "escalation", "comment"]]
    deliverables = [["deliverable_id", "client_id", "name", "work_type", "promised_date", "delivered_date", "status",
                     "launched_date", "billed_extra"]]
    requests = [["request_id", "client_id", "request_type", "created_at", "urgency", "approval_lead_days",
                 "became_order", "contradicts_earlier", "planned", "accepted", "followed_up", "deliverable_id"]]
    contracts = [["contract_id", "client_id", "contract_type", "start_date", "end_date", "value", "renewal_of",
                  "phase"]]
    invoices = [["invoice_id", "client_id", "contract_id", "issue_date", "due_date", "paid_date", "amount"]]
    for client in NAMES:
        slug, cid = SLUG[client], ID[client]
        for n in range(1, 4):
            respondent = f"Aurelia Northcott at {client}"
            secret["person"].add(respondent)
            surveys.append([f"SV-{slug}-{n}", cid, day(rng).isoformat(), "nps", rng.randint(3, 10), respondent])
            person = rng.choice(OURS)[0]
            comment = f"{client} asked {person} to redo the login page again"
            secret["text"].add(comment)
            feedback.append([f"FB-{slug}-{n}", cid, day(rng).isoformat(), person, rng.randint(1, 5),
                             "true" if n == 1 else "false", comment])
            promised = day(rng)
            delivered = promised + dt.timedelta(days=rng.randint(-5, 10))
            status = rng.choice(["launched", "shelved", "delivered"])
            deliverables.append([f"DLV-{slug}-{n}", cid, f"{client} loyalty app v{n}", "feature", promised.isoformat(),
                                 min(delivered, dt.date(2025, 12, 20)).isoformat(), status,
                                 min(delivered, dt.date(2025, 12, 20)).isoformat() if status == "launched" else "",
                                 "false"])
            secret["text"].add(f"{client} loyalty app v{n}")
            secret["key"].update([f"SV-{slug}-{n}", f"FB-{slug}-{n}", f"DLV-{slug}-{n}"])
        for n in range(1, 7):
            kind = rng.choice(["change_request", "incident", "estimate_request", "support"])
            created = dt.datetime.combine(day(rng), dt.time(rng.choice([10, 21]), 15))
            requests.append([f"REQ-{slug}-{n}", cid, kind, created.strftime("%Y-%m-%d %H:%M"),
                             rng.choice(["normal", "urgent"]), rng.choice([2, 15, 40]), rng.choice(["true", "false"]),
                             rng.choice(["true", "false"]), "false", "true", "false", f"DLV-{slug}-{n % 3 + 1}"])
            secret["key"].add(f"REQ-{slug}-{n}")
        contracts += [[f"CT-{slug}-1", cid, "retainer", "2024-01-01", "2024-12-31", 60000, "", "feature"],
                      [f"CT-{slug}-2", cid, "retainer", "2025-01-01", "2025-12-31", 50000, f"CT-{slug}-1", "support"]]
        secret["key"].update([f"CT-{slug}-1", f"CT-{slug}-2"])
        for m in range(24):
            issued = dt.date(2024 + m // 12, m % 12 + 1, 28)
            paid = issued + dt.timedelta(days=30 + rng.choice([0, 5, 45]))
            invoices.append([f"INV-{slug}-{m + 1:02d}", cid, f"CT-{slug}-{m // 12 + 1}", issued.isoformat(),
                             (issued + dt.timedelta(days=30)).isoformat(),
                             paid.isoformat() if paid < dt.date(2026, 1, 1) else "", rng.choice([4000, 5000])])
            secret["key"].add(f"INV-{slug}-{m + 1:02d}")
    write(raw, SURVEYS_FILE, surveys)
    write(raw, FEEDBACK_FILE, feedback)
    write(raw, DELIVERABLES_FILE, deliverables)
    write(raw, REQUESTS_FILE, requests)
    write(raw, CONTRACTS_FILE, contracts)
    write(raw, INVOICES_FILE, invoices)
    return secret


def spellings(value: str) -> set[str]:
    """`value` as a published file may hold it: as written, HTML-escaped (with and without
    quotes), JSON-escaped (ASCII or not), and JSON-escaped after HTML (an executed notebook's
    HTML output)."""
    forms = {value, html.escape(value), html.escape(value, quote=False), value.replace("'", "&#39;")}
    forms |= {json.dumps(f, ensure_ascii=a)[1:-1] for f in set(forms) for a in (True, False)}
    return forms


@pytest.fixture(scope="module")
def anonymised(build_project):
    """(project, {what: raw values}) after make report ANONYMIZE=true on the firm."""
    secret: dict[str, set[str]] = {}

    def prepare(root: Path) -> None:
        secret.update(write_firm(root))

    root, _run = build_project("anonymised-names", "ANONYMIZE=true", prepare=prepare,
                               what="a firm naming its clients everywhere, anonymised")
    return root, secret


def test_the_firm_names_its_clients_everywhere(anonymised):
    """What the search looks for is in the exports, and the run read them all and set rows aside."""
    root, secret = anonymised
    raw = "\n".join(p.read_bytes().decode("utf-8", errors="replace") + p.read_bytes().decode("latin-1")
                    for p in (root / "data" / "raw").iterdir() if p.is_file()) + "\n".join(FILES)
    for what, values in secret.items():
        assert values, what
        for value in values:
            in_csv = value.replace('"', '""')  # a quoted CSV cell doubles its quotes
            assert value in raw or in_csv in raw or all(word in raw for word in value.split()), (what, value)
    summary = pd.read_parquet(root / "data" / "processed" / "ingest_summary.parquet")
    assert summary["file"].nunique() == len(FILES)
    assert summary["rows_quarantined"].sum() >= 3
    reasons = " | ".join(pd.read_parquet(root / "data" / "processed" / "quarantine" / "quarantine.parquet").reason)
    assert "duplicate entry_id also on row" in reasons and "not a number" in reasons
    assert "unknown client" in reasons or "client" in reasons


def test_no_raw_name_is_published(anonymised):
    root, secret = anonymised
    reports = root / "reports"
    files = [p for p in reports.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".html", ".csv", ".ipynb", ".json"} <= kinds, kinds
    assert any(p.parent.name == "clients" for p in files), "the client cards are published"
    needles = {form: (what, value) for what, values in secret.items() for value in values
               for form in spellings(value)}
    found = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        rel = path.relative_to(reports).as_posix()
        for form, (what, value) in needles.items():
            if form in text or form.lower() in rel.lower():
                found.append(f"{rel}: {what} {value!r}")
    assert not found, f"{len(found)} raw names published:\n" + "\n".join(sorted(set(found))[:40])


def test_pseudonyms_stand_in_for_them(anonymised):
    """The pages still say what they said, of pseudonyms: inputs by checksum, clients and our
    communicators by keyed pseudonyms."""
    root, _secret = anonymised
    reports = root / "reports"
    manifest = json.loads((root / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    labels = {item["file"] for item in manifest["inputs"]}
    assert len(labels) == len(FILES) and all(label.startswith("input ") for label in labels)
    ingest = (reports / "ingest.html").read_text(encoding="utf-8")
    index = (reports / "index.html").read_text(encoding="utf-8")
    for item in manifest["inputs"]:
        assert html.escape(item["file"]) in ingest and html.escape(item["file"]) in index
        assert item["file"].startswith(f"input {item['blake3'][:8]}")
    assert "Client " in (reports / "pnl.html").read_text(encoding="utf-8")
    spiral = (reports / "spiral.html").read_text(encoding="utf-8")
    assert "Person " in spiral, "the spiral's communicator mistakes name a pseudonym"
    notebook = (reports / "executed" / "01-ingest.ipynb").read_text(encoding="utf-8")
    assert "ingest: input " in notebook, "ingest's messages name the inputs by checksum"
