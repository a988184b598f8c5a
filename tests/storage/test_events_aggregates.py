"""Call aggregates: written in place, read by interval, counted per bucket, pruned with the telemetry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

import storage
from storage.aggregates import CallAggregate, call_aggregate_series, save_call_aggregates

URL = "http://127.0.0.1:9"
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _aggregate(minute: int, count: int, row_id: int | None = None) -> CallAggregate:
    return CallAggregate(
        interval_start=T0 + timedelta(minutes=minute),
        interval_sec=60,
        executor_url=URL,
        operation="list",
        kind="attempt",
        count=count,
        row_id=row_id,
    )


def test_a_written_aggregate_is_updated_in_place(session: Session) -> None:
    [row_id] = save_call_aggregates(session, aggregates=[_aggregate(0, 3)])
    assert save_call_aggregates(session, aggregates=[_aggregate(0, 5, row_id)]) == [row_id]
    assert save_call_aggregates(session, aggregates=[_aggregate(0, 5, row_id)]) == [row_id]  # a retry
    assert [(a.id, a.count) for a in call_aggregate_series(session, since=T0)] == [(row_id, 5)]


def test_an_aggregate_whose_row_went_is_inserted_again(session: Session) -> None:
    [row_id] = save_call_aggregates(session, aggregates=[_aggregate(0, 3)])
    storage.prune_telemetry(session, before=T0 + timedelta(minutes=1))
    [new_id] = save_call_aggregates(session, aggregates=[_aggregate(0, 4, row_id)])
    assert [a.count for a in call_aggregate_series(session, since=T0)] == [4] and new_id is not None


def test_aggregates_count_in_the_bucket_their_interval_starts_in(session: Session) -> None:
    save_call_aggregates(session, aggregates=[_aggregate(0, 30), _aggregate(1, 20), _aggregate(5, 1)])
    counts = storage.event_counts_per_bucket(
        session, since=T0, until=T0 + timedelta(minutes=5), bucket_sec=120, executor_url=URL
    )
    assert [(c.bucket_start, c.kind, c.count) for c in counts] == [(T0, "attempt", 50)]


def test_retention_prunes_aggregates_older_than_the_cutoff(session: Session) -> None:
    save_call_aggregates(session, aggregates=[_aggregate(-3 * 24 * 60, 30), _aggregate(0, 2)])
    assert storage.prune_telemetry(session, before=T0 - timedelta(days=1)) == 1
    assert [a.count for a in call_aggregate_series(session, since=T0 - timedelta(days=30))] == [2]
