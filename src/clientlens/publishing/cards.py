"""Client cards as pages: reports/clients/<slug>.html, one per client.

A card is small and self-contained like every page: styles inline, no script, a policy that
allows no request to any host. Its P&L trend is an inline SVG drawn here, so ten thousand cards
cost seconds, not the minutes ten thousand matplotlib figures would. Every data-derived string
goes through display.escape (directly or via display.table_html): escaped, hidden characters shown.
"""
from __future__ import annotations

import math
import multiprocessing
import os
from pathlib import Path
from typing import Any, Iterable

from clientlens.analysis.cards import CARD_DIR, Card
from clientlens.i18n import N_, t, tr
from clientlens.publishing import display as d
from clientlens.publishing.plots.theme import PALETTE

CARD_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
REVENUE_COLOUR, COST_COLOUR, LOSS_COLOUR = PALETTE[0], PALETTE[1], PALETTE[3]


def _short_money(value: float, lang: str) -> str:
    a, sign = abs(value), "-" if value < 0 else ""
    units = [(1e9, N_("{number}B")), (1e6, N_("{number}M")), (1e3, N_("{number}k"))]
    for size, unit in units:
        if a >= size:
            number = f"{a / size:.1f}".rstrip("0").rstrip(".")
            return sign + tr(unit, lang, number=number.replace(".", ",") if lang == "ru" else number)
    return f"{sign}{a:.0f}"


def trend_svg(trend: list[dict[str, Any]], lang: str = "en", width: int = 720, height: int = 230) -> str:
    """Revenue bars and a total-cost line by quarter; a quarter whose cost tops its revenue has
    a red bar. Empty when there is no quarter, or no revenue or cost measured, to draw."""
    rows = [r for r in trend if r.get("quarter")]
    if not rows or all(r.get("revenue") is None and r.get("total_cost") is None for r in rows):
        return ""  # nothing measured to draw: the card's note says why
    e = d.escape
    revenue = [float(r.get("revenue") or 0.0) for r in rows]
    cost = [float(r.get("total_cost") or 0.0) for r in rows]
    top = max(max(revenue), max(cost), 1.0)
    bottom = min(0.0, min(revenue), min(cost))
    left, right, upper, lower = 62, 10, 14, 34
    plot_w, plot_h = width - left - right, height - upper - lower
    n = len(rows)
    step = plot_w / n

    def y(v: float) -> float:
        return upper + plot_h * (top - v) / (top - bottom)

    parts = [f'<svg class="cl-trend" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{e(tr("Revenue and total cost by quarter", lang))}" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0.0, 0.5, 1.0):
        v = bottom + (top - bottom) * frac
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#dfe3ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6475">'
                     f'{e(_short_money(v, lang))}</text>')
    label_every = max(1, math.ceil(n / 10))
    for i, r in enumerate(rows):
        x = left + i * step
        bar_top, bar_bottom = y(max(revenue[i], 0.0)), y(min(revenue[i], 0.0))
        colour = LOSS_COLOUR if cost[i] > revenue[i] else REVENUE_COLOUR
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{bar_top:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{max(bar_bottom - bar_top, 0.5):.1f}" fill="{colour}" opacity="0.85">'
                     f'<title>{e(str(r["quarter"]))}: {e(_short_money(revenue[i], lang))}</title></rect>')
        if i % label_every == 0 or i == n - 1:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - lower + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#5b6475">{e(str(r["quarter"]))}</text>')
    points = " ".join(f"{left + (i + 0.5) * step:.1f},{y(c):.1f}" for i, c in enumerate(cost))
    parts.append(f'<polyline points="{points}" fill="none" stroke="{COST_COLOUR}" stroke-width="2.2"/>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#1d2433"/>')
    parts.append("</svg>")
    legend = (f'<p class="cl-note cl-legend"><span class="cl-swatch" style="background:{REVENUE_COLOUR}"></span>'
              f'{e(tr("revenue", lang))} <span class="cl-swatch" style="background:{LOSS_COLOUR}"></span>'
              f'{e(tr("revenue, a quarter that lost money", lang))} '
              f'<span class="cl-swatch cl-swatch-line" style="background:{COST_COLOUR}"></span>'
              f'{e(tr("total cost (delivery and overhead)", lang))}</p>')
    return "".join(parts) + legend


def _status_text(summary: dict[str, Any], lang: str) -> str:
    bits = [summary.get("segment_label"), tr(str(summary.get("status") or ""), lang) or None]
    if summary.get("first_quarter"):
        bits.append(tr("client since {quarter}", lang, quarter=summary["first_quarter"]))
    if summary.get("tenure_quarters") is not None:
        bits.append(tr("{n} quarters", lang, n=int(summary["tenure_quarters"])))
    return " · ".join(str(b) for b in bits if b)


