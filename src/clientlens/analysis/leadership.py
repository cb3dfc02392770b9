"""The leadership page's headline figures, each taken from the stage that computes it.

Nothing here recomputes a metric: revenue and margin come from the P&L stage, risk from the
toxicity and segment stages, the forecast from the spiral stage, so the first screen can never
disagree with the detail pages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from clientlens.analysis import pnl
from clientlens.i18n import N_


@dataclass(frozen=True)
class Headline:
    revenue_last4: float | None  # None: not measured (no client's revenue is)
    margin_last4: float | None
    margin_pct_last4: float | None
    top20_profit_share: float | None  # the last four quarters', like every figure beside it
    clients_active: int
    clients_at_risk: int
    revenue_at_risk: float | None
    at_risk_by_kind: dict[str, dict[str, float]]
    forecast_quarter: str | None
    forecast_mean: float | None
    forecast_lo: float | None
    forecast_hi: float | None
    forecast_level: int | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# The kinds of risk, in the order of precedence of their actions (analysis.actions.PRECEDENCE):
# a client with several is counted under the first, the one its action answers.
RISK_KINDS = ("toxic_unprofitable", "warning", "gone_quiet", "stale_communicator", "difficult")
RISK_PHRASES = {
    "warning": N_("early signs of leaving"),
    "gone_quiet": N_("gone quiet"),
    "stale_communicator": N_("communicator to rotate"),
    "difficult": N_("profitable but difficult"),
    "toxic_unprofitable": N_("toxic and unprofitable"),
}
# What a kind with no revenue at risk says instead of "0 USD": a quiet client has billed
# nothing lately, which is why it is at risk, not a sign that nothing is at stake.
NO_RECENT_REVENUE = N_("no revenue in the last four quarters")


def at_risk_clients(segments: pd.DataFrame, warnings: pd.DataFrame,
                    red_segments: tuple[str, ...] = tuple(k for k in RISK_KINDS if k != "warning")) -> pd.DataFrame:
    """Clients at risk: an early warning firing, or a segment that puts the relationship at risk.

    One row per client: its revenue at risk (the larger of its segment's and its warning's
    four-quarter revenue) and its kind of risk, the most urgent of RISK_KINDS that applies.
    """
    flagged = (segments.loc[segments["segment"].isin(red_segments), ["client_id", "client_name", "revenue", "segment"]]
               .rename(columns={"segment": "kind"}))
    warned = (warnings[["client_id", "client_name", "revenue_at_risk"]]
              .rename(columns={"revenue_at_risk": "revenue"}).assign(kind="warning"))
    both = pd.concat([flagged, warned], ignore_index=True)
    # NaN stays: a client at risk whose revenue is not measured is not one without revenue
    both["revenue"] = both["revenue"].astype(float)
    both["priority"] = both["kind"].map({k: i for i, k in enumerate(RISK_KINDS)}).fillna(len(RISK_KINDS))
    first = both.sort_values(["client_id", "priority"], kind="mergesort").drop_duplicates("client_id")
    first = first.set_index("client_id")
    out = first[["client_name", "kind"]].join(both.groupby("client_id")["revenue"].max()).reset_index()
    return (out[["client_id", "client_name", "revenue", "kind"]]
            .sort_values(["revenue", "client_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True))


def risk_breakdown(risk: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Clients and revenue at risk by kind, in RISK_KINDS order; kinds with no client left out.
    The rows add up to the headline figures: each client is counted once."""
    g = risk.groupby("kind").agg(clients=("client_id", "size"),
                                 revenue=("revenue", lambda r: r.sum(min_count=1)))
    g = g.reindex([k for k in RISK_KINDS if k in g.index])
    from clientlens.i18n import tr

    g.insert(0, "label", [tr(RISK_PHRASES[k], lang) for k in g.index])
    return g.rename_axis("kind").reset_index()


