"""Running the project as a user does: a copy of its git files, and make."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
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
                        r"|\b[0-9a-f]{7,40}\b|utf-8|cp1251", re.IGNORECASE)


def english_words(text: str, names: Iterable[str] = ()) -> list[str]:
    """Latin-letter words of two letters or more in `text` that a Russian page should not show."""
    for name in sorted({str(n) for n in names if n}, key=len, reverse=True):
        text = text.replace(name, " ")
    text = _NOT_WORDS.sub(" ", text)
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in LATIN_ALLOWED]
