# %% [markdown]
# # Clients: the answers for leadership
#
# Who makes us money once every cost is counted, who is more trouble than money or about to
# leave, what to do with each client, and what the next quarters bring. Every figure comes from
# the page that computes it; every client name opens the client's card.

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
from clientlens.analysis import actions, cards, leadership, pnl
from clientlens.i18n import tr
from clientlens.parameters import stage_params
from clientlens.processed import ingest_manifest, load_table, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.downloads import write_csv
from clientlens.publishing.plots import pnl_plots, toxicity_plots
from clientlens.publishing.plots.theme import set_theme

set_theme()
params = stage_params(params_file, reads_file)
report_lang, cur = params.report_lang, reporting_currency(processed_dir)
pnl_clients = load_table(processed_dir, "pnl_clients")
placed = load_table(processed_dir, "segments")
warnings = load_table(processed_dir, "early_warnings")
forecast = load_table(processed_dir, "forecast_portfolio")
mistakes = load_table(processed_dir, "spiral_mistakes")
churn = load_table(processed_dir, "spiral_mistake_churn")
quality = leadership.data_quality(load_table(processed_dir, "ingest_summary"),
                                  ingest_manifest(processed_dir)["measured_tables"],
                                  load_table(processed_dir, "toxicity_clients"))
head = leadership.headline(pnl_clients, placed, warnings, forecast,
                          level=round(100 * params.spiral.interval_levels[0]))
revenue_by_client = pnl_clients.set_index("client_id")["revenue_last4"]
proposed = actions.every_action([
    actions.segment_actions(placed, params.segments.profitable_margin_pct, report_lang),
    actions.warning_actions(warnings, report_lang),
    actions.spiral_actions(mistakes, revenue_by_client, churn.set_index("mistake")["uplift"], report_lang)
    if mistakes is not None else None,
])
ranked = actions.top_actions([proposed], n=10)
risk = leadership.risk_breakdown(leadership.at_risk_clients(placed, warnings), report_lang)
save_table(proposed, processed_dir, "client_actions")
save_table(ranked, processed_dir, "leadership_actions")
leadership.save_headline(head, processed_dir)

# %%
first_forecast = (forecast.sort_values("quarter_index").iloc[0]
                  if forecast is not None and len(forecast) and "last_quarter_revenue" in forecast else None)
forecast_text = (f"{d.fmt_money_short(head.forecast_mean, cur, report_lang)} "
                 f"({d.fmt_money_short(head.forecast_lo, '', report_lang)}–"
                 f"{d.fmt_money_short(head.forecast_hi, '', report_lang)})"
                 if head.forecast_mean is not None else d.fmt_money(None, cur, report_lang))
d.show(leadership.data_quality_html(quality, report_lang))
d.show(d.kpi_html([
    ("revenue, last 4 quarters", d.fmt_money_short(head.revenue_last4, cur, report_lang), "revenue_last4"),
    ("margin after every cost, last 4 quarters", d.fmt_pct(head.margin_pct_last4, 1, report_lang),
     "margin_pct_last4"),
    ("profit from the top 20% of clients, all history", d.fmt_pct(head.top20_profit_share, 0, report_lang), "top20_profit_share"),
    (tr("clients at risk, of {active} active", report_lang, active=d.fmt_number(head.clients_active, 0, report_lang)),
     d.fmt_number(head.clients_at_risk, 0, report_lang), "clients_at_risk"),
    ("revenue at risk, a year", d.fmt_money_short(head.revenue_at_risk, cur, report_lang), "revenue_at_risk"),
    (tr("forecast {quarter}, {level}% range, existing clients, no new business", report_lang,
        quarter=head.forecast_quarter, level=head.forecast_level)
     if head.forecast_quarter else tr("forecast", report_lang), forecast_text, "forecast"),
    # beside the forecast, the actuals it is read against: the last quarter, and the same quarter a year before
    *([(tr("actual {quarter}, the last quarter", report_lang, quarter=first_forecast.last_quarter),
        d.fmt_money_short(first_forecast.last_quarter_revenue, cur, report_lang), "last_quarter_revenue"),
       (tr("actual {quarter}, a year before the forecast", report_lang, quarter=first_forecast.year_before_quarter),
        d.fmt_money_short(first_forecast.year_before_revenue, cur, report_lang), "year_before_revenue")]
      if first_forecast is not None else []),
], lang=report_lang))
d.show(d.paragraph_html(leadership.risk_sentence(risk, cur, report_lang), note=True))
d.show(d.figures_side_by_side_html(
    d.figure_html(pnl_plots.plot_whale_curve(pnl.whale_curve(pnl_clients), figsize=(7, 3.7), lang=report_lang)),
    d.figure_html(toxicity_plots.plot_segment_map(placed, params, lang=report_lang, figsize=(7.6, 4.6))),
    compact=True,
))

# %% [markdown]
# ## The ten most valuable actions

# %%
d.show_table(ranked[["rank", "action", "evidence", "value", "value_basis"]]
             .rename(columns={"value": tr("at stake, {currency}", report_lang, currency=cur),
                              "value_basis": "what is at stake"}),
             lang=report_lang, searchable=False, links={"action": cards.action_links(ranked)})

# %% [markdown]
# ## Every client that needs an action
#
# Clients outside the core segment, with what to do and why, the largest first (relationships that
# have ended come last). The whale curve and the segment map above are drawn in full on the P&L
# and segments pages.

# %%
needs_action = (placed.loc[placed.segment != "core"]
                .sort_values(["revenue", "client_id"], ascending=[False, True])
                [["client_id", "client_name", "segment_label", "action", "why", "revenue"]]
                .rename(columns={"client_name": "client", "segment_label": "segment",
                                 "revenue": tr("revenue, last 4 quarters, {cur}", report_lang, cur=cur)}))
d.show_table(needs_action, lang=report_lang)
d.show(d.download_link_html(write_csv(needs_action, processed_dir, "clients-needing-action", report_lang),
                            tr("Download this list (CSV)", report_lang)))

# %% [markdown]
# ## Sources
#
# **Reads:** `pnl_clients.parquet`, `segments.parquet`, `early_warnings.parquet`,
# `forecast_portfolio.parquet`, `spiral_mistakes.parquet`, `spiral_mistake_churn.parquet`. **Writes:**
# `data/processed/client_actions.parquet` (every action proposed, for the client cards),
# `leadership_actions.parquet` (the ten most valuable), `leadership_kpis.json`.
