"""The window the firm is generated over: its quarters, months, workdays and 15-minute slots."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from clientlens.quarters import QUARTER_RE, quarter_end, quarter_start, shift_quarter

# Office hours of config/params.yaml (09:00-19:00): the generator places after-hours work
# outside them and fills `after_hours` the way ingest would derive it.
OFFICE_START_SLOT, OFFICE_END_SLOT = 9 * 4, 19 * 4  # 15-minute slots of the day
SLOT_TEXT = np.array([f"{s // 4:02d}:{(s % 4) * 15:02d}" for s in range(96)])


def _epoch_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


@dataclass(frozen=True)
class Calendar:
    """The window's quarters, months and days, as epoch-day integers."""
    quarters: tuple[str, ...]
    q_start: np.ndarray  # first day of each quarter, plus one past the end
    m_start: np.ndarray  # first day of each month, plus one past the end
    workdays: np.ndarray  # Monday-Friday days of the window
    weekend: np.ndarray

    @property
    def nq(self) -> int:
        return len(self.quarters)

    @property
    def first_day(self) -> int:
        return int(self.q_start[0])

    @property
    def last_day(self) -> int:
        return int(self.q_start[-1]) - 1


def make_calendar(end_quarter: str, years: int) -> Calendar:
    if not QUARTER_RE.match(end_quarter):
        raise ValueError(f"end_quarter={end_quarter!r}: write a quarter as 2026Q3")
    nq = 4 * years
    quarters = tuple(shift_quarter(end_quarter, i - nq + 1) for i in range(nq))
    q_start = np.array([_epoch_day(quarter_start(q)) for q in quarters]
                       + [_epoch_day(quarter_end(quarters[-1])) + 1], dtype=np.int64)
    months = []
    for q in quarters:
        s = quarter_start(q)
        months += [_epoch_day(dt.date(s.year, s.month + i, 1)) for i in range(3)]
    m_start = np.array(months + [int(q_start[-1])], dtype=np.int64)
    days = np.arange(q_start[0], q_start[-1])
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return Calendar(quarters, q_start, m_start, days[weekday < 5], days[weekday >= 5])


def pick_days(days: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniform day of `days` in [lo, hi] per element (falls back to lo when none)."""
    a = np.searchsorted(days, lo)
    b = np.searchsorted(days, hi, side="right")
    idx = a + (u * (b - a)).astype(np.int64)
    ok = b > a
    out = np.where(ok, days[np.minimum(idx, len(days) - 1)], lo)
    return out
