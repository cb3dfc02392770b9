# %% [markdown]
# # The quarterly spiral: where each client is, the mistakes, and the next four quarters
#
# A client's money comes in phases: functionality first (the MVP, the easiest money), then UX,
# then stability (once the client counts failures), then support, which shapes the next
# contract; with the client's trust earned, a new functionality contract turns the spiral again.
# This page places every client on that spiral from the kind of work billed each quarter,
# finds the known mistakes that lose clients, measures how often clients move from one phase to
# the next, and forecasts revenue for the next four quarters, with how well the same forecast
# would have done in past quarters, whatever that shows.

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
import pandas as pd

from clientlens.analysis import forecast as fc
from clientlens.analysis import markov, rivals
from clientlens.analysis import pipeline as pl
from clientlens.analysis import spiral as sp
from clientlens.i18n import tr, tr_values
from clientlens.parameters import stage_params
from clientlens.processed import load_panel, load_table, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.plots import spiral_plots
from clientlens.publishing.plots.theme import set_theme

set_theme()
params = stage_params(params_file, reads_file)
report_lang, seed, cur = params.report_lang, params.seed, reporting_currency(processed_dir)
cfg = rivals.settings(params)
horizon, runs, churn_after, levels = cfg.horizon, params.monte_carlo_runs, cfg.churn_after_quarters, cfg.levels
panel, meta = load_panel(processed_dir)
states = sp.client_states(panel, period_end=meta["period_end"], churn_after_quarters=churn_after)
positions = sp.client_positions(sp.spiral_positions(states))
events = sp.mistake_events(panel, states, **sp.mistake_thresholds(params), lang=report_lang)
mistakes = sp.mistakes_by_client(panel, events, lang=report_lang)
chain = markov.fit_chain(states, ci=params.spiral.transition_ci)
# the firm's seasons and each client's recent level and direction, in every forecast of this page
seasons = rivals.firm_seasons(states, cfg)
future = fc.monte_carlo_forecast(states, chain, horizon=horizon, runs=runs, seed=seed, levels=levels,
                                 seasons=seasons, trend=cfg.trend)
# no revenue measured, no forecast of it: every money column says "not measured"
honest = (lambda table: table) if fc.revenue_measured(panel) else fc.without_revenue
future, positions = fc.Forecast(honest(future.clients), honest(future.portfolio)), honest(positions)
check, no_backtest = rivals.backtest_if_possible(panel, cfg, report_lang, period_end=meta["period_end"])
published = honest(rivals.published_forecast(states, check, cfg)
                   .merge(future.portfolio[["quarter_index", "live_clients_mean"]], on="quarter_index", how="left"))
uplift = fc.mistake_churn_uplift(states, mistakes)
for name, table in [("spiral_positions", positions), ("spiral_mistakes", mistakes), ("spiral_chain", chain),
                    ("spiral_mistake_churn", uplift), ("forecast_clients", future.clients),
                    ("forecast_portfolio", published),
                    ("forecast_backtest", check.summary if check else pd.DataFrame({"not_possible": [no_backtest]}))]:
    save_table(table, processed_dir, name)

# %% [markdown]
# ## Where the clients are

# %%
d.show_figure(spiral_plots.positions_chart(positions, lang=report_lang), lang=report_lang)
d.show_figure(spiral_plots.phase_mix_chart(sp.phase_revenue_by_quarter(sp.phase_split(panel)),
                                           currency=cur, lang=report_lang),
              lang=report_lang)

# %% [markdown]
# ## How clients move between phases
#
# Each cell: the probability that a client in the row's phase this quarter is in the column's
# phase next quarter, estimated from the whole history, with its 90% interval.

# %%
d.show_figure(spiral_plots.transition_heatmap(chain, lang=report_lang), lang=report_lang)

# %% [markdown]
# ## The mistakes we make
#
# Each detection cites the quarters and the numbers behind it. A mistake whose data was not
# supplied is "not measured".

# %%
d.show_figure(spiral_plots.mistakes_bar_chart(sp.mistake_counts(mistakes), lang=report_lang), lang=report_lang)
detected = mistakes.loc[mistakes.status == "detected"].sort_values(["mistake", "client_name"])
if detected.empty:
    d.show(d.paragraph_html(tr("No mistake was found in these data.", report_lang)))
else:
    d.show_table(detected[["client_id", "client_name", "label", "quarters", "evidence"]]
                 .rename(columns={"client_name": "client", "label": "mistake"}), lang=report_lang)
if "uplift" in uplift and uplift["uplift"].notna().any():
    d.show(d.paragraph_html(tr("What each mistake costs: quarterly churn of the clients who made it against those "
                               "who did not, in this firm's own history.", report_lang), note=True))
    d.show_table(uplift.assign(mistake=[tr(sp.MISTAKE_LABELS[m], report_lang) for m in uplift.mistake])
                 .rename(columns={"churn_with": "churn per quarter, made it",
                                  "churn_without": "churn per quarter, did not", "uplift": "added churn"}),
                 lang=report_lang, searchable=False)
