"""Method in its place: each page opens with what its numbers mean, and the files read and written,
models and formulas sit in one folded "Method and sources" section at its foot; and the page
sentences that count clients read right for none, one and several."""
from __future__ import annotations

import jupytext
import nbformat
import pandas as pd
import pytest

from clientlens.analysis import pnl, toxicity
from clientlens.paths import PROJECT_ROOT
from clientlens.publishing.publish import METHOD_TAG, Lineage, render_page

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]-*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_page_opens_with_no_files_and_ends_with_one_method_section(path):
    cells = jupytext.read(path).cells
    first = next(c for c in cells if c.cell_type == "markdown")
    assert "Reads:" not in first.source and "Writes:" not in first.source
    method = [i for i, c in enumerate(cells) if METHOD_TAG in c.metadata.get("tags", [])]
    assert method == [len(cells) - 1], f"{path.name}: one method cell, the last"
    assert cells[-1].cell_type == "markdown"
    body = "\n".join(c.source for c in cells[:-1] if c.cell_type == "markdown")
    for jargon in ("Reads:", "Writes:", "shifted-beta-geometric", "V = (I - P/(1+d))^-1 R", ".parquet"):
        assert jargon not in body, f"{path.name}: {jargon!r} belongs in the method section"


def _page(tmp_path, lang):
    nb = nbformat.v4.new_notebook()
    method = nbformat.v4.new_markdown_cell("**Reads:** `data/raw/*`. **Writes:** `data/processed/<table>.parquet`,\n"
                                           "`data/processed/quarantine/quarantine.csv`, `data/processed/ingest_summary.parquet`,\n"
                                           "`data/processed/manifest.json`, and `data/processed/client_quarter.parquet`, the\n"
                                           "client-quarter panel every later stage reads.")
    method.metadata["tags"] = [METHOD_TAG]
    nb.cells = [nbformat.v4.new_markdown_cell("# Ingest: what came in, what was kept, what was set aside"),
                nbformat.v4.new_markdown_cell("## Files read\n\nThe files."),
                nbformat.v4.new_markdown_cell("## Quarantine\n\nRows set aside, counted by reason."),
                method]
    path = tmp_path / "01-ingest.ipynb"
    nbformat.write(nb, path)
    return render_page(path, Lineage(data_as_of=None, period_end=None, params={}, git_commit="x"), lang)[0]


def test_the_method_cell_is_published_as_a_closed_section_at_the_foot(tmp_path):
    page = _page(tmp_path, "en")
    start = page.index('<details class="cl-method"')
    opening = page[start:page.index(">", start)]
    assert " open" not in opening
    assert "<summary>Method and sources</summary>" in page[start:]
    section = page[start:page.index("</details>", start)]
    assert "<code>data/raw/*</code>" in section and "<strong>Reads:</strong>" in section  # still markdown
    assert page.index("Rows set aside") < start < page.index('<footer class="cl-lineage"')
    assert 'href="#Quarantine"' in page  # the contents list still lists the page's sections


def test_the_method_section_is_in_the_page_language(tmp_path):
    page = _page(tmp_path, "ru")
    assert "<summary>Методика и источники</summary>" in page and "**Читает:**" not in page
    assert "<strong>Читает:</strong>" in page


def _whale(n, peak_rank, n_loss, peak_share=1.5, loss=-200.0):
    return pd.Series({"n_clients": n, "peak_rank": peak_rank, "n_loss_making": n_loss, "peak_share": peak_share,
                      "loss_margin": loss}, dtype=object)


def _words(summary, lang):
    return pnl.whale_words(summary, lang, pct=lambda v: f"{v:.0%}", money=lambda v: f"{v:,.0f} USD")


def test_the_whale_sentence_says_none_one_and_several():
    assert _words(_whale(0, 0, 0, float("nan"), 0.0), "en") == \
        "No client's margin is measured, so there is no curve to draw."
    assert _words(_whale(1, 1, 0, 1.0, 0.0), "en") == \
        "The curve peaks at 100% of total profit with the most profitable client alone; no client loses money."
    assert _words(_whale(3, 2, 1), "en") == ("The curve peaks at 150% of total profit after the best 2 clients; "
                                             "the one loss-making client then gives back 200 USD.")
    assert _words(_whale(9, 5, 4), "en").endswith("; 4 loss-making clients then give back 200 USD.")
    assert "1 clients" not in _words(_whale(2, 1, 1), "en")
    assert _words(_whale(9, 2, 5), "ru") == ("Кривая достигает пика — 150% всей прибыли — на 2 самых прибыльных "
                                             "клиентах; затем 5 убыточных клиентов забирают 200 USD.")
    assert _words(_whale(30, 21, 21), "ru").endswith("на 21 самом прибыльном клиенте; затем 21 убыточный клиент "
                                                     "забирает 200 USD.")


def test_an_empty_red_list_is_said_in_a_sentence():
    assert toxicity.red_list_words(0, "en") == "No client is active now, so none is red."
    assert toxicity.red_list_words(1, "en") == "The one active client is not red."
    assert toxicity.red_list_words(3, "en") == "None of the 3 active clients is red."
    assert toxicity.red_list_words(21, "ru") == "Ни один из 21 активного клиента не красный."
    assert toxicity.red_list_words(5, "ru") == "Ни один из 5 активных клиентов не красный."


def test_a_short_history_says_plainly_why_the_forecast_is_not_checked():
    from clientlens.analysis import rivals
    from clientlens.parameters import load

    panel = pd.DataFrame({"client_id": ["a", "a"], "quarter": ["2025Q1", "2025Q2"], "revenue": [100.0, 120.0]})
    check, why = rivals.backtest_if_possible(panel, rivals.settings(load()), "en")
    assert check is None and not why.startswith("backtest:") and "cut-off" not in why


def test_no_departure_is_said_plainly_not_as_zero_of_zero():
    from clientlens.analysis import precursors
    from clientlens.parameters import load

    table = pd.DataFrame()
    table.attrs.update(departures=0, clients=0, enough=False)
    words = precursors.summary_words(table, load(), "en")
    assert "0 of 0" not in words and words.startswith("No client has left within")


def test_an_abc_class_without_clients_has_no_revenue_rather_than_revenue_not_measured():
    classes = pd.DataFrame({"client_id": ["a", "b"], "abc_class": ["A", pnl.ABC_LOSS],
                            "revenue": [100.0, 50.0], "margin": [40.0, -10.0]})
    out = pnl.abc_summary(classes).set_index("abc_class")
    assert out.loc["B", "clients"] == 0 and out.loc["B", "revenue"] == 0.0 and out.loc["B", "revenue_share"] == 0.0
    unmeasured = classes.assign(revenue=float("nan"))
    assert pnl.abc_summary(unmeasured).set_index("abc_class").revenue.isna().all()  # nothing measured stays so
