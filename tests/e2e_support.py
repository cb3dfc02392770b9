"""Running the project as a user does: a copy of its git files, and make."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterable

from clientlens.paths import PROJECT_ROOT

VENV = Path(sys.executable).parent.parent


def tracked_files() -> list[str]:
    """What a fresh clone would hold: git's tracked files and new ones it does not ignore."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True)
    if listing.returncode != 0 or not listing.stdout.strip():
        raise RuntimeError("the end-to-end tests copy the project's git files; run them in a checkout")
    return [f for f in listing.stdout.splitlines() if (PROJECT_ROOT / f).is_file()]


def copy_project(root: Path) -> Path:
    """A fresh-clone-like copy in `root`, committed so pages can cite a commit.

    copy2 keeps modification times, so the shared environment's setup stamp stays newer
    than requirements.lock and the copy never reinstalls into it."""
    for rel in tracked_files():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, target)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], cwd=root,
                   check=True)
    return root


def copy_built(project: Path, target: Path) -> Path:
    """A copy of a built project that Make finds up to date: copy2 keeps every modification
    time, and the copy keeps the git history its pages cite."""
    shutil.copytree(project, target, symlinks=True)
    return target


def make(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", *args, f"VENV={VENV}"],
                          cwd=project, capture_output=True, text=True, env=env, timeout=1800)


# The demo company of the end-to-end tests: every page, table and card has content, and the
# chain stays quick.
DEMO_SIZE = ("CLIENTS=40", "YEARS=2")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path, pattern: str = "*") -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob(pattern)) if p.is_file()}


HARVEST_HEADER = ["Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded",
                  "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?",
                  "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency",
                  "External Reference URL"]
HARVEST_TASKS = ["Feature development", "UX design", "Bug fixing", "Support", "Client call", "Estimate"]
HARVEST_COST_RATE = 55.0


def write_harvest_export(path: Path, bill_rates: dict[str, float], n: int, seed: int) -> None:
    """A Harvest detailed time report: random entries for the given clients at their bill rates,
    every hour at one cost rate; client calls and estimates are not billable."""
    import csv
    import datetime as dt
    import random

    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HARVEST_HEADER)
        for _ in range(n):
            client = rng.choice(sorted(bill_rates))
            task = rng.choice(HARVEST_TASKS)
            day = dt.date(2024, 1, 2) + dt.timedelta(days=rng.randint(0, 640))
            hours = round(rng.uniform(0.25, 8), 2)
            billable = task not in ("Client call", "Estimate")
            rate = bill_rates[client]
            writer.writerow([day.isoformat(), client, "Main", "", task, "", hours, hours,
                             "Yes" if billable else "No", "No", "Yes", "Ann", "Lee", "Developer", "Yes", rate,
                             round(hours * rate, 2) if billable else 0.0, HARVEST_COST_RATE,
                             round(hours * HARVEST_COST_RATE, 2), "United States Dollar - USD", ""])


# --- the other time trackers' exports, headers as tests/test_adapters_time.py cites them ----------
# Rows span 2024-01-02 to 2025-09-30, so a chain run has seven whole quarters of them.
EXPORT_FIRST_DAY, EXPORT_DAYS = dt.date(2024, 1, 2), 637
# (task, description, tags, billable): the work a tracker's entry describes
TRACKER_WORK = [("Design", "Homepage mockups", "", True), ("Development", "Checkout backend", "backend", True),
                ("Bug fixing", "Login fails on Safari", "bug", True), ("Support", "Password reset", "", True),
                ("", "Weekly sync", "meeting", False), ("Estimate", "Scope of phase 2", "presale", False)]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _write_rows(path: Path, header: list[str], rows: list[dict[str, object]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[row.get(h, "") for h in header] for row in rows])


def _working_start(rng, minutes: int) -> dt.datetime:
    """A start on a day of the span, in office hours and early enough to end that day."""
    day = EXPORT_FIRST_DAY + dt.timedelta(days=rng.randint(0, EXPORT_DAYS))
    start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=5 * rng.randint(0, 120))
    return min(start, dt.datetime.combine(day, dt.time(23, 59)) - dt.timedelta(minutes=minutes))