else:
    d.show(d.paragraph_html(tr("What a mistake costs in lost clients is not measured yet: it needs clients that made "
                               "it and clients that did not, and departures among them.", report_lang), note=True))

# %% [markdown]
# ## Revenue for the next four quarters
#
# Revenue of the clients we have today (existing clients, no new business). Several ways of
# forecasting are tried on the past: from each of the last quarters, with only what was known
# then, each forecasts the quarters that followed, and the one that came closest to what happened
# is published. Its 80% and 95% ranges are as wide as its past misses, and beside them is how
# often past outcomes fell inside them.

# %%
d.show('<div id="forecast"></div>')  # the leadership page's forecast figures link here
d.show_figure(spiral_plots.forecast_fan_chart(fc.portfolio_history(states), published,
                                              check.portfolio if check else None, levels=levels,
                                              method=published["method"].iloc[0],
                                              currency=cur, lang=report_lang),
              lang=report_lang)
d.show_table(published[["quarter", "method", "revenue_mean", "revenue_lo_80", "revenue_hi_80", "coverage_80",
                        "coverage_80_held_out", "revenue_lo_95", "revenue_hi_95", "coverage_95", "coverage_95_held_out",
                        "year_before_revenue"]]
             .pipe(d.pct_columns, [c for c in published.columns if c.startswith("coverage_")], lang=report_lang)
             .assign(method=[tr(rivals.METHOD_LABELS[m], report_lang) for m in published.method])
             .rename(columns={"method": "forecast method", "revenue_mean": "expected revenue",
                              "revenue_lo_80": "80% low", "revenue_hi_80": "80% high",
                              "coverage_80": "backtest outcomes inside the 80% range",
                              "coverage_80_held_out": "inside the 80% range, calibrated without their cut-off",
                              "revenue_lo_95": "95% low", "revenue_hi_95": "95% high",
                              "coverage_95": "backtest outcomes inside the 95% range",
                              "coverage_95_held_out": "inside the 95% range, calibrated without their cut-off",
                              "year_before_revenue": "the same quarter a year before"}),
             lang=report_lang, searchable=False, currency=cur,
             money=["expected revenue", "80% low", "80% high", "95% low", "95% high", "the same quarter a year before"])
if check:
    d.show_table(check.summary.pipe(d.pct_columns, ["mape", "wape", "wape_skill", "coverage_80", "coverage_95",
                                                    "coverage_80_held_out", "coverage_95_held_out"], lang=report_lang)
                 .assign(level=tr_values(check.summary.level, report_lang),
                                      model=[tr(rivals.METHOD_LABELS[m], report_lang) for m in check.summary.model])
                 .rename(columns={"cutoffs": "cut-offs", "n": "forecasts",
                                  "mae": "mean absolute error", "mape": "mean absolute % error",
                                  "wape": "weighted absolute % error", "coverage_80": "inside the 80% range",
                                  "coverage_95": "inside the 95% range",
                                  "wape_skill": "error cut against repeating the last quarter",
                                  "coverage_80_held_out": "inside the 80% range, calibrated without their cut-off",
                                  "coverage_95_held_out": "inside the 95% range, calibrated without their cut-off"}),
                 lang=report_lang, searchable=False, currency=cur, money=["mean absolute error"])
else:
    d.show(d.paragraph_html(tr("The forecast cannot be checked against past quarters yet: {why}.", report_lang,
                               why=no_backtest)))

# %% [markdown]
# ## If one mistake were avoided

# %%
scenario = fc.scenario_avoid_mistake(panel, params.spiral.scenario_mistake, states=states, by_client=mistakes,
                                     horizon=horizon, runs=runs, seed=seed, level=levels[0],
                                     churn_after_quarters=churn_after, lang=report_lang, seasons=seasons,
                                     trend=cfg.trend)
d.show(d.paragraph_html(scenario.assumption, note=True))
d.show_table(honest(scenario.portfolio).drop(columns=["quarter_index"])
             .rename(columns={"horizon": "quarters ahead", "baseline_mean": "expected revenue, as is",
                              "scenario_mean": "expected revenue, mistake avoided", "difference_mean": "difference",
                              "difference_lo_80": "difference, 80% low", "difference_hi_80": "difference, 80% high"}),
             lang=report_lang, searchable=False, currency=cur,
             money=["expected revenue, as is", "expected revenue, mistake avoided", "difference", "difference, 80% low",
                    "difference, 80% high"])

# %% [markdown]
# ## What a client is worth on the spiral
#
# The revenue a client in each phase is expected to bring until it leaves, discounted: what a
# client in that phase is worth today.

