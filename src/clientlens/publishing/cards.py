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
from clientlens.i18n import N_, t, tr, tr_plural
from clientlens.publishing import display as d
from clientlens.publishing.plots.theme import PALETTE
from clientlens.quarters import quarter_label
from clientlens.publishing.twins import Twin, twin_link_html

CARD_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
REVENUE_COLOUR, COST_COLOUR, LOSS_COLOUR = PALETTE[0], PALETTE[1], PALETTE[3]


def _quarter(quarter: Any, lang: str) -> str:
    """A quarter as a reader writes it in `lang`: "Q4 2025", "IV кв. 2025"."""
    return "" if quarter is None else quarter_label(str(quarter), lang)


def _figure(value: Any) -> Any:
    """A number as a card's table shows it: whole units (no "0.00", no "-0"), missing stays missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(round(value)) if abs(value) >= 10 or round(value, 1) == 0 else round(float(value), 1)
    return value


def _nice_step(span: float, ticks: int = 4) -> float:
    """A round gap between axis ticks (1, 2 or 5 times a power of ten) giving about `ticks` gaps."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _measured_quarters(trend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in trend if r.get("quarter") and (r.get("revenue") is not None or r.get("total_cost") is not None)]


def trend_svg(trend: list[dict[str, Any]], lang: str = "en", currency: str = "", width: int = 720,
              height: int = 240) -> str:
    """Revenue bars and a total-cost line by quarter, the money axis titled with its currency; a
    quarter whose cost tops its revenue has a red bar. Empty when fewer than two quarters have
    revenue or cost to draw: the card says those in a sentence instead."""
    rows = _measured_quarters(trend)
    if len(rows) < 2:
        return ""
    e = d.escape
    revenue = [float(r.get("revenue") or 0.0) for r in rows]
    cost = [float(r.get("total_cost") or 0.0) for r in rows]
    step_value = _nice_step(max(max(revenue), max(cost), 1.0) - min(0.0, min(revenue), min(cost)))
    top = step_value * math.ceil(max(max(revenue), max(cost), 1.0) / step_value)
    bottom = step_value * math.floor(min(0.0, min(revenue), min(cost)) / step_value)
    left, right, upper, lower = 70, 10, 26, 34
    plot_w, plot_h = width - left - right, height - upper - lower
    n = len(rows)
    step = plot_w / n

    def y(v: float) -> float:
        return upper + plot_h * (top - v) / (top - bottom)

    title = tr("Revenue and total cost by quarter, {cur}", lang, cur=currency) if currency \
        else tr("Revenue and total cost by quarter", lang)
    parts = [f'<svg class="cl-trend" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{e(title)}" xmlns="http://www.w3.org/2000/svg">',
             f'<text class="cl-axis-title" x="{left - 6}" y="12" text-anchor="end" font-size="11" '
             f'fill="#5b6475">{e(currency)}</text>']
    for k in range(int(round((top - bottom) / step_value)) + 1):
        v = bottom + k * step_value
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#dfe3ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6475">'
                     f'{e(d.fmt_money_short(v if abs(v) >= step_value / 2 else 0, "", lang))}</text>')
    quarters = [_quarter(r["quarter"], lang) for r in rows]
    # every k-th quarter named, k such that a name (about 6.5 px a character at 11 px) fits its room
    label_every = max(1, math.ceil((max(len(q) for q in quarters) * 6.5 + 8) / step))
    for i, r in enumerate(rows):
        x = left + i * step
        bar_top, bar_bottom = y(max(revenue[i], 0.0)), y(min(revenue[i], 0.0))
        colour = LOSS_COLOUR if cost[i] > revenue[i] else REVENUE_COLOUR
        quarter = quarters[i]
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{bar_top:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{max(bar_bottom - bar_top, 0.5):.1f}" fill="{colour}" opacity="0.85">'
                     f'<title>{e(quarter)}: {e(d.fmt_money_short(revenue[i], currency, lang))}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - lower + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#5b6475">{e(quarter)}</text>')
    points = " ".join(f"{left + (i + 0.5) * step:.1f},{y(c):.1f}" for i, c in enumerate(cost))
    parts.append(f'<polyline points="{points}" fill="none" stroke="{COST_COLOUR}" stroke-width="2.2"/>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#1d2433"/>')
    parts.append("</svg>")
    lost = [c > r for c, r in zip(cost, revenue)]  # the legend names only the colours drawn
    keys = [(REVENUE_COLOUR, "", tr("revenue", lang))] if not all(lost) else []
    if any(lost):
        keys.append((LOSS_COLOUR, "", tr("revenue, a quarter that lost money", lang)))
    keys.append((COST_COLOUR, " cl-swatch-line", tr("total cost (delivery and overhead)", lang)))
    legend = '<p class="cl-note cl-legend">' + " ".join(
        f'<span class="cl-swatch{klass}" style="background:{colour}"></span>{e(text)}'
        for colour, klass, text in keys) + "</p>"
    return "".join(parts) + legend


