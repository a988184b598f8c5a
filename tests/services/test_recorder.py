"""The event recorder retries what storage refused, in order; drops only at its bound, counted, once."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import storage
from client import BreakerState, ClientEvent, EventKind, HttpExecutorClient
from executor import EmbeddedExecutor
from services.active_faults import ActiveFaultsPoller
from services.recorder import EventRecorder
from storage.models import CallAggregateRow
from tests.services.conftest import fast_config

URL = "http://127.0.0.1:9"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _event(second: float, *, operation: str = "apply", kind: EventKind = EventKind.ATTEMPT) -> ClientEvent:
    return ClientEvent(
        kind=kind,
        timestamp=NOW + timedelta(seconds=second),
        operation=operation,
        apply_key="k",
        latency_ms=2.0,
    )


def _stored(engine: Engine) -> list[datetime]:
    with Session(engine) as session:
        return [e.timestamp for e in storage.client_event_series(session, since=NOW - timedelta(days=1))]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_storage_refused_is_retried_after_a_back_off_in_order(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'late.db'}")  # no tables yet: every write fails
    clock = _Clock()
    recorder = EventRecorder(engine=engine, executor_url=URL, flush_interval_sec=0.5, clock=clock)
    recorder(_event(0))
    recorder._write_queued()
    assert recorder.last_error is not None and "client_events" in recorder.last_error
    assert recorder.waiting == 1 and recorder.dropped == 0
    storage.init_db(engine)
    recorder(_event(1))
    recorder._write_queued()  # still backing off: nothing written yet
    assert _stored(engine) == [] and recorder.waiting == 2
    clock.now = 0.5
    recorder._write_queued()
    assert _stored(engine) == [NOW, NOW + timedelta(seconds=1)]
    assert recorder.waiting == 0 and recorder.last_error is None and recorder.dropped == 0
    engine.dispose()


def test_the_back_off_doubles_while_storage_keeps_failing(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'late.db'}")
    clock = _Clock()
    recorder = EventRecorder(engine=engine, executor_url=URL, flush_interval_sec=0.5, clock=clock)
    recorder(_event(0))
    attempts = []
    for step in range(40):
        clock.now = step * 0.25
        before = recorder._failed_attempts
        recorder._write_queued()
        if recorder._failed_attempts != before:
            attempts.append(clock.now)
    assert attempts[:4] == [0.0, 0.5, 1.5, 3.5]
    engine.dispose()


def test_at_its_bound_the_recorder_drops_counts_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'late.db'}")
    recorder = EventRecorder(engine=engine, executor_url=URL, max_queue=3, clock=_Clock())
    with caplog.at_level(logging.WARNING, logger="services.recorder"):
        for second in range(10):
            recorder(_event(second))
    assert recorder.dropped == 7 and recorder.waiting == 3
    assert sum("dropping client events" in r.getMessage() for r in caplog.records) == 1
    storage.init_db(engine)
    assert recorder.flush()
    assert _stored(engine) == [NOW + timedelta(seconds=s) for s in range(3)]
    engine.dispose()


def test_what_close_cannot_write_is_counted_as_dropped(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'late.db'}")
    recorder = EventRecorder(engine=engine, executor_url=URL, clock=_Clock())
    for second in range(4):
        recorder(_event(second))
    recorder.close()
    assert recorder.dropped == 4 and recorder.waiting == 0
    engine.dispose()


def test_a_breaker_transition_in_a_refused_batch_is_stored_once_on_retry(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = EventRecorder(engine=engine, executor_url=URL, clock=_Clock())
    recorder(
        ClientEvent(
            kind=EventKind.BREAKER_TRANSITION,
            timestamp=NOW,
            operation="breaker",
            old_state=BreakerState.CLOSED,
            new_state=BreakerState.OPEN,
        )
    )
    recorder(_event(1))
    real = storage.record_client_events
    calls: list[int] = []

    def flaky(session: Session, *, events: list[dict[str, object]]) -> int:
        calls.append(len(events))
        if len(calls) == 1:
            raise RuntimeError("disk I/O error")
        return real(session, events=events)

    monkeypatch.setattr(storage, "record_client_events", flaky)
    assert not recorder.flush()
    assert recorder.flush()
    with Session(engine) as session:
        assert len(storage.breaker_series(session, since=NOW - timedelta(days=1))) == 1
    assert len(_stored(engine)) == 2 and calls == [2, 2]


def test_routine_calls_are_counted_per_interval_not_stored_one_row_each(engine: Engine) -> None:
    recorder = EventRecorder(engine=engine, executor_url=URL, aggregate_sec=60, clock=_Clock())
    for second in range(0, 120, 2):  # a poll every 2 s for two minutes: an attempt and a success each
        for kind in (EventKind.ATTEMPT, EventKind.SUCCESS):
            recorder(ClientEvent(kind=kind, timestamp=NOW + timedelta(seconds=second), operation="list"))
    recorder(_event(5))  # a run's call stays one row
    assert recorder.flush()
    assert _stored(engine) == [NOW + timedelta(seconds=5)]
    with Session(engine) as session:
        rows = session.exec(select(CallAggregateRow).order_by(CallAggregateRow.id)).all()  # type: ignore[arg-type]
    assert [(r.interval_start, r.kind, r.count) for r in rows] == [
        (NOW, "attempt", 30),
        (NOW, "success", 30),
        (NOW + timedelta(minutes=1), "attempt", 30),
        (NOW + timedelta(minutes=1), "success", 30),
    ]


def test_the_open_interval_is_updated_in_place_and_written_again_after_a_failure(engine: Engine) -> None:
    recorder = EventRecorder(engine=engine, executor_url=URL, clock=_Clock())
    recorder(ClientEvent(kind=EventKind.ATTEMPT, timestamp=NOW, operation="list", latency_ms=3.0))
    assert recorder.flush()
    recorder(ClientEvent(kind=EventKind.ATTEMPT, timestamp=NOW + timedelta(seconds=1), operation="list"))
    assert recorder.flush()
    with Session(engine) as session:
        rows = session.exec(select(CallAggregateRow)).all()
    assert [(r.count, r.latency_count, r.latency_sum_ms, r.latency_max_ms) for r in rows] == [
        (2, 1, 3.0, 3.0)
    ]


def test_n_polls_write_at_most_a_few_aggregate_rows_and_no_event_rows(
    executor: EmbeddedExecutor, engine: Engine
) -> None:
    polls = 20
    with HttpExecutorClient(fast_config(executor.base_url)) as client:
        recorder = EventRecorder(engine=engine, executor_url=executor.base_url, clock=_Clock())
        unsubscribe = client.subscribe(recorder)
        poller = ActiveFaultsPoller(client=client, interval_sec=60)
        for _ in range(polls):
            poller.poll()
        unsubscribe()
        assert recorder.flush()
    with Session(engine) as session:
        rows = session.exec(select(CallAggregateRow)).all()
    assert _stored(engine) == []
    kinds = {(r.operation, r.kind) for r in rows}
    assert len(rows) <= 2 * len(kinds) <= 2 * 3  # at most two intervals: attempt, success (and failure)
    attempts = sum(r.count for r in rows if r.kind == "attempt")
    assert attempts >= polls  # every call is counted (two listings a poll where policies are served)


def test_flush_and_the_worker_do_not_write_the_same_batch_twice(engine: Engine) -> None:
    recorder = EventRecorder(engine=engine, executor_url=URL, batch_size=1)
    for second in range(50):
        recorder(_event(second))
    threads = [threading.Thread(target=recorder.flush) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_stored(engine)) == 50
