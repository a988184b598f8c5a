"""The run lifecycle: create, start, heartbeat, progress, finish, interrupt, annotate, delete."""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import storage
from client import ApiMode, BreakerState, FaultType
from storage import LatencySample, RunStatus, TimelinePoint
from tests.storage.conftest import PLAN, T0, new_run


class _Fault(StrEnum):
    DELAY = "delay"


def test_create_run_records_a_queued_run_from_the_plan(session: Session) -> None:
    run = storage.create_run(
        session,
        plan={**PLAN, "fault_type": _Fault.DELAY, "start_time": T0},
        executor_url="http://127.0.0.1:8080",
        api_mode="policy",
        apply_key="key-1",
        owner="host:42:uuid",
        labels=("baseline", "canary"),
        notes="first try",
        guardrail={"max_error_rate": 0.2},
        now=T0,
    )
    assert run.id is not None
    assert run.status is RunStatus.QUEUED
    assert (run.service, run.api, run.fault_type, run.percentage, run.duration_seconds) == (
        "payment",
        "/api/v1/payment/process",
        "delay",
        50,
        30,
    )
    assert run.created_at == T0 and run.heartbeat_at == T0 and run.started_at is None
    assert run.plan["fault_config"] == {"delay_milliseconds": 250}
    assert run.plan["start_time"] == T0.isoformat()
    assert run.labels == ["baseline", "canary"] and run.notes == "first try"
    assert run.guardrail == {"max_error_rate": 0.2}
    assert (run.owner, run.apply_key, run.api_mode, run.executor_url) == (
        "host:42:uuid",
        "key-1",
        "policy",
        "http://127.0.0.1:8080",
    )


def test_mark_running_sets_start_heartbeat_and_fault_id(session: Session) -> None:
    run_id = new_run(session)
    storage.mark_running(session, run_id=run_id, now=T0 + timedelta(seconds=1), fault_id="auto-1")
    run = storage.get_run(session, run_id=run_id)
    assert run is not None
    assert run.run.status is RunStatus.RUNNING
    assert run.run.started_at == run.run.heartbeat_at == T0 + timedelta(seconds=1)
    assert run.run.fault_id == "auto-1"


def test_mark_running_leaves_a_cancelled_run_alone(session: Session) -> None:
    run_id = new_run(session)
    storage.finish_run(session, run_id=run_id, status=RunStatus.CANCELLED, now=T0)
    storage.mark_running(session, run_id=run_id, now=T0)
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and detail.run.status is RunStatus.CANCELLED and detail.run.started_at is None


def test_set_fault_id(session: Session) -> None:
    run_id = new_run(session)
    storage.set_fault_id(session, run_id=run_id, fault_id="fault-20261127-abc")
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and detail.run.fault_id == "fault-20261127-abc"


def test_heartbeat_renews_only_the_owners_active_runs(session: Session) -> None:
    mine = new_run(session, owner="me")
    theirs = new_run(session, owner="them")
    finished = new_run(session, owner="me")
    storage.finish_run(session, run_id=finished, status=RunStatus.COMPLETED, now=T0)
    later = T0 + timedelta(seconds=10)
    storage.heartbeat(session, run_ids=[mine, theirs, finished], owner="me", now=later)
    beats = {run.id: run.heartbeat_at for run in storage.list_runs(session)}
    assert beats == {mine: later, theirs: T0, finished: T0}


def test_update_progress_replaces_the_timeline_and_summary(session: Session) -> None:
    run_id = new_run(session)
    storage.update_progress(
        session, run_id=run_id, summary={"request_count": 5}, timeline=[{"t_s": 0, "request_count": 5}]
    )
    storage.update_progress(
        session,
        run_id=run_id,
        summary={"request_count": 9, "p99_latency_ms": 12.5},
        timeline=[{"t_s": 0, "request_count": 5}, {"t_s": 1, "request_count": 4, "p95_latency_ms": 7.0}],
    )
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    assert detail.run.request_count == 9 and detail.run.p99_latency_ms == 12.5
    assert [(p.t_s, p.request_count, p.p95_latency_ms, p.error_count) for p in detail.timeline] == [
        (0.0, 5, None, None),
        (1.0, 4, 7.0, None),
    ]


