"""Fold health samples into rows: one per state change, else one per interval, written until stored."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.aggregates import save_health_row

logger = logging.getLogger(__name__)

__all__ = ["AGGREGATE_SEC", "HealthRollup"]

AGGREGATE_SEC = 60.0
MAX_UNSAVED_ROWS = 10_000


@dataclass
class _Row:
    first_at: datetime
    last_at: datetime
    healthy: bool
    breaker_state: str
    error: str | None
    count: int = 1
    latency_count: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float | None = None
    row_id: int | None = None
    saved_count: int = 0

    def take(self, latency_ms: float | None) -> None:
        if latency_ms is None:
            return
        self.latency_count += 1
        self.latency_sum_ms += latency_ms
        self.latency_max_ms = (
            latency_ms if self.latency_max_ms is None else max(self.latency_max_ms, latency_ms)
        )

    @property
    def latency_mean_ms(self) -> float | None:
        return self.latency_sum_ms / self.latency_count if self.latency_count else None


class HealthRollup:
    """Keep the samples of one state as one row, at most `aggregate_sec` long; write rows in order.

    A sample in another state than the open row's (healthy or not, breaker state) closes it and opens a
    new one, so every change is stored where it happened. `write` updates the open row in place (the same
    values again after a failure), so the Monitor sees it grow; closed rows go once written. At most
    `MAX_UNSAVED_ROWS` unwritten rows are kept while storage fails; older ones are dropped and counted.
    """

    def __init__(self, *, executor_url: str, aggregate_sec: float = AGGREGATE_SEC) -> None:
        if aggregate_sec <= 0:
            raise ValueError("aggregate_sec must be positive")
        self.executor_url = executor_url
        self.aggregate_sec = aggregate_sec
        self._lock = threading.Lock()
        self._rows: deque[_Row] = deque()  # unwritten closed rows, then the open one
        self.dropped = 0

    def add(
        self,
        *,
        timestamp: datetime,
        healthy: bool,
        latency_ms: float | None,
        breaker_state: str,
        error: str | None,
    ) -> None:
        """Count one sample in the open row, or open a new row for it."""
        with self._lock:
            row = self._rows[-1] if self._rows else None
            if (
                row is None
                or (row.healthy, row.breaker_state) != (healthy, breaker_state)
                or (timestamp - row.first_at).total_seconds() >= self.aggregate_sec
            ):
                row = _Row(
                    first_at=timestamp,
                    last_at=timestamp,
                    healthy=healthy,
                    breaker_state=breaker_state,
                    error=error,
                )
                self._rows.append(row)
                if len(self._rows) > MAX_UNSAVED_ROWS:
                    lost = self._rows.popleft()
                    if not self.dropped:
                        logger.warning(
                            "dropping health samples: storage has failed for %d rows", MAX_UNSAVED_ROWS
                        )
                    self.dropped += lost.count - lost.saved_count
            else:
                row.count += 1
                row.last_at = timestamp
                row.error = error if error is not None else row.error
            row.take(latency_ms)

    def write(self, engine: Engine) -> None:
        """Write the rows not stored as they are now, oldest first; raise what storage raised."""
        with self._lock:
            pending = [(row, row.count) for row in self._rows if row.count != row.saved_count]
        for row, count in pending:
            with Session(engine) as session:
                row_id = save_health_row(
                    session,
                    row_id=row.row_id,
                    first_at=row.first_at,
                    timestamp=row.last_at,
                    sample_count=count,
                    healthy=row.healthy,
                    latency_ms=row.latency_mean_ms,
                    latency_max_ms=row.latency_max_ms,
                    breaker_state=row.breaker_state,
                    executor_url=self.executor_url,
                    error=row.error,
                )
            with self._lock:
                row.row_id, row.saved_count = row_id, count
        with self._lock:
            while len(self._rows) > 1 and self._rows[0].count == self._rows[0].saved_count:
                self._rows.popleft()
