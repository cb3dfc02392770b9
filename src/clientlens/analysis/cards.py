"""A card per client: everything the earlier stages found about one client, in one place.

    cards = client_cards(load_card_tables(processed_dir), lang)

Nothing here computes a metric. A card gathers, for one client, the rows the stages wrote:
the P&L and its quarterly trend, the toxicity markers with their reasons, the segment and its
action, an early warning, the spiral position and mistakes, the forecast, and the one action
the client needs (client_actions holds at most one per client). So a card can never disagree
with the page a figure comes from. A table that was not produced (no helpdesk export, no
forecast) leaves its part of the card to say it was not measured, never to show zero.
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

CARD_DIR = "clients"

# Tables a card reads, all from data/processed/.
CARD_TABLES = ("pnl_clients", "pnl_quarters", "segments", "toxicity_clients", "early_warnings",
               "spiral_positions", "spiral_mistakes", "spiral_clients", "forecast_clients", "client_actions",
               "pnl_projects", "pnl_work_types", "deals", "clients", "pipeline_win_rates")

# spiral_clients (the spiral page's table) names its columns for readers.
FORECAST_NEXT4 = "forecast, next 4 quarters"
CLV = "revenue still to come, discounted (spiral)"

TREND_COLUMNS = ["quarter", "revenue", "total_cost", "margin", "margin_pct"]
FORECAST_COLUMNS = ["quarter", "revenue_mean", "revenue_lo_80", "revenue_hi_80"]
# The action's columns a card shows; `step` (the concrete next step), `also` (the client's other
# findings) and `ended` (a relationship that has ended: nothing at stake) are read when the table
# carries them, so a card reads client_actions with or without them.
ACTION_COLUMNS = ["kind", "action", "step", "evidence", "also", "value", "value_basis", "ended"]
MISTAKE_COLUMNS = ["label", "quarters", "evidence"]
# the P&L below the client (analysis.drilldown), one window at a time
SPLIT_COLUMNS = ["window", "key", "unallocated", "hours", "revenue", "total_cost", "margin", "margin_pct",
                 "effective_rate", "list_rate", "revenue_not_measured"]

# the client's deals (analysis.pipeline): open ones weighted as on the pipeline page, and closed ones
OPEN_DEAL_COLUMNS = ["deal_name", "stage", "amount", "expected_close_date", "win_rate", "weighted_amount"]
CLOSED_DEAL_COLUMNS = ["deal_name", "stage", "amount", "closed_date", "outcome", "lost_reason"]
CLOSED_DEALS_QUARTERS = 4  # the card shows the deals closed in the last four quarters

# A card's file name is a readable part taken from the id and a hash of the exact id. The
# readable part is lower-case ASCII letters, digits, '-' and '_' only, so no name differs from
# another by case alone (case-insensitive drives) and none is a Windows device name (CON, AUX,
# NUL, COM1, LPT1...: the hash always follows it). The hash is of the id as written, so two ids
# that read the same ("C00010", "c00010", "Zoë", "Zoe") still get two cards, and an id spelled
# like another id's file name gets a name of its own, not that client's card.
CARD_NAME_READABLE_CHARS = 24
CARD_NAME_HASH_DIGITS = 16
CARD_NAME_FALLBACK = "client"  # the readable part of an id with no ASCII letter or digit
_NOT_READABLE = re.compile(r"[^a-z0-9_]+")


def card_slug(client_id: Any) -> str:
    """The card's file name (without .html): "c00010-<16 hex digits>", the same for an id on
    every page and every run. Every link to a card, and the card's own file, come from here."""
    text = str(client_id)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    readable = _NOT_READABLE.sub("-", ascii_text).strip("-_")[:CARD_NAME_READABLE_CHARS].strip("-_")
    # surrogatepass: an id carrying a lone surrogate still hashes instead of failing the run
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:CARD_NAME_HASH_DIGITS]
    return f"{readable or CARD_NAME_FALLBACK}-{digest}"


def card_href(client_id: Any, prefix: str = f"{CARD_DIR}/") -> str:
    """A client's card, relative to the pages in reports/ (prefix "" from another card)."""
    return f"{prefix}{card_slug(client_id)}.html"


@dataclass
class Card:
    client_id: str
    client_name: str
    summary: dict[str, Any]
    trend: list[dict[str, Any]] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)
    reasons: str = ""
    warning: dict[str, Any] | None = None
    spiral: dict[str, Any] | None = None
    mistakes: list[dict[str, Any]] = field(default_factory=list)
    forecast: list[dict[str, Any]] = field(default_factory=list)
    action: dict[str, Any] | None = None  # the one action the client needs, None when it needs none
    measured: dict[str, bool] = field(default_factory=dict)
    projects: list[dict[str, Any]] = field(default_factory=list)
    work_types: list[dict[str, Any]] = field(default_factory=list)
    open_deals: list[dict[str, Any]] = field(default_factory=list)
    closed_deals: list[dict[str, Any]] = field(default_factory=list)
    periods: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return card_slug(self.client_id)


