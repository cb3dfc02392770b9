"""One action per client, chosen by a stated order of precedence, with what is at stake for it.

Every finding of the earlier stages proposes a kind of action for a client: its segment
(toxic and unprofitable, gone quiet, a stale communicator, difficult, costly to serve), an early
warning that it may leave, a mistake in its spiral. A client with several findings gets the one
that comes first in PRECEDENCE, and its other findings are listed beside it: a client that may
be leaving is kept before it is repriced, and one that is toxic and loses money is let go before
anyone tries to keep it. A relationship that has ended (the client left, or took the work
in-house) gets no action to rank, only a step to close it well.

Each action names the concrete step ("Offer UX work at X before the next functionality
contract", not "fix the spiral") and what is at stake for that action over a year, computed for
it: the loss a parting avoids, the share of a year's revenue a retention saves (how often clients
warned before left), the extra price a reprice asks, the margin a cost cut recovers, the revenue
a spiral mistake's added churn puts at risk. Revenue and margin are the last four quarters'. A spiral
mistake after which this firm's clients leave no more often than others proposes nothing.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from clientlens.i18n import N_, tr

ACTION_COLUMNS = ["rank", "client_id", "client_name", "kind", "action", "evidence", "also", "value",
                  "value_basis"]
ENDED_COLUMNS = ["client_id", "client_name", "kind", "action", "evidence"]

# Most urgent first: a client with several findings gets the first kind that applies.
PRECEDENCE = ("part", "warning", "quiet", "rotate", "spiral", "reprice", "reduce", "complete")
# A relationship that has ended: a step to close it well, never ranked by money.
ENDED_KINDS = ("review", "handover")
SEGMENT_KIND = {"toxic_unprofitable": "part", "gone_quiet": "quiet", "stale_communicator": "rotate",
                "difficult": "reprice", "costly": "reduce", "no_pnl": "complete",
                "left": "review", "healthy_exit": "handover"}

KIND_LABELS = {
    "part": N_("toxic and unprofitable"),
    "warning": N_("may be leaving"),
    "quiet": N_("gone quiet"),
    "rotate": N_("stale communicator"),
    "spiral": N_("spiral mistake"),
    "reprice": N_("profitable but difficult"),
    "reduce": N_("costly to serve"),
    "complete": N_("margin not measured"),
    "review": N_("left"),
    "handover": N_("took the work in-house"),
}

STEPS = {
    "part": N_("Finish the commitments to {client}, hand the work over and recommend another supplier"),
    "warning": N_("Meet the decision maker at {client} this quarter and ask what has changed"),
    "quiet": N_("Call the decision maker at {client} and find out whether they have left"),
    "rotate": N_("Bring in a new account manager at {client} in place of {who}"),
    "rotate_nobody": N_("Bring in a new account manager at {client}"),
    "reprice": N_("Raise the price for {client} by {pct} at the next contract and charge for what the "
                  "relationship costs"),
    "reduce": N_("Cut unbilled scope, rework and meetings at {client} to reach a {target} margin"),
    "complete": N_("Supply the time and invoices of {client} so its margin can be measured"),
    "review": N_("Ask {client} why the relationship ended"),
    "handover": N_("Support the hand-over at {client} to its own team and keep in touch"),
}
# The step for a client's worst spiral mistake: what to do next in its spiral.
SPIRAL_STEPS = {
    "feature_without_ux": N_("Offer UX work at {client} before the next functionality contract"),
    "ux_without_feature": N_("Agree the next functionality with {client} before more UX work"),
    "no_stabilisation": N_("Propose a stabilisation phase (testing and fixes) at {client} before support"),
    "agree_to_every_wish": N_("Put every change request from {client} through the change process, priced"),
    "team_growth_unplanned": N_("Stop growing the team at {client} for unplanned work: plan it in the next contract"),
    "early_free_delivery": N_("Stop delivering early for free at {client}: bill the extra work or schedule it"),
    "support_without_followup": N_("Answer the open support requests of {client} with a proposal for the next phase"),
    "communicator_not_rotated": N_("Bring in a new account manager at {client}"),
    "technical_communicator": N_("Give {client} an account manager who is not a technical specialist"),
}
BASES = {
    "part": N_("loss avoided: the last four quarters' loss"),
    "warning": N_("{share} of a year's revenue: the share of clients warned before that then left"),
    "warning_unknown": N_("a year's revenue, if the client leaves (how often warned clients leave is not known yet)"),
    "quiet": N_("revenue of the last four quarters"),
    "churn": N_("revenue the added churn of {mistake} puts at risk, a year"),
    "churn_unknown": N_("not measured: no client without {mistake} to compare with"),
    "reprice": N_("{pct} more on a year's revenue"),
    "reduce": N_("margin recovered to reach {target}, a year"),
    "complete": N_("not measured: the client's margin is unknown"),
}
COMMUNICATOR_MISTAKE = {"technical": "technical_communicator"}


def _money(value: Any) -> float:
    """An amount, NaN where it is not measured: never 0 for a figure nobody measured."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _not_below_zero(value: float) -> float:
    return value if math.isnan(value) else max(0.0, value)