def _status_text(card: Card, lang: str) -> str:
    s = card.summary
    bits = [s.get("segment_label"), tr(str(s.get("status") or ""), lang) or None]
    if s.get("first_quarter"):
        bits.append(tr("client since {quarter}", lang, quarter=_quarter(s["first_quarter"], lang)))
    return " · ".join(str(b) for b in bits if b)


def _plural_s(n: int) -> str:
    return "" if n == 1 else "s"


def _margin_text(margin: Any, share: Any, currency: str, lang: str) -> str:
    """One margin for one period: the amount, and its share of revenue when revenue was measured."""
    amount = d.fmt_money(margin, currency, lang)
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return amount
    return tr("{amount} ({share} of revenue)", lang, amount=amount, share=d.fmt_pct(share, 0, lang))


def _share_of(margin: Any, revenue: Any) -> float | None:
    if margin is None or revenue is None or (isinstance(revenue, float) and math.isnan(revenue)) or revenue <= 0:
        return None
    return margin / revenue


def period_rows(card: Card, lang: str, currency: str) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """The card's figures, one row per period: (key, the period in words, [(label, figure, key)]).
    Each period has one margin. The last four quarters are the segments' and toxicity's
    window, so the margin there is the segments page's; the whole relationship is the P&L page's."""
    from clientlens.analysis.toxicity import markers_basis

    s, periods = card.summary, card.periods
    rows = []
    last4_share = s.get("margin_pct_last4")
    if last4_share is None:
        last4_share = _share_of(s.get("margin_last4"), s.get("revenue_last4"))
    if periods.get("last4_to"):
        last4 = tr("Last four quarters, {start} to {end}", lang, start=_quarter(periods["last4_from"], lang),
                   end=_quarter(periods["last4_to"], lang))
    else:
        last4 = tr("Last four quarters", lang)
    score = s.get("score")
    basis = markers_basis(s.get("n_measured"), s.get("n_markers"), lang)
    score_text = (tr("{score} of 100", lang, score=d.fmt_number(score, 0, lang)) + (f" ({basis})" if basis else "")
                  if score is not None else t("not_measured", lang))
    toxicity = (N_("toxicity score"), score_text, "score")
    last4_items = [
        (N_("revenue"), d.fmt_money(s.get("revenue_last4"), currency, lang), "revenue_last4"),
        (N_("margin after every cost"), _margin_text(s.get("margin_last4"), last4_share, currency, lang),
         "margin_last4")]
    own_window = periods.get("markers_to") and (periods.get("markers_from"), periods.get("markers_to")) != (
        periods.get("last4_from"), periods.get("last4_to"))
    rows.append(("last4", last4, last4_items if own_window else last4_items + [toxicity]))
    if own_window:  # the markers were measured over other quarters: their own row
        rows.append(("markers", _with_period(tr("Toxicity markers", lang), card, lang), [toxicity]))
    tenure = s.get("tenure_quarters")
    if s.get("first_quarter") and tenure is not None:
        n = int(tenure)
        whole = tr_plural("Whole relationship, {start} to {end} ({n} quarter{s})", n, lang,
                          start=_quarter(s["first_quarter"], lang),
                          end=_quarter(s.get("last_active_quarter") or s["first_quarter"], lang), n=n, s=_plural_s(n))
    else:
        whole = tr("Whole relationship", lang)
    rows.append(("whole", whole, [
        (N_("revenue"), d.fmt_money(s.get("revenue"), currency, lang), "revenue"),
        (N_("margin after every cost"), _margin_text(s.get("margin"), s.get("margin_pct"), currency, lang), "margin")]))
    ahead = []
    if s.get("forecast_next4") is not None:  # none for a client that left: the forecast section says so
        ahead.append((N_("revenue expected in the next four quarters"), d.fmt_money(s.get("forecast_next4"), currency, lang),
                      "forecast_next4"))
    if s.get("clv") is not None:
        ahead.append((N_("revenue still to come, discounted"), d.fmt_money(s.get("clv"), currency, lang), "clv"))
    if ahead:
        rows.append(("ahead", tr("Ahead", lang), ahead))
    return rows