def test_finish_run_stores_everything_at_once(session: Session) -> None:
    run_id = new_run(session)
    storage.update_progress(session, run_id=run_id, summary={}, timeline=[{"t_s": 0, "request_count": 1}])
    summary = {
        "request_count": 3,
        "affected_count": 1,
        "error_rate": 1 / 3,
        "success_rate": 2 / 3,
        "avg_latency_ms": 20.0,
        "p50_latency_ms": 10.0,
        "p95_latency_ms": 40.0,
        "p99_latency_ms": 40.0,
        "max_latency_ms": 40.0,
    }
    end = T0 + timedelta(seconds=31)
    storage.finish_run(
        session,
        run_id=run_id,
        status=RunStatus.FAILED,
        summary=summary,
        samples=[(0.0, 10.0, 200, False), (5.0, 40.0, 503, True), (9.5, 10.0, 200, False)],
        error="boom",
        error_class="ExecutorTimeoutError",
        stop_reason=None,
        now=end,
    )
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    run = detail.run
    assert run.status is RunStatus.FAILED and run.finished_at == end
    assert {key: getattr(run, key) for key in summary} == summary
    assert (run.error, run.error_class) == ("boom", "ExecutorTimeoutError")
    assert [p.request_count for p in detail.timeline] == [1]  # kept: finish_run got no timeline
    assert detail.samples["latency_ms"].tolist() == [10.0, 40.0, 10.0]
    assert detail.samples["status_code"].tolist() == [200, 503, 200]
    assert detail.samples["affected"].tolist() == [False, True, False]
    assert detail.samples["offset_ms"].tolist() == [0.0, 5.0, 9.5]


def test_finish_run_accepts_a_structured_array_and_replaces_the_timeline(session: Session) -> None:
    run_id = new_run(session)
    storage.update_progress(session, run_id=run_id, summary={}, timeline=[{"t_s": 0, "request_count": 1}])
    samples = np.zeros(4, dtype=storage.SAMPLE_DTYPE)
    samples["latency_ms"] = [1, 2, 3, 4]
    storage.finish_run(
        session,
        run_id=run_id,
        status=RunStatus.CANCELLED,
        timeline=[{"t_s": 0, "request_count": 2}, {"t_s": 1, "request_count": 2}],
        samples=samples,
        stop_reason="guardrail: error rate 0.6 > 0.5",
    )
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    assert detail.run.stop_reason == "guardrail: error rate 0.6 > 0.5"
    assert [p.request_count for p in detail.timeline] == [2, 2]
    assert detail.samples["latency_ms"].tolist() == [1, 2, 3, 4]


def test_a_guardrail_stop_is_stored_and_filtered_apart_from_a_halt(session: Session) -> None:
    halted, guarded = new_run(session), new_run(session, service="orders")
    storage.finish_run(session, run_id=halted, status=RunStatus.CANCELLED, stop_reason="halted by user")
    storage.finish_run(
        session, run_id=guarded, status=RunStatus.GUARDRAIL_STOP, stop_reason="guardrail: error rate"
    )
    listed = storage.list_runs(session, status=RunStatus.GUARDRAIL_STOP)
    assert [run.id for run in listed] == [guarded]
    assert listed[0].status is RunStatus.GUARDRAIL_STOP
    assert [run.id for run in storage.list_runs(session, status=RunStatus.CANCELLED)] == [halted]
    assert storage.active_runs(session) == []


