"""The actions leadership can assign: one per client, ranked by the money at stake.

Each action comes from a finding of an earlier stage (a segment, an early warning, a spiral
mistake) and is worded so a director can hand it to someone: what to do, with whom, and the
evidence ("Rotate the communicator at Client X: same account manager for 9 quarters; approvals
now take 47 days"). The money at stake is what the action protects or saves over a year:
the revenue at risk for a client that may leave, the loss avoided for one that loses money,
the margin recovered for one that costs too much to serve.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from clientlens.i18n import N_, tr

ACTION_COLUMNS = ["rank", "client_id", "client_name", "kind", "action", "evidence", "value", "value_basis"]

WORDS = {
    "reprice": N_("Renegotiate or reprice with {client}"),
    "rotate": N_("Rotate the communicator at {client}"),
    "reduce": N_("Reduce the cost to serve {client}"),
    "part": N_("Part ways gracefully with {client} and recommend an alternative"),
    "quiet": N_("Call the decision maker at {client}"),
    "warning": N_("Meet the decision maker at {client} before they leave"),
    "spiral": N_("Fix the spiral at {client}"),
    "revenue": N_("revenue at risk over a year"),
    "loss": N_("loss avoided over a year"),
    "recover": N_("margin recovered over a year"),
    "churn": N_("revenue put at risk by the mistake's added churn, a year"),
    "communicator": N_("same communicator ({who}) for {n} quarters"),
    "technical": N_("the communicator ({who}) is a technical specialist"),
}


def _words(lang: str) -> dict[str, str]:
    """WORDS in `lang`, their {placeholders} still to fill."""
    return {key: tr(text, lang) for key, text in WORDS.items()}


def _num(value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(value) else value


def _money(value: Any) -> float:
    """An amount, NaN where it is not measured (a firm whose exports carry no money): an
    action's money at stake is then "not measured", never 0."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _not_below_zero(value: float) -> float:
    return value if math.isnan(value) else max(0.0, value)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def segment_actions(segments: pd.DataFrame, target_margin_pct: float, lang: str = "en") -> pd.DataFrame:
    """An action for every client whose segment asks for one (core clients and endings do not)."""
    w = _words(lang)
    rows = []
    for row in segments.itertuples(index=False):
        revenue, margin = _money(row.revenue), _money(row.margin)
        reasons = _text(getattr(row, "reasons", "")) or _text(row.why)
        key = row.segment
        if key == "difficult":
            kind, value, basis = "reprice", revenue, w["revenue"]
        elif key == "stale_communicator":
            kind, value, basis = "rotate", revenue, w["revenue"]
            who = _text(getattr(row, "our_communicator", ""))
            tenure = _num(getattr(row, "communicator_tenure_quarters", 0))
            lead = (w["technical"].format(who=who) if _text(getattr(row, "communicator_role", "")) == "technical"
                    else w["communicator"].format(who=who, n=int(tenure)))
            reasons = f"{lead}; {reasons}" if reasons else lead
        elif key == "costly":
            kind, basis = "reduce", w["recover"]
            value = _not_below_zero(target_margin_pct * revenue - margin)
        elif key == "toxic_unprofitable":
            kind, value, basis = "part", _not_below_zero(-margin), w["loss"]
        elif key == "gone_quiet":
            kind, value, basis = "quiet", revenue, w["revenue"]
        else:
            continue
        rows.append({"client_id": row.client_id, "client_name": row.client_name, "kind": kind,
                     "action": w[kind].format(client=row.client_name), "evidence": reasons,
                     "value": value, "value_basis": basis})
    return pd.DataFrame(rows, columns=ACTION_COLUMNS[1:])


def warning_actions(warnings: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    w = _words(lang)
    rows = [{"client_id": r.client_id, "client_name": r.client_name, "kind": "warning",
             "action": w["warning"].format(client=r.client_name), "evidence": _text(r.reasons),
             "value": _money(r.revenue_at_risk), "value_basis": w["revenue"]}
            for r in warnings.itertuples(index=False)]
    return pd.DataFrame(rows, columns=ACTION_COLUMNS[1:])


def spiral_actions(mistakes: pd.DataFrame, revenue_by_client: pd.Series, churn_uplift: pd.Series,
                   lang: str = "en") -> pd.DataFrame:
    """One action per client with a detected spiral mistake (mistakes_by_client rows).

    The money at stake is the revenue a year of the added churn risk puts in doubt: the
    client's revenue times four quarters of the extra churn its worst mistake brings
    (churn_uplift: mistake -> extra churn per quarter, from the firm's own history).
    """
    w = _words(lang)
    detected = mistakes.loc[(mistakes["status"] == "detected") & mistakes["client_id"].notna()]
    # one pass over the rows (a groupby with a frame per client is slow at thousands of clients)
    by_client: dict[Any, list[tuple[Any, Any, Any, Any]]] = {}
    for cid, name, mistake, label, text in zip(detected["client_id"], detected["client_name"],
                                                detected["mistake"], detected["label"], detected["evidence"]):
        by_client.setdefault(cid, []).append((name, mistake, label, text))
    # an uplift not measured (no client without the mistake to compare with) leaves the money
    # at stake not measured, never 0
    uplift = {m: _money(churn_uplift.get(m, math.nan)) for m in {r[1] for rows in by_client.values() for r in rows}}
    rows = []
    for cid in sorted(by_client):
        group = by_client[cid]
        name = group[0][0]
        uplifts = [uplift[m] for _n, m, _l, _t in group]
        risk = math.nan if any(math.isnan(u) for u in uplifts) else min(1.0, 4 * max(uplifts))
        evidence = "; ".join(f"{_text(label)}: {_text(text)}" for _n, _m, label, text in group)
        rows.append({"client_id": cid, "client_name": name, "kind": "spiral",
                     "action": w["spiral"].format(client=name), "evidence": evidence,
                     "value": _money(revenue_by_client.get(cid, 0.0)) * risk, "value_basis": w["churn"]})
    return pd.DataFrame(rows, columns=ACTION_COLUMNS[1:])


def every_action(candidates: list[pd.DataFrame | None]) -> pd.DataFrame:
    """Every action proposed for any client, most valuable first (ties by client and kind)."""
    frames = [c for c in candidates if c is not None and len(c)]
    if not frames:
        return pd.DataFrame(columns=ACTION_COLUMNS[1:])
    every = pd.concat(frames, ignore_index=True)
    return (every.sort_values(["value", "client_id", "kind"], ascending=[False, True, True], kind="mergesort")
            .reset_index(drop=True)[ACTION_COLUMNS[1:]])


def top_actions(candidates: list[pd.DataFrame], n: int = 10) -> pd.DataFrame:
    """The n most valuable actions, at most one per client (its most valuable)."""
    frames = [c for c in candidates if c is not None and len(c)]
    if not frames:
        return pd.DataFrame(columns=ACTION_COLUMNS)
    every = pd.concat(frames, ignore_index=True)
    # An action whose money is not measured still counts, after every one whose money is.
    every = every.loc[(every["value"] > 0) | every["value"].isna()]
    best = (every.sort_values(["value", "client_id"], ascending=[False, True], kind="mergesort")
            .drop_duplicates("client_id", keep="first").head(n).reset_index(drop=True))
    best.insert(0, "rank", range(1, len(best) + 1))
    return best[ACTION_COLUMNS]