def _figures_html(card: Card, lang: str, currency: str) -> str:
    e = d.escape
    parts = []
    for key, period, items in period_rows(card, lang, currency):
        parts.append(f'<div class="cl-period" data-period="{e(key)}">{d.kpi_html(items, lang, period)}</div>')
    return "".join(parts)


def _section(title: str, ident: str, body: str) -> str:
    return f'<section class="cl-card-section" id="{ident}"><h2>{d.escape(title)}</h2>{body}</section>'


SHARE_COLUMNS = {"margin_pct", "win_rate"}  # shares (0.42), shown as percentages (42%)
DATE_COLUMNS = {"expected_close_date", "closed_date"}


def _table(rows: list[dict[str, Any]], columns: dict[str, str], lang: str, caption: str = "") -> str:
    """A small card table: {row key: header} picks and names the columns; amounts in whole
    units, shares as percentages, days as the reader writes them."""
    kinds = {i: "pct" if key in SHARE_COLUMNS else "date" if key in DATE_COLUMNS else "quarter"
             for i, key in enumerate(columns)
             if key in SHARE_COLUMNS or key in DATE_COLUMNS or d.is_quarter_column(key)}
    return d.rows_table_html(list(columns.values()),
                             [[r.get(key) if key in SHARE_COLUMNS else _figure(r.get(key)) for key in columns]
                              for r in rows], lang=lang, caption=caption, kinds=kinds)


def _note(text: str) -> str:
    return d.paragraph_html(text, note=True)


def _not_supplied(lang: str) -> str:
    return _note(tr("This part is not measured: the data it needs was not supplied.", lang))


def _action_body(card: Card, lang: str, currency: str) -> str:
    """The one action the client needs: what to do, the next step, the evidence, what is at stake
    and on what basis; or, plainly, that it needs none."""
    e = d.escape
    a = card.action
    if not a:
        s = card.summary
        text = tr("No action is needed for this client now.", lang)
        if s.get("segment_label") and s.get("action"):
            text += " " + tr("The standing advice for its segment ({segment}): {advice}.", lang,
                             segment=s["segment_label"], advice=s["action"])
        return d.paragraph_html(text)
    step = a.get("step")
    parts = [f'<div class="cl-callout"><strong>{e(a["action"])}</strong>']
    if step and step != a["action"]:
        parts.append(f'<div class="cl-action-step">{e(tr("Next step: {step}", lang, step=step))}</div>')
    if a.get("evidence"):
        parts.append(f'<div>{e(tr("Why: {evidence}", lang, evidence=a["evidence"]))}</div>')
    if a.get("also"):
        parts.append(f'<div class="cl-note">{e(tr("Also found: {also}", lang, also=a["also"]))}</div>')
    if not a.get("ended"):  # a relationship that has ended has nothing at stake
        stake = d.fmt_money(a.get("value"), currency, lang)
        basis = a.get("value_basis")
        parts.append(f'<div class="cl-note">{e(tr("At stake: {value}", lang, value=stake))}'
                     f'{e(f" ({basis})") if basis else ""}</div>')
    return "".join(parts) + "</div>"


