"""Client events, breaker transitions and health samples: recording and time-range series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlmodel import Session

import storage
from client import BreakerState, ErrorKind
from tests.storage.conftest import T0, new_run

URL = "http://127.0.0.1:8080"
OTHER = "http://127.0.0.1:9090"


class _Kind(Enum):
    RETRY = "retry_scheduled"


class _State(Enum):
    OPEN = 2  # a non-str value is stored by name


def _event(
    second: float, kind: object = "attempt", url: str | None = URL, **extra: object
) -> dict[str, object]:
    return {"timestamp": T0 + timedelta(seconds=second), "kind": kind, "executor_url": url, **extra}


def test_record_client_events_bulk_and_read_back(session: Session) -> None:
    run_id = new_run(session)
    written = storage.record_client_events(
        session,
        events=[
            _event(
                0,
                operation="apply",
                attempt=1,
                apply_key="key-1",
                run_id=run_id,
                status_code=503,
                latency_ms=12.5,
                error_class="ExecutorServerError",
                message="503 from executor",
                unknown_key="ignored",
            ),
            _event(1, kind=_Kind.RETRY, attempt=1, delay_sec=0.5),
            _event(2, url=OTHER),
        ],
    )
    assert written == 3
    assert storage.record_client_events(session, events=[]) == 0
    events = storage.client_event_series(session, since=T0)
    first = events[0]
    assert [event.kind for event in events] == ["attempt", "retry_scheduled", "attempt"]
    assert (first.operation, first.attempt, first.apply_key, first.run_id, first.status_code) == (
        "apply",
        1,
        "key-1",
        run_id,
        503,
    )
    assert (first.latency_ms, first.error_class, first.message) == (
        12.5,
        "ExecutorServerError",
        "503 from executor",
    )
    assert first.timestamp == T0
    assert events[1].delay_sec == 0.5


def test_client_event_series_filters_time_and_executor(session: Session) -> None:
    storage.record_client_events(session, events=[_event(0), _event(10), _event(20), _event(15, url=OTHER)])
    window = storage.client_event_series(
        session, since=T0 + timedelta(seconds=5), until=T0 + timedelta(seconds=20)
    )
    assert [event.timestamp for event in window] == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=15)]
    mine = storage.client_event_series(session, since=T0, executor_url=URL)
    assert len(mine) == 3 and {event.executor_url for event in mine} == {URL}


def test_event_counts_per_bucket_align_to_the_epoch(session: Session) -> None:
    storage.record_client_events(
        session,
        events=[
            _event(1),
            _event(2),
            _event(3, kind="failure"),
            _event(12),
            _event(25, url=OTHER),
            _event(99),
        ],
    )
    counts = storage.event_counts_per_bucket(
        session, since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=60), bucket_sec=10
    )
    assert counts == [
        storage.EventCount(bucket_start=T0, kind="attempt", count=1),
        storage.EventCount(bucket_start=T0, kind="failure", count=1),
        storage.EventCount(bucket_start=T0 + timedelta(seconds=10), kind="attempt", count=1),
        storage.EventCount(bucket_start=T0 + timedelta(seconds=20), kind="attempt", count=1),
    ]
    assert all(row.bucket_start.tzinfo is not None for row in counts)
    only_mine = storage.event_counts_per_bucket(session, since=T0, bucket_sec=60, executor_url=URL)
    assert [(row.kind, row.count) for row in only_mine] == [
        ("attempt", 3),
        ("failure", 1),
        ("attempt", 1),
    ]


def test_breaker_series_and_last_state(session: Session) -> None:
    assert storage.last_breaker_state(session, executor_url=URL) is None
    storage.record_breaker_transition(
        session, timestamp=T0, old_state="closed", new_state="open", executor_url=URL
    )
    storage.record_breaker_transition(
        session,
        timestamp=T0 + timedelta(seconds=60),
        old_state="open",
        new_state="half_open",
        executor_url=URL,
    )
    storage.record_breaker_transition(
        session,
        timestamp=T0 + timedelta(seconds=5),
        old_state="closed",
        new_state=_State.OPEN,
        executor_url=OTHER,
    )
    assert storage.last_breaker_state(session, executor_url=URL) is BreakerState.HALF_OPEN
    assert storage.last_breaker_state(session, executor_url=OTHER) is BreakerState.OPEN
    series = storage.breaker_series(session, since=T0, executor_url=URL)
    assert [(t.old_state, t.new_state) for t in series] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
    ]
    assert len(storage.breaker_series(session, since=T0, until=T0 + timedelta(seconds=10))) == 2


def test_health_series(session: Session) -> None:
    for second, healthy in ((0, True), (10, False), (20, True)):
        storage.record_health_sample(
            session,
            timestamp=T0 + timedelta(seconds=second),
            healthy=healthy,
            latency_ms=None if not healthy else 1.5,
            breaker_state="closed",
            executor_url=URL,
            error=None if healthy else "ConnectError",
        )
    storage.record_health_sample(
        session, timestamp=T0, healthy=True, latency_ms=3.0, breaker_state="closed", executor_url=OTHER
    )
    series = storage.health_series(session, since=T0 + timedelta(seconds=5), executor_url=URL)
    assert [(s.healthy, s.latency_ms, s.error) for s in series] == [
        (False, None, "ConnectError"),
        (True, 1.5, None),
    ]
    assert len(storage.health_series(session, since=T0, until=T0 + timedelta(seconds=1))) == 2
    assert storage.health_series(session, since=datetime(2030, 1, 1, tzinfo=UTC)) == []


def test_prune_telemetry_deletes_only_older_rows(session: Session) -> None:
    storage.record_client_events(session, events=[_event(0), _event(100)])
    storage.record_breaker_transition(
        session, timestamp=T0, old_state="closed", new_state="open", executor_url=URL
    )
    for second in (0, 100):
        storage.record_health_sample(
            session,
            timestamp=T0 + timedelta(seconds=second),
            healthy=True,
            latency_ms=1.0,
            breaker_state="closed",
            executor_url=URL,
        )
    assert storage.prune_telemetry(session, before=T0 + timedelta(seconds=50)) == 3
    assert [e.timestamp for e in storage.client_event_series(session, since=T0)] == [
        T0 + timedelta(seconds=100)
    ]
    assert storage.breaker_series(session, since=T0) == []
    assert len(storage.health_series(session, since=T0)) == 1


def test_breaker_states_round_trip_as_the_clients_enum(session: Session) -> None:
    for state in BreakerState:
        storage.record_breaker_transition(
            session, timestamp=T0, old_state=BreakerState.CLOSED, new_state=state, executor_url=URL
        )
        storage.record_health_sample(
            session, timestamp=T0, healthy=True, latency_ms=1.0, breaker_state=state, executor_url=URL
        )
    transitions = storage.breaker_series(session, since=T0)
    samples = storage.health_series(session, since=T0)
    assert [t.new_state for t in transitions] == list(BreakerState)
    assert [s.breaker_state for s in samples] == list(BreakerState)
    assert all(type(s.breaker_state) is BreakerState for s in samples)


def test_stored_events_and_runs_tell_their_error_kind_by_class(session: Session) -> None:
    storage.record_client_events(
        session,
        events=[
            {"timestamp": T0, "kind": "failure", "error_class": "ExecutorTimeoutError"},
            {"timestamp": T0, "kind": "failure", "error_class": "CircuitOpenError"},
            {"timestamp": T0, "kind": "success"},
        ],
    )
    kinds = [event.error_kind for event in storage.client_event_series(session, since=T0)]
    assert kinds == [ErrorKind.TIMEOUT, ErrorKind.CIRCUIT_OPEN, None]
    run_id = new_run(session)
    storage.finish_run(
        session, run_id=run_id, status=storage.RunStatus.FAILED, error="x", error_class="BadRequestError"
    )
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and detail.run.error_kind is ErrorKind.BAD_REQUEST
