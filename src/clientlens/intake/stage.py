"""The intake stage as a whole: ingest the raw exports, then build the client-quarter panel,
unless data/processed/ already holds what these very inputs would give.

    intake = run_intake(raw_dir, processed_dir, params, progress=True)

Ingest is the heavy step (tens of millions of time entries at a large firm). The pages'
language, or a notebook opened in JupyterLab, must not redo it: the stage notes a
fingerprint of everything ingest and the panel depend on (the raw files' names, sizes and
times, the parameters they read, the anonymisation key, the intake code) beside the files it
wrote, and reuses those files while the fingerprint and the files are unchanged.

Anonymised (params anonymize), what the stage leaves is anonymised once (panel.anonymize_tables),
and what ingest prints as it goes, which the executed notebook keeps and publishes, names each
input by its checksum label, never by its file name (relabelled_stderr).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

import pandas as pd

from clientlens.i18n import tr, tr_plural
from clientlens.intake.ingest import IngestResult, run_ingest
from clientlens.intake.panel import ANONYMIZE_KEY_FILE, build_panel, input_labels
from clientlens.intake.readers import find_inputs
from clientlens.intake.readers.sniff import hash_file
from clientlens.parameters import Params, as_of_date
from clientlens.paths import PROJECT_ROOT
from clientlens.processed import file_stats
from clientlens.quarters import date_label, quarter_label, shift_quarter

FINGERPRINT_FILE = ".intake.json"
# The code whose change changes what intake writes.
INTAKE_CODE = ("src/clientlens/intake", "src/clientlens/processed.py", "src/clientlens/parameters.py")


@dataclass(frozen=True)
class Intake:
    result: IngestResult
    panel_meta: dict[str, Any]
    reused: bool  # the processed files were already those of these inputs


def _code_digest() -> str:
    digest = hashlib.sha256()
    for entry in INTAKE_CODE:
        root = PROJECT_ROOT / entry
        for path in sorted([root] if root.is_file() else root.rglob("*.py")):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(raw_dir: Path, processed_dir: Path, params: Params) -> dict[str, Any]:
    key_file = Path(processed_dir).parent / ANONYMIZE_KEY_FILE
    return {
        "raw": file_stats(raw_dir),
        "params": {"as_of": as_of_date(params).isoformat(), "reporting_currency": params.reporting_currency,
                   "office_hours": params.office_hours.model_dump(mode="json"),
                   "work_type_rules": [r.model_dump() for r in params.work_type_rules],
                   "rework_pattern": params.rework_pattern, "period_end": params.period_end,
                   "hours_per_day": params.hours_per_day, "lapse_quarters": params.lapse_quarters,
                   "deadline_grace_days": params.deadline_grace_days,
                   "anonymize": params.anonymize},
        "key": (hashlib.sha256(key_file.read_bytes()).hexdigest()
                if params.anonymize and key_file.exists() else None),
        "code": _code_digest(),
    }


def forget(processed_dir: Path) -> None:
    """Make the next intake read the exports again, as a first run does (make bench times that)."""
    (Path(processed_dir) / FINGERPRINT_FILE).unlink(missing_ok=True)


def intake_outputs(processed_dir: Path) -> list[str]:
    """The files under processed_dir that the last intake wrote (none before the first)."""
    try:
        noted = json.loads((Path(processed_dir) / FINGERPRINT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return sorted(noted.get("outputs", {}))


def _reusable(processed_dir: Path, wanted: dict[str, Any]) -> bool:
    path = processed_dir / FINGERPRINT_FILE
    try:
        noted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    outputs = noted.get("outputs") or {}
    return noted.get("inputs") == wanted and bool(outputs) and file_stats(processed_dir, outputs) == outputs


def _previous(processed_dir: Path) -> Intake:
    summary = pd.read_parquet(processed_dir / "ingest_summary.parquet")
    manifest = json.loads((processed_dir / "manifest.json").read_text(encoding="utf-8"))
    meta = json.loads((processed_dir / "panel_meta.json").read_text(encoding="utf-8"))
    result = IngestResult(summary, list(manifest.get("measured_tables", [])),
                          int(summary["rows_quarantined"].sum()), manifest)
    return Intake(result, meta, reused=True)


def left_out_text(panel_meta: dict[str, Any], lang: str = "en",
                  number: Callable[[int], str] = "{:,}".format) -> str | None:
    """What the period left out, in a sentence: rows dated after the last quarter analysed,
    because that quarter is not finished (period_end auto) or by the period chosen. Pages
    pass `number`, their language's way of writing a count."""
    left = panel_meta.get("left_out") or {}
    if not left:
        return None
    counts = ", ".join(tr_plural("{n} row{s} of {table}", n, lang, n=number(n), table=table,
                                 s="" if n == 1 else "s") for table, n in left.items())
    end = panel_meta["period_end"]
    if panel_meta.get("period_end_chosen"):
        return tr("Rows after {end}, the period end chosen, are left out: {counts}.", lang,
                  end=quarter_label(end, lang), counts=counts)
    return tr("The data runs to {last}, inside a quarter not yet finished: its rows are left out "
              "of the analysis, which ends with {end} ({counts}). To include them: {command}.",
              lang, last=date_label(panel_meta.get("data_max_date") or "?", lang), end=quarter_label(end, lang),
              counts=counts,
              command=f"make report PERIOD_END={shift_quarter(end, 1)}")


