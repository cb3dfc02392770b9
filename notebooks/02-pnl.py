# %% [markdown]
# # Client P&L: who makes us money once every cost is counted
#
# Revenue alone misleads: a large client can lose money once communication and approvals,
# presale estimates, rework and scope done for free are counted. This page puts a P&L on every
# client, draws the whale curve (cumulative profit against clients ranked by profit), measures
# how concentrated the business is, and values each relationship over its lifetime.
#
# **Reads:** `data/processed/client_quarter.parquet`, `contracts.parquet` (renewals, when
# supplied). **Writes:** `data/processed/pnl_clients.parquet` (one row per client, with ABC class
# and lifetime value), `data/processed/pnl_quarters.parquet` (per client and quarter).

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
import pandas as pd

from clientlens.analysis import ltv, pnl
from clientlens.i18n import tr, tr_values
from clientlens.parameters import stage_params
from clientlens.processed import load_panel, load_table, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.downloads import write_csv
from clientlens.publishing.plots import pnl_plots
from clientlens.publishing.plots.theme import set_theme

set_theme()
params = stage_params(params_file, reads_file)
report_lang, cur = params.report_lang, reporting_currency(processed_dir)
panel, meta = load_panel(processed_dir)
period_end = meta["period_end"]
quarters = pnl.client_quarter_pnl(panel, params.overhead_rate, overhead_base=params.overhead_base,
                                  period_end=period_end)
clients = pnl.client_pnl(panel, params.overhead_rate, overhead_base=params.overhead_base, period_end=period_end,
                         lapse_quarters=params.lapse_quarters)
classes = pnl.abc_classes(clients, params.abc_cutoffs)
clients = clients.merge(classes[["client_id", "abc_class"]], on="client_id", how="left")
curve = pnl.whale_curve(clients)
top = pnl.top_share(clients, 0.2)
conc = pnl.concentration(clients)
model = ltv.retention_model(panel, load_table(processed_dir, "contracts"), period_end=period_end,
                            lapse_quarters=params.lapse_quarters)
values = ltv.client_ltv(clients, model, params.discount_rate, horizon_years=params.ltv_horizon_years)
clients = clients.merge(values[["client_id", "retention_next", "expected_periods", "ltv_projected",
                                "ltv_total"]], on="client_id", how="left")
clients["margin_note"] = pnl.margin_notes(clients, report_lang)
totals = pnl.portfolio_totals(clients)
save_table(clients.sort_values("client_id"), processed_dir, "pnl_clients")
save_table(quarters.sort_values(["client_id", "quarter_index"]), processed_dir, "pnl_quarters")

# %% [markdown]
# ## The portfolio in four numbers

# %%
d.show(d.kpi_html([
    ("revenue, lifetime", d.fmt_money(totals["revenue"], cur, report_lang)),
    ("margin after every cost", d.fmt_money(totals["margin"], cur, report_lang)),
    ("margin %", d.fmt_pct(totals["margin_pct"], 1, report_lang)),
    ("profit from the top 20% of clients, all history", d.fmt_pct(top["profit_share"], 0, report_lang)),
    # of the clients whose margin is measured: the others may make money or lose it
    ("clients losing money", tr("{n} of {total}", report_lang, n=int(clients.is_loss_making.eq(True).sum()),
                                total=int(clients.is_loss_making.notna().sum()))),
], lang=report_lang))
d.show(d.paragraph_html(tr(
    "Period analysed: {first} to {last}. Margin = revenue - delivery cost (every hour at its cost rate, billable "
    "or not) - overhead ({rate} of {base}).", report_lang, first=clients.first_quarter.min(), last=period_end,
    rate=d.fmt_pct(params.overhead_rate, 0, report_lang), base=tr(params.overhead_base.replace("_", " "), report_lang)),
    note=True))
d.show(d.paragraph_html(tr(
    "Margin is measured for {n} of {total} clients: a client's revenue and cost count only when every hour it logged "
    "has a billable amount (or rate) and a cost; otherwise its margin is not measured, never 0 or 100%, and the "
    "table below says why. Totals add up the clients that are measured.", report_lang,
    n=totals["clients_margin_measured"], total=totals["clients"]), note=True))

# %% [markdown]
# ## The whale curve
#
# Clients ranked from most to least profitable. The curve rises above 100% where the best
# clients earn more than the whole portfolio keeps; the falling tail is what loss-making
# clients give back.

