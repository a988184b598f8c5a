"""The worker side of a run without threads or an Executor: halts, guardrail checks and what is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import (
    Deviation,
    ExecutorCancelledError,
    ExecutorMetrics,
    ExperimentVerdict,
    FaultPlan,
    FaultType,
    Phase,
    PhaseSummary,
    RawObservation,
    RequestSample,
    TargetHits,
    TimelinePoint,
)
from services.guardrail import Guardrail
from services.heartbeat import Heartbeat
from services.run_recording import ActiveRun, RunRecorder, run_warning
from storage import RunStatus

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PLAN = FaultPlan(
    service="payment", api="/pay", fault_type=FaultType.ABORT, abort_http_status=503, percentage=100
)


class _ScriptedClient:
    """Reports progress observations (stopping at a cancel), then ends as the run's cancel event says:
    halted with the last partial seen, else with `final` (the last progress observation by default)."""

    def __init__(self, *progress: RawObservation, final: RawObservation | None = None) -> None:
        self.progress = progress
        self.final = final if final is not None else progress[-1]

    def apply_and_observe(self, plan: FaultPlan, timeout_sec: float | None = None, **kwargs: Any) -> Any:
        for partial in self.progress:
            kwargs["on_progress"](partial)
            if kwargs["cancel"].is_set():
                raise ExecutorCancelledError("apply cancelled", partial=partial)
        return self.final


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


def _summary(phase: Phase, start_s: int, end_s: int, samples: int) -> PhaseSummary:
    return PhaseSummary(
        phase=phase, start_offset_ms=start_s * 1000.0, end_offset_ms=end_s * 1000.0, sample_count=samples
    )


def _phased(*phases: PhaseSummary, error_rate: float, **fields: Any) -> RawObservation:
    """An observation in `phases[-1]` whose metrics (those of the phase in progress) have `error_rate`."""
    samples = [
        RequestSample(
            p.start_offset_ms + i, 5.0, 503 if i < p.sample_count * error_rate else 200, False, p.phase
        )
        for p in phases
        for i in range(p.sample_count)
    ]
    points = [
        TimelinePoint(t_s=p.start_offset_ms / 1000.0, phase=p.phase, request_count=p.sample_count)
        for p in phases
    ]
    return _observation(requests=phases[-1].sample_count, error_rate=error_rate).model_copy(
        update={"phases": list(phases), "samples": samples, "timeline": points, **fields}
    )


BASELINE = _summary(Phase.BASELINE, 0, 2, 40)
FAULT = _summary(Phase.FAULT, 2, 4, 40)
RECOVERY = _summary(Phase.RECOVERY, 4, 6, 20)


def test_the_guardrail_judges_the_fault_phase_only(engine: Engine) -> None:
    active = _active(engine, Guardrail(max_error_rate=0.5, min_requests=10))
    client = _ScriptedClient(
        _phased(
            BASELINE, error_rate=0.9
        ),  # a failing baseline is the hypothesis's business, not the guardrail's
        _phased(BASELINE, FAULT, error_rate=0.1),
        _phased(BASELINE, FAULT, RECOVERY, error_rate=0.9),  # nor is a recovery that has not come yet
        final=_phased(BASELINE, FAULT, RECOVERY, error_rate=0.1, verdict=ExperimentVerdict.NOT_RECOVERED),
    )
    RunRecorder(engine=engine, client=client, now=lambda: T0).execute(active, None, None)  # type: ignore[arg-type]
    run = _stored(engine, active.run_id)
    assert (run.status, run.stop_reason, run.verdict) == (
        RunStatus.COMPLETED,
        None,
        ExperimentVerdict.NOT_RECOVERED,
    )


def test_a_guardrail_stop_in_the_fault_phase_is_its_verdict_and_keeps_the_phases_seen(engine: Engine) -> None:
    active = _active(engine, Guardrail(max_error_rate=0.5, min_requests=10))
    client = _ScriptedClient(_phased(BASELINE, error_rate=0.0), _phased(BASELINE, FAULT, error_rate=0.9))
    recorder = RunRecorder(engine=engine, client=client, now=lambda: T0)  # type: ignore[arg-type]
    recorder.execute(active, None, None)
    run = _stored(engine, active.run_id)
    assert (run.status, run.verdict) == (RunStatus.GUARDRAIL_STOP, ExperimentVerdict.GUARDRAIL_STOP)
    assert [p["phase"] for p in run.phases] == ["baseline", "fault"]
    outcome = recorder.outcome(active.run_id)
    assert outcome is not None and outcome.verdict is ExperimentVerdict.GUARDRAIL_STOP
    assert outcome.sample_count == sum(p["sample_count"] for p in run.phases) == 80


def test_progress_outside_the_fault_writes_the_phases_and_timeline_but_not_the_summary(
    engine: Engine,
) -> None:
    active = _active(engine, None)
    recorder = RunRecorder(engine=engine, client=None, now=lambda: T0, progress_interval_sec=0.0)  # type: ignore[arg-type]
    recorder.on_progress(active, _phased(BASELINE, error_rate=0.5))
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=active.run_id)
    assert detail is not None
    assert (detail.run.request_count, detail.run.error_rate) == (0, None)
    assert [p["phase"] for p in detail.run.phases] == ["baseline"]
    assert [point.phase for point in detail.timeline] == [Phase.BASELINE]
    recorder.on_progress(active, _phased(BASELINE, FAULT, error_rate=0.25))
    assert (_stored(engine, active.run_id).request_count, _stored(engine, active.run_id).error_rate) == (
        40,
        0.25,
    )
    recorder.on_progress(active, _phased(BASELINE, FAULT, RECOVERY, error_rate=0.0))
    run = _stored(engine, active.run_id)
    assert (run.request_count, run.error_rate) == (40, 0.25)  # still the fault phase's
    assert [p["phase"] for p in run.phases] == ["baseline", "fault", "recovery"]


def test_a_finished_experiment_stores_its_verdict_score_phases_and_phased_samples(engine: Engine) -> None:
    deviation = Deviation(phase=Phase.FAULT, measure="p99_latency_ms", observed=900.0, limit=300.0)
    target = TargetHits(service="payment", api="/pay", request_count=90, affected_count=45)
    final = _phased(
        BASELINE, FAULT, RECOVERY, error_rate=0.25, verdict=ExperimentVerdict.DEVIATED, severity_score=42.5,
        time_to_recovery_s=1.5, deviations=[deviation], target=target,
    )  # fmt: skip
    active = _active(engine, None)
    recorder = RunRecorder(engine=engine, client=_ScriptedClient(final), now=lambda: T0)  # type: ignore[arg-type]
    recorder.execute(active, None, None)
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=active.run_id)
    assert detail is not None
    run = detail.run
    assert (run.verdict, run.severity_score, run.time_to_recovery_s) == (
        ExperimentVerdict.DEVIATED,
        42.5,
        1.5,
    )
    assert run.phases == [p.model_dump(mode="json") for p in (BASELINE, FAULT, RECOVERY)]
    assert run.deviations == [deviation.model_dump(mode="json")] and run.target == target.model_dump()
    assert len(detail.samples) == sum(p.sample_count for p in (BASELINE, FAULT, RECOVERY)) == 100
    assert storage.sample_phases(detail.samples) == [s.phase for s in final.samples]
    assert [point.phase for point in detail.timeline] == [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
    outcome = recorder.outcome(active.run_id)
    assert outcome is not None and outcome.verdict is ExperimentVerdict.DEVIATED
    assert {key: getattr(run, key) for key in outcome.experiment} == dict(outcome.experiment)
