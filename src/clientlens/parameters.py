"""The one parameter file, config/params.yaml, read and checked once, at the boundary.

    params = parameters.load()                                 # config/params.yaml
    params = parameters.load(overrides=["TOXICITY_RED=40"])
    params.toxicity.markers["late_payment"].threshold          # typed all the way down

config/params.yaml is the only place a default lives: every field below is required, so a
parameter missing from the file is an error naming it, never a value made up in code. The
models check kinds and ranges; code that receives a `Params` (or one of its sections) never
checks them again.

Overrides arrive as KEY=VALUE words from the command line (the Makefile passes its own
command-line variables); nothing here reads environment variables.

A stage reads its parameters through `stage_params`, which notes every top-level section the
stage touches in a file `make report` gave it, so that the next run reruns the stage only when
one of those sections changes (clientlens.tooling.pipeline).
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clientlens.paths import CONFIG_FILE, PROJECT_ROOT
from clientlens.quarters import QUARTER_RE

# reporting_currency: auto, as the validator upper-cases it: the currency the exports name.
AUTO_CURRENCY = "AUTO"


class ConfigError(ValueError):
    """A parameter is unknown or has a value of the wrong kind."""


def _same_names(where: str, given: dict[str, Any], registry: dict[str, Any]) -> None:
    """A section keyed by the names of a registry (markers, warning signals) names each once."""
    missing = [name for name in registry if name not in given]
    unknown = [name for name in given if name not in registry]
    if missing or unknown:
        raise ValueError(f"{where}: " + "; ".join(([f"missing {', '.join(missing)}"] if missing else [])
                                                  + ([f"unknown {', '.join(unknown)}"] if unknown else [])))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfficeHours(_Section):
    start: dt.time
    end: dt.time


class WorkTypeRule(_Section):
    pattern: str
    work_type: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return value

    @field_validator("work_type")
    @classmethod
    def _known(cls, value: str) -> str:
        from clientlens.intake.contract import WORK_TYPES

        if value not in WORK_TYPES:
            raise ValueError(f"{value!r} is not one of {', '.join(WORK_TYPES)}")
        return value


class MarkerParams(_Section):
    """One toxicity marker: it counts nothing at `baseline`, in full at `threshold`."""

    threshold: float
    baseline: float
    weight: float = Field(ge=0)


class ToxicityParams(_Section):
    window_quarters: int = Field(ge=1)
    trend_base_quarters: int = Field(ge=1)
    min_events: int = Field(ge=0)
    min_answers: int = Field(ge=1)
    min_bad_events: int = Field(ge=1)
    reason_min_severity: float = Field(ge=0, le=1)
    max_reasons: int = Field(ge=1)
    points_per_weight: float = Field(gt=0)
    red_full_markers: int = Field(ge=1)
    weights_from_history: bool
    precursor_min_departures: int = Field(ge=1)
    precursor_interval: float = Field(gt=0, lt=1)
    markers: dict[str, MarkerParams]

    @model_validator(mode="after")
    def _every_marker_once_on_the_right_side(self) -> "ToxicityParams":
        # The registry says which markers exist and which way each one is worse.
        from clientlens.analysis.markers import MARKER_BY_NAME

        _same_names("markers", self.markers, MARKER_BY_NAME)
        for name, m in self.markers.items():
            worse_up = MARKER_BY_NAME[name].higher_is_worse
            if (m.threshold < m.baseline) if worse_up else (m.threshold > m.baseline):
                side = "above" if worse_up else "below"
                raise ValueError(f"markers.{name}: threshold {m.threshold:g} must be {side} its baseline "
                                 f"{m.baseline:g} (higher values are {'worse' if worse_up else 'better'})")
        return self


class SegmentParams(_Section):
    profitable_margin_pct: float
    communicator_driven_share: float = Field(ge=0, le=1)
    reprice_increase: float = Field(gt=0, le=1)


class EarlyWarningParams(_Section):
    recent_quarters: int = Field(ge=1)
    base_quarters: int = Field(ge=1)
    min_base_quarters: int = Field(ge=1)
    orders_drop: float
    requests_drop: float
    min_base_requests: int = Field(ge=0)
    phase_fall_quantile: float = Field(ge=0, le=1)
    phase_min_quarters: int = Field(ge=1)
    late_days_rise: float
    survey_recent_quarters: int = Field(ge=1)
    nps_drop: float
    csat_drop: float
    contact_changes: int = Field(ge=0)
    contact_quarters: int = Field(ge=1)
    revenue_quarters: int = Field(ge=1)
    lookback_quarters: int = Field(ge=1)
    fire_at: float = Field(gt=0)
    weights: dict[str, float]

    @model_validator(mode="after")
    def _every_signal_weighted(self) -> "EarlyWarningParams":
        from clientlens.analysis.early_warning import SIGNAL_BY_NAME

        _same_names("weights", self.weights, SIGNAL_BY_NAME)
        return self


class SpiralParams(_Section):
    churn_after_quarters: int = Field(ge=1)
    backtest_quarters: int = Field(ge=1)
    backtest_cutoffs: int = Field(ge=1)
    backtest_min_quarters: int = Field(ge=4)
    season_min_quarters: int = Field(ge=5)
    season_shrink_years: float = Field(ge=0)
    level_weight: float = Field(gt=0, le=1)
    trend_weight: float = Field(ge=0, le=1)
    trend_damping: float = Field(ge=0, lt=1)
    interval_levels: tuple[float, ...]
    transition_ci: float = Field(gt=0, lt=1)
    scenario_mistake: str
    unplanned_min: int = Field(ge=0)
    unplanned_share: float = Field(ge=0, le=1)
    early_free_min: int = Field(ge=0)
    followup_min: int = Field(ge=0)
    mix_min_quarters: int = Field(ge=1)

    @field_validator("interval_levels")
    @classmethod
    def _levels(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(not 0 < v < 1 for v in value):
            raise ValueError("each level must lie between 0 and 1, as 0.8")
        return value


class Params(_Section):
    """Every parameter of the chain, as config/params.yaml lays them out."""

    period_end: str
    as_of: dt.date | Literal["auto"]
    reporting_currency: str = Field(pattern=rf"^([A-Z]{{3}}|{AUTO_CURRENCY})$")
    unnamed_currency: str = Field(pattern=r"^[A-Z]{3}$")
    office_hours: OfficeHours
    work_type_rules: tuple[WorkTypeRule, ...]
    rework_pattern: str
    hours_per_day: float = Field(gt=0, le=24)
    seed: int
    demo_clients: int = Field(ge=1)
    demo_years: int = Field(ge=1)
    demo_end_quarter: str = Field(pattern=QUARTER_RE.pattern)
    overhead_rate: float = Field(ge=0)
    overhead_base: Literal["delivery_cost", "revenue", "hours"]
    lapse_quarters: int = Field(ge=1)
    deadline_grace_days: int = Field(ge=0)
    ltv_horizon_years: float | None = Field(gt=0)
    discount_rate: float = Field(ge=0)
    abc_cutoffs: tuple[float, float]
    toxicity: ToxicityParams
    toxicity_red: float
    segments: SegmentParams
    early_warning: EarlyWarningParams
    forecast_quarters: int = Field(ge=1)
    monte_carlo_runs: int = Field(ge=1)
    communicator_max_quarters: int = Field(ge=1)
    spiral: SpiralParams
    report_lang: Literal["en", "ru"]
    second_report_lang: Literal["en", "ru"] | None
    anonymize: bool

    @field_validator("period_end")
    @classmethod
    def _quarter_or_auto(cls, value: str) -> str:
        if value != "auto" and not QUARTER_RE.match(value):
            raise ValueError(f"{value!r}: write a quarter as 2025Q4, or auto")
        return value

    @field_validator("second_report_lang", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # `make report SECOND_REPORT_LANG=` turns the second language off, as null does
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reporting_currency", "unnamed_currency", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("rework_pattern")
    @classmethod
    def _rework_compiles(cls, value: str) -> str:
        return WorkTypeRule._compiles(value)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def as_of_date(params: Params) -> dt.date:
    """The date "today" for checks of future dates: as_of, or the run's date when auto.

    A function rather than a method, so that a stage's view (StageParams) notes that it read
    `as_of`."""
    return dt.date.today() if params.as_of == "auto" else params.as_of


def read_file(path: Path | str = CONFIG_FILE) -> dict[str, Any]:
    """The raw mapping in a parameter file (YAML, or the JSON a run wrote)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such parameter file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the parameters must be a mapping of names to values")
    return raw


