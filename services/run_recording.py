"""The worker side of a run: execute it through the client and record its progress, outcome and lease.

`Runner` (services/runner.py) owns the threads and the bookkeeping of which runs are active; this module
does what happens on a run's own worker thread (`services.heartbeat` renews the leases of the active runs on
another). A run's
writes go through the storage spool (services/spool.py): they never wait on the database mid-run and never
raise into the run, so a storage outage cannot stop a run from ending by its own rules, and its outcome is
kept in memory (`RunRecorder.outcome`) whether or not storage has it yet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import Engine

import storage
from client import (
    ApiMode,
    ExecutorCancelledError,
    ExecutorClientError,
    ExperimentVerdict,
    FaultPlan,
    HttpExecutorClient,
    Phase,
    RawObservation,
)
from services.guardrail import Guardrail
from services.observations import (
    experiment_of,
    p99_of,
    phase_of,
    phases_of,
    request_count_of,
    samples_of,
    summary_of,
    timeline_of,
)
from services.pending_writes import fault_id_write, finish_write, progress_write, start_write
from services.spool import Spool
from storage import RunStatus
from storage.types import json_safe

logger = logging.getLogger(__name__)

# The statuses of a run that was stopped before its end; they keep the reason it was stopped.
STOPPED_STATUSES = frozenset({RunStatus.CANCELLED, RunStatus.GUARDRAIL_STOP})

# A completed run keeps its observation's warnings in `error` after this prefix (no column of their own).
WARNING_PREFIX = "warning: "

# How long a run's end waits for storage to take its outcome before the run is done anyway (it stays queued).
FINISH_STORE_WAIT_SEC = 5.0
_KEPT_OUTCOMES = 256


def run_warning(run: storage.Run) -> str | None:
    """Return the warnings recorded on a completed run (what makes its numbers doubtful), or None."""
    if (
        RunStatus(run.status) is not RunStatus.COMPLETED
        or not run.error
        or not run.error.startswith(WARNING_PREFIX)
    ):
        return None
    return run.error.removeprefix(WARNING_PREFIX)


@dataclass
class ActiveRun:
    """A run of this process from submission until its worker has recorded the outcome."""

    run_id: int
    plan: FaultPlan
    apply_key: str
    guardrail: Guardrail | None
    api_mode: ApiMode | None = None  # None: the client's configured mode
    cancel: threading.Event = field(default_factory=threading.Event)
    stop_reason: str | None = None
    stop_status: RunStatus = RunStatus.CANCELLED
    fault_id: str | None = None
    last_progress_write: float = float("-inf")
    started_at: datetime | None = None  # when its worker started it (storage may not have it yet)
    done: threading.Event = field(default_factory=threading.Event)

    def halt(self, reason: str, *, status: RunStatus = RunStatus.CANCELLED) -> None:
        """Ask the worker to stop the run; the first reason (and status) wins."""
        if self.stop_reason is None:  # a guardrail's stop stays one when the user halts too
            self.stop_reason = reason
            self.stop_status = status
        self.cancel.set()


@dataclass(frozen=True)
class RunOutcome:
    """How a run of this process ended, as its worker saw it (storage may not have it yet)."""

    run_id: int
    status: RunStatus
    summary: Mapping[str, Any]  # the measures of `services.observations.summary_of`; empty without any
    error: str | None
    error_class: str | None
    stop_reason: str | None
    fault_id: str | None
    sample_count: int
    finished_at: datetime
    started_at: datetime | None = None
    timeline: tuple[Mapping[str, Any], ...] = ()  # the points of `services.observations.timeline_of`
    # The experiment's columns as storage keeps them (`storage.runs.EXPERIMENT_KEYS`: verdict, severity
    # score, recovery time, phases, deviations, target); only the verdict (None) without an observation.
    experiment: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def request_count(self) -> int | None:
        count = self.summary.get("request_count")
        return int(count) if count is not None else None

    @property
    def verdict(self) -> ExperimentVerdict | None:
        """The run's verdict: the observation's, `guardrail_stop` for a guardrail stop, None without one."""
        value = self.experiment.get("verdict")
        return None if value is None else ExperimentVerdict(value)


class RunRecorder:
    """Execute one run through the shared client on the calling thread and hand what happens to the spool.

    Without a `spool` of its own it stores each write at once on the calling thread (never raising).

    Example::

        recorder = RunRecorder(engine=engine, client=client, now=utc_now)
        recorder.execute(active, timeout_sec=None, start_time=None)
        recorder.outcome(active.run_id)
    """

    def __init__(
        self,
        *,
        engine: Engine,
        client: HttpExecutorClient,
        now: Callable[[], datetime],
        progress_interval_sec: float = 1.0,
        spool: Spool | None = None,
        finish_store_wait_sec: float = FINISH_STORE_WAIT_SEC,
    ) -> None:
        self.engine = engine
        self.client = client
        self.spool = spool if spool is not None else Spool(engine=engine, now=now)
        self._now = now
        self._progress_interval_sec = progress_interval_sec
        self._finish_store_wait_sec = finish_store_wait_sec
        self._outcomes: OrderedDict[int, RunOutcome] = OrderedDict()
        self._outcomes_lock = threading.Lock()

    def outcome(self, run_id: int) -> RunOutcome | None:
        """Return how run `run_id` ended in this process (one of the latest few hundred), or None."""
        with self._outcomes_lock:
            return self._outcomes.get(run_id)

    def execute(self, active: ActiveRun, timeout_sec: float | None, start_time: datetime | None) -> None:
        """Run `active` to its end and record the outcome, which an unexpected error turns into `failed`."""
        try:
            self._execute(active, timeout_sec, start_time)
        except Exception:
            logger.exception("run %s failed while recording", active.run_id)
            self.finish(active, RunStatus.FAILED, None, error="internal error while recording the run")

    def _execute(self, active: ActiveRun, timeout_sec: float | None, start_time: datetime | None) -> None:
        if active.cancel.is_set():
            self.finish(active, active.stop_status, None)
            return
        active.started_at = self._now()
        self.spool.submit(start_write(active.run_id, at=active.started_at, fault_id=active.fault_id))
        try:
            observation = self.client.apply_and_observe(
                active.plan,
                timeout_sec,
                start_time=start_time,
                apply_key=active.apply_key,
                api_mode=active.api_mode,
                on_progress=lambda obs: self.on_progress(active, obs),
                cancel=active.cancel,
            )
        except ExecutorCancelledError as exc:  # halted here, by its guardrail, or on the Executor
            self.finish(active, active.stop_status, exc.partial)
        except ExecutorClientError as exc:
            self.finish(active, RunStatus.FAILED, None, error=str(exc), error_class=type(exc).__name__)
        else:
            warning = WARNING_PREFIX + "; ".join(observation.warnings) if observation.warnings else None
            self.finish(active, RunStatus.COMPLETED, observation, error=warning)

    def on_progress(self, active: ActiveRun, observation: RawObservation) -> None:
        """Record the fault id, check the guardrail, and write progress at most every interval.

        A partial's `metrics` are those of the phase in progress (`phases[-1]`): the guardrail judges the
        fault phase's only, and only they become the run's summary so far; the timeline and the phases so
        far are written in every phase.
        """
        if observation.apply_id and active.fault_id is None:
            active.fault_id = observation.apply_id
            self.spool.submit(fault_id_write(active.run_id, observation.apply_id))
        in_fault = phase_of(observation) is Phase.FAULT
        if in_fault and active.guardrail is not None and active.stop_reason is None:
            reason = active.guardrail.violation(
                request_count=request_count_of(observation),
                error_rate=observation.metrics.error_rate if observation.metrics else observation.error_rate,
                p99_latency_ms=p99_of(observation),
            )
            if reason is not None:
                active.halt(reason, status=RunStatus.GUARDRAIL_STOP)
        now = time.monotonic()
        if now - active.last_progress_write >= self._progress_interval_sec:
            active.last_progress_write = now
            self.spool.submit(
                progress_write(
                    active.run_id,
                    summary=summary_of(observation) if in_fault else {},
                    timeline=timeline_of(observation),
                    experiment={"phases": phases_of(observation)},
                )
            )

    def finish(
        self,
        active: ActiveRun,
        status: RunStatus,
        observation: RawObservation | None,
        *,
        error: str | None = None,
        error_class: str | None = None,
    ) -> None:
        """Keep the outcome of the run (`status`, what `observation` measured) and hand it to storage.

        A guardrail stop's verdict is `guardrail_stop`, whatever the hypothesis. Waits up to
        `finish_store_wait_sec` for storage to take it; what storage refuses stays queued.
        """
        if observation is not None and observation.apply_id and active.fault_id is None:
            active.fault_id = observation.apply_id
        summary = summary_of(observation) if observation is not None else None
        samples = samples_of(observation) if observation is not None else []
        timeline = timeline_of(observation) if observation is not None else []
        experiment = experiment_of(observation, guardrail_stop=RunStatus(status) is RunStatus.GUARDRAIL_STOP)
        outcome = RunOutcome(
            run_id=active.run_id,
            status=RunStatus(status),
            summary=MappingProxyType(dict(summary or {})),
            error=error,
            error_class=error_class,
            stop_reason=active.stop_reason if status in STOPPED_STATUSES else None,
            fault_id=active.fault_id,
            sample_count=len(samples),
            finished_at=self._now(),
            started_at=active.started_at,
            timeline=tuple(timeline),
            experiment=MappingProxyType(json_safe(experiment)),
        )
        with self._outcomes_lock:
            self._outcomes[active.run_id] = outcome
            while len(self._outcomes) > _KEPT_OUTCOMES:
                self._outcomes.popitem(last=False)
        self.spool.submit(
            finish_write(
                active.run_id,
                status=outcome.status,
                at=outcome.finished_at,
                summary=summary,
                timeline=timeline,
                samples=samples,
                error=error,
                error_class=error_class,
                stop_reason=outcome.stop_reason,
                fault_id=active.fault_id,
                experiment=experiment,
            )
        )
        self.spool.wait_settled(active.run_id, self._finish_store_wait_sec)
