# %% [markdown]
# # Ingest: what came in, what was kept, what was set aside
#
# Every export in `data/raw/` is recognised from its header (time trackers, accounting and
# helpdesk tools, a 1C invoice register, or the canonical tables of `docs/data-contract.md`),
# validated row by row, and written as typed tables. Nothing is dropped silently: a rejected
# row goes to the quarantine with its file, row, column and reason, and for every file
# rows read = rows accepted + rows quarantined + rows merged or skipped (lines of one invoice,
# rows the export itself marks as no record, each with its reason).

# %% tags=["parameters"]
# Run by hand, the notebook reads config/params.yaml and the project's data/ folders;
# `make report` passes its own run's parameter file and folders here.
raw_dir = "../data/raw"
processed_dir = "../data/processed"
params_file = "../config/params.yaml"
reads_file = None

# %%
from pathlib import Path

import pandas as pd

from clientlens.i18n import tr
from clientlens.intake.readers.adapters import format_label
from clientlens.intake.stage import left_out_text, run_intake
from clientlens.parameters import stage_params
from clientlens.processed import summary_totals
from clientlens.publishing import display as d
from clientlens.publishing import reasons
from clientlens.quarters import quarter_label

params = stage_params(params_file, reads_file)
report_lang, anonymize = params.report_lang, params.anonymize
intake = run_intake(Path(raw_dir), Path(processed_dir), params, progress=True)
result, panel_meta, summary = intake.result, intake.panel_meta, intake.result.summary

# %% [markdown]
# ## Files read

# %%
totals = summary_totals(summary)
d.show(d.kpi_html([
    ("files read", d.fmt_number(totals["files"], 0, report_lang)),
    ("rows read", d.fmt_number(totals["rows_read"], 0, report_lang)),
    ("rows accepted", d.fmt_number(totals["rows_accepted"], 0, report_lang)),
    ("rows quarantined", d.fmt_number(totals["rows_quarantined"], 0, report_lang)),
    ("rows merged or skipped", d.fmt_number(totals["rows_merged_or_skipped"], 0, report_lang)),
], lang=report_lang))
d.show_table(summary.assign(format=[tr("canonical", report_lang) if f == "canonical" else format_label(f)
                                    for f in summary.format])
             .rename(columns={"rows_read": "rows read", "rows_accepted": "rows accepted",
                              "rows_quarantined": "rows quarantined", "rows_merged": "rows merged",
                              "rows_skipped": "rows skipped", "skipped_because": "skipped because"}), lang=report_lang)

# %% [markdown]
# ## What each table unlocks
#
# A table that was not supplied leaves its markers "not measured": they are shown as such and
# take no part in any score.

# %%
from clientlens.intake.contract import TABLES

coverage = pd.DataFrame([
    {"file": f"{name}.csv", "supplied": name in result.measured_tables,
     "feeds": "; ".join(tr(f, report_lang) for f in table.feeds)}
    for name, table in TABLES.items()
])
d.show_table(coverage, lang=report_lang, searchable=False)

# %% [markdown]
# ## Projects standing for clients
#
# A time export with no client column names each entry's client by its project: the client
# `project_clients` gives the project, else the project itself.

# %%
from clientlens.publishing.project_clients import project_clients_html

d.show(project_clients_html(pd.read_parquet(Path(processed_dir) / "project_clients_used.parquet"),
                            report_lang, anonymize))

# %% [markdown]
# ## How the files name clients
#
# A file may name a client by its name, or write its id in another case or with other spaces:
# each such value is listed with the client it was read as. A value that reads as two clients
# (say, two clients whose names differ only by case or a trailing space) is not given to either:
# its rows are in the quarantine, which names both.

# %%
from clientlens.publishing.client_names import client_names_html

d.show(client_names_html(pd.read_parquet(Path(processed_dir) / "client_names_used.parquet"),
                         report_lang, anonymize))

# %% [markdown]
# ## Quarantine
#
# Rows set aside, counted by reason.

# %%
quarantine = pd.read_parquet(Path(processed_dir) / "quarantine" / "quarantine.parquet")
if quarantine.empty:
    d.show(d.paragraph_html(tr("No row was quarantined.", report_lang)))
else:
    d.show_table(reasons.quarantine_by_reason(quarantine, report_lang, anonymize), lang=report_lang)
    if not anonymize:
        d.show(d.paragraph_html(tr("First rows set aside:", report_lang), note=True))
        d.show_table(reasons.in_language(quarantine.head(50), report_lang), lang=report_lang)

# %% [markdown]
# ## Clients and quarters analysed

# %%
d.show(d.kpi_html([
    ("clients", d.fmt_number(panel_meta['clients'], 0, report_lang)),
    ("client-quarters", d.fmt_number(panel_meta['rows'], 0, report_lang)),
    ("period analysed up to", quarter_label(panel_meta["period_end"], report_lang)),
], lang=report_lang))
left_out = left_out_text(panel_meta, report_lang, lambda n: d.fmt_number(n, 0, report_lang))
if left_out:
    d.show(d.paragraph_html(left_out, note=True))

# %% [markdown] tags=["method"]
# **Reads:** `data/raw/*`. **Writes:** `data/processed/<table>.parquet`,
# `data/processed/quarantine/quarantine.csv`, `data/processed/ingest_summary.parquet`,
# `data/processed/manifest.json`, and `data/processed/client_quarter.parquet`, the
# client-quarter panel every later stage reads.
#
# The full list of rows set aside, with file, row, column and reason, is in
# `data/processed/quarantine/quarantine.csv`.
