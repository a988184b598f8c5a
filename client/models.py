"""Value objects: the fault plan going out and the observation coming back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from client.hypothesis import (
    Deviation,
    ExperimentVerdict,
    Hypothesis,
    Observe,
    Phase,
    PhaseSummary,
    TargetHits,
)
from client.matching import MATCH_SUFFIX, value_for_regex
from client.validation import ApiPath, HttpMethod, ServiceName, check_header_name, no_control_characters

E = TypeVar("E", bound=StrEnum)


def enum_or_none(enum: type[E], value: object) -> E | None:
    """Return the member of `enum` whose value is `value`, or None when there is none."""
    if not isinstance(value, str):
        return None
    try:
        return enum(value)
    except ValueError:
        return None


class FaultType(StrEnum):
    """Kind of fault to inject."""

    DELAY = "delay"
    ABORT = "abort"
    ERROR_INJECTION = "error_injection"


class FaultStatus(StrEnum):
    """Where a fault stands on the Executor, as the wire spells it (EXECUTOR_API.md)."""

    PENDING = "pending"
    APPLIED = "applied"  # family B's answer to an apply
    RUNNING = "running"
    ACTIVE = "active"  # a policy in force (family A)
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ApiMode(StrEnum):
    """Which Executor API family the client speaks (EXECUTOR_API.md)."""

    DIRECT = "direct"
    EXTENDED = "extended"
    POLICY = "policy"


class HeaderMatch(BaseModel):
    """Match a request header by exact value, prefix or (unanchored) regex.

    The run's traffic sends the header with `value_to_send` (client/matching.py): the exact value, the
    prefix plus a suffix, or for a regex `send_value` or a value built from the pattern.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None
    send_value: str | None = None  # what the traffic sends; needed for a regex no value is built for

    @field_validator("name")
    @classmethod
    def _name_is_token(cls, value: str) -> str:
        return check_header_name(value)

    @field_validator("exact", "prefix", "regex", "send_value")
    @classmethod
    def _value_has_no_controls(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else no_control_characters(value, f"header {info.field_name} value")

    @model_validator(mode="after")
    def _one_matcher(self) -> HeaderMatch:
        if sum(v is not None for v in (self.exact, self.prefix, self.regex)) != 1:
            raise ValueError("headers: give exactly one of exact, prefix or regex")
        self.value_to_send  # noqa: B018 - refuse now a match no traffic can be made for
        return self

    @property
    def value_to_send(self) -> str:
        """Return the value the run's traffic sends so that this matcher matches it."""
        if self.send_value is not None:
            if not self._matches(self.send_value):
                raise ValueError(f"headers: send_value {self.send_value!r} does not match header {self.name}")
            return self.send_value
        if self.exact is not None:
            return self.exact
        if self.prefix is not None:
            return self.prefix + MATCH_SUFFIX
        assert self.regex is not None
        value = value_for_regex(self.regex)
        if value is None:
            raise ValueError(
                f"headers: no value matching regex {self.regex!r} could be built for header {self.name}; "
                "give send_value, the value the run's traffic should send"
            )
        return value

    def _matches(self, value: str) -> bool:
        if self.exact is not None:
            return value == self.exact
        if self.prefix is not None:
            return value.startswith(self.prefix)
        try:
            return re.search(self.regex or "", value) is not None
        except re.error:
            return False

    def to_wire(self) -> dict[str, str]:
        """Return the family-A form ``{"name": ..., "exact": ...}``."""
        out = {"name": self.name}
        out.update(
            {
                k: v
                for k, v in (("exact", self.exact), ("prefix", self.prefix), ("regex", self.regex))
                if v is not None
            }
        )
        return out


class FaultPlan(BaseModel):
    """A fault to inject, validated before anything is sent.

    >>> FaultPlan(service="payment", api="/pay", fault_type=FaultType.DELAY, delay_seconds=2.5, percentage=50)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ServiceName
    api: ApiPath
    fault_type: FaultType
    percentage: int = Field(ge=0, le=100)
    delay_seconds: float | None = Field(default=None, gt=0, le=30)
    abort_http_status: int | None = Field(default=None, ge=400, le=599)
    error_message: str | None = None
    duration_seconds: int = Field(default=30, ge=1, le=3600)
    start_delay_ms: int = Field(default=0, ge=0)
    method: HttpMethod = None
    headers: tuple[HeaderMatch, ...] = ()
    # With headers: the percentage of the run's requests (load driver or probe) that carry matching values.
    matching_traffic_pct: int = Field(default=100, ge=1, le=100)
    # Experiments (client.hypothesis): phases around the fault, where to observe, what must hold.
    baseline_seconds: int = Field(default=0, ge=0, le=3600)
    recovery_seconds: int = Field(default=0, ge=0, le=3600)
    observe: Observe | None = None  # None: observe the fault's own target
    hypothesis: Hypothesis | None = None

    @model_validator(mode="after")
    def _type_specific_fields(self) -> FaultPlan:
        if self.fault_type is FaultType.DELAY and self.delay_seconds is None:
            raise ValueError("delay_seconds is required when fault_type is delay")
        if self.fault_type is FaultType.ABORT and self.abort_http_status is None:
            raise ValueError("abort_http_status is required when fault_type is abort")
        return self

    @property
    def delay_ms(self) -> int | None:
        """Return the delay in whole milliseconds (the wire wants integers)."""
        return None if self.delay_seconds is None else max(1, round(self.delay_seconds * 1000))


class ExecutorMetrics(BaseModel):
    """Aggregate metrics of one fault run; B's and C's names normalise into these."""

    model_config = ConfigDict(frozen=True)

    request_count: int = 0
    affected_count: int = 0
    success_rate: float = 0.0
    error_rate: float = 0.0
    avg_latency_ms: float = 0.0
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None
    max_latency_ms: float | None = None


class TimelinePoint(BaseModel):
    """Traffic in one second of the run, counted from the start of its first phase."""

    model_config = ConfigDict(frozen=True)

    t_s: float
    phase: Phase = Phase.FAULT
    request_count: int = 0
    affected_count: int = 0
    error_count: int = 0
    avg_latency_ms: float = 0.0
    p95_latency_ms: float = 0.0
    p50_latency_ms: float | None = None
    p99_latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class RequestSample:
    """One measured request: when (since the run's first phase began), how long, status, whether a fault
    hit it, and its phase."""

    offset_ms: float
    latency_ms: float
    status_code: int
    affected: bool
    phase: Phase = Phase.FAULT


class RawObservation(BaseModel):
    """What an apply observed: the seed's fields plus metrics, timeline and samples when available."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    latency_ms: float
    error_rate: float
    trace_data: dict[str, Any] = Field(default_factory=dict)
    logs: list[str] = Field(default_factory=list)
    apply_id: str | None = None
    api_mode: ApiMode | None = None
    status: FaultStatus | None = None  # a status the client does not know is None
    final: bool = True
    metrics: ExecutorMetrics | None = None
    timeline: list[TimelinePoint] = Field(default_factory=list)
    samples: list[RequestSample] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)  # what makes the numbers doubtful (also in logs)
    # Experiments (client.hypothesis, client.verdicts): filled on a final observation.
    phases: list[PhaseSummary] = Field(default_factory=list)  # in time order; the fault phase at least
    target: TargetHits | None = None  # the fault's own target, when it is not the observed entry point
    verdict: ExperimentVerdict | None = None  # None without a hypothesis
    deviations: list[Deviation] = Field(default_factory=list)
    severity_score: float | None = None  # None without a baseline
    time_to_recovery_s: float | None = None  # after the fault ended; None if never back within recovery

    def phase(self, phase: Phase) -> PhaseSummary | None:
        """Return the summary of one phase, or None if the run had no such phase."""
        return next((p for p in self.phases if p.phase is phase), None)

    @field_validator("status", mode="before")
    @classmethod
    def _known_status(cls, value: object) -> FaultStatus | None:
        return enum_or_none(FaultStatus, value)


@dataclass(frozen=True)
class ActiveFault:
    """A fault or policy currently known to the Executor."""

    fault_id: str
    service: str
    api: str
    fault_type: FaultType | None  # None: a kind the client does not know
    status: FaultStatus
    percentage: int | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceApi:
    """One API of a discoverable service."""

    method: str
    path: str


@dataclass(frozen=True)
class ServiceInfo:
    """A target service the Executor knows, with the proxy URL that reaches it through the fault proxy."""

    name: str
    upstream: str | None
    proxy_url: str | None
    apis: tuple[ServiceApi, ...] = ()


@dataclass(frozen=True)
class PreparedRequest:
    """The first request an apply would send; the bearer token is masked."""

    method: str
    url: str
    headers: dict[str, str]
    json: dict[str, Any] | None
