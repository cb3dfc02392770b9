"""Reading what earlier stages wrote: a notebook opened before its inputs exist says what to run."""
import pytest

from clientlens.processed import NotBuiltYet, load_panel


def test_a_missing_panel_says_which_stage_to_run(tmp_path):
    with pytest.raises(NotBuiltYet, match="run notebooks/01-ingest"):
        load_panel(tmp_path)
