"""One parameter file, read and checked once; command-line overrides; typos are errors, not silence."""
import json

import pytest

from clientlens import parameters, quarters
from clientlens.parameters import StageParams
from clientlens.tooling.pipeline import _normalise_overrides, effective_params


def test_defaults_load_typed():
    params = parameters.load()
    # auto: the currency the exports name; USD where none does
    assert params.reporting_currency == "AUTO" and params.unnamed_currency == "USD"
    assert params.report_lang in ("en", "ru")
    assert params.toxicity.markers["late_payment"].threshold == 30
    assert params.office_hours.start.hour == 9 and params.spiral.interval_levels == (0.8, 0.95)


def test_override_top_level_and_nested_keep_types():
    params = parameters.load(overrides=["PERIOD_END=2025Q4", "TOXICITY__MARKERS__LATE_PAYMENT__THRESHOLD=45",
                                        "ANONYMIZE=1"])
    assert params.period_end == "2025Q4"
    assert params.toxicity.markers["late_payment"].threshold == 45
    assert params.anonymize is True


@pytest.mark.parametrize("word, message", [
    ("PERIOD_ED=2025Q4", "unknown parameter PERIOD_ED"),
    ("PERIOD_END=2025-12", "write a quarter as 2025Q4"),
    ("REPORT_LANG=de", "report_lang: Input should be 'en' or 'ru'"),
    ("NOSUCH__KEY=1", "unknown parameter"),
    ("REPORTING_CURRENCY=dollars", "reporting_currency: String should match pattern"),
    ("TOXICITY__LATE_DAYS=45", "config/params.yaml has no toxicity.late_days"),
    ("OVERHEAD_BASE=headcount", "overhead_base: Input should be 'delivery_cost', 'revenue' or 'hours'"),
    ("SPIRAL__INTERVAL_LEVELS=[80, 95]", "each level must lie between 0 and 1"),
    ("OFFICE_HOURS__START=9am", "office_hours.start"),
])
def test_bad_overrides_say_what_is_wrong(word, message):
    with pytest.raises(parameters.ConfigError, match=message):
        parameters.load(overrides=[word])


def test_a_parameter_missing_from_the_file_is_named_never_made_up(tmp_path):
    raw = parameters.read_file()
    del raw["segments"]["communicator_driven_share"]
    (tmp_path / "params.yaml").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(parameters.ConfigError, match="segments.communicator_driven_share: missing"):
        parameters.load(tmp_path / "params.yaml")


def test_a_run_writes_what_it_read_and_reads_it_back(tmp_path):
    params = parameters.load(overrides=["SEED=7"])
    (tmp_path / "params.json").write_text(params.to_json(), encoding="utf-8")
    assert parameters.load(tmp_path / "params.json") == params


def test_stage_params_note_each_section_read(tmp_path):
    reads = tmp_path / "reads.json"
    view = StageParams(parameters.load(), reads)
    assert not reads.exists()
    assert view.toxicity.markers["nps"].weight == 0.75 and view.report_lang
    view.toxicity  # noqa: B018 - a second read notes nothing new
    assert json.loads(reads.read_text()) == ["report_lang", "toxicity"]
    with pytest.raises(AttributeError):
        view.no_such_parameter  # noqa: B018
    with pytest.raises(AttributeError, match="read-only"):
        view.seed = 1
    assert StageParams(parameters.load()).seed == 42  # by hand: nothing is noted


def test_make_variables_and_aliases():
    assert _normalise_overrides(["VENV=/x", "CLIENTS=50", "YEARS=2", "SEED=7"]) == [
        "demo_clients=50", "demo_years=2", "SEED=7"]
    params = effective_params(["CLIENTS=50", "SEED=7"])
    assert params.demo_clients == 50 and params.seed == 7


@pytest.mark.parametrize("quarter, start, end", [
    ("2025Q1", "2025-01-01", "2025-03-31"), ("2024Q4", "2024-10-01", "2024-12-31")])
def test_quarter_bounds(quarter, start, end):
    assert quarters.quarter_start(quarter).isoformat() == start
    assert quarters.quarter_end(quarter).isoformat() == end


def test_shift_quarter_crosses_years():
    assert quarters.shift_quarter("2025Q1", -1) == "2024Q4"
    assert quarters.shift_quarter("2024Q3", 6) == "2026Q1"


def test_a_params_file_of_the_older_layout_says_how_to_move_it(tmp_path):
    raw = parameters.read_file()
    toxicity = raw["toxicity"]
    markers = toxicity.pop("markers")
    toxicity["late_days"] = markers["late_payment"]["threshold"]
    toxicity["baseline"] = {name: m["baseline"] for name, m in markers.items()}
    toxicity["weights"] = {name: m["weight"] for name, m in markers.items()}
    (tmp_path / "params.yaml").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(parameters.ConfigError, match="now sit together under toxicity.markers.<marker>"):
        parameters.load(tmp_path / "params.yaml")