def write_clockify_export(path: Path, bill_rates: dict[str, float], people: list[str], n: int,
                          seed: int) -> None:
    """A Clockify detailed report in USD: entries of whole minutes, their decimal duration to
    two places, amounts on the exact duration; meetings and estimates are not billable."""
    import random

    from test_adapters_time import CLOCKIFY

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        client, person = rng.choice(sorted(bill_rates)), rng.choice(people)
        task, description, tags, billable = rng.choice(TRACKER_WORK)
        minutes = rng.randint(10, 480)
        start = _working_start(rng, minutes)
        end = start + dt.timedelta(minutes=minutes)
        rate = Decimal(str(bill_rates[client])) if billable else Decimal(0)
        rows.append({"Project": f"{client} website", "Client": client, "Description": description, "Task": task,
                     "User": person, "Email": person.lower().replace(" ", ".") + "@example.com", "Tags": tags,
                     "Billable": "Yes" if billable else "No",
                     "Start Date": start.strftime("%m/%d/%Y"), "Start Time": start.strftime("%I:%M %p"),
                     "End Date": end.strftime("%m/%d/%Y"), "End Time": end.strftime("%I:%M %p"),
                     "Duration (h)": f"{minutes // 60:02d}:{minutes % 60:02d}:00",
                     "Duration (decimal)": f"{minutes / 60:.2f}", "Billable Rate (USD)": f"{rate:.2f}",
                     "Billable Amount (USD)": f"{_cents(rate * minutes / 60):.2f}"})
    _write_rows(path, CLOCKIFY, rows)


def write_kimai_export(path: Path, hourly_prices: dict[str, float], people: list[str], n: int, seed: int,
                       currency: str, internal_rate: float) -> None:
    """A Kimai timesheet export (default template): every entry priced at its customer's
    hourly price and costed at one internal rate, billable or not, as Kimai does."""
    import random

    from test_adapters_time import KIMAI

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        customer, name = rng.choice(sorted(hourly_prices)), rng.choice(people)
        activity, description, tags, billable = rng.choice(TRACKER_WORK)
        minutes = 5 * rng.randint(3, 96)
        start = _working_start(rng, minutes)
        hourly = Decimal(str(hourly_prices[customer]))
        rows.append({"Date": start.date().isoformat(), "From": start.strftime("%H:%M"),
                     "To": (start + dt.timedelta(minutes=minutes)).strftime("%H:%M"),
                     "Duration": f"{minutes // 60}:{minutes % 60:02d}", "Currency": currency,
                     "Price": str(float(_cents(hourly * minutes / 60))),
                     "Internal price": str(float(_cents(Decimal(str(internal_rate)) * minutes / 60))),
                     "Hourly price": str(float(hourly)), "Name": name, "User": name.split()[0].lower(),
                     "E-mail": name.lower().replace(" ", ".") + "@example.com", "Customer": customer,
                     "Project": f"{customer} app", "Activity": activity or "Meeting", "Description": description,
                     "Billable": "1" if billable else "", "Tags": tags, "Type": "timesheet", "Category": "work"})
    _write_rows(path, KIMAI, rows)


PRODUCTIVE_SERVICES = [("Development", True), ("Design", True), ("Support", True), ("Project management", False)]


def write_productive_export(path: Path, companies: list[str], people: list[str], n: int, seed: int) -> None:
    """A Productive.io time entries report: minutes worked and minutes billed (all of them,
    some of them, or none for project management); no money, which the people's rates give."""
    import random

    from test_adapters_time import PRODUCTIVE

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        company, service_billable = rng.choice(companies), rng.choice(PRODUCTIVE_SERVICES)
        service, billable = service_billable
        minutes = 5 * rng.randint(3, 96)
        billed = (minutes if rng.random() < 0.8 else max(minutes - 30, 0)) if billable else 0
        day = EXPORT_FIRST_DAY + dt.timedelta(days=rng.randint(0, EXPORT_DAYS))
        rows.append({"Date": day.isoformat(), "Person": rng.choice(people), "Company": company,
                     "Project": f"{company} retainer", "Service": service, "Task": f"Task {rng.randint(1, 90)}",
                     "Note": "", "Time (minutes)": minutes, "Billable time (minutes)": billed})
    _write_rows(path, PRODUCTIVE, rows)


# --- English left on a Russian page ------------------------------------------------------------

# Words a Russian report may print in Latin letters: acronyms, products whose exports it reads,
# currency codes. Client and people names, file names, paths and quarter labels are removed first.
LATIN_ALLOWED = {
    "abc", "clv", "csat", "csv", "dso", "hhi", "it", "ltv", "mvp", "nps", "blake", "sbg", "utc", "ux", "xlsx",
    "git", "commit", "changes",  # the lineage's code version: "<hash> +changes"
    "harvest", "toggl", "track", "jira", "tempo",
    "usd", "eur", "rub", "gbp", "kzt", "byn", "cny",
}
_NOT_WORDS = re.compile(r"\S+\.(?:csv|parquet|json|yaml|html|ipynb|xlsx|md)\b|\S*/\S*|\b\d{4}Q[1-4]\b"
                        r"|\b(?:I{1,3}|IV) кв\."  # a Russian quarter: "IV кв. 2026"
                        r"|\b[0-9a-f]{7,40}\b|utf-8|cp1251", re.IGNORECASE)


def english_words(text: str, names: Iterable[str] = ()) -> list[str]:
    """Latin-letter words of two letters or more in `text` that a Russian page should not show."""
    for name in sorted({str(n) for n in names if n}, key=len, reverse=True):
        text = text.replace(name, " ")
    text = _NOT_WORDS.sub(" ", text)
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in LATIN_ALLOWED]