def load_card_tables(processed_dir: Path | str) -> dict[str, pd.DataFrame | None]:
    from clientlens.processed import load_table

    return {name: load_table(processed_dir, name) for name in CARD_TABLES}


def _missing(value: Any) -> bool:
    try:
        return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def _clean(value: Any) -> Any:
    """Plain Python values (numpy scalars out, NaN as None)."""
    if _missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _rows_by_client(df: pd.DataFrame | None, columns: list[str], sort_by: str | None = None,
                    ascending: bool = True) -> dict[str, list[dict[str, Any]]]:
    """{client_id: [row dict, ...]} in one pass over the table."""
    if df is None or not len(df):
        return {}
    if sort_by is not None:
        df = df.sort_values(["client_id", sort_by], ascending=[True, ascending], kind="mergesort")
    keep = [c for c in columns if c in df.columns]
    out: dict[str, list[dict[str, Any]]] = {}
    ids = df["client_id"].astype(str).to_numpy()
    values = [df[c].to_numpy() for c in keep]
    for i, cid in enumerate(ids):
        out.setdefault(cid, []).append({c: _clean(v[i]) for c, v in zip(keep, values)})
    return out


def _one_by_client(df: pd.DataFrame | None, columns: list[str]) -> dict[str, dict[str, Any]]:
    return {cid: rows[0] for cid, rows in _rows_by_client(df, columns).items()}


def _renamed(df: pd.DataFrame | None, columns: dict[str, str]) -> pd.DataFrame | None:
    return None if df is None else df.rename(columns=columns)


def _marker_rows(toxicity: pd.DataFrame | None, lang: str) -> dict[str, list[dict[str, Any]]]:
    """Every marker measured for each client, the heaviest first."""
    if toxicity is None or not len(toxicity):
        return {}
    from clientlens.analysis.markers import MARKERS
    from clientlens.i18n import tr

    out: dict[str, list[dict[str, Any]]] = {}
    ids = toxicity["client_id"].astype(str).to_numpy()
    for m in MARKERS:
        if f"sev_{m.name}" not in toxicity.columns:
            continue
        value = toxicity[m.name].to_numpy(dtype=float)
        severity = toxicity[f"sev_{m.name}"].to_numpy(dtype=float)
        points = toxicity[f"pts_{m.name}"].to_numpy(dtype=float)
        label, unit = m.label(lang), tr(m.unit, lang)
        for i, cid in enumerate(ids):
            if not math.isnan(severity[i]):
                out.setdefault(cid, []).append({"marker": m.name, "label": label, "unit": unit, "fmt": m.fmt,
                                                "value": _clean(value[i]), "severity": float(severity[i]),
                                                "points": _clean(points[i])})
    for rows in out.values():
        rows.sort(key=lambda r: (-(r["points"] or 0.0), r["label"]))
    return out


def _last_quarter(tables: dict[str, pd.DataFrame | None]) -> str | None:
    """The period end: the last quarter of the P&L by quarter (every client's rows run to it)."""
    quarters = tables.get("pnl_quarters")
    if quarters is None or not len(quarters) or "quarter" not in quarters.columns:
        return None
    return str(quarters["quarter"].dropna().max())


def _day_texts(dates: pd.Series) -> pd.Series:
    """Dates as 2025-03-31 (None when empty), as a card shows them."""
    return pd.Series([None if _missing(v) or v is pd.NaT else str(v)[:10] for v in dates],
                     index=dates.index, dtype=object)


