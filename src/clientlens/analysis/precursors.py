"""What predicted departures here: how much more often clients showing a marker or a warning
signal left within the next quarters, at this firm, and a score weighted by it.

A marker shows at a client-quarter when its severity (toxicity.marker_severity, over the
trailing toxicity.window_quarters) reaches toxicity.reason_min_severity, the level at which it
is named as a reason; a warning signal shows when it fires (early_warning.warning_signals). A
client left when the data show it stopped (early_warning.observed_stops); an exit to in-sourcing
is a healthy ending, not a departure. "Within" is early_warning.lookback_quarters quarters: the
horizon the warnings are judged on.

Only evaluable client-quarters count: the client was still there (before its stop), the whole
horizon after the quarter is inside the data (a quarter near the end cannot yet say whether the
client left), and the quarter is not within the horizon before an in-sourcing exit (neither a
departure nor a stay).

Counted per client, not per client-quarter: a client seen for twelve quarters would otherwise
weigh twelve times one seen for one. For each marker every client falls in one group only:
- showing: it showed the marker in at least one evaluable quarter; it counts as left when it
  stopped within the horizon after a quarter it showed it;
- not showing: it was measured on the marker in an evaluable quarter and never showed it; it
  counts as left when it stopped within the horizon after one of them.
A client never measured on the marker (its table not supplied) is in neither group.

lift = P(left | showing) / P(left | not showing), with a log-ratio normal (Katz) interval at
toxicity.precursor_interval: log(lift) +- z * sqrt(1/a - 1/n1 + 1/c - 1/n0), a and c the clients
that left of n1 showing and n0 not showing. With no departure in a group, half a client is
added to every cell (Haldane) so that the ratio and its interval stay finite.

History weights (toxicity.weights_from_history): each marker's weight times its cautious lift,
the end of its interval nearest 1 (1 when the interval spans 1): a wide interval, from few
clients, moves a weight little or not at all. Every factor is positive, so the score stays a
sum in which a clean or missing table adds nothing.
"""
from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from clientlens.analysis import early_warning
from clientlens.analysis.markers import (
    MARKER_BY_NAME,
    MARKERS,
    compute_markers,
    panel_quarter_index,
    quarter_index_of,
)
from clientlens.i18n import tr
from clientlens.parameters import Params

KEY_COLUMNS = ("client_id", "quarter_index")
HISTORY_SETTING = "toxicity.weights_from_history"  # named on the page, not read
MIN_DEPARTURES_SETTING = "toxicity.precursor_min_departures"
RESULT_COLUMNS = ["kind", "name", "key", "clients_showing", "showing_left", "clients_not_showing",
                  "not_showing_left", "lift", "lift_low", "lift_high", "cautious_lift"]


def feature_key(kind: str, name: str) -> str:
    """One name for a marker or a signal ("marker:falling_orders", "signal:falling_orders"):
    a marker and a warning signal may share a name."""
    return f"{kind}:{name}"


def _upto(panel: pd.DataFrame, as_of: str | None) -> pd.DataFrame:
    return panel if as_of is None else panel.loc[panel_quarter_index(panel) <= quarter_index_of(as_of)]


def marker_severities(panel: pd.DataFrame, params: Params) -> pd.DataFrame:
    """client_id, quarter_index and each marker's severity (0-1, NaN = not measured), over the
    trailing toxicity.window_quarters: the values the score is made of."""
    from clientlens.analysis.toxicity import marker_severity  # toxicity reads this module

    values = compute_markers(panel, params, window=params.toxicity.window_quarters)
    sev = marker_severity(values, params)
    return pd.concat([values[list(KEY_COLUMNS)], sev], axis=1)


