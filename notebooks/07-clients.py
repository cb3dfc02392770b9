# %% [markdown]
# # Clients: a card for each
#
# Every client on one line, the largest first: segment, revenue and margin, toxicity, where the
# client is on the quarterly spiral, what the next four quarters should bring, and the most
# valuable action proposed. Each name opens the client's card: the P&L by quarter and by project
# and kind of work, the toxicity markers with their reasons, any early warning, the spiral phase
# and mistakes, the forecast, and every action proposed for the client.

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
from clientlens.analysis import cards
from clientlens.i18n import tr
from clientlens.parameters import stage_params
from clientlens.processed import reporting_currency, save_table
from clientlens.publishing import display as d

params = stage_params(params_file, reads_file)
report_lang, cur = params.report_lang, reporting_currency(processed_dir)
tables = cards.load_card_tables(processed_dir)
directory = cards.client_directory(tables, report_lang)
save_table(directory, processed_dir, "client_directory")
live = tables["pnl_clients"]["status"] == "active"
d.show(d.kpi_html([
    ("clients", d.fmt_number(len(directory), 0, report_lang)),
    ("active now", d.fmt_number(int(live.sum()), 0, report_lang)),
    ("revenue, last 4 quarters", d.fmt_money_short(directory["revenue_last4"].sum(min_count=1), cur, report_lang)),
], lang=report_lang))

# %% [markdown]
# ## Every client
#
# Search by name, segment or action; click a column to sort. Margin is over the whole
# relationship, after every cost; toxicity is the 0-100 score of the toxicity page.

# %%
d.show_table(directory.rename(columns={
    "client_name": "client", "segment_label": "segment",
    "revenue_last4": tr("revenue, last 4 quarters, {cur}", report_lang, cur=cur),
    "margin_pct": "margin, %", "score": "toxicity", "score_basis": "toxicity rests on", "phase": "spiral phase",
    "forecast_next4": tr("forecast, next 4 quarters, {cur}", report_lang, cur=cur), "action": "most valuable action"}),
    lang=report_lang, max_rows=None, searchable=True, pct=["margin, %"])

# %% [markdown] tags=["method"]
# **Reads:** `pnl_clients.parquet`, `pnl_quarters.parquet`, `segments.parquet`,
# `toxicity_clients.parquet`, `early_warnings.parquet`, `spiral_positions.parquet`,
# `spiral_mistakes.parquet`, `spiral_clients.parquet`, `forecast_clients.parquet`,
# `client_actions.parquet`, `pnl_projects.parquet`, `pnl_work_types.parquet`, and for the deals on the cards
# `deals.parquet`, `clients.parquet`, `pipeline_win_rates.parquet`. **Writes:** `data/processed/client_directory.parquet`; the cards
# themselves are published as `reports/clients/<client>.html`.
