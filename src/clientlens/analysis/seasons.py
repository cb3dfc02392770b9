"""Quarter-of-year effects of a firm's revenue, from its own history.

Classical multiplicative decomposition: each quarter's revenue over the centred 2x4 moving
average around it (the average of a year centred on the quarter, so trend and growth cancel) is
that quarter's seasonal ratio. The raw factor of a quarter of the year is the mean of its ratios,
the four normalised to average 1. With few years a factor is mostly noise, so it is shrunk toward
1: weight = years / (years + shrink_years), years being how many ratios the quarter has. A history
shorter than `min_quarters` has no seasons (every factor 1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SEASON_COLUMNS = ["quarter_of_year", "years", "raw_factor", "weight", "factor"]


def quarter_of_year(quarter_index) -> np.ndarray:
    """1..4 from the quarter index (year x 4 + quarter - 1)."""
    return np.asarray(quarter_index, dtype=np.int64) % 4 + 1


def season_factors(revenue: pd.Series, *, min_quarters: int, shrink_years: float) -> pd.DataFrame:
    """Seasonal factors of quarterly revenue (a Series indexed by quarter index).

    Returns one row per quarter of the year: quarter_of_year, years (ratios behind it), raw_factor,
    weight (of the raw factor against 1), factor (the one to multiply a deseasonalised forecast
    by; the four average 1).
    """
    y = revenue.sort_index().astype(float)
    full = pd.Series(y.to_numpy(), index=y.index.astype(np.int64))
    full = full.reindex(range(int(full.index.min()), int(full.index.max()) + 1)) if len(full) else full
    values = full.to_numpy()
    n = len(values)
    ratios: dict[int, list[float]] = {q: [] for q in range(1, 5)}
    if n >= max(int(min_quarters), 5):
        for t in range(2, n - 2):
            window = values[t - 2:t + 3]
            if not np.all(np.isfinite(window)):
                continue
            average = (0.5 * window[0] + window[1] + window[2] + window[3] + 0.5 * window[4]) / 4
            if average > 0:
                ratios[int(quarter_of_year(full.index[t]))].append(values[t] / average)
    years = np.array([len(ratios[q]) for q in range(1, 5)], dtype=float)
    if years.min() == 0:
        raw = np.ones(4)
        years[:] = 0
    else:
        raw = np.array([np.mean(ratios[q]) for q in range(1, 5)])
        raw = raw / raw.mean()
    weight = years / (years + float(shrink_years)) if shrink_years > 0 else (years > 0).astype(float)
    factor = 1.0 + weight * (raw - 1.0)
    factor = factor / factor.mean()
    return pd.DataFrame({"quarter_of_year": range(1, 5), "years": years.astype(int), "raw_factor": raw,
                         "weight": weight, "factor": factor})


def factor_of(seasons: pd.DataFrame | None, quarter_index) -> np.ndarray:
    """The seasonal factor of each quarter index (1 without seasons)."""
    q = quarter_of_year(quarter_index)
    if seasons is None:
        return np.ones(q.shape)
    return seasons.set_index("quarter_of_year")["factor"].reindex(range(1, 5)).fillna(1.0).to_numpy()[q - 1]
