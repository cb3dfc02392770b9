"""The planted spiral and the mistakes that bend it.

The spiral: each client's phase sequence is a Markov chain over feature -> ux -> stability ->
support -> feature plus an absorbing `churned` (PLANTED_MATRIX below; rows are "from",
columns "to", in the order of STATES):

    from \\ to   feature  ux    stability  support  churned
    feature      0.40     0.57  0          0        0.03
    ux           0        0.35  0.62       0        0.03
    stability    0        0     0.35       0.62     0.03
    support      0.52     0     0          0.45     0.03

Spiral followers and ordinary clients use it exactly. Whales, stars, late payers, toxic
clients, estimate shoppers and scope creepers use its phase moves without the churn column
(their planted role needs them to stay). Silent churners and in-sourcing exits stop on a
planned quarter. Spiral breakers use a chain bent by their mistake. In every client-quarter
the phase's work type carries most of the billable hours (guaranteed, not just expected), so
the chain can be recovered from time entries.

MISTAKES are the nine ways a spiral breaker goes wrong. chain_for bends the chain for four
of them; the other traces of a mistake are planted where they show (search for its name).
"""
from __future__ import annotations

import numpy as np

STATES = ("feature", "ux", "stability", "support", "churned")
PLANTED_MATRIX = np.array([
    [0.40, 0.57, 0.00, 0.00, 0.03],
    [0.00, 0.35, 0.62, 0.00, 0.03],
    [0.00, 0.00, 0.35, 0.62, 0.03],
    [0.52, 0.00, 0.00, 0.45, 0.03],
    [0.00, 0.00, 0.00, 0.00, 1.00],
])
FEATURE, UX, STABILITY, SUPPORT, CHURNED = range(5)

MISTAKES = ("feature_without_ux", "ux_without_feature", "no_stabilisation", "agree_to_every_wish",
            "team_growth_unplanned", "early_free_delivery", "support_without_followup",
            "communicator_not_rotated", "technical_communicator")


def chain_for(mistake: str | None) -> np.ndarray:
    """The transition matrix a client walks (rows from, columns to, STATES order)."""
    m = PLANTED_MATRIX.copy()
    if mistake == "feature_without_ux":  # functionality shipped, UX skipped
        m[FEATURE] = [0.40, 0.00, 0.57, 0.00, 0.03]
    elif mistake == "ux_without_feature":  # the UX turn never follows real functionality
        m[SUPPORT] = [0.00, 0.52, 0.00, 0.45, 0.03]
    elif mistake == "no_stabilisation":  # functionality and UX, then straight to support
        m[UX] = [0.00, 0.35, 0.00, 0.62, 0.03]
    elif mistake == "agree_to_every_wish":  # every wish keeps the feature phase open
        m[FEATURE] = [0.70, 0.27, 0.00, 0.00, 0.03]
    return m


def walk_chain(matrix: np.ndarray, start: int, steps: int, rng: np.random.Generator,
               churn: bool, churn_after: tuple[int, float] | None = None) -> list[int]:
    """Phases of `steps` quarters from `start`; stops early when the chain enters `churned`.

    Without churn the live columns are renormalised. `churn_after` = (quarters, p): no churn
    before that many quarters, then probability p (a spiral mistake has time to show before it
    bites and loses the client).
    """
    path = [start]
    u = rng.random((steps, 2))
    for t in range(1, steps):
        row = matrix[path[-1]]
        p_churn = row[CHURNED] if churn else 0.0
        if churn and churn_after is not None:
            p_churn = churn_after[1] if t >= churn_after[0] else 0.0
        if u[t, 0] < p_churn:
            break
        live = row[:CHURNED] / row[:CHURNED].sum()
        path.append(int(min(np.searchsorted(np.cumsum(live), u[t, 1], side="right"), 3)))
    return path


def stationary(matrix: np.ndarray) -> np.ndarray:
    live = matrix[:CHURNED, :CHURNED] / matrix[:CHURNED, :CHURNED].sum(axis=1, keepdims=True)
    vals, vecs = np.linalg.eig(live.T)
    v = np.abs(np.real(vecs[:, np.argmin(np.abs(vals - 1))]))
    return v / v.sum()
