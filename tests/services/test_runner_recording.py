"""The worker side of a run without threads or an Executor: halts, guardrail checks and what is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ExecutorCancelledError, ExecutorMetrics, FaultPlan, FaultType, RawObservation
from services.guardrail import Guardrail
from services.heartbeat import Heartbeat
from services.run_recording import ActiveRun, RunRecorder, run_warning
from storage import RunStatus

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PLAN = FaultPlan(
    service="payment", api="/pay", fault_type=FaultType.ABORT, abort_http_status=503, percentage=100
)


class _ScriptedClient:
    """Reports one progress observation, then ends as the run's cancel event says."""

    def __init__(self, progress: RawObservation) -> None:
        self.progress = progress

    def apply_and_observe(self, plan: FaultPlan, timeout_sec: float | None = None, **kwargs: Any) -> Any:
        kwargs["on_progress"](self.progress)
        if kwargs["cancel"].is_set():
            raise ExecutorCancelledError("apply cancelled", partial=self.progress)
        return self.progress


def _observation(*, requests: int, error_rate: float) -> RawObservation:
    metrics = ExecutorMetrics(request_count=requests, error_rate=error_rate, success_rate=1 - error_rate)
    return RawObservation(
        status_code=200, latency_ms=5.0, error_rate=error_rate, apply_id="fault-1", metrics=metrics
    )


@pytest.fixture
def engine() -> Iterator[Engine]:
    made = storage.make_engine("sqlite://")
    storage.init_db(made)
    yield made
    made.dispose()


def _active(engine: Engine, guardrail: Guardrail | None) -> ActiveRun:
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=PLAN.model_dump(mode="json"), executor_url="http://127.0.0.1:1",
            api_mode="extended", apply_key="k1", owner="test:1:x", now=T0,
        )  # fmt: skip
    assert run.id is not None
    return ActiveRun(run_id=run.id, plan=PLAN, apply_key="k1", guardrail=guardrail)


def _stored(engine: Engine, run_id: int) -> storage.Run:
    with Session(engine) as session:
        run = session.get(storage.Run, run_id)
    assert run is not None
    return run


def test_the_first_halt_decides_the_status_and_the_reason() -> None:
    active = ActiveRun(run_id=1, plan=PLAN, apply_key="k", guardrail=None)
    active.halt("guardrail: error rate 90.0% exceeded 50.0%", status=RunStatus.GUARDRAIL_STOP)
    active.halt("halted by user")
    assert active.cancel.is_set()
    assert (active.stop_status, active.stop_reason) == (
        RunStatus.GUARDRAIL_STOP,
        "guardrail: error rate 90.0% exceeded 50.0%",
    )


def test_a_crossed_guardrail_records_a_guardrail_stop_with_its_reason(engine: Engine) -> None:
    active = _active(engine, Guardrail(max_error_rate=0.5, min_requests=10))
    client = _ScriptedClient(_observation(requests=40, error_rate=0.9))
    RunRecorder(engine=engine, client=client, now=lambda: T0).execute(active, None, None)  # type: ignore[arg-type]
    run = _stored(engine, active.run_id)
    assert run.status is RunStatus.GUARDRAIL_STOP
    assert run.stop_reason == "guardrail: error rate 90.0% exceeded 50.0% after 40 requests"
    assert (run.request_count, run.fault_id) == (40, "fault-1")


def test_a_run_within_its_guardrail_completes_without_a_stop_reason(engine: Engine) -> None:
    active = _active(engine, Guardrail(max_error_rate=0.5, min_requests=10))
    client = _ScriptedClient(_observation(requests=40, error_rate=0.1))
    RunRecorder(engine=engine, client=client, now=lambda: T0).execute(active, None, None)  # type: ignore[arg-type]
    run = _stored(engine, active.run_id)
    assert (run.status, run.stop_reason) == (RunStatus.COMPLETED, None)


def test_a_run_halted_before_it_started_is_cancelled_with_the_reason(engine: Engine) -> None:
    active = _active(engine, None)
    active.halt("console shut down")
    client = _ScriptedClient(_observation(requests=0, error_rate=0.0))
    RunRecorder(engine=engine, client=client, now=lambda: T0).execute(active, None, None)  # type: ignore[arg-type]
    run = _stored(engine, active.run_id)
    assert (run.status, run.stop_reason, run.started_at) == (RunStatus.CANCELLED, "console shut down", None)


def test_heartbeat_renews_only_the_runs_it_is_given(engine: Engine) -> None:
    first, second = _active(engine, None), _active(engine, None)
    beat_at = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    heartbeat = Heartbeat(
        engine=engine, owner="test:1:x", run_ids=lambda: [first.run_id], interval_sec=60, now=lambda: beat_at
    )
    heartbeat.beat()
    assert _stored(engine, first.run_id).heartbeat_at == beat_at
    assert _stored(engine, second.run_id).heartbeat_at == T0


def test_a_completed_run_keeps_the_observations_warnings_as_a_warning(engine: Engine) -> None:
    untouched = "the target answered errors for requests no fault touched (12 of 40)"
    observation = _observation(requests=40, error_rate=0.3).model_copy(
        update={"warnings": [untouched, "no samples"]}
    )
    active = _active(engine, None)
    RunRecorder(engine=engine, client=_ScriptedClient(observation), now=lambda: T0).execute(
        active, None, None
    )  # type: ignore[arg-type]
    with Session(engine) as session:
        run = session.get(storage.Run, active.run_id)
    assert run is not None and run.status == RunStatus.COMPLETED
    assert run.error == f"warning: {untouched}; no samples"
    assert run_warning(run) == f"{untouched}; no samples"
    assert run.error_class is None


def test_a_completed_run_without_warnings_has_no_error(engine: Engine) -> None:
    active = _active(engine, None)
    client = _ScriptedClient(_observation(requests=40, error_rate=0.0))
    RunRecorder(engine=engine, client=client, now=lambda: T0).execute(active, None, None)  # type: ignore[arg-type]
    with Session(engine) as session:
        run = session.get(storage.Run, active.run_id)
    assert run is not None and run.error is None and run_warning(run) is None
