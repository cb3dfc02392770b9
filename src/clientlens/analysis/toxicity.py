"""The composite toxicity score (0-100), each marker's contribution, and reasons in words.

For each measured marker m (markers.py) with value v:
    severity_m = clip((v - baseline_m) / (threshold_m - baseline_m), 0, 1)
    points_m   = points_per_weight * weight_m * severity_m
    score      = min(100, sum(points_m))   (the points scaled down to add up to 100 past it)
A client is red when score >= toxicity_red, or when red_full_markers of its markers are at full
severity (at or past their thresholds), whatever the rest.

Why a sum and not a mean over the markers measured: a mean lets clean markers dilute trouble, so
two serious problems scored 15-25 at a firm that supplied every table, and the same client scored
higher at a firm that supplied fewer. A sum is monotone: a table on which a client is clean (or
not supplied: NaN) adds nothing, trouble only adds. And no count of mild signals stands in for
two problems at full severity, which make a client red on their own. The points of a row add up
to its score, so every score can be explained marker by marker; n_measured says on how many
markers it rests.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clientlens.analysis import activity
from clientlens.analysis.markers import (
    MARKER_BY_NAME,
    MARKERS,
    QuarterGrid,
    compute_markers,
    numeric,
    panel_quarter_index,
    quarter_index_of,
    quarter_label,
    reason_text,
    window_sum,
)
from clientlens.i18n import tr_plural
from clientlens.parameters import Params

SCORE_MAX = 100.0
CONTEXT_COLUMNS = ("our_communicator", "communicator_role", "communicator_tenure_quarters",
                   "client_contact")


def marker_severity(markers: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Severity 0-1 of each marker column of a compute_markers() table (NaN stays NaN)."""
    out = {}
    for m in MARKERS:
        v = markers[m.name].to_numpy(dtype="float64") if m.name in markers else np.full(len(markers), np.nan)
        t, b = params.toxicity.markers[m.name].threshold, params.toxicity.markers[m.name].baseline
        if t == b:
            sev = (v >= t) if m.higher_is_worse else (v <= t)
            sev = sev.astype(float)
        else:
            with np.errstate(invalid="ignore"):
                sev = np.clip((v - b) / (t - b), 0.0, 1.0)
        sev = np.where(np.isnan(v), np.nan, sev)
        if m.event_share and f"aux_{m.name}" in markers:  # one bad event is no pattern
            bad = markers[f"aux_{m.name}"].to_numpy(dtype="float64")
            sev = np.where(bad < params.toxicity.min_bad_events, np.where(np.isnan(sev), np.nan, 0.0), sev)
        out[m.name] = sev
    return pd.DataFrame(out, index=markers.index)


