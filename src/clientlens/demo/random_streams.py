"""One independent random stream per purpose (the mix, the staff, a plan, a client's rows).

Each stream is a numpy Generator(PCG64) with its own SeedSequence of the seed and the
stream's tags, so client k's rows do not depend on chunking or on which process renders them.
"""
from __future__ import annotations

import numpy as np

STREAM_MIX, STREAM_PEOPLE, STREAM_PLAN, STREAM_RENDER = 1, 2, 3, 4


def rng_for(seed: int, *tags: int) -> np.random.Generator:
    """A generator for one purpose (and one client): independent of every other stream."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *tags])))