def run_intake(raw_dir: Path | str, processed_dir: Path | str, params: Params, progress: bool = False) -> Intake:
    """Ingest and build the panel, or reuse what the same inputs already wrote."""
    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    wanted = fingerprint(raw_dir, processed_dir, params)
    if _reusable(processed_dir, wanted):
        if progress:
            print(f"ingest: {processed_dir.name}/ already holds what these exports and parameters give; "
                  "reused, not read again", file=sys.stderr, flush=True)
        return _noted(_previous(processed_dir), progress)
    (processed_dir / FINGERPRINT_FILE).unlink(missing_ok=True)
    # A file's time can trail the clock by a timer tick: a second's margin keeps what ingest wrote.
    started = time.time_ns() - 1_000_000_000
    with relabelled_stderr(raw_dir) if params.anonymize else contextlib.nullcontext():
        result = run_ingest(raw_dir, processed_dir, params, progress=progress)
        meta = build_panel(processed_dir, params.period_end, params.office_hours,
                           lapse_quarters=params.lapse_quarters,
                           deadline_grace_days=params.deadline_grace_days, anonymize=params.anonymize)
    if params.anonymize:
        # ingest's own summary and manifest name the raw files: the stage gives the anonymised ones
        result = _previous(processed_dir).result
    # The key is made on first use, inside build_panel: note it as it is now.
    done = fingerprint(raw_dir, processed_dir, params)
    (processed_dir / FINGERPRINT_FILE).write_text(
        json.dumps({"inputs": done, "outputs": file_stats(processed_dir, since_ns=started)}, indent=2) + "\n",
        encoding="utf-8")
    return _noted(Intake(result, meta, reused=False), progress)


class Relabelling(io.TextIOBase):
    """A text stream writing to `target` a line at a time, each raw input's name replaced by
    its label ("input 3fa2c1d4 (.csv)"): what ingest says as it goes reaches the executed
    notebook, which is published, and an export's name is often its client's."""

    def __init__(self, target: TextIO, labels: dict[str, str]) -> None:
        super().__init__()
        self.target = target
        self.pending = ""
        spellings = {form: label for name, label in labels.items() for form in (name, repr(name)[1:-1])}
        self.labels = sorted(spellings.items(), key=lambda pair: len(pair[0]), reverse=True)

    def relabel(self, text: str) -> str:
        for name, label in self.labels:
            text = text.replace(name, label)
        return text

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return getattr(self.target, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        self.pending += text
        if "\n" in self.pending:
            lines, _, self.pending = self.pending.rpartition("\n")
            self.target.write(self.relabel(lines + "\n"))
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.target.write(self.relabel(self.pending))
            self.pending = ""
        self.target.flush()


@contextlib.contextmanager
def relabelled_stderr(raw_dir: Path) -> Iterator[None]:
    """stderr, while it lasts, names each input of raw_dir by its label (Relabelling). A label
    needs the file's checksum before ingest has read the file, so an anonymised run reads each
    file once more (BLAKE3, at gigabytes a second)."""
    labels = input_labels([{"file": path.relative_to(raw_dir).as_posix(), "blake3": hash_file(path)[0]}
                           for path in find_inputs(raw_dir)])
    stream = Relabelling(sys.stderr, labels)
    try:
        with contextlib.redirect_stderr(stream):
            yield
    finally:
        stream.flush()


def _noted(intake: Intake, progress: bool) -> Intake:
    note = left_out_text(intake.panel_meta)
    if progress and note:
        print(f"ingest: {note}", file=sys.stderr, flush=True)
    return intake
