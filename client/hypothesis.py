"""What an experiment expects of the system and what it found: the observed entry point, the steady-state
hypothesis, the phases of a run, their measures and the verdict.

A run has up to three phases on one time axis that starts at 0 with the first phase: `baseline` (before the
fault, `FaultPlan.baseline_seconds`), `fault` (`duration_seconds`) and `recovery` (after the fault ended,
`recovery_seconds`). The same traffic runs through all three, at the entry point the plan observes
(`FaultPlan.observe`, else the fault's own target). The hypothesis is a set of tolerances on that entry
point; `client.verdicts` judges each phase against it and scores the fault phase against the baseline.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from client.validation import ApiPath, HttpMethod, ServiceName

__all__ = [
    "Deviation",
    "ExperimentVerdict",
    "Hypothesis",
    "Observe",
    "Phase",
    "PhaseSummary",
    "TargetHits",
]


class Phase(StrEnum):
    """A phase of a run; every sample belongs to exactly one."""

    BASELINE = "baseline"
    FAULT = "fault"
    RECOVERY = "recovery"


class ExperimentVerdict(StrEnum):
    """What a run says about the hypothesis. Values are at most 16 characters (a stored column)."""

    BASELINE_FAILED = "baseline_failed"  # the hypothesis did not hold before the fault: it was not applied
    HELD = "held"
    DEVIATED = "deviated"  # the hypothesis did not hold during the fault (see `Deviation`)
    NOT_RECOVERED = "not_recovered"  # it did not hold again within recovery_seconds after the fault
    GUARDRAIL_STOP = "guardrail_stop"  # the run's guardrail stopped it


class Observe(BaseModel):
    """Where the load goes and the measures come from: the system's entry point, apart from the fault target.

    >>> Observe(service="gateway", api="/api/v1/checkout", method="POST")
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ServiceName
    api: ApiPath
    method: HttpMethod = None

    def to_wire(self) -> dict[str, str]:
        """Return the ``observe`` object of a family B/C apply body (``method`` only when given)."""
        out = {"service": self.service, "api": self.api}
        if self.method:
            out["method"] = self.method
        return out


class Hypothesis(BaseModel):
    """The steady state as tolerances on the observed entry point; either may be left out, not both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_p99_ms: float | None = Field(default=None, gt=0)
    max_error_rate_pct: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _at_least_one(self) -> Hypothesis:
        if self.max_p99_ms is None and self.max_error_rate_pct is None:
            raise ValueError("hypothesis: give max_p99_ms, max_error_rate_pct or both")
        return self


class PhaseSummary(BaseModel):
    """The measures of one phase at the entry point (client.measures' rules; error_rate is a fraction)."""

    model_config = ConfigDict(frozen=True)

    phase: Phase
    start_offset_ms: float  # on the run's time axis (0 = start of the first phase)
    end_offset_ms: float
    sample_count: int = 0
    error_count: int = 0
    error_rate: float | None = None  # None without samples
    avg_latency_ms: float | None = None
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None
    max_latency_ms: float | None = None


class Deviation(BaseModel):
    """One tolerance a phase broke: the measure, what was observed, the limit, and by how much."""

    model_config = ConfigDict(frozen=True)

    phase: Phase
    measure: str  # "p99_latency_ms" or "error_rate_pct"
    observed: float
    limit: float

    @property
    def excess(self) -> float:
        """Return by how much the observed value is over the limit (in the measure's unit)."""
        return self.observed - self.limit


class TargetHits(BaseModel):
    """What the fault did on its own target, counted by the Executor: requests that matched, and were hit."""

    model_config = ConfigDict(frozen=True)

    service: str
    api: str
    request_count: int = 0
    affected_count: int = 0
