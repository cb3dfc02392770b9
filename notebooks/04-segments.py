# %% [markdown]
# # Segments: what to do with each client
#
# One map of profitability against toxicity, and an action for every client in the terms our
# sources use: grow and protect the profitable and pleasant; renegotiate or reprice the
# profitable but difficult; rotate a communicator who has become the client's agent; reduce the
# cost to serve where the money does not cover the time; and part ways gracefully, recommending
# an alternative, with clients that are both toxic and unprofitable. A client that builds its
# own IT team and takes the work in-house is a healthy ending, not a failure. Below the map:
# who moved between segments this quarter, and the early warnings of clients quietly leaving.

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
import pandas as pd

from clientlens.analysis import early_warning as ew
from clientlens.analysis import pnl
from clientlens.analysis import segments as seg
from clientlens.i18n import tr, tr_values
from clientlens.parameters import stage_params
from clientlens.processed import load_panel, load_table, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.downloads import write_csv
from clientlens.publishing.plots import toxicity_plots
from clientlens.publishing.plots.theme import set_theme
from clientlens.quarters import quarter_label, shift_quarter

set_theme()
params = stage_params(params_file, reads_file)
report_lang, cur = params.report_lang, reporting_currency(processed_dir)
panel, meta = load_panel(processed_dir)
period_end = meta["period_end"]
clients_pnl = load_table(processed_dir, "pnl_clients")
current = load_table(processed_dir, "toxicity_clients")
placed = seg.assign_segments(current, clients_pnl, params, lang=report_lang, margin="margin_last4",
                             margin_pct="margin_pct_last4", revenue="revenue_last4")
history = seg.segment_history(panel, load_table(processed_dir, "toxicity_quarters"),
                              pnl.trailing_pnl(load_table(processed_dir, "pnl_quarters"),
                                               window=params.toxicity.window_quarters),
                              params, lang=report_lang)
warnings = ew.early_warnings(panel, period_end, params, lang=report_lang)
warning_history = ew.warning_history(panel, params, lang=report_lang)
save_table(placed.sort_values("client_id"), processed_dir, "segments")
save_table(history.sort_values(["client_id", "quarter_index"]), processed_dir, "segment_history")
save_table(warnings, processed_dir, "early_warnings")
save_table(warning_history, processed_dir, "early_warning_history")

# %% [markdown]
# ## The segment map
#
# The last four quarters: margin (x) against the toxicity score (y), each client sized by its
# revenue. The lines are the firm's cut-offs between segments. A client below the toxicity line
# can still be toxic: two markers at full severity make it red whatever its score.

# %%
d.show_figure(toxicity_plots.plot_segment_map(placed, params, lang=report_lang), lang=report_lang)
d.show_table(seg.segment_summary(placed, lang=report_lang)[
    ["segment_label", "clients", "revenue", "margin", "revenue_share", "margin_share", "action"]]
    .rename(columns={"segment_label": "segment", "revenue": tr("revenue, {cur}", report_lang, cur=cur),
                     "margin": tr("margin, {cur}", report_lang, cur=cur), "revenue_share": "share of revenue",
                     "margin_share": "share of margin"}), lang=report_lang, searchable=False,
    pct=["share of revenue", "share of margin"],
    caption=tr("Each segment over the last four quarters", report_lang))

# %% [markdown]
# ## Every client's segment
#
# Revenue and margin over the last four quarters. The one action for each client, weighing its
# early warnings and spiral mistakes too, is on the leadership page and the client's card.

# %%
actions_table = (placed[["client_id", "client_name", "segment_label", "why", "revenue", "margin_pct", "score"]]
                 .rename(columns={"client_name": "client", "segment_label": "segment", "margin_pct": "margin %",
                                  "revenue": tr("revenue, {cur}", report_lang, cur=cur), "score": "toxicity"}))
d.show_table(actions_table, lang=report_lang, pct=["margin %"])
d.show(d.download_link_html(write_csv(actions_table, processed_dir, "segments-per-client", report_lang),
                            tr("Download this table (CSV)", report_lang)))

# %% [markdown]
# ## Who moved this quarter

# %%
previous = shift_quarter(period_end, -1)
moves = seg.segment_moves(history, previous, period_end, lang=report_lang)
if moves.empty:
    d.show(d.paragraph_html(tr("No client changed segment from {previous} to {now}.", report_lang,
                               previous=quarter_label(previous, report_lang),
                               now=quarter_label(period_end, report_lang))))
else:
    d.show_figure(toxicity_plots.plot_migration_matrix(seg.migration_matrix(history, previous, period_end,
                                                                            lang=report_lang), lang=report_lang),
                  lang=report_lang)
    d.show_table(moves.assign(direction=tr_values(moves.direction, report_lang))[
        ["client_id", "client_name", "from_label", "to_label", "direction"]]
                 .rename(columns={"client_name": "client", "from_label": "from", "to_label": "to"}),
                 lang=report_lang)

# %% [markdown]
# ## Early warnings: who may be leaving quietly
#
# Falling orders and requests, rising payment delays, falling satisfaction and repeated contact
# changes on the client's side, ranked by the revenue at risk (the last four quarters' revenue).
# Two signals together make a warning. A client in the support phase of the spiral orders less:
# a fall no larger than this firm's clients usually show in the same phase is not counted.

# %%
if warnings.empty:
    d.show(d.paragraph_html(tr("No client shows two warning signals now.", report_lang)))
else:
    d.show_table(warnings[["rank", "client_id", "client_name", "revenue_at_risk", "signals", "reasons"]]
                 .rename(columns={"client_name": "client",
                                  "revenue_at_risk": tr("revenue at risk, {cur}", report_lang, cur=cur)}),
                 lang=report_lang)

# %% [markdown]
# ### How well the warnings worked in the past
#
# Each quarter's warning list as it stood then (from the data up to that quarter only), checked
# against the clients that did stop: a recorded exit other
# than in-sourcing, or no work and no invoice for the last quarters. A warning on a client that
# then took the work in-house is left out of the precision: it did leave, but not as a loss.

# %%
stops = ew.observed_stops(panel, params.lapse_quarters)
quality = ew.warning_backtest(panel, stops, params, insourced=ew.insourcing_exits(panel))
save_table(pd.DataFrame([quality]), processed_dir, "early_warning_backtest")  # how often a warned client left: the leadership page's retention value
if quality["stopped_clients"]:
    d.show_table(ew.backtest_table(quality, lang=report_lang).rename(columns={"measure": "what was checked",
                                                                              "value": "result"}),
                 lang=report_lang, searchable=False)
else:
    d.show(d.paragraph_html(tr("No client has stopped yet in these data, so the warnings cannot be checked "
                               "against what happened.", report_lang), note=True))

# %% [markdown] tags=["method"]
# **Reads:** `client_quarter.parquet`, `pnl_clients.parquet`, `pnl_quarters.parquet`,
# `toxicity_clients.parquet`, `toxicity_quarters.parquet`. **Writes:** `data/processed/segments.parquet` (segment, action and
# reasons per client), `data/processed/segment_history.parquet`,
# `data/processed/early_warnings.parquet`, `data/processed/early_warning_history.parquet` (every
# quarter's warning list, as it stood then).
