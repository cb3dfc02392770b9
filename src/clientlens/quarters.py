"""Quarter arithmetic: every module names quarters as 2025Q4; readers see "Q4 2025" or "IV кв. 2025"
(quarter_label with a language)."""
from __future__ import annotations

import datetime as dt
import numbers
import re
from typing import Any

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?$")


class QuarterError(ValueError):
    """A string that is not a quarter like 2025Q4."""


def quarter_index_of(quarter: str) -> int:
    """The quarter's index, year * 4 + quarter - 1, so quarters subtract: 2025Q3 -> 8102."""
    text = str(quarter)
    if not QUARTER_RE.match(text):
        raise QuarterError(f"{quarter!r} is not a quarter like 2025Q4")
    return int(text[:4]) * 4 + int(text[5]) - 1


ROMAN_QUARTERS = ("I", "II", "III", "IV")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quarter_label(quarter: Any, lang: str | None = None) -> str:
    """A quarter's name.

    Without `lang`, the code of a quarter index (quarter_index_of): 8102 -> "2025Q3", the name
    every table and file uses. With `lang`, what a reader sees of a quarter given as its code,
    its index or a pandas Period: "Q4 2026" in English, "IV кв. 2026" in Russian, the way a
    finance director writes it. A value that is no quarter is returned as text, unchanged.
    """
    if lang is None:
        index = int(quarter)
        return f"{index // 4}Q{index % 4 + 1}"
    code = quarter_code(quarter)
    if code is None:
        return str(quarter)
    year, number = int(code[:4]), int(code[5])
    return f"{ROMAN_QUARTERS[number - 1]} кв. {year}" if lang == "ru" else f"Q{number} {year}"


def quarter_code(quarter: Any) -> str | None:
    """"2026Q4" for the code itself, its index (quarter_index_of) or a quarterly pandas Period;
    None for anything else."""
    if isinstance(quarter, str):
        return quarter if QUARTER_RE.match(quarter) else None
    freqstr = getattr(quarter, "freqstr", None)
    if freqstr is not None and str(freqstr).startswith("Q") and hasattr(quarter, "quarter"):
        return f"{quarter.year}Q{quarter.quarter}"
    if isinstance(quarter, numbers.Integral) and not isinstance(quarter, bool):
        return quarter_label(int(quarter))
    return None


def date_label(day: Any, lang: str) -> str:
    """A day as a reader writes it: "6 Dec 2026" in English, "06.12.2026" in Russian. Takes a
    date, a datetime (the time is dropped) or an ISO text ("2026-12-06"); anything else is
    returned as text, unchanged."""
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day[:10]) if ISO_DAY_RE.match(day) else day
        except ValueError:
            return day
    if not isinstance(day, dt.date):
        return str(day)
    if lang == "ru":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def quarter_of(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_start(quarter: str) -> dt.date:
    m = QUARTER_RE.match(quarter)
    if not m:
        raise QuarterError(f"{quarter!r} is not a quarter like 2025Q4")
    return dt.date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)


def quarter_end(quarter: str) -> dt.date:
    start = quarter_start(quarter)
    nxt = dt.date(start.year + (start.month == 10), (start.month + 3 - 1) % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def shift_quarter(quarter: str, n: int) -> str:
    return quarter_label(quarter_index_of(quarter) + n)