def headline(pnl_clients: pd.DataFrame, segments: pd.DataFrame, warnings: pd.DataFrame,
             forecast_portfolio: pd.DataFrame | None, *, level: int) -> Headline:
    live = pnl_clients.loc[pnl_clients["status"] == "active"]
    # over the clients whose revenue and margin are measured; None when none is
    totals = pnl.portfolio_totals(pnl_clients, "_last4")
    known = lambda v: None if pd.isna(v) else float(v)  # noqa: E731
    risk = at_risk_clients(segments, warnings)
    top = pnl.top_share(pnl.last_four_quarters(pnl_clients), 0.2)
    fq = fmean = flo = fhi = None
    if forecast_portfolio is not None and len(forecast_portfolio):
        first = forecast_portfolio.sort_values("quarter_index").iloc[0]
        fmean = known(first["revenue_mean"])  # None: revenue not measured, so neither its forecast
        if fmean is not None:
            fq = str(first["quarter"])
            flo, fhi = known(first[f"revenue_lo_{level}"]), known(first[f"revenue_hi_{level}"])
    return Headline(
        revenue_last4=known(totals["revenue"]),
        margin_last4=known(totals["margin"]),
        margin_pct_last4=known(totals["margin_pct"]),
        top20_profit_share=float(top["profit_share"]) if pd.notna(top["profit_share"]) else None,
        clients_active=int(len(live)),
        clients_at_risk=int(len(risk)),
        revenue_at_risk=float(risk["revenue"].sum()) if pd.notna(totals["revenue"]) else None,
        at_risk_by_kind={r.kind: {"clients": int(r.clients), "revenue": known(r.revenue)}
                         for r in risk_breakdown(risk).itertuples(index=False)},
        forecast_quarter=fq, forecast_mean=fmean, forecast_lo=flo, forecast_hi=fhi,
        forecast_level=level if fq else None,
    )


def warned_left_share(backtest: pd.DataFrame | None) -> float | None:
    """The share of clients warned before that then left (the early-warning backtest's client
    precision); None while no client has stopped, so the share is not known."""
    if backtest is None or backtest.empty or "precision_clients" not in backtest:
        return None
    share = backtest["precision_clients"].iloc[0]
    return None if pd.isna(share) or not backtest["stopped_clients"].iloc[0] else float(share)


