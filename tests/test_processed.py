"""Reading what earlier stages wrote: a notebook opened before its inputs exist says what to run."""
import pytest

from clientlens.processed import NotBuiltYet, load_panel


def test_a_missing_panel_says_which_stage_to_run(tmp_path):
    with pytest.raises(NotBuiltYet, match="run notebooks/01-ingest"):
        load_panel(tmp_path)


def test_summary_totals_count_a_file_feeding_two_tables_once():
    import pandas as pd

    from clientlens.processed import summary_totals

    summary = pd.DataFrame({
        "file": ["tickets.csv", "tickets.csv", "export.csv"], "table": ["requests", "surveys", "invoices"],
        "rows_read": [40, 40, 7], "rows_accepted": [39, 12, 3], "rows_quarantined": [1, 1, 0],
        "rows_merged": [0, 0, 1], "rows_skipped": [0, 27, 3]})
    assert summary_totals(summary) == {"files": 2, "rows_read": 47, "rows_accepted": 54, "rows_quarantined": 2,
                                       "rows_merged_or_skipped": 31}
    assert summary_totals(None)["files"] == 0
