# %% [markdown]
# # Toxicity: which clients are more trouble than money
#
# The firms in our sources part with clients that pay late, demand "right now" on a Friday
# night, take months to approve a simple item, contradict their own requests, ask for estimate
# after estimate and never order, or shelve what was built. Each of these is measured here per
# client and quarter, then combined into one score from 0 to 100, with every point traced to
# its marker and every red client given its reasons in plain words.

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
import pandas as pd

from clientlens.analysis import activity, markers
from clientlens.analysis import toxicity as tox
from clientlens.i18n import tr, tr_values
from clientlens.parameters import stage_params
from clientlens.processed import load_panel, reporting_currency, save_table
from clientlens.publishing import display as d
from clientlens.publishing.plots import toxicity_plots
from clientlens.publishing.plots.theme import set_theme

set_theme()
params = stage_params(params_file, reads_file)
report_lang, cur = params.report_lang, reporting_currency(processed_dir)
panel, meta = load_panel(processed_dir)
current = tox.current_toxicity(panel, params, as_of=meta["period_end"], lang=report_lang)
history = tox.toxicity_scores(panel, params, as_of=meta["period_end"])
save_table(current.sort_values("client_id"), processed_dir, "toxicity_clients")
save_table(history.sort_values(["client_id", "quarter_index"]), processed_dir, "toxicity_quarters")
current["score_basis"] = [tox.markers_basis(n, total, report_lang) for n, total in zip(current.n_measured,
                                                                                      current.n_markers)]
active = current.loc[current.client_id.isin(activity.active_clients(panel, params.lapse_quarters,
                                                                   meta["period_end"]))]
red = active.loc[active.is_red.fillna(False).astype(bool)]
active_revenue = active.revenue_window.sum(min_count=1)  # not measured when no client's revenue is
red_revenue = red.revenue_window.sum() if pd.notna(active_revenue) else None

# %% [markdown]
# ## The red list
#
# The clients active now, with their revenue over the last four quarters.

# %%
d.show(d.kpi_html([
    (tr("red clients (score >= {red}, or {n} markers at full severity)", report_lang,
        red=d.fmt_number(params.toxicity_red, 0, report_lang), n=params.toxicity.red_full_markers),
     tr("{n} of {total}", report_lang, n=len(red), total=len(active))),
    ("their revenue", d.fmt_money(red_revenue, cur, report_lang)),
    ("share of revenue", d.fmt_pct(red_revenue / active_revenue if active_revenue > 0 else None, 0, report_lang)),
], lang=report_lang))
if red.empty:
    d.show(d.paragraph_html(tox.red_list_words(len(active), report_lang)))
else:
    d.show_table(red.sort_values("score", ascending=False)[["client_id", "client_name", "score", "score_basis",
                                                            "revenue_window", "reasons"]]
                 .rename(columns={"client_name": "client", "score_basis": "score rests on",
                                  "revenue_window": tr("revenue, {cur}", report_lang, cur=cur)}),
                 lang=report_lang)

# %% [markdown]
# ## The markers, client by client
#
# The most toxic clients against every marker: the darker the cell, the closer the marker is to
# its threshold. Grey: not measured (the data that feeds it was not supplied).

# %%
if active.empty:
    d.show(d.paragraph_html(tr("No client is active now, so there is no marker to show.", report_lang)))
else:
    d.show_figure(toxicity_plots.plot_marker_heatmap(active, top_n=30, lang=report_lang), lang=report_lang)

# %% [markdown]
# ## Where the score comes from

# %%
d.show(d.paragraph_html(tr(
    "Each marker counts nothing at its baseline and in full at its threshold, where it gives "
    "{points} points per unit of its weight; the score is the sum, capped at 100, so a marker on "
    "which the client is clean, or that is not measured, adds nothing. A client is red at {red} "
    "points, or with {n} markers at full severity whatever its score. A sum and not a mean: a mean "
    "lets clean markers dilute two serious problems, and scores the same client higher at a firm "
    "that supplies fewer tables.", report_lang,
    points=d.fmt_number(params.toxicity.points_per_weight, 0, report_lang),
    red=d.fmt_number(params.toxicity_red, 0, report_lang), n=params.toxicity.red_full_markers)))

# %% [markdown]
# Each marker, what it measures, and the thresholds that set its weight in the score.

# %%
measured = markers.measured_markers(panel)
docs = markers.marker_docs(params, lang=report_lang)
docs["measured"] = docs.marker.map(measured)
docs["unit"] = tr_values(docs.unit, report_lang)
docs["source"] = docs.source.str.replace(r"([a-z_]+)", r"\1.csv", regex=True)  # the files that feed it
d.show_table(docs[["label", "definition", "unit", "source", "threshold", "baseline", "weight", "measured"]]
             .rename(columns={"label": "marker"}), lang=report_lang, searchable=False)

# %% [markdown]
# ## Every client's score

# %%
marker_label = {m.name: m.label(report_lang) for m in markers.MARKERS}
d.show_table(current.assign(top_marker=current.top_marker.map(marker_label)).sort_values("score", ascending=False)[
    ["client_id", "client_name", "score", "score_basis", "is_red", "top_marker", "reasons"]]
    .rename(columns={"client_name": "client", "is_red": "red", "score_basis": "score rests on",
                     "top_marker": "largest marker"}), lang=report_lang)

# %% [markdown]
# ## What predicted departures here
#
# The weights above are the same at every firm. Here, this firm's own history: for each marker
# and warning signal, how much more often the clients showing it left within the next quarters
# than the clients that did not, most telling first.

# %%
from clientlens.analysis import precursors

shown = precursors.showing(panel, params)
precursor_table = precursors.precursor_table(panel, params, as_of=meta["period_end"], shown=shown)
d.show(precursors.words_html(precursors.summary_words(precursor_table, params, report_lang)))
weights_quality = None  # no backtest without enough departures to learn from
if precursor_table.attrs["enough"]:
    d.show_table(precursors.page_table(precursor_table, report_lang), lang=report_lang, searchable=False)
    weights_quality = precursors.weights_backtest(panel, params, as_of=meta["period_end"], shown=shown)
for words in precursors.weights_words(precursor_table, weights_quality, params, report_lang):
    d.show(precursors.words_html(words, note=True))

# %% [markdown] tags=["method"]
# **Reads:** `data/processed/client_quarter.parquet`. **Writes:**
# `data/processed/toxicity_clients.parquet` (each client's current score, points per marker and
# reasons), `data/processed/toxicity_quarters.parquet` (the score per client and quarter).
#
# Thresholds, baselines and weights live in `config/params.yaml` under `toxicity.markers`, each
# under its marker's name.