def at_risk_list(risk: pd.DataFrame, chosen: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """at_risk_clients() with each client's risk in words and the one action it gets: the list
    the headline's clients at risk and their revenue count, row for row."""
    from clientlens.i18n import tr

    action = dict(zip(chosen["client_id"], chosen["action"]))
    return risk.assign(risk_words=[tr(RISK_PHRASES[k], lang) for k in risk["kind"]],
                       action=[action.get(c, "") for c in risk["client_id"]])


def at_risk_caption(at_risk: pd.DataFrame, currency: str, lang: str = "en") -> str:
    from clientlens.analysis.markers import plural_s
    from clientlens.i18n import tr_plural
    from clientlens.publishing.display import fmt_money, fmt_number

    n = len(at_risk)
    return tr_plural("{n} client{s} at risk, {money} of revenue over the last four quarters", n, lang,
                     n=fmt_number(n, 0, lang), s=plural_s(n),
                     money=fmt_money(at_risk["revenue"].sum(min_count=1), currency, lang))


def last_four_quarters_list(pnl_clients: pd.DataFrame, share: float = 0.2) -> pd.DataFrame:
    """Every client with revenue or margin measured over the last four quarters, the most
    profitable first (a margin not measured last): rank, client_id, client_name, revenue,
    margin, margin_pct, top_20 (among the top `share` of clients by profit, the group the
    headline's share is of). Its sums are the headline's (pnl.portfolio_totals)."""
    t = pnl.last_four_quarters(pnl_clients)
    t = t.loc[t["revenue"].notna() | t["margin"].notna()]
    t = t.assign(_measured=t["margin"].notna()).sort_values(
        ["_measured", "margin", "client_id"], ascending=[False, False, True], kind="mergesort")
    out = t[["client_id", "client_name", "revenue", "margin", "margin_pct"]].reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    n_top = int(pnl.top_share(t, share)["n_top"]) if t["margin"].notna().any() else 0
    out["top_20"] = out["rank"] <= n_top
    return out


def every_client_caption(every_client: pd.DataFrame, currency: str, lang: str = "en") -> str:
    from clientlens.analysis.markers import plural_s
    from clientlens.i18n import tr_plural
    from clientlens.publishing.display import fmt_money, fmt_number, fmt_pct

    n = len(every_client)
    totals = pnl.portfolio_totals(every_client)
    top = every_client.loc[every_client["top_20"], "margin"].sum()
    margin = totals["margin"]
    top_n = int(every_client["top_20"].sum())
    return tr_plural("{n} clients: revenue {revenue}, margin {margin} ({pct}); the top 20% ({top_n} client{s}) "
                     "made {top_share} of the margin", n, lang,
                     n=fmt_number(n, 0, lang), revenue=fmt_money(totals["revenue"], currency, lang),
                     margin=fmt_money(margin, currency, lang), pct=fmt_pct(totals["margin_pct"], 1, lang),
                     top_n=fmt_number(top_n, 0, lang), s=plural_s(top_n),
                     top_share=fmt_pct(top / margin if pd.notna(margin) and margin > 0 else None, 0, lang))


def clients_at_risk_label(n: int, lang: str = "en") -> str:
    """The label under the count of clients at risk, agreeing with it ("1 client at risk",
    «1 клиент в зоне риска», «5 клиентов в зоне риска»)."""
    from clientlens.analysis.markers import plural_s
    from clientlens.i18n import tr_plural

    return tr_plural("client{s} at risk", n, lang, s=plural_s(n))


def forecast_figure(head: Headline, currency: str, lang: str = "en") -> tuple[str, str]:
    """(figure, label) of the next quarter's forecast: the expected revenue and its range, or the
    expected revenue alone, saying the range is not measured, when the backtest could not set one."""
    from clientlens.i18n import tr
    from clientlens.publishing.display import fmt_money_short

    mean = fmt_money_short(head.forecast_mean, currency, lang)
    if head.forecast_lo is None or head.forecast_hi is None:
        return mean, tr("forecast; its range is not measured: too little history to check it against", lang)
    return (f"{mean} ({fmt_money_short(head.forecast_lo, '', lang)}–{fmt_money_short(head.forecast_hi, '', lang)})",
            tr("forecast, {level}% range", lang, level=head.forecast_level))


def last_four_quarters_title(segments: pd.DataFrame, lang: str = "en") -> str:
    """"The last four quarters, Q4 2025 to Q3 2026": the period the first row of figures is for."""
    from clientlens.i18n import tr
    from clientlens.quarters import quarter_label, shift_quarter

    if not len(segments) or "quarter" not in segments:
        return tr("The last four quarters", lang)
    end = str(segments["quarter"].iloc[0])
    return tr("The last four quarters, {first} to {last}", lang,
              first=quarter_label(shift_quarter(end, -3), lang), last=quarter_label(end, lang))


def save_headline(head: Headline, processed_dir) -> None:
    """leadership_kpis.json: the first screen's figures, for audit and for the KPI tests."""
    import json
    from pathlib import Path

    (Path(processed_dir) / "leadership_kpis.json").write_text(
        json.dumps(head.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def risk_sentence(breakdown: pd.DataFrame, currency: str, lang: str = "en") -> str:
    """The at-risk headline broken down by kind, in words: "Of the 53 clients at risk, 24 show
    early signs of leaving (4.3M USD), ..." (revenue over the last four quarters); with no
    client at risk, says so; with one, says what its risk is."""
    from clientlens.i18n import tr, tr_context
    from clientlens.publishing.display import fmt_money_short, fmt_number

    total = int(breakdown["clients"].sum()) if len(breakdown) else 0
    if total == 0:
        return tr("No client is at risk: none shows early signs of leaving, has gone quiet, or is "
                  "toxic, difficult or served by a stale communicator.", lang)
    def money(revenue: float) -> str:
        return tr(NO_RECENT_REVENUE, lang) if revenue == 0 else fmt_money_short(revenue, currency, lang)

    if total == 1:
        r = next(breakdown.itertuples(index=False))
        return tr("One client is at risk: {what} ({money}).", lang, what=tr(RISK_PHRASES[r.kind], lang),
                  money=money(r.revenue))
    # a group of clients: in Russian the plural of the words a single client's risk is said in
    parts = [tr("{risk}, {n} ({money})", lang, risk=tr_context("risk group", RISK_PHRASES[r.kind], lang),
                n=fmt_number(int(r.clients), 0, lang), money=money(r.revenue))
             for r in breakdown.itertuples(index=False)]
    return tr("Of the {total} clients at risk, by the most urgent risk of each: {parts}.", lang,
                     total=fmt_number(total, 0, lang), parts="; ".join(parts))


# --- what the page is built from -----------------------------------------------------------------

def data_quality(summary: pd.DataFrame | None, supplied_tables: Iterable[str],
                 toxicity: pd.DataFrame | None) -> dict[str, int]:
    """What the reports rest on, from ingest's summary and the tables it saw supplied, and the
    toxicity stage's table: files read, rows read and set aside, tables supplied of the
    contract's, markers measured (for at least one client) of the markers with a weight. A file
    feeding two tables (a helpdesk export: requests and surveys) has a summary line for each:
    its rows are counted once."""
    from clientlens.analysis.markers import MARKERS
    from clientlens.intake.contract import TABLES
    from clientlens.processed import summary_totals

    supplied = set(supplied_tables) & set(TABLES)
    measured = 0
    total = len(MARKERS)
    if toxicity is not None and len(toxicity):
        measured = sum(bool(toxicity[f"sev_{m.name}"].notna().any()) for m in MARKERS if f"sev_{m.name}" in toxicity)
        if "n_markers" in toxicity.columns:
            total = int(toxicity["n_markers"].iloc[0])
    totals = summary_totals(summary)
    return {
        "files": totals["files"], "rows_read": totals["rows_read"],
        "rows_set_aside": totals["rows_quarantined"],
        "tables_supplied": len(supplied), "tables": len(TABLES),
        "markers_measured": measured, "markers": total,
    }


def data_quality_html(quality: dict[str, int], lang: str = "en", ingest_page: str = "ingest.html") -> str:
    """One line: "Built from 3 files (4,210 rows; 12 set aside) · 2 of 11 tables supplied · 7 of 18
    markers measured", linking to the ingest page, which lists every file and row set aside."""
    import html

    from clientlens.analysis.markers import plural_s
    from clientlens.i18n import tr_plural
    from clientlens.publishing.display import fmt_number

    n = lambda v: fmt_number(v, 0, lang)  # noqa: E731
    parts = [
        tr_plural("Built from {n} file{s} ({rows} rows; {aside} set aside)", quality["files"], lang,
                  n=n(quality["files"]), s=plural_s(quality["files"]), rows=n(quality["rows_read"]),
                  aside=n(quality["rows_set_aside"])),
        tr_plural("{n} of {total} tables supplied", quality["tables"], lang, n=n(quality["tables_supplied"]),
                  total=n(quality["tables"])),
        tr_plural("{n} of {total} markers measured", quality["markers"], lang, n=n(quality["markers_measured"]),
                  total=n(quality["markers"])),
    ]
    return (f'<p class="cl-note cl-data-quality"><a href="{html.escape(ingest_page)}">'
            f'{html.escape(" · ".join(parts))}</a></p>')
