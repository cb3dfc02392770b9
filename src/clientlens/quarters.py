"""Quarter arithmetic: every module names quarters as 2025Q4."""
from __future__ import annotations

import datetime as dt
import re

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


class QuarterError(ValueError):
    """A string that is not a quarter like 2025Q4."""


def quarter_index_of(quarter: str) -> int:
    """The quarter's index, year * 4 + quarter - 1, so quarters subtract: 2025Q3 -> 8102."""
    text = str(quarter)
    if not QUARTER_RE.match(text):
        raise QuarterError(f"{quarter!r} is not a quarter like 2025Q4")
    return int(text[:4]) * 4 + int(text[5]) - 1


def quarter_label(index: int) -> str:
    """2025Q3 from its index (quarter_index_of)."""
    index = int(index)
    return f"{index // 4}Q{index % 4 + 1}"


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
