"""A campaign's fault space, budget and strategy: what it may inject, for how long, and how it searches.

A space lists the targets (service + api) to inject into, the fault types (delay and/or abort), the delay in
whole milliseconds (searched on a log scale, and only for a delay), the abort status (a categorical from
`ABORT_STATUSES`), the percentage of requests (1-100) and the fault's duration. The observed entry point, the
hypothesis, the baseline and recovery phases and the guardrail are fixed for the whole campaign: every trial
is judged by the same rule, so their severity scores compare. A campaign is written as YAML or JSON
(`load_campaign_file`) or built in Python; every error names the field (``space.delay_ms.low: ...``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from client import FaultType, Hypothesis, Observe
from client.validation import ApiPath, HttpMethod, ServiceName

__all__ = [
    "ABORT_STATUSES",
    "Budget",
    "CampaignFile",
    "CampaignFileError",
    "CampaignSpace",
    "IntRange",
    "Strategy",
    "Target",
    "load_campaign_file",
]

# The abort statuses a campaign may choose from: what overloaded or failing services really answer.
ABORT_STATUSES = (429, 500, 502, 503, 504)
SEARCHED_FAULT_TYPES = (FaultType.DELAY, FaultType.ABORT)


class Strategy(StrEnum):
    """How a campaign proposes its next trial (each one an Optuna sampler, services/campaigns/search.py)."""

    GRID = "grid"
    RANDOM = "random"
    BAYES = "bayes"


class Target(BaseModel):
    """A service and api to inject faults into."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ServiceName
    api: ApiPath
    method: HttpMethod = None

    @property
    def label(self) -> str:
        """Return ``service api``: the target's value in the study's categorical parameter."""
        return f"{self.service} {self.api}"


class IntRange(BaseModel):
    """An integer from `low` to `high` (both included); the grid takes `grid` (default: both ends)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: int
    high: int
    grid: tuple[int, ...] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be at most high ({self.high})")
        if self.grid is not None:
            outside = [value for value in self.grid if not self.low <= value <= self.high]
            if outside or not self.grid:
                raise ValueError(f"grid values must lie from {self.low} to {self.high}: {outside or 'none'}")
        return self

    def grid_values(self) -> tuple[int, ...]:
        """Return the values the grid strategy tries, each once, in order."""
        values = self.grid if self.grid is not None else (self.low, self.high)
        return tuple(sorted(set(values)))

    def within(self, low: int, high: int, name: str) -> None:
        """Raise ValueError naming `name` unless the whole range lies from `low` to `high`."""
        if self.low < low or self.high > high:
            raise ValueError(f"{name} must lie from {low} to {high}, not {self.low}-{self.high}")


class CampaignSpace(BaseModel):
    """The faults a campaign may try, and what is fixed for all of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: tuple[Target, ...] = Field(min_length=1)
    fault_types: tuple[FaultType, ...] = SEARCHED_FAULT_TYPES
    delay_ms: IntRange = IntRange(low=10, high=2000)
    abort_statuses: tuple[int, ...] = (500, 503)
    percentage: IntRange = IntRange(low=10, high=100)
    duration_seconds: IntRange = IntRange(low=2, high=2)
    # Fixed for the campaign: where to observe, what must hold, the phases around each fault.
    observe: Observe | None = None  # None: each trial observes its own target
    hypothesis: Hypothesis
    baseline_seconds: int = Field(default=2, ge=1, le=3600)  # the severity score needs a baseline
    recovery_seconds: int = Field(default=2, ge=0, le=3600)
    max_error_rate_pct: float | None = Field(default=None, ge=0, le=100)  # the guardrail of every trial
    max_p99_ms: float | None = Field(default=None, gt=0)
    cooldown_seconds: float = Field(default=10.0, ge=0, le=600)  # longest wait for the steady state

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpace:
        if not self.fault_types or len(set(self.fault_types)) != len(self.fault_types):
            raise ValueError("fault_types: give delay, abort or both, each once")
        other = [kind.value for kind in self.fault_types if kind not in SEARCHED_FAULT_TYPES]
        if other:
            raise ValueError(f"fault_types: a campaign searches delay and abort, not {', '.join(other)}")
        self.delay_ms.within(1, 30_000, "delay_ms")
        self.percentage.within(1, 100, "percentage")
        self.duration_seconds.within(1, 3600, "duration_seconds")
        unknown = [status for status in self.abort_statuses if status not in ABORT_STATUSES]
        if unknown or not self.abort_statuses:
            known = ", ".join(map(str, ABORT_STATUSES))
            raise ValueError(f"abort_statuses: choose from {known} (not {unknown or 'none'})")
        labels = [target.label for target in self.targets]
        if len(set(labels)) != len(labels):
            raise ValueError("targets: each service and api once")
        return self

    def target(self, label: str) -> Target:
        """Return the target whose `label` is `label`."""
        return next(target for target in self.targets if target.label == label)


class Budget(BaseModel):
    """How much a campaign may do: at most `trials` trials and `max_minutes` minutes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trials: int = Field(default=20, ge=1, le=10_000)
    max_minutes: float | None = Field(default=None, gt=0)
    stop_at_first_deviation: bool = False


class CampaignFile(BaseModel):
    """A campaign as a file holds it: the space, the strategy, the budget and the sampler's seed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    space: CampaignSpace
    strategy: Strategy = Strategy.BAYES
    budget: Budget = Budget()
    seed: int | None = 0
    startup_trials: int = Field(default=4, ge=1, le=1000)  # bayes: random trials before TPE takes over


class CampaignFileError(ValueError):
    """A campaign file that cannot be read, parsed or validated; the message names the file and field."""


def _field_problems(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "campaign"
        lines.append(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def parse_campaign(data: Any, *, source: str = "campaign") -> CampaignFile:
    """Validate a parsed document as a campaign; errors name `source` and each field."""
    if not isinstance(data, dict):
        raise CampaignFileError(f"{source} must hold a mapping with space, strategy and budget")
    try:
        return CampaignFile.model_validate(data)
    except ValidationError as exc:
        raise CampaignFileError(f"invalid campaign in {source}:\n{_field_problems(exc)}") from exc


def load_campaign_file(path: str | Path) -> CampaignFile:
    """Read a campaign from a YAML or JSON file (JSON is YAML too)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignFileError(f"cannot read campaign file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CampaignFileError(f"{path}: not valid YAML or JSON: {exc}") from exc
    return parse_campaign(data, source=str(path))