def _pnl_body(card: Card, lang: str, currency: str) -> str:
    s = card.summary
    margin_note = _note(str(s["margin_note"])) if s.get("margin_note") else ""
    rows = _measured_quarters(card.trend)
    if not card.trend:
        return margin_note + d.paragraph_html(
            tr("No work or invoice is recorded for this client in any quarter.", lang))
    if not rows:
        return margin_note + d.paragraph_html(tr("Revenue and cost are not measured for this client.", lang))
    no_revenue = all(not r.get("revenue") for r in rows)
    lead = d.paragraph_html(tr("No revenue is recorded for this client: its quarters show cost only.", lang)) \
        if no_revenue else ""
    if len(rows) == 1:
        r = rows[0]
        return margin_note + lead + d.paragraph_html(tr(
            "One quarter so far, {quarter}: revenue {revenue}, total cost {cost}, margin {margin}.", lang,
            quarter=_quarter(r["quarter"], lang), revenue=d.fmt_money(r.get("revenue"), currency, lang),
            cost=d.fmt_money(r.get("total_cost"), currency, lang), margin=d.fmt_money(r.get("margin"), currency, lang)))
    last = [{**r, "quarter": _quarter(r["quarter"], lang)} for r in card.trend[-8:]]
    caption = tr("The last eight quarters", lang) if len(card.trend) > 8 else ""
    table = _table(last, {
        "quarter": tr("quarter", lang), "revenue": tr("revenue, {cur}", lang, cur=currency),
        "total_cost": tr("total cost, {cur}", lang, cur=currency), "margin": tr("margin, {cur}", lang, cur=currency),
        "margin_pct": tr("margin, %", lang)}, lang, caption)
    return margin_note + lead + trend_svg(card.trend, lang, currency) + table


def _split_body(card: Card, lang: str, currency: str) -> str:
    """The client's P&L by project and by kind of work: a table per period (the last four
    quarters, then all history), the period said once in the table's caption."""
    from clientlens.analysis.drilldown import REVENUE_NOT_MEASURED, WINDOW_LABELS, key_labels

    if not card.measured.get("drilldown"):
        return _not_supplied(lang)
    if not (card.projects or card.work_types):
        return d.paragraph_html(tr(
            "The split by project is not measured for this client: none of its hours names a project.", lang))
    parts = [_note(tr(
        "Invoices name the client, not the project, so the client's revenue is shared out in proportion to the "
        "billable value each project (kind of work) logged in the period; costs and overhead stay where the hours "
        "were logged. The rows add up to the client's P&L.", lang))]
    reasons = {r["revenue_not_measured"] for r in card.projects + card.work_types if r.get("revenue_not_measured")}
    parts += [_note(tr("Revenue not measured: {why}.", lang, why=tr(REVENUE_NOT_MEASURED[why], lang)))
              for why in sorted(reasons)]
    for dimension, rows, caption in (
            ("project", card.projects, N_("By project, {period}")),
            ("work_type", card.work_types, N_("By kind of work, {period}"))):
        for window in ("last4", "all"):
            shown = [r for r in rows if r.get("window") == window]
            if not shown:
                continue
            labels = key_labels(dimension, [r.get("key") for r in shown], [r.get("unallocated") for r in shown], lang)
            shown = [{**r, "label": label} for r, label in zip(shown, labels)]
            columns = {"label": tr("project", lang) if dimension == "project" else tr("kind of work", lang),
                       "hours": tr("hours", lang), "revenue": tr("revenue, {cur}", lang, cur=currency),
                       "total_cost": tr("total cost, {cur}", lang, cur=currency),
                       "margin": tr("margin, {cur}", lang, cur=currency), "margin_pct": tr("margin, %", lang),
                       "effective_rate": tr("revenue per hour, {cur}", lang, cur=currency),
                       "list_rate": tr("list rate per hour, {cur}", lang, cur=currency)}
            parts.append(_table(shown, columns, lang, tr(caption, lang, period=tr(WINDOW_LABELS[window], lang))))
    return "".join(parts)