def showing(panel: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Per client-quarter: 1.0 where a marker or signal shows, 0.0 where it is measured and does
    not, NaN where it is not measured. Columns client_id, quarter_index and one per feature_key."""
    sev = marker_severities(panel, params)
    out = sev[list(KEY_COLUMNS)].copy()
    floor = params.toxicity.reason_min_severity
    for m in MARKERS:
        s = sev[m.name].to_numpy(dtype=float)
        out[feature_key("marker", m.name)] = np.where(np.isnan(s), np.nan, (s >= floor).astype(float))
    sig = early_warning.warning_signals(panel, params)
    if len(sig) and "any_warning" in sig:
        sig = sig[list(KEY_COLUMNS) + [c for s in early_warning.SIGNALS for c in (s.name, f"{s.name}_value")]]
        cols = {}
        for s in early_warning.SIGNALS:
            v = sig[f"{s.name}_value"].to_numpy(dtype=float)
            cols[feature_key("signal", s.name)] = np.where(np.isnan(v), np.nan, sig[s.name].to_numpy(dtype=float))
        out = out.merge(sig[list(KEY_COLUMNS)].assign(**cols), on=list(KEY_COLUMNS), how="left")
    return out


def departures(panel: pd.DataFrame, params: Params) -> tuple[pd.Series, pd.Series]:
    """(client_id -> stop quarter index, client_id -> in-sourcing exit quarter index) as the
    panel shows them."""
    stops = early_warning.observed_stops(panel, params.lapse_quarters)
    insourced = early_warning.insourcing_exits(panel)
    return (stops.map(quarter_index_of).astype("float64"), insourced.map(quarter_index_of).astype("float64"))


def evaluable_outcomes(keys: pd.DataFrame, stops: pd.Series, insourced: pd.Series, last_quarter: int,
                       horizon: int) -> pd.DataFrame:
    """The evaluable client-quarters of `keys` (client_id, quarter_index, anything else kept) and
    `left`: the client stopped 1..horizon quarters after the quarter."""
    q = keys["quarter_index"].to_numpy(dtype=float)
    stop = keys["client_id"].map(stops).to_numpy(dtype=float)
    gone_in = keys["client_id"].map(insourced).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ok = (q + horizon <= last_quarter) & ~(q >= stop) & ~(q >= gone_in - horizon)
        gap = stop - q
        left = (gap >= 1) & (gap <= horizon)
    return keys.loc[ok].assign(left=left[ok])


def lift_from_counts(showing_left: int, clients_showing: int, not_showing_left: int,
                     clients_not_showing: int, level: float) -> tuple[float, float, float]:
    """(lift, low, high) of a 2 x 2 table of clients: the Katz log-ratio interval at `level`
    (see the module's notes); NaN when a group is empty."""
    a, n1, c, n0 = (float(x) for x in (showing_left, clients_showing, not_showing_left, clients_not_showing))
    if n1 <= 0 or n0 <= 0:
        return np.nan, np.nan, np.nan
    if a == 0 or c == 0:
        a, c, n1, n0 = a + 0.5, c + 0.5, n1 + 1.0, n0 + 1.0
    lift = (a / n1) / (c / n0)
    se = np.sqrt(max(1 / a - 1 / n1 + 1 / c - 1 / n0, 0.0))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return lift, float(np.exp(np.log(lift) - z * se)), float(np.exp(np.log(lift) + z * se))


def cautious(lift: float, low: float, high: float) -> float:
    """The end of the interval nearest 1; 1 when the interval spans 1 or is unknown."""
    if not np.isfinite(lift) or not (np.isfinite(low) and np.isfinite(high)) or low <= 1 <= high:
        return 1.0
    return float(low if low > 1 else high)


def lift_table(shown: pd.DataFrame, stops: pd.Series, insourced: pd.Series, last_quarter: int,
               params: Params) -> pd.DataFrame:
    """The lift of every feature column of a showing() table, counted per client (see the
    module's notes), ranked: by cautious lift (evidence first), then by lift."""
    horizon = params.early_warning.lookback_quarters
    ev = evaluable_outcomes(shown, stops, insourced, last_quarter, horizon)
    keys = [c for c in shown.columns if c not in KEY_COLUMNS]
    S = ev[keys].to_numpy(dtype=float)
    left = ev["left"].to_numpy(dtype=bool)[:, None]
    parts = {"shows": S == 1, "measured": ~np.isnan(S), "left_showing": (S == 1) & left, "left_not": (S == 0) & left}
    flat = pd.DataFrame(np.hstack(list(parts.values())),
                        columns=pd.MultiIndex.from_product([list(parts), keys]))
    # one row per client: whether it ever did so in an evaluable quarter
    per = flat.groupby(ev["client_id"].to_numpy(), sort=False).any()
    rows = []
    for key in keys:
        shows = per[("shows", key)]
        quiet = per[("measured", key)] & ~shows
        counts = (int(shows.sum()), int(per[("left_showing", key)][shows].sum()),
                  int(quiet.sum()), int(per[("left_not", key)][quiet].sum()))
        lift, low, high = lift_from_counts(counts[1], counts[0], counts[3], counts[2],
                                           params.toxicity.precursor_interval)
        kind, name = key.split(":", 1)
        rows.append({"kind": kind, "name": name, "key": key, "clients_showing": counts[0],
                     "showing_left": counts[1], "clients_not_showing": counts[2],
                     "not_showing_left": counts[3], "lift": lift, "lift_low": low, "lift_high": high,
                     "cautious_lift": cautious(lift, low, high)})
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    out.attrs["departures"] = int(ev.loc[ev["left"], "client_id"].nunique())
    out.attrs["clients"] = int(ev["client_id"].nunique())
    return out.sort_values(["cautious_lift", "lift"], ascending=False, na_position="last",
                           kind="stable").reset_index(drop=True)


def precursor_table(panel: pd.DataFrame, params: Params, as_of: str | None = None,
                    shown: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every marker and warning signal with its lift (lift_table), from the panel up to as_of.

    attrs: departures (clients that left within the horizon of an evaluable quarter), clients
    (clients with an evaluable quarter), enough (departures >= toxicity.precursor_min_departures).
    """
    p = _upto(panel, as_of)
    shown = showing(p, params) if shown is None else shown
    stops, insourced = departures(p, params)
    last = int(panel_quarter_index(p).max()) if len(p) else 0
    out = lift_table(shown, stops, insourced, last, params)
    out.attrs["enough"] = out.attrs["departures"] >= params.toxicity.precursor_min_departures
    return out


def weight_factors(table: pd.DataFrame) -> dict[str, float]:
    """Marker name -> the factor its weight is scaled by: its cautious lift (1 when unknown)."""
    markers = table.loc[table["kind"] == "marker"].set_index("name")["cautious_lift"]
    return {m.name: float(markers.get(m.name, 1.0)) for m in MARKERS}


def reweighted(params: Params, factors: dict[str, float]) -> Params:
    """params with each marker's weight times its factor."""
    tp = params.toxicity
    markers = {name: mp.model_copy(update={"weight": mp.weight * factors.get(name, 1.0)})
               for name, mp in tp.markers.items()}
    return params.model_copy(update={"toxicity": tp.model_copy(update={"markers": markers})})


def history_params(panel: pd.DataFrame, params: Params, as_of: str | None = None) -> Params:
    """The parameters the score uses: with toxicity.weights_from_history and enough departures
    up to as_of, the weights scaled by this firm's own history; otherwise params unchanged."""
    if not params.toxicity.weights_from_history:
        return params
    table = precursor_table(panel, params, as_of=as_of)
    return reweighted(params, weight_factors(table)) if table.attrs["enough"] else params


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half); NaN
    without both."""
    scores = np.nan_to_num(np.asarray(scores, dtype=float))
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    # the Mann-Whitney U of the positives over the negatives, per pair
    return float(mannwhitneyu(scores[positive], scores[~positive]).statistic / (n_pos * n_neg))


def weights_backtest(panel: pd.DataFrame, params: Params, as_of: str | None = None,
                     shown: pd.DataFrame | None = None) -> dict[str, Any]:
    """How well the fixed weights and the history weights rank the clients that left.

    At each cut-off quarter t whose horizon is inside the data, the history weights are learnt
    from the panel up to t alone (the lifts of quarters whose own horizon ended by t, the stops
    as known at t), and each client still there at t is scored with both; fixed weights where
    the history up to t had too few departures. Result: ROC AUC of each over the pooled
    client-quarters, against leaving within the horizon after t; cutoffs, rows, departures
    (rows followed by a departure) and learnt (cut-offs with enough history to learn from).
    shown: showing() of the same panel, when already computed.
    """
    from clientlens.analysis.toxicity import score_from_markers  # toxicity reads this module

    p = _upto(panel, as_of)
    horizon = params.early_warning.lookback_quarters
    qi = panel_quarter_index(p)
    last = int(qi.max()) if len(p) else 0
    values = compute_markers(p, params, window=params.toxicity.window_quarters)
    shown = showing(p, params) if shown is None else shown
    stops, insourced = departures(p, params)
    fixed_all = score_from_markers(values, params)["score"].to_numpy()
    fixed, learnt_scores, outcome = [], [], []
    learnt = 0
    cutoffs = sorted(q for q in np.unique(qi) if q + horizon <= last)
    for t in cutoffs:
        table = precursor_table(p.loc[qi <= t], params, shown=shown.loc[shown["quarter_index"] <= t])
        enough = table.attrs["enough"]
        at_t = (values["quarter_index"] == t).to_numpy()
        rows = evaluable_outcomes(values.loc[at_t, list(KEY_COLUMNS)], stops, insourced, last, horizon)
        keep = values.index.isin(rows.index)
        if enough:
            learnt += 1
            w_params = reweighted(params, weight_factors(table))
            weighted = score_from_markers(values.loc[keep], w_params)["score"].to_numpy()
        else:
            weighted = fixed_all[keep]
        fixed.append(fixed_all[keep])
        learnt_scores.append(weighted)
        outcome.append(rows["left"].to_numpy(dtype=bool))
    y = np.concatenate(outcome) if outcome else np.zeros(0, bool)
    f = np.concatenate(fixed) if fixed else np.zeros(0)
    h = np.concatenate(learnt_scores) if learnt_scores else np.zeros(0)
    return {"cutoffs": len(cutoffs), "learnt": learnt, "rows": int(len(y)), "departures": int(y.sum()),
            "auc_fixed": roc_auc(f, y), "auc_history": roc_auc(h, y)}


def label(kind: str, name: str, lang: str = "en") -> str:
    """The words for a marker or a signal, with which of the two it is."""
    if kind == "marker":
        return tr("marker: {label}", lang, label=MARKER_BY_NAME[name].label(lang))
    return tr("warning signal: {label}", lang, label=early_warning.SIGNAL_BY_NAME[name].label(lang))


def _interval_text(lift: float, low: float, high: float, lang: str) -> str:
    from clientlens.publishing.display import fmt_number

    if not np.isfinite(lift):
        return tr("not measured", lang)
    def number(x: float) -> str:  # 0.04 is not 0.0: a lift near nothing says something
        return fmt_number(x, 1 if x >= 1 else 2, lang)

    return tr("{lift} ({low} to {high})", lang, lift=number(lift), low=number(low), high=number(high))


def page_table(table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The ranked table the toxicity page shows: what showed, to how many clients, how many of
    them left, and the lift with its interval. Rows no client showed are left out."""
    shown = table.loc[table["clients_showing"] > 0]
    out = pd.DataFrame({
        "what": [label(k, n, lang) for k, n in zip(shown["kind"], shown["name"])],
        "showing": shown["clients_showing"].to_numpy(),
        "left": shown["showing_left"].to_numpy(),
        "not_showing": shown["clients_not_showing"].to_numpy(),
        "not_showing_left": shown["not_showing_left"].to_numpy(),
        "lift": [_interval_text(a, b, c, lang) for a, b, c in
                 zip(shown["lift"], shown["lift_low"], shown["lift_high"])],
    })
    return out.rename(columns={"what": "marker or warning signal", "showing": "clients showing it",
                               "left": "of them left", "not_showing": "clients not showing it",
                               "not_showing_left": "of those left", "lift": "lift (interval)"})


def summary_words(table: pd.DataFrame, params: Params, lang: str = "en") -> str:
    """What the table counts, in plain words; the empty state when too few clients left."""
    from clientlens.publishing.display import fmt_pct

    horizon = params.early_warning.lookback_quarters
    departed, clients = table.attrs["departures"], table.attrs["clients"]
    if not departed:
        return tr("No client has left within {n} quarters of a quarter the data can follow to its end, so nothing "
                  "shows yet what precedes a departure.", lang, n=horizon)
    if not table.attrs["enough"]:
        return tr("Too few departures to say what preceded them: {departed} of {clients} clients left within "
                  "{n} quarters of a quarter the data can follow to its end, and at least {least} are needed "
                  "({setting}).", lang, departed=departed, clients=clients, n=horizon,
                  least=params.toxicity.precursor_min_departures, setting=MIN_DEPARTURES_SETTING)
    return tr("{departed} of {clients} clients left within {n} quarters of a quarter the data can follow to its "
              "end (in-sourcing exits are not departures). A lift of 3: clients showing the marker or signal left "
              "three times as often as clients that did not. Each client counts once, however many quarters it "
              "showed it; the interval ({level}) says how sure that is on this firm's numbers, and a row whose "
              "interval spans 1 could be chance. Markers show at the severity at which they are named as "
              "reasons; signals when they fire.", lang, departed=departed, clients=clients, n=horizon,
              level=fmt_pct(params.toxicity.precursor_interval, 0, lang))


def weights_words(table: pd.DataFrame, quality: dict[str, Any] | None, params: Params,
                  lang: str = "en") -> list[str]:
    """Whether the score is weighted by this history, and the backtest (weights_backtest) against
    the fixed weights; no backtest sentence when quality is None (too little history to run it)."""
    from clientlens.publishing.display import fmt_number

    out = []
    if not params.toxicity.weights_from_history:
        out.append(tr("The score uses the fixed weights of config/params.yaml. Set {setting} to true to scale "
                      "each marker's weight by its lift here (by the end of its interval nearest 1, so that a "
                      "lift from few clients moves it little).", lang, setting=HISTORY_SETTING))
    elif not table.attrs["enough"]:
        out.append(tr("{setting} is on, but this firm's history is too short: the score uses the fixed weights.",
                      lang, setting=HISTORY_SETTING))
    else:
        moved = [f"{MARKER_BY_NAME[m].label(lang)} \u00d7{fmt_number(f, 2, lang)}"
                 for m, f in weight_factors(table).items() if f != 1.0]
        out.append(tr("The score's weights are scaled by this firm's history ({setting}): {moved}.", lang,
                      setting=HISTORY_SETTING, moved=", ".join(moved) if moved else tr("no weight moved", lang)))
    if quality is None:
        return out
    if quality["learnt"]:
        out.append(tr("Backtest: at {cutoffs} past quarters, weights learnt from what was known then ({learnt} of "
                      "them had enough departures) and the fixed weights each ranked the clients still there by "
                      "score; {measure} against leaving within {n} quarters (0.5 is chance, 1 perfect): fixed "
                      "weights {fixed}, history weights {history}.", lang, measure=tr("ROC AUC", lang),
                      cutoffs=quality["cutoffs"], learnt=quality["learnt"],
                      n=params.early_warning.lookback_quarters, fixed=fmt_number(quality["auc_fixed"], 2, lang),
                      history=fmt_number(quality["auc_history"], 2, lang)))
    else:
        out.append(tr("Backtest: no past quarter had enough departures behind it to learn weights from.", lang))
    return out


def words_html(text: str, note: bool = False) -> str:
    """A paragraph of these words for the page, the settings it names set as code (they are the
    config's keys, the same in every language)."""
    from clientlens.publishing.display import paragraph_html

    html = paragraph_html(text, note=note)
    for setting in (HISTORY_SETTING, MIN_DEPARTURES_SETTING):
        html = html.replace(setting, f"<code>{setting}</code>")
    return html