def load(path: Path | str = CONFIG_FILE, overrides: Iterable[str] = ()) -> Params:
    """The parameters in `path`, with KEY=VALUE overrides applied, checked."""
    path = Path(path).resolve()
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    return validate(apply_overrides(read_file(path), overrides), source=str(shown))


def validate(raw: dict[str, Any], source: str = "config/params.yaml") -> Params:
    toxicity = raw.get("toxicity")
    if isinstance(toxicity, dict) and {"weights", "baseline"} & set(toxicity):
        # A firm's own params.yaml from before the markers were grouped: say how to move it.
        raise ConfigError(f"{source}: toxicity.weights and toxicity.baseline are from an older layout; each "
                          "marker's threshold, baseline and weight now sit together under "
                          "toxicity.markers.<marker> (copy that section from the project's config/params.yaml)")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "missing: every parameter lives in config/params.yaml"
            elif error["type"] == "extra_forbidden":
                message = "unknown parameter"
            problems.append(f"{where}: {message}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of `raw` with KEY=VALUE words applied.

    Keys are case-insensitive; a double underscore reaches into a nested mapping
    (TOXICITY__MARKERS__LATE_PAYMENT__THRESHOLD=45). Values are parsed as YAML scalars, so
    numbers stay numbers. An unknown key is an error, so a typo never passes silently.
    """
    raw = copy.deepcopy(raw)
    for word in overrides:
        if "=" not in word:
            raise ConfigError(f"override {word!r} is not KEY=VALUE")
        key, value_text = word.split("=", 1)
        path = key.strip().lower().split("__")
        node = raw
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"unknown parameter {key} (no section {part!r} in config/params.yaml)")
            node = node[part]
        if path[-1] not in node:
            raise ConfigError(f"unknown parameter {key}: config/params.yaml has no {'.'.join(path)}")
        value = yaml.safe_load(value_text) if value_text.strip() else ""
        if isinstance(node[path[-1]], bool) and value in (0, 1):
            value = bool(value)
        node[path[-1]] = value
    return raw


class StageParams:
    """A stage's view of the parameters: the same values, and a note of each section it reads.

    `make report` gives the stage a file to note them in (`reads_file`); run by hand in
    JupyterLab, there is none and nothing is noted.
    """

    def __init__(self, params: Params, reads_file: Path | str | None = None):
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_reads_file", Path(reads_file) if reads_file else None)
        object.__setattr__(self, "_reads", set())

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._params, name)  # AttributeError for a name that is not a parameter
        if name in Params.model_fields and name not in self._reads:
            self._reads.add(name)
            if self._reads_file is not None:
                self._reads_file.parent.mkdir(parents=True, exist_ok=True)
                self._reads_file.write_text(json.dumps(sorted(self._reads)) + "\n", encoding="utf-8")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("parameters are read-only: change config/params.yaml or pass KEY=VALUE to make")

    def __repr__(self) -> str:
        return f"StageParams({sorted(self._reads)} read so far)"


def stage_params(params_file: Path | str = CONFIG_FILE, reads_file: Path | str | None = None,
                 overrides: Iterable[str] = ()) -> StageParams:
    """What a notebook reads its parameters with: config/params.yaml when run by hand, the run's
    checked parameters (build/params.json) when `make report` runs it."""
    return StageParams(load(params_file, overrides), reads_file)

