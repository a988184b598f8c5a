"""SQLModel tables of BOIFI Console and the value objects the query functions return.

Every datetime column is a `UTCDateTime`: naive UTC in the database, timezone-aware UTC in Python.
Index and constraint names are explicit so that the Alembic migrations name exactly the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from client.breaker import BreakerState
from client.errors import ErrorKind, error_kind_named
from client.hypothesis import ExperimentVerdict, Phase
from client.models import ApiMode, FaultType
from storage.types import UTCDateTime, enum_column_type


class RunStatus(StrEnum):
    """Lifecycle state of a run.

    `CANCELLED` is a halt someone asked for (a person, a signal, the console shutting down);
    `GUARDRAIL_STOP` is a run its own guardrail stopped. Both keep the reason in `Run.stop_reason`.
    Values are at most 16 characters: the status column's length.
    """

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    GUARDRAIL_STOP = "guardrail_stop"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)

# One per-request sample: offset on the run's time axis (0 = start of its first phase), latency, HTTP status
# (0 = no response), whether the fault hit it, and its phase as a `PHASE_CODES` code (0 = fault, so a sample
# stored before revision 0009, and an array made with np.zeros, reads as a fault-phase sample).
SAMPLE_DTYPE = np.dtype(
    [("offset_ms", "<f8"), ("latency_ms", "<f8"), ("status_code", "<i4"), ("affected", "?"), ("phase", "u1")]
)
PHASE_CODES: dict[Phase, int] = {Phase.FAULT: 0, Phase.BASELINE: 1, Phase.RECOVERY: 2}
PHASES_BY_CODE: dict[int, Phase] = {code: phase for phase, code in PHASE_CODES.items()}


def _run_status_type() -> SAEnum:
    # Stored as the lower-case value in a plain VARCHAR: portable, and a new status needs no DDL as long as it
    # fits the length (an older app cannot read a status it does not know: hence revision 0003's downgrade).
    return enum_column_type(RunStatus, name="run_status", length=16)


def _breaker_state_type() -> SAEnum:
    # The client's values (CLOSED, OPEN, HALF_OPEN); revision 0004 brought older spellings to them.
    return enum_column_type(BreakerState, name="breaker_state", length=32)


def _api_mode_type() -> SAEnum:
    # The client's values (direct, extended, policy); revision 0005 brought older spellings to them.
    return enum_column_type(ApiMode, name="api_mode", length=32)


def _fault_type_type() -> SAEnum:
    # The client's values (delay, abort, error_injection); NULL for a plan without one (revision 0006).
    return enum_column_type(FaultType, name="fault_type", length=64)


def _verdict_type() -> SAEnum:
    # The client's values (held, deviated, ...), at most 16 characters like the status; NULL without one.
    return enum_column_type(ExperimentVerdict, name="experiment_verdict", length=16)


def _phase_type() -> SAEnum:
    return enum_column_type(Phase, name="phase", length=16)


def _json_list_column() -> Column[Any]:
    # NOT NULL with '[]' for the rows stored before the column existed (revision 0009): no data rewrite.
    return Column(JSON, nullable=False, server_default="[]")


def _run_fk(ondelete: str) -> Any:
    return ForeignKey("runs.id", ondelete=ondelete)


class Run(SQLModel, table=True):
    """One experiment: the plan, where and how it ran, its lifecycle, summary metrics and annotations."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_status", "status"),
        Index("ix_runs_created_at", "created_at"),
        Index("ix_runs_service", "service"),
        Index("ix_runs_service_api", "service", "api"),
        Index("ix_runs_fault_type", "fault_type"),
        Index("ix_runs_apply_key", "apply_key"),
        Index("ix_runs_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_runs_verdict", "verdict"),
        Index("ix_runs_campaign_id_trial_number", "campaign_id", "trial_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    owner: str = Field(default="", sa_column=Column(String(255), nullable=False))
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_column=Column(_run_status_type(), nullable=False))
    service: str = Field(default="", sa_column=Column(String(255), nullable=False))
    api: str = Field(default="", sa_column=Column(String(1024), nullable=False))
    fault_type: FaultType | None = Field(default=None, sa_column=Column(_fault_type_type(), nullable=True))
    percentage: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    duration_seconds: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    executor_url: str = Field(default="", sa_column=Column(String(1024), nullable=False))
    api_mode: ApiMode = Field(default=ApiMode.EXTENDED, sa_column=Column(_api_mode_type(), nullable=False))
    apply_key: str = Field(default="", sa_column=Column(String(255), nullable=False))
    fault_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    request_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    affected_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    error_rate: float | None = None
    success_rate: float | None = None
    avg_latency_ms: float | None = None
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None
    max_latency_ms: float | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error_class: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Added by revision 0002.
    guardrail: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    stop_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Added by revision 0007: who launched the run from a dashboard with a login (the OIDC user's email or
    # name, or "password"); None without a login, or from the CLI and the library.
    launched_by: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    # Added by revision 0009 (experiments, client.hypothesis): the verdict on the hypothesis (None without
    # one; `guardrail_stop` for a run its guardrail stopped), the severity score (None without a baseline),
    # how long after the fault the entry point was back inside the hypothesis, the phases' measures
    # (`PhaseSummary.model_dump(mode="json")` each, in time order; error_rate a fraction), the broken
    # tolerances (`Deviation` dumps) and what the fault did on its own target (`TargetHits`, or None). The
    # summary columns above stay the fault phase's measures.
    verdict: ExperimentVerdict | None = Field(default=None, sa_column=Column(_verdict_type(), nullable=True))
    severity_score: float | None = None
    time_to_recovery_s: float | None = None
    phases: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json_list_column())
    deviations: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json_list_column())
    target: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    # Added by revision 0010: the campaign this run is a trial of (`storage.campaigns.Campaign`) and its
    # Optuna trial number; both None for a run of no campaign.
    campaign_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("campaigns.id", ondelete="SET NULL", name="fk_runs_campaign_id_campaigns"),
            nullable=True,
        ),
    )
    trial_number: int | None = None

    @property
    def error_kind(self) -> ErrorKind | None:
        """Return the kind of the error the run ended with (by its class name), None without one."""
        return error_kind_named(self.error_class)