# %%
d.show_figure(pnl_plots.plot_whale_curve(curve, lang=report_lang))
summary = pnl.whale_summary(curve)
if len(curve):
    d.show(d.paragraph_html(tr(
        "The curve peaks at {peak} of total profit after the best {rank} clients; {n_loss} loss-making clients "
        "then give back {loss}.", report_lang, peak=d.fmt_pct(summary["peak_share"], 0, report_lang),
        rank=int(summary["peak_rank"]), n_loss=int(summary["n_loss_making"]),
        loss=d.fmt_money(-summary["loss_margin"], cur, report_lang))))

# %% [markdown]
# ## From revenue to margin
#
# Where the money goes, portfolio-wide: delivery of billable work, then each kind of cost the
# clients do not pay for.

# %%
d.show_figure(pnl_plots.plot_waterfall(pnl.portfolio_waterfall(clients), lang=report_lang))

# %% [markdown]
# ## Margin against revenue
#
# Every client; the few that matter most are named. Below the line: clients that cost more
# than they pay.

# %%
d.show_figure(pnl_plots.plot_margin_scatter(clients, lang=report_lang))

# %% [markdown]
# ## ABC classes and concentration
#
# Class A: the clients that together make the first 80% of positive profit; B: up to 95%;
# C: the rest that make money; D: loss-making. Concentration uses the Herfindahl-Hirschman
# index of revenue shares (0-10,000; above 2,500 is highly concentrated).

# %%
abc = pnl.abc_summary(classes)
d.show_table(abc.assign(abc_class=tr_values(abc.abc_class, report_lang))
             .rename(columns={"abc_class": "class", "client_share": "share of clients",
                              "revenue_share": "share of revenue", "margin_share": "share of margin"}),
             lang=report_lang, searchable=False)
d.show(d.kpi_html([
    ("largest client's share of revenue", d.fmt_pct(conc["largest_revenue_share"], 1, report_lang)),
    ("top 5 clients' share of revenue", d.fmt_pct(conc["top5_revenue_share"], 0, report_lang)),
    ("HHI of revenue", d.fmt_number(conc["hhi"], 0, report_lang)),
    ("effective number of clients", d.fmt_number(conc["effective_clients"], 0, report_lang)),
], lang=report_lang))

# %% [markdown]
# ## Lifetime value
#
# Profit to date plus the discounted profit still to come: the whole relationship's worth after
# every cost. Retention comes from a shifted-beta-geometric model (Fader and Hardie, 2007) fitted
# to renewal history. The spiral page values clients by revenue instead (the revenue still to come
# on the spiral, before costs), for the forecast.

# %%
fit, lang = model.fit, report_lang
retention = [
    (tr("history used", lang), tr(model.source, lang)),
    (tr("one period, quarters", lang), d.fmt_number(model.period_quarters, 0, lang)),
    (tr("cohorts", lang), d.fmt_number(len(model.survivors), 0, lang)),
    (tr("retention, next period", lang), d.fmt_pct(fit.get("retention_1"), 1, lang)),
    (tr("churn per period, mean", lang), d.fmt_pct(fit.get("mean_churn"), 1, lang)),
    (tr("alpha, beta (sBG)", lang),
     f"{d.fmt_number(fit.get('alpha'), 2, lang)}; {d.fmt_number(fit.get('beta'), 2, lang)}"),
    (tr("fit", lang), tr(str(fit.get("message", "")), lang)),
]
d.show_table(pd.DataFrame(retention, columns=["retention model", "value"]), lang=report_lang, searchable=False)

# %% [markdown]
# ## Every client

# %%
table = clients.sort_values("margin", ascending=False)[[
    "client_id", "client_name", "abc_class", "status", "revenue", "delivery_cost", "cost_non_billable", "overhead",
    "margin", "margin_pct", "effective_rate", "list_rate", "rate_realisation", "dso", "margin_last4", "ltv_projected",
    "ltv_total", "margin_note"]]
table = table.assign(abc_class=tr_values(table.abc_class, report_lang), status=tr_values(table.status, report_lang))
table = table.rename(columns={"client_name": "client", "abc_class": "class", "delivery_cost": "delivery cost",
                              "cost_non_billable": "non-billable cost", "margin_pct": "margin %",
                              "effective_rate": "revenue per hour", "list_rate": "list rate",
                              "rate_realisation": "share of list rate", "dso": "DSO, days",
                              "margin_last4": "margin, last 4 quarters",
                              "ltv_projected": "profit still to come", "ltv_total": "lifetime profit",
                              "margin_note": "why not measured"})
d.show_table(table, lang=report_lang, max_rows=None)
csv_file = write_csv(table, processed_dir, "pnl-every-client", report_lang)
d.show(d.download_link_html(csv_file, tr("Download this table (CSV)", report_lang)))