def _kpis(card: Card, lang: str, currency: str) -> str:
    from clientlens.analysis.toxicity import markers_basis

    s = card.summary
    score = s.get("score")
    basis = markers_basis(s.get("n_measured"), s.get("n_markers"), lang)
    return d.kpi_html([
        (tr("revenue, last 4 quarters", lang), d.fmt_money(s.get("revenue_last4"), currency, lang)),
        (tr("margin after every cost, last 4 quarters", lang),
         d.fmt_money(s.get("margin_last4"), currency, lang)),
        (tr("margin, whole relationship", lang), d.fmt_pct(s.get("margin_pct"), 0, lang)),
        (tr("toxicity score (0-100)", lang), (d.fmt_number(score, 0, lang) + (f" ({basis})" if basis else ""))
         if score is not None else t("not_measured", lang)),
        (tr("forecast, next 4 quarters", lang), d.fmt_money(s.get("forecast_next4"), currency, lang)),
        (tr("revenue still to come, discounted (spiral)", lang), d.fmt_money(s.get("clv"), currency, lang)),
    ])


def _section(title: str, ident: str, body: str) -> str:
    return f'<section class="cl-card-section" id="{ident}"><h2>{d.escape(title)}</h2>{body}</section>'


def _table(rows: list[dict[str, Any]], columns: dict[str, str], lang: str) -> str:
    """A small card table: {row key: header} picks and names the columns."""
    return d.rows_table_html(list(columns.values()), [[r.get(key) for key in columns] for r in rows], lang=lang)


def _split_body(card: Card, lang: str, currency: str) -> str:
    """The client's P&L by project and by kind of work: a table per period (the last four
    quarters, then all history), the period said once in the table's caption."""
    from clientlens.analysis.drilldown import REVENUE_NOT_MEASURED, WINDOW_LABELS, key_labels

    if not card.measured.get("drilldown") or not (card.projects or card.work_types):
        return d.paragraph_html(t("not_measured", lang), note=True)
    parts = [d.paragraph_html(tr(
        "Invoices name the client, not the project, so the client's revenue is shared out in proportion to the "
        "billable value each project (kind of work) logged in the period; costs and overhead stay where the hours "
        "were logged. The rows add up to the client's P&L.", lang), note=True)]
    reasons = {r["revenue_not_measured"] for r in card.projects + card.work_types if r.get("revenue_not_measured")}
    parts += [d.paragraph_html(tr("Revenue not measured: {why}.", lang, why=tr(REVENUE_NOT_MEASURED[why], lang)),
                               note=True) for why in sorted(reasons)]
    for dimension, rows, caption in (
            ("project", card.projects, N_("By project, {period}")),
            ("work_type", card.work_types, N_("By kind of work, {period}"))):
        for window in ("last4", "all"):
            shown = [r for r in rows if r.get("window") == window]
            if not shown:
                continue
            labels = key_labels(dimension, [r.get("key") for r in shown], [r.get("unallocated") for r in shown], lang)
            shown = [{**r, "label": label, "margin_pct": None if r.get("margin_pct") is None else 100 * r["margin_pct"]}
                     for r, label in zip(shown, labels)]
            columns = {"label": tr("project", lang) if dimension == "project" else tr("kind of work", lang),
                       "hours": tr("hours", lang), "revenue": tr("revenue, {cur}", lang, cur=currency),
                       "total_cost": tr("total cost, {cur}", lang, cur=currency),
                       "margin": tr("margin, {cur}", lang, cur=currency), "margin_pct": tr("margin, %", lang),
                       "effective_rate": tr("revenue per hour", lang), "list_rate": tr("list rate", lang)}
            parts.append(d.rows_table_html(list(columns.values()), [[r.get(k) for k in columns] for r in shown],
                                           lang=lang, caption=tr(caption, lang,
                                                                 period=tr(WINDOW_LABELS[window], lang))))
    return "".join(parts)