def _or_below_every_uplift(value: float) -> float:
    return -1.0 if math.isnan(value) else value


def _pct(share: float, lang: str) -> str:
    from clientlens.publishing.display import fmt_pct

    return fmt_pct(share, 0, lang)


def kind_label(kind: str, lang: str = "en") -> str:
    return tr(KIND_LABELS[kind], lang)


def _churn_value(revenue: float, uplift: float, mistake_label: str, lang: str) -> tuple[float, str]:
    """A year of a mistake's added churn (four quarters of the extra churn per quarter) on the
    client's revenue; not measured when the firm has no client without the mistake."""
    if math.isnan(uplift):
        return math.nan, tr(BASES["churn_unknown"], lang, mistake=mistake_label)
    return revenue * min(1.0, 4 * max(uplift, 0.0)), tr(BASES["churn"], lang, mistake=mistake_label)


def proposals(segments: pd.DataFrame, warnings: pd.DataFrame | None, mistakes: pd.DataFrame | None,
              churn_uplift: pd.Series | None, *, target_margin_pct: float, reprice_increase: float,
              warned_left_share: float | None, lang: str = "en") -> pd.DataFrame:
    """Every action any finding proposes, one row per (client, kind): client_id, client_name,
    kind, action (the step), evidence, value, value_basis, label (the finding in words)."""
    from clientlens.analysis.spiral import MISTAKE_LABELS

    uplift = {} if churn_uplift is None else {k: _money(v) for k, v in churn_uplift.items()}
    rows: list[dict[str, Any]] = []

    def add(cid, name, kind, step, evidence, value, basis):
        rows.append({"client_id": cid, "client_name": name, "kind": kind, "action": step,
                     "evidence": evidence, "value": value, "value_basis": basis})

    revenue_of: dict[Any, float] = {}
    for row in segments.itertuples(index=False):
        name, revenue, margin = row.client_name, _money(row.revenue), _money(row.margin)
        revenue_of[row.client_id] = revenue
        kind = SEGMENT_KIND.get(row.segment)
        if kind is None:
            continue
        evidence = _text(getattr(row, "reasons", "")) or _text(getattr(row, "why", ""))
        step, value, basis = "", math.nan, ""
        if kind == "part":
            value, basis = _not_below_zero(-margin), tr(BASES["part"], lang)
        elif kind == "quiet":
            value, basis = revenue, tr(BASES["quiet"], lang)
        elif kind == "rotate":
            who = _text(getattr(row, "our_communicator", ""))
            role = _text(getattr(row, "communicator_role", ""))
            step = tr(STEPS["rotate"] if who else STEPS["rotate_nobody"], lang, client=name, who=who)
            mistake = COMMUNICATOR_MISTAKE.get(role, "communicator_not_rotated")
            value, basis = _churn_value(revenue, uplift.get(mistake, math.nan), tr(MISTAKE_LABELS[mistake], lang), lang)
        elif kind == "reprice":
            pct = _pct(reprice_increase, lang)
            step = tr(STEPS["reprice"], lang, client=name, pct=pct)
            value, basis = revenue * reprice_increase, tr(BASES["reprice"], lang, pct=pct)
        elif kind == "reduce":
            target = _pct(target_margin_pct, lang)
            step = tr(STEPS["reduce"], lang, client=name, target=target)
            value = _not_below_zero(target_margin_pct * revenue - margin)
            basis = tr(BASES["reduce"], lang, target=target)
        elif kind == "complete":
            basis = tr(BASES["complete"], lang)
        add(row.client_id, name, kind, step or tr(STEPS[kind], lang, client=name), evidence, value, basis)

    for row in ([] if warnings is None else warnings.itertuples(index=False)):
        revenue = _money(row.revenue_at_risk)
        if warned_left_share is None or math.isnan(warned_left_share):
            value, basis = revenue, tr(BASES["warning_unknown"], lang)
        else:
            value = revenue * warned_left_share
            basis = tr(BASES["warning"], lang, share=_pct(warned_left_share, lang))
        add(row.client_id, row.client_name, "warning", tr(STEPS["warning"], lang, client=row.client_name),
            _text(row.reasons), value, basis)

    if mistakes is not None and len(mistakes):
        detected = mistakes.loc[(mistakes["status"] == "detected") & mistakes["client_id"].notna()]
        by_client: dict[Any, list[tuple[Any, str, str, str]]] = {}
        for cid, name, mistake, label, text in zip(detected["client_id"], detected["client_name"],
                                                    detected["mistake"], detected["label"], detected["evidence"]):
            by_client.setdefault(cid, []).append((name, mistake, _text(label), _text(text)))
        for cid in sorted(by_client):
            group = by_client[cid]
            name = group[0][0]
            # the worst mistake is the one that adds the most churn; unmeasured ones come last
            worst = max(group, key=lambda g: _or_below_every_uplift(uplift.get(g[1], math.nan)))
            worst_uplift = uplift.get(worst[1], math.nan)
            if not math.isnan(worst_uplift) and worst_uplift <= 0:
                continue  # at this firm clients with these mistakes leave no more often: nothing to act on
            evidence = f"{worst[2]}: {worst[3]}" if worst[3] else worst[2]
            others = sorted({label for _n, mistake, label, _t in group if mistake != worst[1]})
            if others:
                evidence += "; " + tr("also: {mistakes}", lang, mistakes=", ".join(others))
            value, basis = _churn_value(revenue_of.get(cid, math.nan), worst_uplift, worst[2], lang)
            add(cid, name, "spiral", tr(SPIRAL_STEPS[worst[1]], lang, client=name), evidence, value, basis)
    return pd.DataFrame(rows, columns=["client_id", "client_name", "kind", "action", "evidence", "value",
                                       "value_basis"])