def test_record_samples_appends_across_chunks(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.samples.CHUNK_SIZE", 4)
    run_id = new_run(session)
    first = [(float(i), float(i) * 2, 200, i % 2 == 0) for i in range(10)]
    second = {
        "offset_ms": [10.0, 11.0],
        "latency_ms": [5.0, 6.0],
        "status_code": [500, 0],
        "affected": [1, 0],
    }
    assert storage.record_samples(session, run_id=run_id, samples=first) == 10
    assert storage.record_samples(session, run_id=run_id, samples=second) == 2
    assert storage.record_samples(session, run_id=run_id, samples=[]) == 0
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    assert detail.samples["offset_ms"].tolist() == [float(i) for i in range(12)]
    assert detail.samples["status_code"].tolist()[-2:] == [500, 0]
    assert detail.samples["affected"].tolist()[:4] == [True, False, True, False]


def test_mark_interrupted_never_touches_a_fresh_heartbeat(session: Session) -> None:
    run_id = new_run(session)
    storage.mark_running(session, run_id=run_id, now=T0)
    storage.heartbeat(session, run_ids=[run_id], owner="host:1:a", now=T0 + timedelta(seconds=50))
    cutoff = T0 + timedelta(seconds=30)  # the orphan scan saw the old heartbeat; the owner renewed since
    claimed = storage.mark_interrupted(
        session,
        run_id=run_id,
        reason="stale",
        now=T0 + timedelta(seconds=60),
        only_if_heartbeat_before=cutoff,
    )
    assert claimed is False
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and detail.run.status is RunStatus.RUNNING and detail.run.error is None


def test_mark_interrupted_claims_a_stale_run_once(session: Session) -> None:
    run_id = new_run(session)
    storage.mark_running(session, run_id=run_id, now=T0)
    cutoff = T0 + timedelta(seconds=30)
    end = T0 + timedelta(seconds=60)
    assert storage.mark_interrupted(
        session, run_id=run_id, reason="owner gone", now=end, only_if_heartbeat_before=cutoff
    )
    assert not storage.mark_interrupted(session, run_id=run_id, reason="again", now=end)
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    assert (detail.run.status, detail.run.error, detail.run.finished_at) == (
        RunStatus.INTERRUPTED,
        "owner gone",
        end,
    )


def test_mark_interrupted_without_condition_interrupts_an_active_run(session: Session) -> None:
    run_id = new_run(session)
    assert storage.mark_interrupted(session, run_id=run_id, reason="shutdown", now=T0)
    assert not storage.mark_interrupted(session, run_id=run_id + 1000, reason="missing", now=T0)


def test_update_run_meta_changes_only_what_is_given(session: Session) -> None:
    run_id = new_run(session)
    storage.update_run_meta(session, run_id=run_id, labels=["a", "b"])
    storage.update_run_meta(session, run_id=run_id, notes="looks good")
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and (detail.run.labels, detail.run.notes) == (["a", "b"], "looks good")


def test_delete_run_removes_children_and_unlinks_events(session: Session) -> None:
    run_id = new_run(session)
    keep_id = new_run(session, service="orders")
    storage.finish_run(
        session,
        run_id=run_id,
        status=RunStatus.COMPLETED,
        timeline=[{"t_s": 0}],
        samples=[(0.0, 1.0, 200, False)],
    )
    storage.record_client_events(session, events=[{"timestamp": T0, "kind": "attempt", "run_id": run_id}])
    assert storage.delete_run(session, run_id=run_id) is True
    assert storage.delete_run(session, run_id=run_id) is False
    assert storage.get_run(session, run_id=run_id) is None
    assert [run.id for run in storage.list_runs(session)] == [keep_id]
    events = storage.client_event_series(session, since=T0)
    assert [(event.kind, event.run_id) for event in events] == [("attempt", None)]
    assert session.exec(select(TimelinePoint)).all() == []
    assert session.exec(select(LatencySample)).all() == []


def test_updates_of_a_missing_run_are_logged_no_ops(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="storage"):
        storage.finish_run(session, run_id=999, status=RunStatus.COMPLETED)
        storage.update_progress(session, run_id=999, summary={}, timeline=[])
        storage.set_fault_id(session, run_id=999, fault_id="x")
        assert storage.record_samples(session, run_id=999, samples=[(0.0, 1.0, 200, True)]) == 0
    assert len(caplog.records) == 4
    assert storage.count_runs(session) == 0


def test_returned_rows_stay_readable_after_later_commits_and_close(engine: Engine) -> None:
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=PLAN, executor_url="u", api_mode="direct", apply_key="k", owner="o", now=T0
        )
        run_id = run.id or 0
        storage.finish_run(session, run_id=run_id, status=RunStatus.COMPLETED, timeline=[{"t_s": 0}], now=T0)
        listed = storage.list_runs(session)
        detail = storage.get_run(session, run_id=run_id)
        storage.record_health_sample(
            session, timestamp=T0, healthy=True, latency_ms=1.0, breaker_state="closed", executor_url="u"
        )
        health = storage.health_series(session, since=T0)
        storage.update_run_meta(session, run_id=run_id, notes="later commit")
    assert run.status is RunStatus.QUEUED  # the snapshot taken at creation
    assert [item.status for item in listed] == [RunStatus.COMPLETED]
    assert detail is not None and detail.run.finished_at == T0 and detail.timeline[0].t_s == 0
    assert health[0].healthy is True


def test_reads_keep_the_callers_pending_writes(session: Session) -> None:
    new_run(session)
    pending = storage.HealthSample(
        timestamp=T0, executor_url="u", healthy=True, latency_ms=1.0, breaker_state=BreakerState.CLOSED
    )
    session.add(pending)
    assert len(storage.list_runs(session)) == 1  # autoflushes the pending row first
    session.commit()
    assert len(storage.health_series(session, since=T0)) == 1


@pytest.mark.parametrize("mode", list(ApiMode))
def test_api_mode_round_trips_as_the_clients_enum(session: Session, mode: ApiMode) -> None:
    run = storage.create_run(
        session, plan=PLAN, executor_url="u", api_mode=mode.value, apply_key="k", owner="o", now=T0
    )
    stored = storage.get_run(session, run_id=run.id or 0)
    assert stored is not None and stored.run.api_mode is mode
    assert storage.run_record(stored.run)["api_mode"] == mode.value


@pytest.mark.parametrize("fault_type", list(FaultType))
def test_fault_type_round_trips_as_the_clients_enum(session: Session, fault_type: FaultType) -> None:
    run_id = new_run(session, fault_type=fault_type.value)
    stored = storage.get_run(session, run_id=run_id)
    assert stored is not None and stored.run.fault_type is fault_type
    assert storage.run_record(stored.run)["fault_type"] == fault_type.value
    assert storage.distinct_values(session)["fault_types"] == [fault_type.value]