def client_deal_rows(tables: dict[str, pd.DataFrame | None]) -> tuple[dict[str, list[dict[str, Any]]],
                                                                        dict[str, list[dict[str, Any]]]]:
    """Per existing client: its open deals, each weighted by the win rate the pipeline page
    weights it by (pipeline.open_deals over pipeline_win_rates), the soonest to close first; and
    the deals it won or lost in the last CLOSED_DEALS_QUARTERS quarters to the period end, the
    latest first. A prospect's deal is no client's."""
    from clientlens.analysis import pipeline as pl
    from clientlens.quarters import quarter_index_of, quarter_of

    deals, rates = tables.get("deals"), tables.get("pipeline_win_rates")
    if deals is None or not len(deals):
        return {}, {}
    deals = deals.assign(**{c: _day_texts(deals[c]) for c in ("expected_close_date", "closed_date")
                            if c in deals.columns})
    clients = tables.get("clients")
    opened: dict[str, list[dict[str, Any]]] = {}
    if rates is not None and len(rates) and (deals["outcome"] == "open").any():
        live = pl.open_deals(deals, rates, clients).dropna(subset=["client"])
        live = live.assign(client_id=live["client"].astype(str),
                           weighted_amount=live["amount"].astype(float) * live["win_rate"])
        opened = _rows_by_client(live.sort_values("expected_close_date", kind="mergesort", na_position="last"),
                                 OPEN_DEAL_COLUMNS)
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    closed = closed.assign(client_id=pl.deal_clients(closed, clients)).dropna(subset=["client_id"])
    end = _last_quarter(tables)
    if end is not None and len(closed):
        end_index = quarter_index_of(end)
        index = pd.Series([quarter_index_of(quarter_of(d.date())) if pd.notna(d) else None
                           for d in pd.to_datetime(closed["closed_date"])], index=closed.index, dtype="float")
        closed = closed[(index <= end_index) & (index > end_index - CLOSED_DEALS_QUARTERS)]
    closed = closed.assign(client_id=closed["client_id"].astype(str))
    ended = _rows_by_client(closed.sort_values("closed_date", ascending=False, kind="mergesort"),
                            CLOSED_DEAL_COLUMNS)
    return opened, ended


SUMMARY_COLUMNS = ["client_name", "status", "exited", "first_quarter", "last_active_quarter", "tenure_quarters",
                   "revenue", "margin", "margin_pct", "revenue_last4", "margin_last4", "margin_pct_last4",
                   "effective_rate",
                   "non_billable_share", "is_loss_making", "margin_note"]
SEGMENT_COLUMNS = ["segment", "segment_label", "action", "why", "score", "n_measured", "n_markers"]
WARNING_COLUMNS = ["revenue_at_risk", "n_signals", "signals", "reasons", "first_fired"]
SPIRAL_COLUMNS = ["current_phase", "state", "turn", "turns_completed", "quarters_in_state", "quarter"]


