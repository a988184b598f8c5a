"""Record and read the client's events, circuit-breaker transitions and Executor health samples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from client.breaker import BreakerState
from storage.aggregates import call_aggregate_series
from storage.models import BreakerTransition, CallAggregateRow, ClientEventRow, EventCount, HealthSample
from storage.types import as_utc, detached, optional_float, optional_int, plain_str, time_range

EVENT_STR_KEYS = ("operation", "error_class", "apply_key", "message", "executor_url")


def _breaker_state(value: BreakerState | str | Enum) -> BreakerState:
    return BreakerState.parse(plain_str(value))


def _event_row(event: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "timestamp": as_utc(event["timestamp"]),
        "kind": plain_str(event["kind"]),
        "attempt": optional_int(event.get("attempt")),
        "delay_sec": optional_float(event.get("delay_sec")),
        "status_code": optional_int(event.get("status_code")),
        "latency_ms": optional_float(event.get("latency_ms")),
        "run_id": optional_int(event.get("run_id")),
    }
    row.update({key: plain_str(event.get(key)) for key in EVENT_STR_KEYS})
    return row


def record_client_events(session: Session, *, events: Sequence[Mapping[str, Any]]) -> int:
    """Insert client events in one bulk statement; return how many were written.

    Keys: timestamp, kind, operation, attempt, delay_sec, error_class, status_code, latency_ms, apply_key,
    run_id, message, executor_url (all but timestamp and kind optional; unknown keys are ignored).
    """
    rows = [_event_row(event) for event in events]
    if rows:
        session.exec(insert(ClientEventRow), params=rows)
        session.commit()
    return len(rows)


def record_breaker_transition(
    session: Session,
    *,
    timestamp: datetime,
    old_state: BreakerState | str | Enum,
    new_state: BreakerState | str | Enum,
    executor_url: str,
    commit: bool = True,
) -> None:
    """Record one circuit-breaker state change (a state's name in any case is taken too).

    With `commit` False the row joins the session's transaction (the recorder commits a batch at once).
    """
    session.add(
        BreakerTransition(
            timestamp=as_utc(timestamp),
            old_state=_breaker_state(old_state),
            new_state=_breaker_state(new_state),
            executor_url=executor_url,
        )
    )
    if commit:
        session.commit()


def record_health_sample(
    session: Session,
    *,
    timestamp: datetime,
    healthy: bool,
    latency_ms: float | None,
    breaker_state: BreakerState | str | Enum,
    executor_url: str,
    error: str | None = None,
) -> None:
    """Record one health check of an Executor."""
    session.add(
        HealthSample(
            timestamp=as_utc(timestamp),
            healthy=bool(healthy),
            latency_ms=optional_float(latency_ms),
            breaker_state=_breaker_state(breaker_state),
            executor_url=executor_url,
            error=error,
        )
    )
    session.commit()


def client_event_series(
    session: Session, *, since: datetime, until: datetime | None = None, executor_url: str | None = None
) -> list[ClientEventRow]:
    """Return client events with `since` ≤ timestamp < `until`, oldest first."""
    conditions = time_range(ClientEventRow.timestamp, since, until)
    if executor_url is not None:
        conditions.append(col(ClientEventRow.executor_url) == executor_url)
    statement = (
        select(ClientEventRow)
        .where(*conditions)
        .order_by(col(ClientEventRow.timestamp), col(ClientEventRow.id))
    )
    return detached(session, session.exec(statement).all())


def event_counts_per_bucket(
    session: Session,
    *,
    since: datetime,
    until: datetime | None = None,
    bucket_sec: int = 10,
    executor_url: str | None = None,
) -> list[EventCount]:
    """Count client events per kind in `bucket_sec` buckets aligned to the Unix epoch, aggregates included.

    Return `EventCount`s sorted by bucket, kind; empty buckets are absent. A call aggregate (routine calls
    counted per interval) adds its count to the bucket its interval starts in, so totals and buckets that
    are whole intervals are the same as if each call had its row. Bucketing happens in Python so the SQL
    stays portable.
    """
    if bucket_sec <= 0:
        raise ValueError("bucket_sec must be positive")
    conditions = time_range(ClientEventRow.timestamp, since, until)
    if executor_url is not None:
        conditions.append(col(ClientEventRow.executor_url) == executor_url)
    statement = select(ClientEventRow.timestamp, ClientEventRow.kind).where(*conditions)
    counts: Counter[tuple[int, str]] = Counter()
    for timestamp, kind in session.exec(statement).all():
        epoch_sec = as_utc(timestamp).timestamp()
        counts[(int(epoch_sec // bucket_sec) * bucket_sec, kind)] += 1
    for aggregate in call_aggregate_series(session, since=since, until=until, executor_url=executor_url):
        epoch_sec = aggregate.interval_start.timestamp()
        counts[(int(epoch_sec // bucket_sec) * bucket_sec, aggregate.kind)] += aggregate.count
    return [
        EventCount(bucket_start=datetime.fromtimestamp(start, UTC), kind=kind, count=count)
        for (start, kind), count in sorted(counts.items())
    ]


def breaker_series(
    session: Session, *, since: datetime, until: datetime | None = None, executor_url: str | None = None
) -> list[BreakerTransition]:
    """Return breaker transitions with `since` ≤ timestamp < `until`, oldest first."""
    conditions = time_range(BreakerTransition.timestamp, since, until)
    if executor_url is not None:
        conditions.append(col(BreakerTransition.executor_url) == executor_url)
    statement = (
        select(BreakerTransition)
        .where(*conditions)
        .order_by(col(BreakerTransition.timestamp), col(BreakerTransition.id))
    )
    return detached(session, session.exec(statement).all())


def health_series(
    session: Session, *, since: datetime, until: datetime | None = None, executor_url: str | None = None
) -> list[HealthSample]:
    """Return health samples with `since` ≤ timestamp < `until`, oldest first."""
    conditions = time_range(HealthSample.timestamp, since, until)
    if executor_url is not None:
        conditions.append(col(HealthSample.executor_url) == executor_url)
    statement = (
        select(HealthSample).where(*conditions).order_by(col(HealthSample.timestamp), col(HealthSample.id))
    )
    return detached(session, session.exec(statement).all())


def last_breaker_state(session: Session, *, executor_url: str) -> BreakerState | None:
    """Return the state the breaker for `executor_url` last moved to, or None if it never moved."""
    statement = (
        select(BreakerTransition.new_state)
        .where(col(BreakerTransition.executor_url) == executor_url)
        .order_by(col(BreakerTransition.timestamp).desc(), col(BreakerTransition.id).desc())
        .limit(1)
    )
    state = session.exec(statement).first()
    return None if state is None else BreakerState(state)


def prune_telemetry(session: Session, *, before: datetime) -> int:
    """Delete client events, breaker transitions, health samples and call aggregates older than `before`.

    Return how many rows went; an aggregate goes when its interval started before `before`.
    """
    cutoff = as_utc(before)
    removed = 0
    for model in (ClientEventRow, BreakerTransition, HealthSample):
        result = session.exec(delete(model).where(col(model.timestamp) < cutoff))
        removed += result.rowcount
    aggregates = delete(CallAggregateRow).where(col(CallAggregateRow.interval_start) < cutoff)
    removed += session.exec(aggregates).rowcount
    session.commit()
    return removed