def _deals_body(card: Card, lang: str, currency: str) -> str:
    """The client's open deals, weighted as on the pipeline page, and those it won or lost in
    the last four quarters; "not measured" without a deals table."""
    if not card.measured.get("deals"):
        return d.paragraph_html(t("not_measured", lang), note=True)
    if not (card.open_deals or card.closed_deals):
        return d.paragraph_html(tr("No open deal, and no deal won or lost in the last four quarters.", lang),
                                note=True)
    parts = []
    if card.open_deals:
        shown = [{**r, "win_rate": None if r.get("win_rate") is None else 100 * r["win_rate"]}
                 for r in card.open_deals]
        columns = {"deal_name": tr("deal", lang), "stage": tr("deal stage", lang),
                   "amount": tr("amount, {cur}", lang, cur=currency),
                   "expected_close_date": tr("expected close", lang), "win_rate": tr("stage win rate, %", lang),
                   "weighted_amount": tr("weighted amount, {cur}", lang, cur=currency)}
        parts.append(d.rows_table_html(list(columns.values()), [[r.get(k) for k in columns] for r in shown],
                                       lang=lang, caption=tr("Open deals", lang)))
    else:
        parts.append(d.paragraph_html(tr("No open deal.", lang), note=True))
    if card.closed_deals:
        shown = [{**r, "outcome": tr(str(r.get("outcome")), lang)} for r in card.closed_deals]
        columns = {"deal_name": tr("deal", lang), "stage": tr("deal stage", lang),
                   "amount": tr("amount, {cur}", lang, cur=currency), "closed_date": tr("closed on", lang),
                   "outcome": tr("outcome", lang), "lost_reason": tr("why lost", lang)}
        parts.append(d.rows_table_html(list(columns.values()), [[r.get(k) for k in columns] for r in shown],
                                       lang=lang, caption=tr("Deals won or lost in the last four quarters", lang)))
    else:
        parts.append(d.paragraph_html(tr("No deal won or lost in the last four quarters.", lang), note=True))
    return "".join(parts)


def render_card(card: Card, lang: str = "en", currency: str = "", css: str = "", footer: str = "") -> str:
    """One client's card page (reports/clients/<slug>.html)."""
    e = d.escape
    s = card.summary
    recommended = card.actions[0] if card.actions else None
    if recommended:
        headline = (f'<div class="cl-callout"><strong>{e(recommended["action"])}</strong>'
                    f'<div>{e(str(recommended.get("evidence") or ""))}</div>'
                    f'<div class="cl-note">{e(tr("at stake", lang))}: '
                    f'{e(d.fmt_money(recommended.get("value"), currency, lang))} '
                    f'({e(str(recommended.get("value_basis") or ""))})</div></div>')
    elif s.get("action"):
        headline = (f'<div class="cl-callout"><strong>{e(str(s["action"]))}</strong>'
                    f'<div>{e(str(s.get("why") or ""))}</div></div>')
    else:
        headline = ""

    last = [{**r, "margin_pct": None if r.get("margin_pct") is None else 100 * r["margin_pct"]}
            for r in card.trend[-8:]]
    trend_table = _table(last, {
        "quarter": tr("quarter", lang), "revenue": tr("revenue, {cur}", lang, cur=currency),
        "total_cost": tr("total cost, {cur}", lang, cur=currency), "margin": tr("margin, {cur}", lang, cur=currency),
        "margin_pct": tr("margin, %", lang)}, lang) if last \
        else d.paragraph_html(t("not_measured", lang), note=True)
    margin_note = d.paragraph_html(str(s["margin_note"]), note=True) if s.get("margin_note") else ""
    pnl_body = margin_note + trend_svg(card.trend, lang) + (
        d.paragraph_html(tr("The last eight quarters:", lang), note=True) if len(card.trend) > 8 else "") + trend_table

    if not card.measured.get("toxicity"):
        markers_body = d.paragraph_html(t("not_measured", lang), note=True)
    else:
        reasons = card.reasons or tr("No marker is severe enough to name.", lang)
        markers_body = d.paragraph_html(reasons) + (_table(card.markers, {
            "label": tr("marker", lang), "value": tr("value", lang), "unit": tr("unit", lang),
            "severity": tr("severity (0-1)", lang), "points": tr("points in the score", lang)}, lang)
            if card.markers else "")

    if not card.measured.get("warnings"):
        warning_body = d.paragraph_html(t("not_measured", lang), note=True)
    elif card.warning:
        w = card.warning
        warning_body = (d.paragraph_html(str(w.get("reasons") or "")) + d.paragraph_html(
            tr("Signals: {signals}. Revenue at risk over a year: {value}.", lang, signals=w.get("signals") or "",
               value=d.fmt_money(w.get("revenue_at_risk"), currency, lang)), note=True))
    else:
        warning_body = d.paragraph_html(tr("No early warning is firing for this client.", lang), note=True)

    if not card.measured.get("spiral"):
        spiral_body = d.paragraph_html(t("not_measured", lang), note=True)
    else:
        from clientlens.analysis.spiral import phase_label

        p = card.spiral or {}
        phase = p.get("current_phase") or p.get("state")  # no phase yet: dormant or churned
        spiral_body = d.paragraph_html(tr(
            "Phase now: {phase} (turn {turn}, {done} turns completed, {n} quarters in this phase).", lang,
            phase=phase_label(phase, lang), turn=p.get("turn") or 0,
            done=p.get("turns_completed") or 0, n=p.get("quarters_in_state") or 0)) if p else ""
        spiral_body += (_table(card.mistakes, {
            "label": tr("mistake", lang), "quarters": tr("quarters", lang), "evidence": tr("evidence", lang)}, lang)
            if card.mistakes else d.paragraph_html(tr("No spiral mistake found.", lang), note=True))

    if not card.measured.get("forecast"):
        forecast_body = d.paragraph_html(t("not_measured", lang), note=True)
    elif card.forecast:
        forecast_body = _table(card.forecast, {
            "quarter": tr("quarter", lang), "revenue_mean": tr("expected revenue, {cur}", lang, cur=currency),
            "revenue_lo_80": tr("80% low", lang), "revenue_hi_80": tr("80% high", lang)}, lang)
    else:
        forecast_body = d.paragraph_html(tr("No forecast: the client has left.", lang), note=True)

    actions_body = (_table(card.actions, {
        "action": tr("action", lang), "evidence": tr("evidence", lang),
        "value": tr("at stake, {cur}", lang, cur=currency), "value_basis": tr("what is at stake", lang)}, lang)
        if card.actions else d.paragraph_html(tr("No action proposed beyond the segment's: {action}.", lang,
                                 action=s.get("action") or "-"), note=True))

    sections = [
        _section(tr("Profit and loss by quarter", lang), "pnl", pnl_body),
        _section(tr("Profit and loss by project and kind of work", lang), "projects",
                 _split_body(card, lang, currency)),
        _section(tr("Toxicity markers", lang), "markers", markers_body),
        _section(tr("Early warning", lang), "warning", warning_body),
        _section(tr("Quarterly spiral", lang), "spiral", spiral_body),
        _section(tr("Forecast", lang), "forecast", forecast_body),
        _section(tr("Deals", lang), "deals", _deals_body(card, lang, currency)),
        _section(tr("Every action proposed", lang), "actions", actions_body),
    ]
    nav = (f'<header class="cl-topbar"><a href="../index.html">{e(t("home", lang))}</a> '
           f'<a class="cl-topbar-sub" href="../leadership.html">{e(tr("Leadership summary", lang))}</a> '
           f'<a class="cl-topbar-sub" href="../clients.html">{e(tr("All clients", lang))}</a></header>')
    return f"""<!DOCTYPE html>
<html lang="{e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta http-equiv="Content-Security-Policy" content="{e(CARD_POLICY)}">
<title>{e(card.client_name)}</title><style>{css}</style></head>
<body>{nav}<main class="cl-page cl-client-card">
<h1>{e(card.client_name)}</h1>
<p class="cl-note">{e(_status_text(s, lang))}</p>
{headline}
{_kpis(card, lang, currency)}
{"".join(sections)}
{footer}
</main></body></html>
"""