def one_action_per_client(actions: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """{client_id: the client's action}. client_actions holds at most one per client; a table
    holding more (an older run's) gives each client its action with the most at stake."""
    if actions is None or not len(actions):
        return {}
    ranked = actions.sort_values(["client_id", "value"], ascending=[True, False], kind="mergesort",
                                 na_position="last")
    return _one_by_client(ranked, ACTION_COLUMNS)


def card_periods(tables: dict[str, pd.DataFrame | None]) -> dict[str, Any]:
    """The periods a card's figures cover: the last four quarters to the period end, as the
    P&L's *_last4 columns, the segments and the deals count them."""
    from clientlens.quarters import shift_quarter

    end = _last_quarter(tables)
    return {"last4_from": shift_quarter(end, -3) if end else None, "last4_to": end}


def marker_periods(toxicity: pd.DataFrame | None) -> dict[str, dict[str, str]]:
    """{client_id: the quarters its toxicity markers were measured over}: each client's own
    window, ending at its last active quarter, as the toxicity table states it."""
    from clientlens.quarters import shift_quarter

    out = {}
    for cid, row in _one_by_client(toxicity, ["quarter", "window"]).items():
        if row.get("quarter") and row.get("window"):
            out[cid] = {"markers_from": shift_quarter(str(row["quarter"]), 1 - int(row["window"])),
                        "markers_to": str(row["quarter"])}
    return out


def client_cards(tables: dict[str, pd.DataFrame | None], lang: str = "en") -> Iterable[Card]:
    """One card per client of the P&L, in the P&L's order."""
    clients = tables.get("pnl_clients")
    if clients is None or not len(clients):
        return []
    trend = _rows_by_client(tables.get("pnl_quarters"), TREND_COLUMNS, "quarter")
    segments = _one_by_client(tables.get("segments"), SEGMENT_COLUMNS)
    toxicity = tables.get("toxicity_clients")
    reasons = _one_by_client(toxicity, ["reasons"])
    markers = _marker_rows(toxicity, lang)
    warnings = _one_by_client(tables.get("early_warnings"), WARNING_COLUMNS)
    positions = _one_by_client(tables.get("spiral_positions"), SPIRAL_COLUMNS)
    mistakes_table = tables.get("spiral_mistakes")
    if mistakes_table is not None and "status" in mistakes_table.columns:
        mistakes_table = mistakes_table.loc[mistakes_table["status"] == "detected"]
    mistakes = _rows_by_client(mistakes_table, MISTAKE_COLUMNS)
    forecast_table = tables.get("forecast_clients")
    forecast = _rows_by_client(forecast_table, FORECAST_COLUMNS, "quarter")
    action = one_action_per_client(tables.get("client_actions"))
    projects = _rows_by_client(_renamed(tables.get("pnl_projects"), {"project": "key"}), SPLIT_COLUMNS,
                               "revenue", ascending=False)
    work_types = _rows_by_client(_renamed(tables.get("pnl_work_types"), {"work_type": "key"}), SPLIT_COLUMNS,
                                 "revenue", ascending=False)
    measured = {
        "toxicity": toxicity is not None,
        "warnings": tables.get("early_warnings") is not None,
        "spiral": tables.get("spiral_positions") is not None,
        "forecast": forecast_table is not None,
        "drilldown": tables.get("pnl_projects") is not None,
        "deals": tables.get("deals") is not None,
    }
    open_deals, closed_deals = client_deal_rows(tables)
    outlook = _one_by_client(_renamed(tables.get("spiral_clients"), {FORECAST_NEXT4: "forecast_next4", CLV: "clv"}),
                             ["forecast_next4", "clv"])
    summary_rows = _rows_by_client(clients, ["client_id"] + SUMMARY_COLUMNS)
    periods, measured_over = card_periods(tables), marker_periods(toxicity)
    return [
        Card(
            client_id=cid,
            client_name=str(rows[0]["client_name"]),
            summary={**rows[0], **segments.get(cid, {}), **outlook.get(cid, {})},
            trend=trend.get(cid, []),
            markers=markers.get(cid, []),
            reasons=str(reasons.get(cid, {}).get("reasons") or ""),
            warning=warnings.get(cid),
            spiral=positions.get(cid),
            mistakes=mistakes.get(cid, []),
            forecast=forecast.get(cid, []),
            action=action.get(cid),
            measured=measured,
            projects=projects.get(cid, []),
            work_types=work_types.get(cid, []),
            open_deals=open_deals.get(cid, []),
            closed_deals=closed_deals.get(cid, []),
            periods={**periods, **measured_over.get(cid, {})},
        )
        for cid, rows in summary_rows.items()
    ]


def client_directory(tables: dict[str, pd.DataFrame | None], lang: str = "en") -> pd.DataFrame:
    """Every client on one row: what a director scans before opening a card.

    Columns: client_id, client_name, segment_label, status, revenue_last4, margin_pct,
    score (toxicity), score_basis (the markers it rests on, "3 of 18 markers"), phase, forecast_next4 (mean revenue of the next four quarters, summed),
    action (the one client_actions holds for the client, else the segment's)."""
    from clientlens.i18n import tr

    clients = tables["pnl_clients"]
    from clientlens.analysis.toxicity import markers_basis

    out = clients[["client_id", "client_name", "status", "revenue_last4", "margin_pct"]].copy()
    segments = tables.get("segments")
    if segments is not None:
        counts = [c for c in ("n_measured", "n_markers") if c in segments.columns]
        out = out.merge(segments[["client_id", "segment_label", "score", "action", *counts]], on="client_id",
                        how="left")
        out["score_basis"] = ([markers_basis(m, t, lang) for m, t in zip(out["n_measured"], out["n_markers"])]
                              if len(counts) == 2 else "")
    else:
        out["segment_label"], out["score"], out["action"], out["score_basis"] = None, float("nan"), None, ""
    outlook = tables.get("spiral_clients")
    if outlook is not None:
        outlook = outlook.set_index("client_id")
        from clientlens.analysis.spiral import phase_label

        out["phase"] = [phase_label(p, lang) for p in out["client_id"].map(outlook["phase"])]
        out["forecast_next4"] = out["client_id"].map(outlook[FORECAST_NEXT4])
    else:
        out["phase"], out["forecast_next4"] = None, float("nan")
    best = {cid: a["action"] for cid, a in one_action_per_client(tables.get("client_actions")).items()}
    if best:
        out["action"] = out["client_id"].astype(str).map(best).fillna(out["action"])
    out["status"] = [tr(str(v), lang) for v in out["status"]]
    columns = ["client_id", "client_name", "segment_label", "status", "revenue_last4", "margin_pct", "score",
               "score_basis", "phase", "forecast_next4", "action"]
    return (out[columns].sort_values(["revenue_last4", "client_id"], ascending=[False, True], kind="mergesort",
                                     na_position="last").reset_index(drop=True))


def action_links(actions: pd.DataFrame, prefix: str = f"{CARD_DIR}/") -> dict[str, str]:
    """{action text: the card of its client}, for a table of actions (display.table_html links)."""
    return {str(a): card_href(c, prefix) for a, c in zip(actions["action"], actions["client_id"])}
