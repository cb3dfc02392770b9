"""One parameter file; command-line overrides; typos are errors, not silence."""
import pytest

from clientlens import parameters, quarters
from clientlens.tooling.pipeline import _normalise_overrides, effective_params


def test_defaults_load_and_validate():
    params = parameters.load_config()
    assert params["reporting_currency"] == "USD"
    assert params["report_lang"] in ("en", "ru")


def test_override_top_level_and_nested_keep_types():
    params = parameters.load_config(overrides=["PERIOD_END=2025Q4", "TOXICITY__LATE_DAYS=45", "ANONYMIZE=1"])
    assert params["period_end"] == "2025Q4"
    assert params["toxicity"]["late_days"] == 45
    assert params["anonymize"] is True


@pytest.mark.parametrize("word, message", [
    ("PERIOD_ED=2025Q4", "unknown parameter PERIOD_ED"),
    ("PERIOD_END=2025-12", "write a quarter as 2025Q4"),
    ("REPORT_LANG=de", "use en or ru"),
    ("NOSUCH__KEY=1", "unknown parameter"),
    ("REPORTING_CURRENCY=dollars", "three-letter ISO code"),
])
def test_bad_overrides_say_what_is_wrong(word, message):
    with pytest.raises(parameters.ConfigError, match=message):
        parameters.load_config(overrides=[word])


def test_make_variables_and_aliases():
    assert _normalise_overrides(["VENV=/x", "CLIENTS=50", "YEARS=2", "SEED=7"]) == [
        "demo_clients=50", "demo_years=2", "SEED=7"]
    params = effective_params(["CLIENTS=50", "SEED=7"])
    assert params["demo_clients"] == 50 and params["seed"] == 7


@pytest.mark.parametrize("quarter, start, end", [
    ("2025Q1", "2025-01-01", "2025-03-31"), ("2024Q4", "2024-10-01", "2024-12-31")])
def test_quarter_bounds(quarter, start, end):
    assert quarters.quarter_start(quarter).isoformat() == start
    assert quarters.quarter_end(quarter).isoformat() == end


def test_shift_quarter_crosses_years():
    assert quarters.shift_quarter("2025Q1", -1) == "2024Q4"
    assert quarters.shift_quarter("2024Q3", 6) == "2026Q1"
