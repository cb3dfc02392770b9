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
from clientlens.analysis import actions, leadership, pnl
from clientlens.i18n import tr
from clientlens.parameters import stage_params
from clientlens.processed import ingest_manifest, load_table, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.downloads import write_csv
from clientlens.publishing.plots import pnl_plots, toxicity_plots
from clientlens.publishing.plots.theme import set_theme
from clientlens.quarters import quarter_label

set_theme()
params = stage_params(params_file, reads_file)
report_lang, cur = params.report_lang, reporting_currency(processed_dir)
pnl_clients = load_table(processed_dir, "pnl_clients")
placed = load_table(processed_dir, "segments")
warnings = load_table(processed_dir, "early_warnings")
warning_check = load_table(processed_dir, "early_warning_backtest")
forecast = load_table(processed_dir, "forecast_portfolio")
mistakes = load_table(processed_dir, "spiral_mistakes")
churn = load_table(processed_dir, "spiral_mistake_churn")
quality = leadership.data_quality(load_table(processed_dir, "ingest_summary"),
                                  ingest_manifest(processed_dir)["measured_tables"],
                                  load_table(processed_dir, "toxicity_clients"))
head = leadership.headline(pnl_clients, placed, warnings, forecast,
                          level=round(100 * params.spiral.interval_levels[0]))
proposed = actions.proposals(
    placed, warnings, mistakes, churn.set_index("mistake")["uplift"] if churn is not None else None,
    target_margin_pct=params.segments.profitable_margin_pct, reprice_increase=params.segments.reprice_increase,
    warned_left_share=leadership.warned_left_share(warning_check), lang=report_lang)
chosen, ended = actions.choose(proposed, report_lang)
ranked = actions.top_actions(chosen, n=10)
at_risk = leadership.at_risk_list(leadership.at_risk_clients(placed, warnings), chosen, report_lang)
every_client = leadership.last_four_quarters_list(pnl_clients)
save_table(actions.for_cards(chosen, ended), processed_dir, "client_actions")
save_table(ranked, processed_dir, "leadership_actions")
save_table(at_risk, processed_dir, "leadership_at_risk")
leadership.save_headline(head, processed_dir)

# %%
d.show(leadership.data_quality_html(quality, report_lang))
d.show(d.kpi_html([
    ("revenue", d.fmt_money_short(head.revenue_last4, cur, report_lang), "revenue_last4", "#every-client"),
    ("margin after every cost", d.fmt_pct(head.margin_pct_last4, 1, report_lang), "margin_pct_last4", "#every-client"),
    ("profit from the top 20% of clients", d.fmt_pct(head.top20_profit_share, 0, report_lang), "top20_profit_share",
     "#every-client"),
    (leadership.clients_at_risk_label(head.clients_at_risk, report_lang), d.fmt_number(head.clients_at_risk, 0, report_lang),
     "clients_at_risk", "#clients-at-risk"),
    ("their revenue", d.fmt_money_short(head.revenue_at_risk, cur, report_lang), "revenue_at_risk", "#clients-at-risk"),
], lang=report_lang, title=leadership.last_four_quarters_title(placed, report_lang)))
d.show(d.paragraph_html(leadership.risk_sentence(leadership.risk_breakdown(at_risk, report_lang), cur, report_lang),
                        note=True))
first_forecast = (forecast.sort_values("quarter_index").iloc[0]
                  if forecast is not None and len(forecast) and "last_quarter_revenue" in forecast else None)
if head.forecast_mean is not None:
    forecast_text, forecast_label = leadership.forecast_figure(head, cur, report_lang)
    d.show(d.kpi_html([
        (forecast_label, forecast_text, "forecast", "spiral.html#forecast"),
        *([(tr("actual {quarter}, the last quarter", report_lang,
               quarter=quarter_label(first_forecast.last_quarter, report_lang)),
            d.fmt_money_short(first_forecast.last_quarter_revenue, cur, report_lang), "last_quarter_revenue",
            "spiral.html#forecast"),
           (tr("actual {quarter}, a year before", report_lang,
               quarter=quarter_label(first_forecast.year_before_quarter, report_lang)),
            d.fmt_money_short(first_forecast.year_before_revenue, cur, report_lang), "year_before_revenue",
            "spiral.html#forecast")]
          if first_forecast is not None else []),
    ], lang=report_lang, title=tr("Revenue of the next quarter, {quarter}: today's clients, no new business",
                                  report_lang, quarter=quarter_label(head.forecast_quarter, report_lang))))
else:
    d.show(d.paragraph_html(tr("No revenue forecast: the clients' revenue is not measured.", report_lang),
                            note=True))
