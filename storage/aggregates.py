"""Write and read routine telemetry per interval: client call aggregates and health rows of many samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from client.breaker import BreakerState
from storage.models import CallAggregateRow, HealthSample
from storage.types import as_utc, detached, optional_float, plain_str, time_range


@dataclass(frozen=True)
class CallAggregate:
    """The totals of one interval, operation and kind to store; `row_id` is its row once written."""

    interval_start: datetime
    interval_sec: int
    executor_url: str
    operation: str
    kind: str
    count: int
    latency_count: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float | None = None
    row_id: int | None = None

    def values(self) -> dict[str, Any]:
        """Return the row's column values (without its id)."""
        return {
            "interval_start": as_utc(self.interval_start),
            "interval_sec": int(self.interval_sec),
            "executor_url": self.executor_url,
            "operation": self.operation,
            "kind": self.kind,
            "count": int(self.count),
            "latency_count": int(self.latency_count),
            "latency_sum_ms": float(self.latency_sum_ms),
            "latency_max_ms": optional_float(self.latency_max_ms),
        }


def _upsert(session: Session, model: Any, row_id: int | None, values: dict[str, Any]) -> int:
    """Set the row `row_id` to `values` (idempotent, so a retry is safe), or insert it; return its id."""
    if row_id is not None:
        result = session.exec(update(model).where(col(model.id) == row_id).values(**values))
        if result.rowcount:
            return row_id
    row = model(**values)
    session.add(row)
    session.flush()
    return int(row.id)


def save_call_aggregates(session: Session, *, aggregates: Sequence[CallAggregate]) -> list[int]:
    """Write call aggregates in one transaction (update a row already written, else insert); return ids."""
    ids = [_upsert(session, CallAggregateRow, a.row_id, a.values()) for a in aggregates]
    session.commit()
    return ids


def call_aggregate_series(
    session: Session, *, since: datetime, until: datetime | None = None, executor_url: str | None = None
) -> list[CallAggregateRow]:
    """Return the call aggregates whose interval starts in [`since`, `until`), oldest first."""
    conditions = time_range(CallAggregateRow.interval_start, since, until)
    if executor_url is not None:
        conditions.append(col(CallAggregateRow.executor_url) == executor_url)
    statement = (
        select(CallAggregateRow)
        .where(*conditions)
        .order_by(col(CallAggregateRow.interval_start), col(CallAggregateRow.id))
    )
    return detached(session, session.exec(statement).all())


def save_health_row(
    session: Session,
    *,
    row_id: int | None,
    first_at: datetime,
    timestamp: datetime,
    sample_count: int,
    healthy: bool,
    latency_ms: float | None,
    latency_max_ms: float | None,
    breaker_state: BreakerState | str | Enum,
    executor_url: str,
    error: str | None = None,
) -> int:
    """Write the health row standing for `sample_count` samples from `first_at` to `timestamp`; return its id.

    The row `row_id` is updated when it exists (a retry writes the same values again), else one is inserted.
    """
    values = {
        "timestamp": as_utc(timestamp),
        "first_at": as_utc(first_at),
        "sample_count": int(sample_count),
        "healthy": bool(healthy),
        "latency_ms": optional_float(latency_ms),
        "latency_max_ms": optional_float(latency_max_ms),
        "breaker_state": BreakerState.parse(plain_str(breaker_state)),
        "executor_url": executor_url,
        "error": error,
    }
    row_id = _upsert(session, HealthSample, row_id, values)
    session.commit()
    return row_id
