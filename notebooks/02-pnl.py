# %% [markdown]
# # Client P&L: who makes us money once every cost is counted
#
# Revenue alone misleads: a large client can lose money once communication and approvals,
# presale estimates, rework and scope done for free are counted. This page puts a P&L on every
# client, draws the whale curve (cumulative profit against clients ranked by profit), measures
# how concentrated the business is, and values each relationship over its lifetime.

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
import pandas as pd

from clientlens.analysis import ltv, pnl, retention
from clientlens.i18n import tr, tr_values
from clientlens.parameters import stage_params
from clientlens.processed import load_panel, load_table, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.downloads import write_csv
from clientlens.publishing.plots import pnl_plots, retention_plots
from clientlens.publishing.plots.theme import set_theme
from clientlens.quarters import quarter_label

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
# ## The portfolio over all history

# %%
d.show(d.kpi_html([
    ("revenue", d.fmt_money(totals["revenue"], cur, report_lang)),
    ("margin after every cost", d.fmt_money(totals["margin"], cur, report_lang)),
    ("margin %", d.fmt_pct(totals["margin_pct"], 1, report_lang)),
    ("profit from the top 20% of clients", d.fmt_pct(top["profit_share"], 0, report_lang)),
    # of the clients whose margin is measured: the others may make money or lose it
    ("clients losing money", tr("{n} of {total}", report_lang, n=int(clients.is_loss_making.eq(True).sum()),
                                total=int(clients.is_loss_making.notna().sum()))
     if clients.is_loss_making.notna().any() else d.fmt_number(None, 0, report_lang)),
], lang=report_lang))
d.show(d.paragraph_html(tr(
    "Period analysed: {first} to {last}. Margin = revenue - delivery cost (every hour at its cost rate, billable "
    "or not) - overhead ({rate} of {base}).", report_lang,
    first=quarter_label(clients.first_quarter.min(), report_lang), last=quarter_label(period_end, report_lang),
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
if len(curve):
    d.show_figure(pnl_plots.plot_whale_curve(curve, currency=cur, lang=report_lang), lang=report_lang)
d.show(d.paragraph_html(pnl.whale_words(pnl.whale_summary(curve), report_lang,
                                         pct=lambda v: d.fmt_pct(v, 0, report_lang),
                                         money=lambda v: d.fmt_money(v, cur, report_lang))))

# %% [markdown]
# ## From revenue to margin
#
# Where the money goes, portfolio-wide: delivery of billable work, then each kind of cost the
# clients do not pay for.

# %%
d.show_figure(pnl_plots.plot_waterfall(pnl.portfolio_waterfall(clients), currency=cur, lang=report_lang),
              lang=report_lang)

# %% [markdown]
# ## Margin against revenue
#
# Every client; the few that matter most are named. Below the line: clients that cost more
# than they pay.

# %%
d.show_figure(pnl_plots.plot_margin_scatter(clients, currency=cur, lang=report_lang), lang=report_lang)

# %% [markdown]
# ## ABC classes and concentration
#
# Over all history, like the figures above. Class A: the clients that together make the first
# 80% of positive profit; B: up to 95%; C: the rest that make money; D: loss-making. The effective
# number of clients says how concentrated revenue is: the firm depends on its clients as much as
# it would on that many clients of equal size.

# %%
abc = pnl.abc_summary(classes)
d.show_table(abc.assign(abc_class=tr_values(abc.abc_class, report_lang))
             .rename(columns={"abc_class": "class", "client_share": "share of clients",
                              "revenue_share": "share of revenue", "margin_share": "share of margin"}),
             lang=report_lang, searchable=False, pct=["share of clients", "share of revenue", "share of margin"])
d.show(d.kpi_html([
    ("largest client's share of revenue", d.fmt_pct(conc["largest_revenue_share"], 1, report_lang)),
    ("top 5 clients' share of revenue", d.fmt_pct(conc["top5_revenue_share"], 0, report_lang)),
    ("effective number of clients", d.fmt_number(conc["effective_clients"], 0, report_lang)),
], lang=report_lang))

# %% [markdown]
# ## Lifetime value
#
# Profit to date plus the profit still to come, discounted: the whole relationship's worth after
# every cost. How long clients stay is learnt from this firm's own renewals. The spiral page values
# clients by revenue instead (the revenue still to come on the spiral, before costs), for the
# forecast.

# %%
fit, lang = model.fit, report_lang
model_rows = [
    (tr("history used", lang), tr(model.source, lang)),
    (tr("one period, quarters", lang), d.fmt_number(model.period_quarters, 0, lang)),
    (tr("cohorts", lang), d.fmt_number(len(model.survivors), 0, lang)),
    (tr("retention, next period", lang), d.fmt_pct(fit.get("retention_1"), 1, lang)),
    (tr("churn per period, mean", lang), d.fmt_pct(fit.get("mean_churn"), 1, lang)),
    (tr("fit", lang), tr(str(fit.get("message", "")), lang)),
]
d.show_table(pd.DataFrame(model_rows, columns=["retention model", "value"]), lang=report_lang, searchable=False)

# %% [markdown]
# ## Retention
#
# Which revenue stays, and which clients do. Every figure compares a client's revenue over four
# quarters (the rolling year) with the same measure earlier: a services firm bills in lumps, and
# quarter against quarter a quiet quarter between two projects would look like a client leaving
# and coming back.
#
# **Net revenue retention (NRR)**: what the clients that had revenue in the year before billed
# this year, as a share of what they billed then. New clients are left out, growth counts: above
# 100%, the clients of a year ago grew by more than they shrank or left.
#
# **Gross revenue retention (GRR)**: the same, with each client's revenue capped at what it billed
# the year before: the share of last year's revenue kept, growth aside (100% at most).
#
# **Movements**: each quarter's change in the rolling year's revenue, client by client: new
# clients, clients back after a year or more without revenue, expansion and contraction of the
# clients billing both times, and churn (a client with no revenue in the last four quarters).
#
# **Clients kept, by cohort**: the clients first billed in one year, and the share of them still
# active so many years later (worked or invoiced within the last `lapse_quarters` quarters and no
# exit recorded, the meaning of active on every page).

# %%
grid = retention.revenue_grid(panel, period_end)
movements = retention.revenue_movements(panel, period_end)
by_year = retention.revenue_movements(panel, period_end, step_quarters=retention.YEAR_QUARTERS)
kept = retention.revenue_retention(panel, period_end)
cohorts = retention.cohort_retention(panel, period_end, lapse_quarters=params.lapse_quarters)
save_table(pd.concat([movements.assign(step_quarters=1), by_year.assign(step_quarters=retention.YEAR_QUARTERS)]),
           processed_dir, "revenue_movements")
save_table(kept, processed_dir, "revenue_retention")
save_table(cohorts, processed_dir, "cohort_retention")

# %%
if not grid.measured:
    d.show(d.paragraph_html(tr("Revenue is not measured (no invoices and no billable amounts), so neither is "
                               "retention.", report_lang), note=True))
elif grid.n_quarters < retention.YEAR_QUARTERS:
    d.show(d.paragraph_html(tr("Less than a year of history ({n} quarters): retention compares whole years, and "
                               "there is not one yet.", report_lang, n=grid.n_quarters), note=True))
elif not len(kept):
    d.show(d.paragraph_html(tr("NRR and GRR compare a year with the year before it: they need two years of history, "
                               "and the data hold {n} quarters.", report_lang, n=grid.n_quarters), note=True))
else:
    last = kept.iloc[-1]
    d.show(d.kpi_html([
        ("net revenue retention, last year", d.fmt_pct(last["nrr"], 0, report_lang), "nrr"),
        ("gross revenue retention, last year", d.fmt_pct(last["grr"], 0, report_lang), "grr"),
        ("clients of a year before still billing", tr("{n} of {total}", report_lang, n=int(last["clients_retained"]),
                                                       total=int(last["clients_year_before"]))),
    ], lang=report_lang))
    d.show(d.paragraph_html(tr(
        "The year to {period}: the clients that had revenue in the year before it billed {retained}, against "
        "{before} then; capped at each one's revenue of the year before, {capped}.", report_lang,
        period=quarter_label(last["period"], report_lang),
        retained=d.fmt_money(last["revenue_retained"], cur, report_lang),
        before=d.fmt_money(last["revenue_year_before"], cur, report_lang),
        capped=d.fmt_money(last["revenue_retained_capped"], cur, report_lang))))

# %%
if len(movements):
    d.show_figure(retention_plots.plot_revenue_movements(movements, cur, lang=report_lang), lang=report_lang)
    d.show(d.paragraph_html(tr(
        "Each bar is the change in revenue over the last four quarters from one quarter's end to the next; for every "
        "quarter, revenue = revenue the quarter before + new + back + expansion - contraction - churn, to the cent. "
        "Churn counts a client a year after its last invoice.", report_lang), note=True))
if len(kept):
    d.show_table(retention.in_whole_units(kept).assign(nrr=kept.nrr.map(lambda v: d.fmt_pct(v, 1, report_lang)),
                                                       grr=kept.grr.map(lambda v: d.fmt_pct(v, 1, report_lang)))
                 .drop(columns=["quarter_index"])
                 .rename(columns={"period": "year to", "clients_year_before": "clients a year before",
                                  "clients_retained": "of them still billing",
                                  "revenue_year_before": "their revenue the year before",
                                  "revenue_retained": "their revenue this year",
                                  "revenue_retained_capped": "this year, capped at the year before",
                                  "nrr": "NRR", "grr": "GRR"}),
                 lang=report_lang, searchable=False, currency=cur,
                 money=["their revenue the year before", "their revenue this year", "this year, capped at the year before"],
                 caption=tr("NRR and GRR, each row a year", report_lang))

# %%
if len(by_year):
    d.show_table(retention.in_whole_units(by_year).drop(columns=["quarter_index", "net_change"])
                 .rename(columns={"period": "year to", "revenue_before": "revenue, the year before",
                                  "new": "new clients", "expansion": "expansion", "contraction": "contraction",
                                  "churn": "churn", "reactivation": "clients back",
                                  "revenue": "revenue, the year", "clients_before": "clients, the year before",
                                  "clients": "clients, the year"}),
                 lang=report_lang, searchable=False, currency=cur,
                 money=["revenue, the year before", "new clients", "expansion", "contraction", "churn", "clients back",
                        "revenue, the year"],
                 caption=tr("Revenue movements by year, each year against the one before", report_lang))

# %% [markdown]
# ### Clients kept, by the year they were won
#
# A cohort is the clients whose first revenue fell in one year (or quarter). The first cohort also
# holds every client already with the firm when the data begin, so it looks older and more loyal
# than a cohort of new clients. The dashed line is the retention model behind lifetime value above.

# %%
if len(cohorts):
    yearly = retention.cohort_table(retention.cohort_retention(panel, period_end, lapse_quarters=params.lapse_quarters,
                                                               by="year"))
    shown = yearly.drop(columns=[0])  # year +0 is the quarter each client was won
    for column in shown.columns[2:]:
        shown[column] = yearly[column].map(lambda v: "" if pd.isna(v) else d.fmt_pct(v, 0, report_lang))
    shown.columns = [tr("cohort", report_lang), tr("clients", report_lang)] + [
        tr("year +{n}", report_lang, n=c) for c in shown.columns[2:]]
    d.show_table(shown, lang=report_lang, searchable=False, caption=tr(
        "Share of each year's new clients active that many years after their first revenue (blank: not that long yet)",
        report_lang))
    d.show_figure(retention_plots.plot_cohort_curves(
        cohorts, retention.pooled_retention(cohorts), retention.model_curve(model, int(cohorts.periods_since.max())),
        model_label=tr("lifetime-value model, fitted to {source}", report_lang, source=tr(model.source, report_lang)),
        lang=report_lang), lang=report_lang)
    quarterly = retention.cohort_table(cohorts)
    csv_file = write_csv(quarterly, processed_dir, "cohort-retention-by-quarter", report_lang)
    d.show(d.download_link_html(csv_file, tr("Download the cohort table by quarter (CSV)", report_lang)))
    d.show(d.paragraph_html(tr(
        "Where the dashed line runs above the observed one, the model expects clients to stay longer than this "
        "firm's clients have, and the lifetime values above lean high; below it, they lean low.", report_lang),
        note=True))

# %% [markdown]
# ## Every client

# %%
table = clients.sort_values("margin", ascending=False)[[
    "client_id", "client_name", "abc_class", "status", "revenue", "delivery_cost", "cost_non_billable", "overhead",
    "margin", "margin_pct", "effective_rate", "list_rate", "rate_realisation", "dso", "ltv_projected",
    "ltv_total", "margin_note"]]
table = table.assign(abc_class=tr_values(table.abc_class, report_lang), status=tr_values(table.status, report_lang))
table = table.rename(columns={"client_name": "client", "abc_class": "class", "delivery_cost": "delivery cost",
                              "cost_non_billable": "non-billable cost", "margin_pct": "margin %",
                              "effective_rate": "revenue per hour", "list_rate": "list rate",
                              "rate_realisation": "share of list rate", "dso": "DSO, days",
                              "ltv_projected": "profit still to come", "ltv_total": "lifetime profit",
                              "margin_note": "why not measured"})
d.show_table(table, lang=report_lang, max_rows=None, pct=["margin %", "share of list rate"], currency=cur,
             money=["revenue", "delivery cost", "non-billable cost", "overhead", "margin", "revenue per hour", "list rate",
                    "profit still to come", "lifetime profit"], caption=tr(
    "Each client over all history, {first} to {last}; profit still to come is what the rest of the relationship "
    "is expected to bring", report_lang, first=quarter_label(clients.first_quarter.min(), report_lang),
    last=quarter_label(period_end, report_lang)))
csv_file = write_csv(table, processed_dir, "pnl-every-client", report_lang)
d.show(d.download_link_html(csv_file, tr("Download this table (CSV)", report_lang)))

# %% [markdown]
# ## Margin by kind of work and by role
#
# The last four quarters, portfolio-wide. Invoices name a client, never a project or a kind of
# work, so each client's revenue is shared out over its work in proportion to the billable value
# the work logged in the period; each hour's cost, and the overhead on it, stay where the hour was
# logged. The rows of each client add up to its P&L above to the cent; each client's card splits
# it by project and by kind of work. A client whose margin is not measured is left out.

# %%
from clientlens.analysis import drilldown

split = drilldown.drilldown(drilldown.work_sums(processed_dir, panel, period_end), clients, panel,
                            overhead_base=params.overhead_base, period_end=period_end)
for dimension, table_name in [("project", "pnl_projects"), ("work_type", "pnl_work_types")]:
    save_table(split[split.dimension == dimension].drop(columns="dimension").rename(columns={"key": dimension}),
               processed_dir, table_name)

by_kind = drilldown.portfolio_table(split, "work_type", "last4", report_lang)
if by_kind.empty:
    d.show(d.paragraph_html(tr("Not measured: no client has both revenue and cost in the last four quarters.",
                               report_lang), note=True))
else:
    d.show_table(by_kind, lang=report_lang, searchable=False)
    d.show_table(drilldown.portfolio_table(split, "role", "last4", report_lang), lang=report_lang, searchable=False)
    d.show(d.paragraph_html(tr(
        "Clients: how many of the clients measured did such work. List rate: the people table's bill rate for the "
        "same hours (not measured without it).", report_lang), note=True))
csv_file = write_csv(drilldown.download_table(split, "project", report_lang), processed_dir, "pnl-by-project",
                     report_lang)
d.show(d.download_link_html(csv_file, tr("Download the P&L by project (CSV)", report_lang)))
csv_file = write_csv(drilldown.download_table(split, "work_type", report_lang), processed_dir, "pnl-by-kind-of-work",
                     report_lang)
d.show(d.download_link_html(csv_file, tr("Download the P&L by kind of work (CSV)", report_lang)))

# %% [markdown] tags=["method"]
# **Reads:** `data/processed/client_quarter.parquet`, `contracts.parquet` (renewals, when
# supplied). **Writes:** `data/processed/pnl_clients.parquet` (one row per client, with ABC class
# and lifetime value), `data/processed/pnl_quarters.parquet` (per client and quarter),
# `revenue_movements.parquet`, `revenue_retention.parquet` and `cohort_retention.parquet` (retention).
#
# Concentration also uses the Herfindahl-Hirschman index of revenue shares (HHI, the sum of the
# squared shares in percent, 0-10,000; above 2,500 is highly concentrated); the effective number
# of clients is 10,000 / HHI.
#
# Retention for lifetime value comes from a shifted-beta-geometric model (Fader and Hardie, 2007)
# fitted to renewal history; the dashed line of the cohort chart is that model.
#
# **Reads:** `data/processed/time_entries.parquet` as well. **Writes:**
# `data/processed/pnl_projects.parquet` and `pnl_work_types.parquet` (each client's P&L by project
# and by kind of work, over the last four quarters and all history).