def _deals_body(card: Card, lang: str, currency: str) -> str:
    """The client's open deals, weighted as on the pipeline page, and those it won or lost in
    the last four quarters; "not measured" without a deals table."""
    if not card.measured.get("deals"):
        return _not_supplied(lang)
    if not (card.open_deals or card.closed_deals):
        return _note(tr("No open deal, and no deal won or lost in the last four quarters.", lang))
    parts = []
    if card.open_deals:
        parts.append(_table(card.open_deals, {
            "deal_name": tr("deal", lang), "stage": tr("deal stage", lang),
            "amount": tr("amount, {cur}", lang, cur=currency), "expected_close_date": tr("expected close", lang),
            "win_rate": tr("stage win rate, %", lang),
            "weighted_amount": tr("weighted amount, {cur}", lang, cur=currency)}, lang, tr("Open deals", lang)))
    else:
        parts.append(_note(tr("No open deal.", lang)))
    if card.closed_deals:
        shown = [{**r, "outcome": tr(str(r.get("outcome")), lang)} for r in card.closed_deals]
        parts.append(_table(shown, {
            "deal_name": tr("deal", lang), "stage": tr("deal stage", lang),
            "amount": tr("amount, {cur}", lang, cur=currency), "closed_date": tr("closed on", lang),
            "outcome": tr("outcome", lang), "lost_reason": tr("why lost", lang)}, lang,
            tr("Deals won or lost in the last four quarters", lang)))
    else:
        parts.append(_note(tr("No deal won or lost in the last four quarters.", lang)))
    return "".join(parts)


def _marker_value(row: dict[str, Any], lang: str) -> str:
    value = row.get("value")
    if value is None:
        return t("not_measured", lang)
    if row.get("fmt") == "pct":
        return d.fmt_pct(value, 0, lang)
    text = d.fmt_number(value + 0.0 if round(value, 1) != 0 else 0.0, 0 if row.get("fmt") == "int" else 1, lang)
    return f"{text} {row.get('unit') or ''}".strip()


def _markers_body(card: Card, lang: str) -> str:
    """What the toxicity score rests on: the markers that add to it; the others are counted."""
    if not card.measured.get("toxicity"):
        return _not_supplied(lang)
    if not card.markers:
        return d.paragraph_html(tr("No marker could be measured for this client.", lang))
    body = d.paragraph_html(card.reasons or tr("No marker is severe enough to name.", lang))
    scoring = [r for r in card.markers if (r.get("points") or 0) > 0]
    if scoring:
        shown = [{"label": r["label"], "value": _marker_value(r, lang),
                  "points": d.fmt_number(r["points"], 1, lang)} for r in scoring]
        body += d.rows_table_html([tr("marker", lang), tr("value", lang), tr("points in the score (of 100)", lang)],
                                  [[r["label"], r["value"], r["points"]] for r in shown], lang=lang)
    rest = len(card.markers) - len(scoring)
    if rest:
        body += _note(tr_plural("Adding nothing to the score: {n} other marker{s} measured.", rest, lang,
                                n=rest, s=_plural_s(rest)))
    return body


def _warning_body(card: Card, lang: str, currency: str) -> str:
    if not card.measured.get("warnings"):
        return _not_supplied(lang)
    if not card.warning:
        return _note(tr("No early warning is firing for this client.", lang))
    w = card.warning
    since = tr("Firing since {quarter}, against the client's usual level.", lang,
               quarter=_quarter(w.get("first_fired"), lang)) if w.get("first_fired") else ""
    return d.paragraph_html(str(w.get("reasons") or "")) + _note(" ".join(filter(None, [since, tr(
        "Signals: {signals}. Revenue at risk over a year: {value}.", lang, signals=w.get("signals") or "",
        value=d.fmt_money(w.get("revenue_at_risk"), currency, lang))])))


def _spiral_body(card: Card, lang: str) -> str:
    if not card.measured.get("spiral"):
        return _not_supplied(lang)
    from clientlens.analysis.spiral import phase_label

    p = card.spiral or {}
    body = ""
    if p:
        phase = p.get("current_phase") or p.get("state")  # no phase yet: dormant or churned
        done, time_in = int(p.get("turns_completed") or 0), int(p.get("quarters_in_state") or 0)
        body = d.paragraph_html(tr("Phase now: {phase} (turn {turn}; {done}; {time}).", lang,
                                   phase=phase_label(phase, lang), turn=int(p.get("turn") or 0),
                                   done=tr_plural("{n} turn{s} completed", done, lang, n=done, s=_plural_s(done)),
                                   time=tr_plural("{n} quarter{s} in this phase", time_in, lang, n=time_in,
                                                  s=_plural_s(time_in))))
    else:
        body = d.paragraph_html(tr("No spiral position for this client.", lang))
    return body + (_table(card.mistakes, {
        "label": tr("mistake", lang), "quarters": tr("quarters", lang), "evidence": tr("evidence", lang)}, lang)
        if card.mistakes else _note(tr("No spiral mistake found.", lang)))


