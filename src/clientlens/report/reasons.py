"""Quarantine reasons in the report's language.

Ingest writes each reason in English (quarantine.parquet and quarantine.csv keep it so, for
scripts that read them); the ingest page shows it in `report_lang`. A reason is one of the
templates below, filled with a column name, a value, a limit, a row or a file, which stay as
they are. A reason no template matches is shown as written.
"""
from __future__ import annotations

import re

import pandas as pd

# Nouns of the reference rules ("unknown client 'X'"), from contract references.
_NOUNS_RU = {"client": "клиент", "contract": "договор", "deliverable": "результат работ"}

# (pattern, Russian template). Named groups fill the template; first match wins.
_RU: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"^(?P<name>\S+) is empty$", "{name}: не заполнено"),
    (r"^not a currency code$", "не код валюты"),
    (r"^not one of (?P<values>.+)$", "не из списка: {values}"),
    (r"^not a date and time$", "не дата и время"),
    (r"^not a date$", "не дата"),
    (r"^not a time \(HH:MM\)$", "не время (ЧЧ:ММ)"),
    (r"^not a whole number$", "не целое число"),
    (r"^not a number$", "не число"),
    (r"^not yes/no$", "не да/нет"),
    (r"^not a quarter like (?P<example>\S+)$", "не квартал вида {example}"),
    (r"^not readable$", "не читается"),
    (r"^zero hours$", "ноль часов"),
    (r"^negative hours$", "отрицательные часы"),
    (r"^rate is 0$", "курс равен 0"),
    (r"^negative rate$", "отрицательный курс"),
    (r"^more than (?P<max>\S+) hours$", "больше {max} ч"),
    (r"^(?P<name>\S+) below (?P<min>\S+)$", "{name} меньше {min}"),
    (r"^(?P<name>\S+) above (?P<max>\S+)$", "{name} больше {max}"),
    (r"^(?P<name>\S+) in the future \(after (?P<date>[^)]+)\)$", "{name} в будущем (позже {date})"),
    (r"^(?P<later>\S+) before (?P<earlier>\S+)$", "{later} раньше, чем {earlier}"),
    (r"^more fields than the header$", "полей больше, чем в заголовке"),
    (r"^unknown (?P<noun>\w+)(?P<value> '.*')?$", "неизвестный {noun}{value}"),
    (r"^duplicate (?P<key>\S+)(?: also on row (?P<row>\d+)(?: of (?P<file>.+))?)?$",
     "повтор {key}{row}{file}"),
]]


def reason_text(reason: str, lang: str = "en") -> str:
    """`reason` as the ingest page shows it in `lang` (English reasons are the stored ones)."""
    if lang != "ru" or not isinstance(reason, str):
        return reason
    for pattern, template in _RU:
        m = pattern.match(reason)
        if not m:
            continue
        parts = {k: v or "" for k, v in m.groupdict().items()}
        if "noun" in parts:
            parts["noun"] = _NOUNS_RU.get(parts["noun"], parts["noun"])
        if "row" in parts and parts["row"]:
            parts["row"] = f", уже в строке {parts['row']}"
        if parts.get("file"):
            parts["file"] = f" файла {parts['file']}"
        return template.format(**parts)
    return reason


def quarantine_by_reason(quarantine: pd.DataFrame, lang: str = "en", anonymize: bool = False) -> pd.DataFrame:
    """Rows set aside per file, column and reason, largest first; the reason without the value
    it quotes, in `lang`. Anonymised, per reason only (and without the row a duplicate repeats),
    since raw values and file names can carry client names."""
    keys = ["reason_kind"] if anonymize else ["file", "column", "reason_kind"]
    kind = r"'.*| also on row.*" if anonymize else r"'.*"
    out = (quarantine.assign(reason_kind=quarantine["reason"].str.replace(kind, "", regex=True).str.strip())
           .groupby(keys).size().rename("rows").reset_index()
           .sort_values("rows", ascending=False, kind="mergesort").rename(columns={"reason_kind": "reason"}))
    out["reason"] = [reason_text(r, lang) for r in out["reason"]]
    return out.reset_index(drop=True)


def in_language(quarantine: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The quarantine with each reason in `lang`."""
    return quarantine.assign(reason=[reason_text(r, lang) for r in quarantine["reason"]])