# %%
state_rev = markov.state_revenue(states, chain)
clv = honest(markov.state_clv(chain, state_rev, params.discount_rate))
d.show_table(clv.assign(state=[sp.phase_label(s, report_lang) for s in clv.state])
             .rename(columns={"state": "phase", "revenue_per_quarter": "revenue per quarter",
                              "value_per_quarter": "value per quarter", "clv": "revenue until the client leaves",
                              "future_value": "revenue still to come", "expected_quarters": "expected quarters",
                              "margin": "share of revenue counted as value",
                              "discount_rate_quarterly": "discount rate, per quarter"}),
             lang=report_lang, searchable=False, currency=cur,
             pct=["discount rate, per quarter", "share of revenue counted as value"],
             money=["revenue per quarter", "value per quarter", "revenue until the client leaves", "revenue still to come"])

# %% [markdown]
# ## Every client on the spiral
#
# Where each live client stands, its expected revenue over the next four quarters (with the 80%
# range), and the revenue the chain expects from it until it leaves, discounted.

# %%
per_client = honest(sp.client_forecast_table(positions, future.clients, markov.client_clv(
    states, chain, state_rev, rivals.trend_scales(states, cfg), yearly_discount_rate=params.discount_rate)))
save_table(per_client, processed_dir, "spiral_clients")
d.show_table(per_client.assign(phase=[sp.phase_label(p, report_lang) for p in per_client.phase])
             .rename(columns={"client_name": "client"}), lang=report_lang)

# %% [markdown]
# ## Pipeline
#
# The deals in the CRM that are still open, weighted by the firm's own win rate of the stage
# each stands in: of the closed deals that reached that stage, the share won. This is its own
# line, beside the forecast of existing clients above and never added into it: a deal with an
# existing client may be the very work that forecast already expects.

# %%
deals = load_table(processed_dir, "deals")
if deals is None:
    d.show(d.paragraph_html(tr("No deals table was supplied, so the pipeline is not measured.", report_lang),
                            note=True))
else:
    # the win rates' intervals at the forecast's widest range, beside which they are shown
    stage_rates = pl.win_rates(deals, max(params.spiral.interval_levels))
    weighted = pl.weighted_pipeline(deals, stage_rates, load_table(processed_dir, "clients"))
    save_table(stage_rates, processed_dir, "pipeline_win_rates")
    save_table(weighted, processed_dir, "pipeline_weighted")
    d.show(d.paragraph_html(tr("Amounts are in {currency}. A stage no closed deal reached is weighted by every "
                               "deal's win rate; a deal without an amount is counted, its amount not measured.",
                               report_lang, currency=reporting_currency(processed_dir)), note=True))
    d.show_table(weighted.assign(quarter=weighted.quarter.fillna(tr("no expected close date", report_lang)))
                 .rename(columns={"quarter": "expected close", "open_deals": "open deals",
                                  "deals_without_amount": "deals without an amount", "open_amount": "open amount",
                                  "weighted_amount": "weighted pipeline", "weighted_lo": "weighted, interval low",
                                  "weighted_hi": "weighted, interval high",
                                  "existing_client_weighted": "weighted, existing clients",
                                  "prospect_weighted": "weighted, prospects"}),
                 lang=report_lang, searchable=False, currency=cur,
                 money=["open amount", "weighted pipeline", "weighted, interval low", "weighted, interval high",
                        "weighted, existing clients", "weighted, prospects"])
    d.show_table(stage_rates.pipe(d.pct_columns, ["win_rate", "win_rate_lo", "win_rate_hi"], lang=report_lang)
                 .assign(stage=stage_rates.stage.replace({pl.EVERY_DEAL: tr(pl.EVERY_DEAL, report_lang)}))
                 .drop(columns=["stage_order"])
                 .rename(columns={"stage": "deal stage", "reached": "closed deals that reached it", "won": "won", "lost": "lost",
                                  "win_rate": "win rate", "win_rate_lo": "win rate, interval low",
                                  "win_rate_hi": "win rate, interval high"}),
                 lang=report_lang, searchable=False)

# %% [markdown] tags=["method"]
# **Reads:** `client_quarter.parquet`. **Writes:** `data/processed/spiral_positions.parquet`,
# `spiral_mistakes.parquet`, `spiral_mistake_churn.parquet`, `spiral_chain.parquet`, `forecast_clients.parquet`,
# `forecast_portfolio.parquet`, `forecast_backtest.parquet`, `spiral_clients.parquet`, and, with a deals table,
# `pipeline_win_rates.parquet` and `pipeline_weighted.parquet`.
#
# The flow between phases is a Markov chain fitted to the whole history. The backtest forecasts
# from each of the last quarters with only what was known then, by the chain (with the firm's
# seasons and each client's recent level and direction) and by simple rivals: the last quarter
# carried forward, the same quarter a year before, and exponential smoothing. The forecast
# published is the method with the smallest weighted error there; its 80% and 95% ranges are
# calibrated on its own backtest errors, with the share of outcomes they held beside them, and the
# share they held when each cut-off was left out of the calibration (outcomes the range had not seen).
#
# Expected discounted revenue from each phase until the client leaves (Pfeifer and Carraway,
# 2000: V = (I - P/(1+d))^-1 R).