class TimelinePoint(SQLModel, table=True):
    """One per-second bucket of a run's time series, on the run's time axis, with its phase."""

    __tablename__ = "timeline_points"
    __table_args__ = (Index("ix_timeline_points_run_id_t_s", "run_id", "t_s"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, _run_fk("CASCADE"), nullable=False))
    t_s: float
    # Added by revision 0009; points stored before it are the fault phase's.
    phase: Phase = Field(
        default=Phase.FAULT, sa_column=Column(_phase_type(), nullable=False, server_default=Phase.FAULT.value)
    )
    request_count: int | None = None
    affected_count: int | None = None
    error_count: int | None = None
    avg_latency_ms: float | None = None
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None


class LatencySample(SQLModel, table=True):
    """A packed chunk of a run's per-request samples (little-endian column arrays, `SAMPLE_DTYPE` fields).

    Packing keeps a 100,000-request run to a couple of rows, so recording and loading stay fast at
    millions of samples; read them with `get_run`, which returns one numpy structured array per run.
    `phase` (revision 0009) holds one `PHASE_CODES` byte per sample; NULL when every sample of the chunk is
    a fault-phase one, as in every chunk stored before it.
    """

    __tablename__ = "latency_samples"
    __table_args__ = (Index("ux_latency_samples_run_id_chunk", "run_id", "chunk_index", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, _run_fk("CASCADE"), nullable=False))
    chunk_index: int
    sample_count: int
    offset_ms: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    latency_ms: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status_code: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    affected: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    phase: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ClientEventRow(SQLModel, table=True):
    """One event of the resilient client: an attempt, a scheduled retry, a success or a failure."""

    __tablename__ = "client_events"
    __table_args__ = (
        Index("ix_client_events_timestamp", "timestamp"),
        Index("ix_client_events_executor_url_timestamp", "executor_url", "timestamp"),
        Index("ix_client_events_run_id", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    timestamp: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    executor_url: str | None = Field(default=None, sa_column=Column(String(1024), nullable=True))
    operation: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    attempt: int | None = None
    delay_sec: float | None = None
    error_class: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    status_code: int | None = None
    latency_ms: float | None = None
    apply_key: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    run_id: int | None = Field(default=None, sa_column=Column(Integer, _run_fk("SET NULL"), nullable=True))
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    @property
    def error_kind(self) -> ErrorKind | None:
        """Return the kind of the event's error (by its class name), None without one."""
        return error_kind_named(self.error_class)


class BreakerTransition(SQLModel, table=True):
    """One circuit-breaker state change of the client talking to `executor_url`."""

    __tablename__ = "breaker_transitions"
    __table_args__ = (Index("ix_breaker_transitions_executor_url_timestamp", "executor_url", "timestamp"),)

    id: int | None = Field(default=None, primary_key=True)
    timestamp: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    executor_url: str = Field(sa_column=Column(String(1024), nullable=False))
    old_state: BreakerState = Field(sa_column=Column(_breaker_state_type(), nullable=False))
    new_state: BreakerState = Field(sa_column=Column(_breaker_state_type(), nullable=False))


class HealthSample(SQLModel, table=True):
    """One health check of the Executor at `executor_url`, with the breaker state at that moment."""

    __tablename__ = "health_samples"
    __table_args__ = (Index("ix_health_samples_executor_url_timestamp", "executor_url", "timestamp"),)

    id: int | None = Field(default=None, primary_key=True)
    timestamp: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    executor_url: str = Field(sa_column=Column(String(1024), nullable=False))
    healthy: bool
    latency_ms: float | None = None
    breaker_state: BreakerState = Field(sa_column=Column(_breaker_state_type(), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Added by revision 0008: a row stands for `sample_count` samples in one state, from `first_at` (None:
    # one sample) to `timestamp`; `latency_ms` is their mean.
    sample_count: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    first_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    latency_max_ms: float | None = None


class CallAggregateRow(SQLModel, table=True):
    """Routine client calls of one operation and kind in one interval: a count and latency, not a row each."""

    __tablename__ = "client_call_aggregates"
    __table_args__ = (
        Index("ix_client_call_aggregates_interval_start", "interval_start"),
        Index("ix_client_call_aggregates_executor_url_interval_start", "executor_url", "interval_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interval_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    interval_sec: int
    executor_url: str = Field(sa_column=Column(String(1024), nullable=False))
    operation: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    count: int
    latency_count: int = 0  # events of the count that had a latency
    latency_sum_ms: float = 0.0
    latency_max_ms: float | None = None


@dataclass(frozen=True)
class RunDetail:
    """A run with its timeline and its per-request samples (a numpy array of `SAMPLE_DTYPE`).

    Example: ``detail.samples["latency_ms"]`` is a float64 array, one value per request;
    ``storage.samples_in_phase(detail.samples, Phase.BASELINE)`` those of the baseline.
    """

    run: Run
    timeline: list[TimelinePoint]
    samples: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=SAMPLE_DTYPE))


@dataclass(frozen=True)
class EventCount:
    """How many client events of one kind fell in the bucket starting at `bucket_start` (aware UTC)."""

    bucket_start: datetime
    kind: str
    count: int