def score_from_markers(markers: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Add sev_<m>, pts_<m>, score, n_measured (markers the score rests on), n_markers (markers
    that could count: weight > 0), n_full (markers at full severity) and is_red to a
    compute_markers() table (see the module's notes)."""
    tp = params.toxicity
    sev = marker_severity(markers, params)
    weights = np.array([tp.markers[m.name].weight for m in MARKERS])
    S = sev[[m.name for m in MARKERS]].to_numpy()
    measured = ~np.isnan(S) & (weights > 0)
    raw = tp.points_per_weight * np.where(measured, S, 0.0) * weights
    total = raw.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pts = raw * np.where(total > SCORE_MAX, SCORE_MAX / total, 1.0)[:, None]
    pts[~measured] = np.nan
    out = markers.copy()
    for i, m in enumerate(MARKERS):
        out[f"sev_{m.name}"] = S[:, i]
        out[f"pts_{m.name}"] = pts[:, i]
    score = np.where(measured.any(axis=1), np.minimum(total, SCORE_MAX), np.nan)
    n_full = (measured & (np.nan_to_num(S) >= 1.0)).sum(axis=1)
    out["score"] = score
    out["n_measured"] = measured.sum(axis=1)
    out["n_markers"] = int((weights > 0).sum())  # what n_measured is out of: every marker that can count
    out["n_full"] = n_full
    out["is_red"] = red_flag(score, n_full, params)
    return out


def red_flag(score: np.ndarray, n_full: np.ndarray, params: Params) -> np.ndarray:
    """Red: a score at or above toxicity_red, or red_full_markers markers at full severity;
    never when no marker is measured (score NaN)."""
    score = np.asarray(score, dtype=float)
    full = np.nan_to_num(np.asarray(n_full, dtype=float))
    return np.where(np.isnan(score), False,
                    (score >= params.toxicity_red) | (full >= params.toxicity.red_full_markers))


def toxicity_scores(panel: pd.DataFrame, params: Params, window: int | None = None,
                    as_of: str | None = None) -> pd.DataFrame:
    """The score for every client-quarter, over a trailing window ending at that quarter.

    window defaults to toxicity.window_quarters (the client's state over the last
    year); window=1 scores each quarter on its own. Only rows up to `as_of` are read.

    Columns: client_id, client_name, quarter, quarter_index, window, score (0-100,
    NaN when no marker is measured), is_red, n_measured (markers measured for the row: what
    the score rests on), n_markers (markers with a weight), then per marker m: m (its
    value), sev_m (0-1), pts_m (points of the score), and aux_m where a reason
    quotes a count. With toxicity.weights_from_history, the weights are those the firm's own
    history up to as_of gives (precursors.history_params).
    """
    window = params.toxicity.window_quarters if window is None else int(window)
    if params.toxicity.weights_from_history:
        from clientlens.analysis import precursors  # it reads this module

        # one set of weights for every quarter: what the firm's history up to as_of says
        params = precursors.history_params(panel, params, as_of=as_of)
    markers = compute_markers(panel, params, window=window, as_of=as_of)
    out = score_from_markers(markers, params)
    out.insert(4, "window", window)
    lead = ["client_id", "client_name", "quarter", "quarter_index", "window", "score", "is_red",
            "n_measured", "n_markers"]
    rest = [c for c in out.columns if c not in lead]
    return out[lead + rest]


def toxicity_reasons(scores: pd.DataFrame, params: Params, lang: str = "en") -> pd.DataFrame:
    """Plain-words reasons for each row of a toxicity_scores() table.

    Markers with severity >= toxicity.reason_min_severity, by points, in at most
    toxicity.max_reasons slots; related markers (one Marker.group: team score and escalations,
    NPS and CSAT) share a slot, so one kind of trouble cannot crowd out another. A red row always
    gets at least its biggest contributor. Returns a frame with `reasons` (slots joined by '; ',
    the markers of a slot by ', ') and `reason_markers` (their names, comma-separated), indexed
    like `scores`.
    """
    if lang not in ("en", "ru"):
        raise ValueError(f"lang={lang!r}: use en or ru")
    tp = params.toxicity
    n = len(scores)

    def matrix(prefix: str) -> np.ndarray:
        cols = [scores[f"{prefix}{m.name}"].to_numpy(dtype=float) if f"{prefix}{m.name}" in scores
                else np.full(n, np.nan) for m in MARKERS]
        return np.column_stack(cols) if cols else np.empty((n, 0))

    P, S, V, A = matrix("pts_"), matrix("sev_"), matrix(""), matrix("aux_")
    red = scores["is_red"].to_numpy(dtype=bool) if "is_red" in scores else np.zeros(n, bool)
    windows = (scores["window"].fillna(1).to_numpy(dtype=int) if "window" in scores
               else np.ones(n, dtype=int))
    min_sev, most = tp.reason_min_severity, tp.max_reasons
    base = tp.trend_base_quarters
    texts, names = [""] * n, [""] * n
    positive = np.nan_to_num(P) > 0
    for i in np.flatnonzero(positive.any(axis=1)):
        idx = np.flatnonzero(positive[i])
        idx = idx[np.argsort(-P[i, idx], kind="stable")]
        chosen = idx[S[i, idx] >= min_sev]
        if not len(chosen) and red[i]:
            chosen = idx[:1]
        slots: dict[str, list[int]] = {}  # group -> its markers, in order of points
        for j in chosen:
            if MARKERS[j].group in slots or len(slots) < most:
                slots.setdefault(MARKERS[j].group, []).append(int(j))
        texts[i] = "; ".join(", ".join(
            reason_text(MARKERS[j], V[i, j], None if np.isnan(A[i, j]) else A[i, j],
                        window=int(windows[i]), lang=lang, base_quarters=base) for j in slot)
            for slot in slots.values())
        names[i] = ",".join(MARKERS[j].name for slot in slots.values() for j in slot)
    return pd.DataFrame({"reasons": texts, "reason_markers": names}, index=scores.index)


def inactive_quarters(panel: pd.DataFrame) -> np.ndarray:
    """For each panel row: consecutive quarters without work or an invoice ending there (0 =
    worked): analysis.activity.quarters_quiet, the one definition of going quiet."""
    return activity.quarters_quiet(panel)


def _context(panel: pd.DataFrame, as_of_index: int | None) -> pd.DataFrame:
    """Per client: exit (any row up to as_of), revenue over the window, latest contacts."""
    qi = panel_quarter_index(panel)
    p = panel.loc[qi <= as_of_index] if as_of_index is not None else panel
    p = p.assign(_qi=panel_quarter_index(p), _inactive=inactive_quarters(p))
    p = p.sort_values(["client_id", "_qi"])
    last = p.groupby("client_id", sort=False).tail(1).set_index("client_id")
    ctx = pd.DataFrame(index=last.index)
    ctx["quarters_inactive"] = last["_inactive"]
    ctx["last_quarter"] = last["_qi"].map(quarter_label)
    for col in CONTEXT_COLUMNS:
        if col in last.columns:
            ctx[col] = last[col]
    exited = numeric(p, "exited") > 0
    ex = p.loc[exited]
    if len(ex):
        first_exit = ex.groupby("client_id", sort=False).head(1).set_index("client_id")
        ctx["exited"] = ctx.index.isin(first_exit.index)
        ctx["exit_quarter"] = first_exit["_qi"].map(quarter_label).reindex(ctx.index)
        ctx["exit_reason"] = (first_exit["exit_reason"].reindex(ctx.index)
                              if "exit_reason" in first_exit.columns else None)
    else:
        ctx["exited"] = False
        ctx["exit_quarter"] = None
        ctx["exit_reason"] = None
    return ctx


def current_toxicity(panel: pd.DataFrame, params: Params, as_of: str | None = None,
                     window: int | None = None, lang: str = "en") -> pd.DataFrame:
    """Each client's current state: its trailing-window score at its latest active quarter
    <= as_of (the latest quarter when it was never active; `quarter` says which).

    One row per client (sorted by score, worst first) with the toxicity_scores()
    columns plus: revenue_window (revenue over the window), reasons,
    reason_markers, top_marker, last_quarter (the client's latest panel quarter),
    quarters_inactive (consecutive quarters without activity up to it), exited, exit_quarter, exit_reason and the latest
    our_communicator, communicator_role, communicator_tenure_quarters,
    client_contact when the panel has them.
    """
    scores = toxicity_scores(panel, params, window=window, as_of=as_of)
    if scores.empty:
        return scores
    # the state at the client's last active quarter: a client that went quiet is not
    # scored on the empty quarters since (segments call it "Gone quiet")
    p_rows = panel if as_of is None else panel.loc[panel_quarter_index(panel) <= quarter_index_of(as_of)]
    active = pd.DataFrame({"client_id": p_rows["client_id"].to_numpy(),
                           "quarter_index": panel_quarter_index(p_rows),
                           "_active": (numeric(p_rows, "is_active") != 0)
                           if "is_active" in p_rows.columns else True})
    scores = scores.merge(active, on=["client_id", "quarter_index"], how="left")
    order = scores.assign(_a=scores["_active"].fillna(True).astype(bool)).sort_values(
        ["_a", "quarter_index"])
    latest = order.groupby("client_id", sort=False).tail(1).drop(columns=["_a", "_active"])
    latest = latest.copy()
    # revenue over the window, from the same backward-looking grid
    p = panel if as_of is None else panel.loc[panel_quarter_index(panel) <= quarter_index_of(as_of)]
    g = QuarterGrid(p)
    rev, _ = window_sum(g.w("revenue"), int(scores["window"].iloc[0]))
    rev_rows = pd.Series(g.rows(rev), index=pd.MultiIndex.from_arrays(
        [g.frame["client_id"].to_numpy(), g.qi]))
    latest["revenue_window"] = rev_rows.reindex(pd.MultiIndex.from_arrays(
        [latest["client_id"].to_numpy(), latest["quarter_index"].to_numpy()])).to_numpy()
    reasons = toxicity_reasons(latest, params, lang=lang)
    latest["reasons"] = reasons["reasons"]
    latest["reason_markers"] = reasons["reason_markers"]
    pts_cols = [f"pts_{m.name}" for m in MARKERS]
    pts = latest[pts_cols].fillna(0.0)
    latest["top_marker"] = np.where(pts.to_numpy().max(axis=1) > 0,
                                    [c[4:] for c in pts.idxmax(axis=1)], "")
    ctx = _context(p, quarter_index_of(as_of) if as_of else None)
    latest = latest.join(ctx, on="client_id")
    latest["exited"] = latest["exited"].fillna(False).astype(bool)
    return latest.sort_values(["score", "revenue_window"], ascending=[False, False],
                              na_position="last").reset_index(drop=True)


def contributions_long(scores: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Long form of a scores table: one row per client (and quarter) and marker.

    Columns: client_id, client_name, quarter, marker, label, value, severity,
    points, measured (False when the marker is NaN for that row).
    """
    frames = []
    for m in MARKERS:
        f = scores[["client_id", "client_name", "quarter"]].copy()
        f["marker"] = m.name
        f["label"] = m.label(lang)
        f["value"] = scores[m.name].to_numpy()
        f["severity"] = scores[f"sev_{m.name}"].to_numpy()
        f["points"] = scores[f"pts_{m.name}"].to_numpy()
        f["measured"] = ~np.isnan(f["severity"].to_numpy(dtype=float))
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def markers_basis(n_measured: Any, n_markers: Any, lang: str = "en") -> str:
    """What a score rests on, in words: "3 of 18 markers" ('' when the counts are unknown)."""
    if n_measured is None or n_markers is None or pd.isna(n_measured) or pd.isna(n_markers):
        return ""
    return tr_plural("{n} of {total} markers", int(n_markers), lang, n=int(n_measured), total=int(n_markers))


def red_list_words(n_active: int, lang: str = "en") -> str:
    """The red list when it is empty, in words: no active client, the one active client, or
    none of several, is red."""
    from clientlens.i18n import tr

    if n_active == 0:
        return tr("No client is active now, so none is red.", lang)
    if n_active == 1:
        return tr("The one active client is not red.", lang)
    return tr_plural("None of the {n} active clients is red.", n_active, lang, n=n_active)


def marker_label(name: str, lang: str = "en") -> str:
    return MARKER_BY_NAME[name].label(lang)