PARALLEL_CARDS = 1_000  # from this many cards, the cores render a share of them each
# Each forked writer holds every card, so more writers would mostly add memory, not speed:
# writing the files is a good part of the work.
MAX_CARD_PROCESSES = 2
_shared: tuple = ()  # what forked card writers inherit: (cards, folder, lang, currency, css, footer)


def _write_share(part: int, parts: int) -> int:
    cards, folder, lang, currency, css, footer = _shared
    share = cards[part::parts]
    for card in share:
        (folder / f"{card.slug}.html").write_text(render_card(card, lang, currency, css, footer), encoding="utf-8")
    return len(share)


class CardNameClash(ValueError):
    """Two cards would be one file: writing both would leave one client's card under the other's links."""


def check_card_names(cards: Iterable[Card]) -> None:
    """Fail, naming both clients, when two cards would share a file, even only on a drive that
    ignores case. card_slug makes that a hash collision or a client listed twice; either way
    no card is written over another."""
    owners: dict[str, str] = {}
    for card in cards:
        name = card.slug.casefold()
        if name in owners:
            raise CardNameClash(f"clients {owners[name]!r} and {card.client_id!r} would share the card "
                                f"{CARD_DIR}/{card.slug}.html: no card written; "
                                "each client needs one id of its own")
        owners[name] = card.client_id


def write_cards(cards: Iterable[Card], site_dir: Path, lang: str, currency: str, css: str, footer: str) -> int:
    """Write every card into site_dir/clients/; the number written.

    Each card is its own file, so at thousands of clients the cores share them out: forked
    processes inherit the cards rather than receive them pickled. Every card is written
    exactly as one process would write it. Two cards that would share a file stop the
    writing before any card is written (check_card_names).
    """
    global _shared
    cards = list(cards)
    check_card_names(cards)
    folder = site_dir / CARD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    parts = min(os.cpu_count() or 1, MAX_CARD_PROCESSES)
    _shared = (cards, folder, lang, currency, css, footer)
    try:
        if len(cards) < PARALLEL_CARDS or parts < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return _write_share(0, 1)
        with multiprocessing.get_context("fork").Pool(parts) as pool:
            return sum(pool.starmap(_write_share, [(part, parts) for part in range(parts)]))
    finally:
        _shared = ()
