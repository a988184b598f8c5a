"""What History's verdict filter and the run detail page read: runs by verdict, and one run with its phased
samples, timeline, client events and breaker transitions inside its time window."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

import storage
from client import BreakerState
from client.hypothesis import ExperimentVerdict, Phase
from storage import RunStatus
from tests.storage.conftest import T0, new_run

URL = "http://127.0.0.1:8080"  # new_run's Executor
OTHER = "http://127.0.0.1:9090"


def _finished(session: Session, verdict: ExperimentVerdict | None, hour: int) -> int:
    run_id = new_run(session, now=T0 + timedelta(hours=hour))
    storage.finish_run(
        session,
        run_id=run_id,
        status=RunStatus.COMPLETED,
        experiment={"verdict": verdict},
        now=T0 + timedelta(hours=hour, seconds=30),
    )
    return run_id


def test_runs_filter_by_one_or_more_verdicts_and_count_alike(session: Session) -> None:
    held = _finished(session, ExperimentVerdict.HELD, 0)
    deviated = _finished(session, ExperimentVerdict.DEVIATED, 1)
    not_recovered = _finished(session, ExperimentVerdict.NOT_RECOVERED, 2)
    without = _finished(session, None, 3)
    stopped = _finished(session, ExperimentVerdict.GUARDRAIL_STOP, 4)

    def ids(verdict: object) -> list[int | None]:
        return [run.id for run in storage.list_runs(session, verdict=verdict)]  # type: ignore[arg-type]

    assert ids("deviated") == [deviated]
    assert ids([ExperimentVerdict.NOT_RECOVERED, "held"]) == [not_recovered, held]
    assert ids(ExperimentVerdict.GUARDRAIL_STOP) == [stopped]
    assert ids(None) == ids([]) == [stopped, without, not_recovered, deviated, held]
    assert storage.count_runs(session, verdict=["held", "deviated", "not_recovered"]) == 3
    assert storage.count_runs(session, verdict="baseline_failed") == 0
    assert [run.id for run in storage.list_runs(session, verdict="held", status=RunStatus.FAILED)] == []
    assert [run.id for run in storage.list_runs(session, search="not_rec")] == [not_recovered]


def test_one_run_comes_with_its_phases_and_the_client_activity_of_its_window(session: Session) -> None:
    before = new_run(session, now=T0 - timedelta(hours=1))
    run_id = new_run(session, now=T0)
    storage.mark_running(session, run_id=run_id, now=T0 + timedelta(seconds=1))
    phases = ("baseline", "fault", "recovery")
    storage.finish_run(
        session,
        run_id=run_id,
        status=RunStatus.COMPLETED,
        timeline=[{"t_s": float(second), "phase": phase} for second, phase in enumerate(phases)],
        samples=[(10.0, 5.0, 200, False, "baseline"), (1100.0, 90.0, 503, True, "fault"),
                 (2100.0, 6.0, 200, False, "recovery")],
        experiment={"verdict": "deviated", "phases": [{"phase": phase} for phase in phases]},
        now=T0 + timedelta(seconds=40),
    )  # fmt: skip

    def at(second: float) -> object:
        return T0 + timedelta(seconds=second)

    storage.record_client_events(
        session,
        events=[
            {"timestamp": at(-5), "kind": "attempt", "executor_url": URL},  # before the run
            {"timestamp": at(2), "kind": "retry_scheduled", "executor_url": URL, "run_id": run_id},
            {"timestamp": at(3), "kind": "failure", "executor_url": URL},  # another caller, same Executor
            {"timestamp": at(4), "kind": "attempt", "executor_url": OTHER},  # another Executor
            {"timestamp": at(40), "kind": "success", "executor_url": URL, "operation": "delete"},  # its end
            {"timestamp": at(45), "kind": "success", "executor_url": URL},  # after it
            {"timestamp": at(60), "kind": "attempt", "executor_url": OTHER, "run_id": run_id},  # linked to it
        ],
    )
    for second, old, new in ((-30, "CLOSED", "OPEN"), (5, "OPEN", "HALF_OPEN"), (6, "HALF_OPEN", "CLOSED")):
        storage.record_breaker_transition(
            session, timestamp=at(second), old_state=old, new_state=new, executor_url=URL
        )
    storage.record_breaker_transition(
        session, timestamp=at(7), old_state="CLOSED", new_state="OPEN", executor_url=OTHER
    )

    found = storage.get_run_with_events(session, run_id=run_id)
    assert found is not None
    detail = found.detail
    assert detail.run.id == run_id and detail.run.verdict is ExperimentVerdict.DEVIATED
    assert [point.phase for point in detail.timeline] == [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
    assert storage.sample_phases(detail.samples) == [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
    assert storage.samples_in_phase(detail.samples, Phase.FAULT)["latency_ms"].tolist() == [90.0]
    assert (found.since, found.until) == (T0, T0 + timedelta(seconds=40, milliseconds=1))
    assert [(event.kind, event.timestamp) for event in found.client_events] == [
        ("retry_scheduled", at(2)),
        ("failure", at(3)),
        ("success", at(40)),
        ("attempt", at(60)),
    ]
    assert [(t.old_state, t.new_state) for t in found.breaker_transitions] == [
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert found.breaker_state_at_start is BreakerState.OPEN
    assert storage.get_run_with_events(session, run_id=run_id + 100) is None
    earlier = storage.get_run_with_events(session, run_id=before, now=T0 - timedelta(minutes=59))
    assert earlier is not None and earlier.breaker_state_at_start is None  # queued: its window ends now
    assert earlier.until == T0 - timedelta(minutes=59) + timedelta(milliseconds=1)
    assert earlier.client_events == [] and earlier.breaker_transitions == []