d.show(d.figures_side_by_side_html(
    d.figure_html(pnl_plots.plot_whale_curve(pnl.whale_curve(pnl.last_four_quarters(pnl_clients)), currency=cur,
                                             figsize=(7, 3.7), lang=report_lang, last_four_quarters=True)),
    d.figure_html(toxicity_plots.plot_segment_map(placed, params, lang=report_lang, figsize=(7.6, 4.6))),
    compact=True,
))

# %% [markdown]
# ## The ten most valuable actions
#
# One action per client. A client with several findings gets the most urgent: one that is toxic
# and loses money is let go; one that may be leaving is kept before anything else; then a client
# gone quiet, a stale communicator, a mistake in the spiral, a price to raise, a cost to cut.
# What is at stake is worked out for each action, over a year.

# %%
if len(ranked):
    d.show_table(actions.page_table(ranked, cur, report_lang), lang=report_lang, searchable=False)
else:
    d.show(d.paragraph_html(tr("No client needs an action.", report_lang)))

# %% [markdown]
# ## Clients at risk
#
# The clients the figures above count, each under its most urgent risk, with the action it gets.
# Revenue is the last four quarters'.

# %%
d.show('<div id="clients-at-risk"></div>')
if len(at_risk):
    d.show_table(at_risk[["client_id", "client_name", "risk_words", "revenue", "action"]]
                 .rename(columns={"client_name": "client", "risk_words": "risk",
                                  "revenue": tr("revenue, {cur}", report_lang, cur=cur),
                                  "action": "what to do"}),
                 lang=report_lang, caption=leadership.at_risk_caption(at_risk, cur, report_lang))
else:
    d.show(d.paragraph_html(tr("No client is at risk.", report_lang)))

# %% [markdown]
# ## Every client that needs an action
#
# The whole ranked list: the ten above are its first rows.

# %%
if len(chosen):
    every_action = actions.page_table(chosen, cur, report_lang)
    d.show_table(every_action, lang=report_lang)
    d.show(d.download_link_html(write_csv(every_action, processed_dir, "clients-needing-action", report_lang),
                                tr("Download this list (CSV)", report_lang)))
else:
    d.show(d.paragraph_html(tr("No client needs an action.", report_lang)))

# %% [markdown]
# ## Relationships that have ended
#
# Clients that left or took the work in-house: nothing is at stake, but the ending is worth a
# conversation.

# %%
if len(ended):
    d.show_table(ended.assign(kind=[actions.kind_label(k, report_lang) for k in ended["kind"]])
                 [["client_id", "client_name", "kind", "action", "evidence"]]
                 .rename(columns={"client_name": "client", "kind": "finding", "action": "what to do",
                                  "evidence": "why"}),
                 lang=report_lang)
else:
    d.show(d.paragraph_html(tr("No relationship has ended.", report_lang)))

# %% [markdown]
# ## Every client over the last four quarters
#
# The clients the first figures add up: revenue and margin after every cost, the most profitable
# first. The whale curve and the segment map above are drawn in full on the P&L and segments pages.

# %%
d.show('<div id="every-client"></div>')
if len(every_client):
    d.show_table(every_client[["rank", "client_id", "client_name", "revenue", "margin", "margin_pct", "top_20"]]
                 .rename(columns={"client_name": "client", "revenue": tr("revenue, {cur}", report_lang, cur=cur),
                                  "margin": tr("margin, {cur}", report_lang, cur=cur), "margin_pct": "margin %",
                                  "top_20": "among the top 20%"}),
                 lang=report_lang, pct=["margin %"],
                 caption=leadership.every_client_caption(every_client, cur, report_lang))
else:
    d.show(d.paragraph_html(tr("No client has a measured margin over the last four quarters.", report_lang)))

# %% [markdown] tags=["method"]
# **Reads:** `pnl_clients.parquet`, `segments.parquet`, `early_warnings.parquet`,
# `early_warning_backtest.parquet`, `forecast_portfolio.parquet`, `spiral_mistakes.parquet`,
# `spiral_mistake_churn.parquet`. **Writes:** `data/processed/client_actions.parquet` (one action
# per client, and the closing step of each relationship that has ended, for the client cards),
# `leadership_actions.parquet` (the first ten), `leadership_at_risk.parquet` (the clients at risk
# the headline counts), `leadership_kpis.json`.
#
# The order of precedence of actions is `clientlens.analysis.actions.PRECEDENCE`. What is at
# stake: parting, the last four quarters' loss; keeping a client that may leave, its revenue times
# the share of clients warned before that then left (the early-warning backtest on the segments
# page); a spiral mistake or a stale communicator, the revenue times four quarters of the churn the
# mistake adds (the spiral page); a reprice, `segments.reprice_increase` of a year's revenue; a cost
# cut, the margin that brings the client to `segments.profitable_margin_pct`.