def _forecast_body(card: Card, lang: str, currency: str) -> str:
    if not card.measured.get("forecast"):
        return _not_supplied(lang)
    if not card.forecast:
        return _note(tr("No forecast: the client has left.", lang))
    shown = [{**r, "quarter": _quarter(r.get("quarter"), lang)} for r in card.forecast]
    return _table(shown, {
        "quarter": tr("quarter", lang), "revenue_mean": tr("expected revenue, {cur}", lang, cur=currency),
        "revenue_lo_80": tr("low end of the 80% range, {cur}", lang, cur=currency),
        "revenue_hi_80": tr("high end of the 80% range, {cur}", lang, cur=currency)}, lang)


def render_card(card: Card, lang: str = "en", currency: str = "", css: str = "", footer: str = "",
                twin: Twin | None = None) -> str:
    """One client's card page (reports/clients/<slug>.html): the action first, then the figures
    one period per row, then each stage's part."""
    e = d.escape
    sections = [
        _section(tr("What to do", lang), "action", _action_body(card, lang, currency)),
        _section(tr("Profit and loss by quarter", lang), "pnl", _pnl_body(card, lang, currency)),
        _section(tr("Profit and loss by project and kind of work", lang), "projects",
                 _split_body(card, lang, currency)),
        _section(_with_period(tr("Toxicity markers", lang), card, lang), "markers", _markers_body(card, lang)),
        _section(tr("Early warning", lang), "warning", _warning_body(card, lang, currency)),
        _section(tr("Quarterly spiral", lang), "spiral", _spiral_body(card, lang)),
        _section(tr("Forecast", lang), "forecast", _forecast_body(card, lang, currency)),
        _section(tr("Deals", lang), "deals", _deals_body(card, lang, currency)),
    ]
    nav = (f'<header class="cl-topbar"><a href="../index.html">{e(t("home", lang))}</a> '
           f'<a class="cl-topbar-sub" href="../leadership.html">{e(tr("Leadership summary", lang))}</a> '
           f'<a class="cl-topbar-sub" href="../clients.html">{e(tr("All clients", lang))}</a>'
           f'{twin_link_html(twin, f"{CARD_DIR}/{card.slug}.html", depth=1)}</header>')
    return f"""<!DOCTYPE html>
<html lang="{e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta http-equiv="Content-Security-Policy" content="{e(CARD_POLICY)}">
<title>{e(card.client_name)}</title><style>{css}</style></head>
<body>{nav}<main class="cl-page cl-client-card">
<h1>{e(card.client_name)}</h1>
<p class="cl-note">{e(_status_text(card, lang))}</p>
{sections[0]}
{_figures_html(card, lang, currency)}
{"".join(sections[1:])}
{footer}
</main></body></html>
"""


def _with_period(title: str, card: Card, lang: str) -> str:
    """The toxicity section's title with the quarters its markers cover."""
    p = card.periods
    if not p.get("markers_to"):
        return title
    return tr("{title}, {start} to {end}", lang, title=title, start=_quarter(p["markers_from"], lang),
              end=_quarter(p["markers_to"], lang))


PARALLEL_CARDS = 1_000  # from this many cards, the cores render a share of them each
# Each forked writer holds every card, so more writers would mostly add memory, not speed:
# writing the files is a good part of the work.
MAX_CARD_PROCESSES = 2
_shared: tuple = ()  # what forked card writers inherit: (cards, folder, lang, currency, css, footer, twin)


def _write_share(part: int, parts: int) -> int:
    cards, folder, lang, currency, css, footer, twin = _shared
    share = cards[part::parts]
    for card in share:
        (folder / f"{card.slug}.html").write_text(render_card(card, lang, currency, css, footer, twin),
                                                      encoding="utf-8")
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


def write_cards(cards: Iterable[Card], site_dir: Path, lang: str, currency: str, css: str, footer: str,
                twin: Twin | None = None) -> int:
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
    _shared = (cards, folder, lang, currency, css, footer, twin)
    try:
        if len(cards) < PARALLEL_CARDS or parts < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return _write_share(0, 1)
        with multiprocessing.get_context("fork").Pool(parts) as pool:
            return sum(pool.starmap(_write_share, [(part, parts) for part in range(parts)]))
    finally:
        _shared = ()