def choose(proposed: pd.DataFrame, lang: str = "en") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(actions, ended): one row per client.

    actions: the client's first kind in PRECEDENCE, ranked by the money at stake (an action
    whose money is not measured after every one whose money is; ties by client), with `also`
    naming its other findings. ended: clients whose relationship has ended, with the step to
    close it, whatever else was found (nothing else can be done for them)."""
    order = {k: i for i, k in enumerate(PRECEDENCE + ENDED_KINDS)}
    if proposed is None or proposed.empty:
        return pd.DataFrame(columns=ACTION_COLUMNS), pd.DataFrame(columns=ENDED_COLUMNS)
    p = proposed.assign(_order=proposed["kind"].map(order))
    ended_ids = set(p.loc[p["kind"].isin(ENDED_KINDS), "client_id"])
    ended = (p.loc[p["kind"].isin(ENDED_KINDS)].sort_values(["client_name", "client_id"], kind="mergesort")
             [ENDED_COLUMNS].reset_index(drop=True))
    open_ = p.loc[~p["client_id"].isin(ended_ids)].sort_values(["client_id", "_order"], kind="mergesort")
    others = (open_.groupby("client_id", sort=False)["kind"]
              .agg(lambda kinds: "; ".join(kind_label(k, lang) for k in list(kinds)[1:])))
    first = open_.drop_duplicates("client_id").copy()
    first["also"] = first["client_id"].map(others).fillna("")
    first["_measured"] = first["value"].notna()
    first = first.sort_values(["_measured", "value", "client_id"], ascending=[False, False, True],
                              kind="mergesort").reset_index(drop=True)
    first.insert(0, "rank", range(1, len(first) + 1))
    return first[ACTION_COLUMNS], ended


def top_actions(actions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The first n of the ranked list: the same rows, so the top ten and the full list agree."""
    return actions.head(n).reset_index(drop=True)


def for_cards(actions: pd.DataFrame, ended: pd.DataFrame) -> pd.DataFrame:
    """client_actions: one row per client with an action (ranked) or a relationship that has
    ended (`ended` true, no rank and nothing at stake), for the client cards."""
    open_ = actions.assign(ended=False)
    closed = ended.assign(rank=pd.NA, also="", value=math.nan, value_basis="", ended=True)
    frames = [f for f in (open_, closed) if len(f)]
    if not frames:
        return pd.DataFrame(columns=ACTION_COLUMNS + ["ended"])
    out = pd.concat(frames, ignore_index=True)[ACTION_COLUMNS + ["ended"]]
    out["rank"] = out["rank"].astype("Int64")
    return out


def page_table(actions: pd.DataFrame, currency: str, lang: str = "en") -> pd.DataFrame:
    """Ranked actions as the leadership page shows them: the finding in words, the step, what is
    at stake and how it is counted, why, and what else was found (headers are catalogue keys)."""
    return (actions.assign(kind=[kind_label(k, lang) for k in actions["kind"]])
            [["rank", "client_id", "client_name", "kind", "action", "value", "value_basis", "evidence", "also"]]
            .rename(columns={"client_name": "client", "kind": "finding", "action": "what to do",
                             "value": tr("at stake, {currency}", lang, currency=currency),
                             "value_basis": "how the stake is counted", "evidence": "why", "also": "also found"}))
