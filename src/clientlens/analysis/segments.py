"""The segment map: profitability against toxicity, a named segment and an action per client.

Quadrants (cut-offs from the config):
    profitable = margin_pct >= segments.profitable_margin_pct
    toxic      = red (toxicity.red_flag: score >= toxicity_red, or two markers at full severity)
                      not toxic                         toxic
    profitable        Core -> grow and protect          Profitable but difficult -> renegotiate or reprice
    not profitable    Costly to serve -> reduce cost    Toxic and unprofitable -> part ways gracefully
A toxic client whose communicator has served communicator_max_quarters or more
(or is a technical specialist) and whose score comes mostly
(>= segments.communicator_driven_share) from relationship markers goes to
"Stale communicator": rotate the communicator first (004: the "talking head").
Ended relationships are their own segments: an in-sourcing exit (exit_reason ==
'insourcing') is a healthy ending, not a failure; a client without work or an invoice
for lapse_quarters quarters is "Gone quiet" (analysis.activity, the one definition).

Also here: segments quarter by quarter, the migration matrix between two quarters
and the per-client list of moves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clientlens.analysis import activity
from clientlens.analysis.markers import (
    MARKERS,
    format_value,
    numeric,
    panel_quarter_index,
    quarter_index_of,
)
from clientlens.analysis.toxicity import markers_basis, red_flag
from clientlens.i18n import N_, tr
from clientlens.parameters import Params
from clientlens.quarters import quarter_label


@dataclass(frozen=True)
class Segment:
    key: str
    label_en: str
    action_en: str
    detail_en: str
    color: str
    rank: int | None = None  # 0 = best; None for endings and unplaced clients

    def label(self, lang: str = "en") -> str:
        return tr(self.label_en, lang)

    def action(self, lang: str = "en") -> str:
        return tr(self.action_en, lang)

    def detail(self, lang: str = "en") -> str:
        return tr(self.detail_en, lang)


SEGMENTS: tuple[Segment, ...] = (
    Segment("core", "Core",
            "Grow and protect",
            "Weekly contact, a quarterly meeting with the decision maker, offer the next phase of "
            "the spiral.",
            "#2e7d32", 0),
    Segment("difficult", "Profitable but difficult",
            "Renegotiate or reprice",
            "Charge for what the relationship costs (approvals, urgent work, contradicting "
            "edits), tighten payment terms and the change process.",
            "#f9a825", 1),
    Segment("stale_communicator", "Stale communicator",
            "Rotate the communicator",
            "Bring in a new account or project manager; a technical specialist should not be "
            "the communicator.",
            "#6a1b9a", 2),
    Segment("costly", "Costly to serve",
            "Reduce cost to serve",
            "Cut unbilled scope, rework and communication time; move routine work to a retainer; "
            "reprice if that is not enough.",
            "#1565c0", 1),
    Segment("toxic_unprofitable", "Toxic and unprofitable",
            "Part ways gracefully and recommend an alternative",
            "Finish commitments, hand over cleanly, recommend another supplier.",
            "#c62828", 3),
    Segment("healthy_exit", "Healthy exit (in-sourcing)",
            "Support the hand-over; keep in touch",
            "The client built its own IT team: a healthy ending. Help the hand-over and stay a "
            "source of referrals and expert work.",
            "#00897b"),
    Segment("left", "Left",
            "Review why it ended",
            "Ask the client what went wrong and check the warnings it gave before it left.",
            "#616161"),
    Segment("gone_quiet", "Gone quiet",
            "Call the decision maker",
            "No activity for several quarters: find out whether the client has left.",
            "#9e9e9e"),
    Segment("no_pnl", "No P&L",
            "Complete the data",
            "No margin for the client: it cannot be placed on the map.",
            "#bdbdbd"),
)
SEGMENT_BY_KEY: dict[str, Segment] = {s.key: s for s in SEGMENTS}
NEW, GONE = "new", "gone"
_EDGE_LABELS = {NEW: N_("New client"), GONE: N_("No longer in the panel")}


def segment_label(key: str, lang: str = "en") -> str:
    if key in _EDGE_LABELS:
        return tr(_EDGE_LABELS[key], lang)
    return SEGMENT_BY_KEY[key].label(lang)


_RELATIONSHIP = [m.name for m in MARKERS if m.relationship]


def _classify(df: pd.DataFrame, params: Params, lang: str) -> pd.DataFrame:
    """Add toxic, profitable, rotate_due, communicator_driven, segment, labels and why."""
    sp = params.segments
    n = len(df)

    def col(name, default=np.nan):
        return df[name] if name in df.columns else pd.Series(default, index=df.index)

    score = pd.to_numeric(col("score"), errors="coerce").to_numpy(dtype=float)
    margin_pct = pd.to_numeric(col("margin_pct"), errors="coerce").to_numpy(dtype=float)
    tenure = pd.to_numeric(col("communicator_tenure_quarters"), errors="coerce").to_numpy(dtype=float)
    role = col("communicator_role", None).astype(object).to_numpy()
    exited = col("exited", False).fillna(False).astype(bool).to_numpy()
    reason = col("exit_reason", None).astype(object).to_numpy()
    inactive = pd.to_numeric(col("quarters_inactive", 0), errors="coerce").fillna(0).to_numpy()

    # the red flag's own rule, so a red client is never Core nor told to grow
    toxic = red_flag(score, pd.to_numeric(col("n_full", 0), errors="coerce").to_numpy(dtype=float), params)
    profitable = margin_pct >= sp.profitable_margin_pct
    technical = np.array([str(r).strip().lower() == "technical" for r in role], dtype=bool)
    long_tenure = np.where(np.isnan(tenure), False, tenure >= params.communicator_max_quarters)
    rel_pts = np.zeros(n)
    for name in _RELATIONSHIP:
        if f"pts_{name}" in df.columns:
            rel_pts += np.nan_to_num(df[f"pts_{name}"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_share = np.where(score > 0, rel_pts / score, 0.0)
    driven = rel_share >= sp.communicator_driven_share
    rotate = toxic & (long_tenure | technical) & driven
    insourcing = np.array([str(r).strip().lower() == "insourcing" for r in reason], dtype=bool)

    seg = np.select(
        [exited & insourcing, exited, activity.gone_quiet(inactive, params.lapse_quarters), np.isnan(margin_pct),
         rotate, toxic & profitable, toxic, profitable],
        ["healthy_exit", "left", "gone_quiet", "no_pnl",
         "stale_communicator", "difficult", "toxic_unprofitable", "core"],
        default="costly")

    out = df.copy()
    out["toxic"] = toxic
    out["profitable"] = np.where(np.isnan(margin_pct), None, profitable).astype(object)
    out["communicator_driven_share"] = rel_share
    out["rotation_due"] = long_tenure | technical
    out["segment"] = seg
    out["segment_label"] = [SEGMENT_BY_KEY[s].label(lang) for s in seg]
    out["action"] = [SEGMENT_BY_KEY[s].action(lang) for s in seg]
    basis = [markers_basis(m, t, lang) for m, t in zip(col("n_measured", None), col("n_markers", None))]
    notes = col("margin_note", "").fillna("").astype(str)
    out["why"] = [_why(s, sc, mp, t, tech, lang, b, note) for s, sc, mp, t, tech, b, note in
                  zip(seg, score, margin_pct, tenure, technical, basis, notes)]
    return out


def _why(seg: str, score: float, margin_pct: float, tenure: float, technical: bool,
         lang: str, basis: str = "", margin_note: str = "") -> str:
    if seg == "healthy_exit":
        return tr("left to build its own IT team", lang)
    if seg == "left":
        return tr("the relationship ended", lang)
    if seg == "gone_quiet":
        return tr("no recent activity", lang)
    parts = []
    if np.isfinite(margin_pct):
        parts.append(tr("margin {value}", lang, value=format_value(margin_pct, "pct", lang)))
    else:
        parts.append(margin_note or tr("margin unknown", lang))
    if np.isfinite(score):
        parts.append(tr("toxicity {score:.0f} of 100", lang, score=score) + (f" ({basis})" if basis else ""))
    else:
        parts.append(tr("toxicity not measured", lang))
    if seg == "stale_communicator":
        if np.isfinite(tenure):
            parts.append(tr("same communicator for {tenure:.0f} quarters", lang, tenure=tenure))
        if technical:
            parts.append(tr("a technical specialist is the communicator", lang))
    return "; ".join(parts)


def assign_segments(toxicity: pd.DataFrame, pnl: pd.DataFrame, params: Params,
                    lang: str = "en", margin: str = "margin", margin_pct: str = "margin_pct",
                    revenue: str = "revenue") -> pd.DataFrame:
    """Place each client on the map and name its segment and action.

    toxicity: current_toxicity() output (client_id, score, pts_*, exited, exit_reason,
        quarters_inactive, communicator_tenure_quarters, communicator_role, reasons...;
        missing context columns are taken as unknown).
    pnl: one row per client with client_id, margin, margin_pct, revenue (from the
        P&L step; a client missing there, or whose margin is not measured, is segment
        "No P&L"; its margin_note, when the table has one, says why in the segment's why). To place clients by
        their last year, as the toxicity window does, name the columns:
        margin="margin_last4", margin_pct="margin_pct_last4", revenue="revenue_last4".

    Returns one row per client: client_id, client_name, segment (key),
    segment_label, action, why, revenue, margin, margin_pct, score, toxic,
    profitable, rotation_due (long-serving or technical communicator),
    communicator_driven_share, exited, exit_reason, reasons (when given) and the
    toxicity columns; sorted by revenue, largest first.
    """
    for c in ("client_id", margin, margin_pct, revenue):
        if c not in pnl.columns:
            raise ValueError(f"the P&L table needs a {c} column (has {list(pnl.columns)})")
    tox = toxicity.drop(columns=[c for c in ("margin", "margin_pct", "revenue", "margin_note") if c in toxicity])
    money = pnl[["client_id", margin, margin_pct, revenue]].set_axis(
        ["client_id", "margin", "margin_pct", "revenue"], axis=1)
    if "margin_note" in pnl.columns:  # why a margin is not measured, for the segment's why
        money["margin_note"] = pnl["margin_note"].to_numpy()
    df = money.merge(tox, on="client_id", how="outer")
    if "client_name" in pnl.columns:
        names = pnl.set_index("client_id")["client_name"]
        fill = df["client_id"].map(names)
        df["client_name"] = df["client_name"].fillna(fill) if "client_name" in df else fill
    if "client_name" not in df.columns:
        df["client_name"] = df["client_id"].astype(str)
    df["client_name"] = df["client_name"].fillna(df["client_id"].astype(str))
    out = _classify(df, params, lang)
    lead = ["client_id", "client_name", "segment", "segment_label", "action", "why", "revenue",
            "margin", "margin_pct", "score", "toxic", "profitable", "rotation_due",
            "communicator_driven_share"]
    rest = [c for c in out.columns if c not in lead]
    return out[lead + rest].sort_values("revenue", ascending=False,
                                         na_position="last").reset_index(drop=True)


def segment_summary(segments: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Per segment: clients, revenue, margin, shares of the totals, the action."""
    g = segments.groupby("segment", sort=False).agg(
        clients=("client_id", "size"), revenue=("revenue", "sum"), margin=("margin", "sum"))
    g = g.reindex([s.key for s in SEGMENTS]).dropna(how="all")
    g["clients"] = g["clients"].fillna(0).astype(int)
    tot_r, tot_m = g["revenue"].sum(), g["margin"].sum()
    g["revenue_share"] = g["revenue"] / tot_r if tot_r else np.nan
    g["margin_share"] = g["margin"] / tot_m if tot_m else np.nan
    g["segment_label"] = [SEGMENT_BY_KEY[k].label(lang) for k in g.index]
    g["action"] = [SEGMENT_BY_KEY[k].action(lang) for k in g.index]
    return g.reset_index()


# ---------------------------------------------------------------------------
# quarter by quarter
# ---------------------------------------------------------------------------
def segment_history(panel: pd.DataFrame, scores: pd.DataFrame, pnl_by_quarter: pd.DataFrame,
                    params: Params, lang: str = "en") -> pd.DataFrame:
    """The segment of every client in every quarter, from its trailing-window state then.

    scores: the toxicity stage's score per client and quarter (toxicity_quarters);
    pnl_by_quarter: the P&L over the same trailing window (pnl.trailing_pnl of the P&L
    stage's pnl_quarters), with client_id, quarter, margin, margin_pct and revenue. Both are
    read, never computed again here, so a segment agrees with the pages the figures come from.
    Returns client_id, client_name, quarter, quarter_index, segment, segment_label,
    action, why, score, margin, margin_pct, revenue, toxic, profitable.
    """
    for c in ("client_id", "quarter", "margin", "margin_pct", "revenue"):
        if c not in pnl_by_quarter.columns:
            raise ValueError(f"pnl_by_quarter needs a {c} column")
    p = panel.reset_index(drop=True)
    ctx = pd.DataFrame({"client_id": p["client_id"].to_numpy(),
                        "quarter_index": panel_quarter_index(p),
                        "quarters_inactive": activity.quarters_quiet(p),
                        "exited": numeric(p, "exited") > 0})
    for c in ("exit_reason", "communicator_tenure_quarters", "communicator_role"):
        ctx[c] = p[c].to_numpy() if c in p.columns else None
    df = scores.merge(ctx, on=["client_id", "quarter_index"], how="left")
    df = df.merge(pnl_by_quarter[["client_id", "quarter", "margin", "margin_pct", "revenue"]],
                  on=["client_id", "quarter"], how="left")
    out = _classify(df, params, lang)
    keep = ["client_id", "client_name", "quarter", "quarter_index", "segment", "segment_label",
            "action", "why", "score", "margin", "margin_pct", "revenue", "toxic", "profitable"]
    return out[keep].sort_values(["client_id", "quarter_index"]).reset_index(drop=True)


def _two_quarters(history: pd.DataFrame, from_quarter: str, to_quarter: str) -> pd.DataFrame:
    if quarter_index_of(from_quarter) >= quarter_index_of(to_quarter):
        raise ValueError(f"from_quarter {from_quarter} must come before to_quarter {to_quarter}")
    a = history.loc[history["quarter"] == from_quarter].set_index("client_id")
    b = history.loc[history["quarter"] == to_quarter].set_index("client_id")
    ids = a.index.union(b.index)
    df = pd.DataFrame(index=ids)
    df["from_segment"] = a["segment"].reindex(ids).fillna(NEW)
    df["to_segment"] = b["segment"].reindex(ids).fillna(GONE)
    names = pd.concat([b["client_name"], a["client_name"]])
    df["client_name"] = names[~names.index.duplicated()].reindex(ids)
    for c in ("score", "margin_pct", "revenue"):
        df[f"{c}_from"] = a[c].reindex(ids) if c in a else np.nan
        df[f"{c}_to"] = b[c].reindex(ids) if c in b else np.nan
    df.index.name = "client_id"
    return df.reset_index()


def migration_matrix(history: pd.DataFrame, from_quarter: str, to_quarter: str,
                     lang: str = "en") -> pd.DataFrame:
    """Clients counted by segment in from_quarter (rows) and to_quarter (columns).

    Rows: every segment plus "New client" (not in the panel at from_quarter);
    columns: every segment plus "No longer in the panel". Labels are in `lang`.
    """
    moves = _two_quarters(history, from_quarter, to_quarter)
    rows = [s.key for s in SEGMENTS] + [NEW]
    cols = [s.key for s in SEGMENTS] + [GONE]
    m = pd.crosstab(moves["from_segment"], moves["to_segment"]).reindex(
        index=rows, columns=cols, fill_value=0).astype(int)
    m.index = [segment_label(k, lang) for k in rows]
    m.columns = [segment_label(k, lang) for k in cols]
    m.index.name = tr("from {quarter}", lang, quarter=quarter_label(from_quarter, lang))
    m.columns.name = tr("to {quarter}", lang, quarter=quarter_label(to_quarter, lang))
    return m


def segment_moves(history: pd.DataFrame, from_quarter: str, to_quarter: str,
                  lang: str = "en") -> pd.DataFrame:
    """The clients that changed segment between two quarters, largest revenue first.

    Columns: client_id, client_name, from_segment, to_segment (keys, 'new'/'gone' at
    the edges), from_label, to_label, direction (better / worse / sideways / '' when
    either end is an ending or unplaced), score_from, score_to, margin_pct_from,
    margin_pct_to, revenue_from, revenue_to.
    """
    df = _two_quarters(history, from_quarter, to_quarter)
    df = df.loc[df["from_segment"] != df["to_segment"]].copy()
    df["from_label"] = [segment_label(k, lang) for k in df["from_segment"]]
    df["to_label"] = [segment_label(k, lang) for k in df["to_segment"]]

    def direction(a: str, b: str) -> str:
        ra = SEGMENT_BY_KEY[a].rank if a in SEGMENT_BY_KEY else None
        rb = SEGMENT_BY_KEY[b].rank if b in SEGMENT_BY_KEY else None
        if ra is None or rb is None:
            return ""
        return "better" if rb < ra else "worse" if rb > ra else "sideways"

    df["direction"] = [direction(a, b) for a, b in zip(df["from_segment"], df["to_segment"])]
    size = df["revenue_to"].fillna(df["revenue_from"])
    df = df.assign(_size=size).sort_values("_size", ascending=False, na_position="last")
    cols = ["client_id", "client_name", "from_segment", "to_segment", "from_label", "to_label",
            "direction", "score_from", "score_to", "margin_pct_from", "margin_pct_to",
            "revenue_from", "revenue_to"]
    return df[cols].reset_index(drop=True)
