"""Quarantine reasons in the report's language.

Ingest writes each reason in English (quarantine.parquet and quarantine.csv keep it so, for
scripts that read them); the ingest page shows it in `report_lang`. A reason is one of the
templates below, filled with a column name, a value, a limit, a row or a file, which stay as
they are. A reason no template matches is shown as written.
"""
from __future__ import annotations

import re

import pandas as pd

from clientlens.i18n import N_, tr

# The reasons ingest writes (readers/rules.py, readers/parse.py, ingest.py), as templates; the
# catalogue (locale/ru.yaml) translates them. Each {field} stands for text kept as it is.
TEMPLATES = [
    N_("{name} is empty"), N_("{name} is empty while {other} is {state}"), N_("not a currency code"), N_("not one of {values}"), N_("not a date and time"),
    N_("not a date"), N_("not a time (HH:MM)"), N_("not a whole number"), N_("not a number"), N_("not yes/no"),
    N_("not a quarter like {example}"), N_("not readable"), N_("zero hours"), N_("negative hours"),
    N_("rate is 0"), N_("negative rate"), N_("more than {max} hours"), N_("{name} below {min}"),
    N_("{name} above {max}"), N_("{name} in the future (after {date})"), N_("{later} before {earlier}"),
    N_("more fields than the header"), N_("unknown {noun}"), N_("unknown {noun} {value}"),
    N_("duplicate {key}"), N_("duplicate {key} also on row {row}"),
    N_("duplicate {key} also on row {row} of {file}"),
    N_("rate for the same client, role and person"),
    N_("rate for the same client, role and person also on row {row}, both valid on {date}"),
    N_("rate for the same client, role and person also on row {row} of {file}, both valid on {date}"),
    N_("no bill rate and no cost rate"),
    N_("control character {code} in the cell"),
    N_("a client that reads as more than one: {quoted}"),
    N_("a client_id that reads the same as another also on row {row}: {quoted}"),
    N_("a client_id that reads the same as another also on row {row} of {file}: {quoted}"),
    N_("a client_id given another name also on row {row}: {quoted}"),
    N_("a client_id given another name also on row {row} of {file}: {quoted}"),
    N_("a client written another way also on row {row}: {quoted}"),
    N_("a client written another way also on row {row} of {file}: {quoted}"),
    N_("a project given another client also on row {row}: {quoted}"),
    N_("a project given another client also on row {row} of {file}: {quoted}"),
]
NOUNS = [N_("client"), N_("contract"), N_("deliverable")]  # of the reference rules: "unknown client 'X'"
# What each field matches: one word, unless it is one of these.
FIELDS = {"row": r"\d+", "values": ".+", "value": "'.*'", "file": ".+", "date": "[^)]+", "quoted": "'.*"}
WORD = r"\S+"


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)  # text, field, text, field, ..., text
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{FIELDS.get(part, WORD)})"
                              for i, part in enumerate(parts)))


PATTERNS = [(template, _pattern(template)) for template in TEMPLATES]


def reason_text(reason: str, lang: str = "en") -> str:
    """`reason` as the ingest page shows it in `lang` (English reasons are the stored ones)."""
    if lang == "en" or not isinstance(reason, str):
        return reason
    for template, pattern in PATTERNS:
        m = pattern.fullmatch(reason)
        if m:
            fields = m.groupdict()
            if "noun" in fields:
                fields["noun"] = tr(fields["noun"], lang)
            return tr(template, lang, **fields)
    return reason


def quarantine_by_reason(quarantine: pd.DataFrame, lang: str, anonymize: bool) -> pd.DataFrame:
    """Rows set aside per file, column and reason, largest first; the reason without the value
    it quotes, in `lang`. Anonymised, per reason only (and without the row a duplicate repeats),
    since raw values and file names can carry client names. A quoted value may hold a line break
    (a quoted CSV cell): everything from the first quote on goes, whatever it holds."""
    keys = ["reason_kind"] if anonymize else ["file", "column", "reason_kind"]
    kind = r"(?s)'.*| also on row.*" if anonymize else r"(?s)'.*"
    out = (quarantine.assign(reason_kind=quarantine["reason"].str.replace(kind, "", regex=True).str.strip())
           .groupby(keys).size().rename("rows").reset_index()
           .sort_values("rows", ascending=False, kind="mergesort").rename(columns={"reason_kind": "reason"}))
    return in_language(out, lang).reset_index(drop=True)


def in_language(quarantine: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The quarantine with each reason in `lang`."""
    return quarantine.assign(reason=[reason_text(r, lang) for r in quarantine["reason"]])
