"""Count the console's routine background calls per interval instead of storing one event row per call."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from client import ClientEvent, EventKind
from storage.aggregates import CallAggregate, save_call_aggregates

__all__ = ["ROUTINE_OPERATIONS", "CallAggregator", "is_routine"]

# The faults poller's listings and the health monitor's probes: every 2 s and 5 s for as long as the
# console runs. Calls made for a run carry its apply key and stay one row each.
ROUTINE_OPERATIONS = frozenset({"list", "health"})
COUNTED_KINDS = frozenset(
    {
        EventKind.ATTEMPT,
        EventKind.RETRY,
        EventKind.SUCCESS,
        EventKind.FAILURE,
        EventKind.REJECTED,
        EventKind.HEALTH_CHECK,
    }
)


def is_routine(event: ClientEvent) -> bool:
    """Return whether `event` is a routine background call, stored as a per-interval count."""
    return event.operation in ROUTINE_OPERATIONS and event.apply_key is None and event.kind in COUNTED_KINDS


@dataclass
class _Tally:
    aggregate: CallAggregate
    saved_count: int = 0  # the count last written


class CallAggregator:
    """Hold routine calls' counts and latency per interval, operation and kind; write them as rows.

    `write` inserts a row for each new tally and later sets it to the new totals (idempotent, so a failed
    write is simply done again), so the Monitor sees the current interval too. Tallies of past intervals go
    once written; nothing is lost while storage fails, and memory holds one tally per interval and kind.
    """

    def __init__(self, *, executor_url: str, interval_sec: int) -> None:
        if interval_sec <= 0:
            raise ValueError("interval_sec must be positive")
        self.executor_url = executor_url
        self.interval_sec = int(interval_sec)
        self._lock = threading.Lock()
        self._tallies: dict[tuple[int, str, str], _Tally] = {}
        self._latest_start = 0

    def add(self, event: ClientEvent) -> None:
        """Count one routine event in its interval."""
        start = int(event.timestamp.timestamp() // self.interval_sec) * self.interval_sec
        key = (start, event.operation, event.kind.value)
        latency = event.latency_ms
        with self._lock:
            self._latest_start = max(self._latest_start, start)
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _Tally(
                    CallAggregate(
                        interval_start=datetime.fromtimestamp(start, UTC),
                        interval_sec=self.interval_sec,
                        executor_url=self.executor_url,
                        operation=event.operation,
                        kind=event.kind.value,
                        count=0,
                    )
                )
            a = tally.aggregate
            highest = a.latency_max_ms
            if latency is not None:
                highest = latency if highest is None else max(highest, latency)
            tally.aggregate = replace(
                a,
                count=a.count + 1,
                latency_count=a.latency_count + (latency is not None),
                latency_sum_ms=a.latency_sum_ms + (latency or 0.0),
                latency_max_ms=highest,
            )

    def unsaved_events(self) -> int:
        """Return how many counted events are not in storage yet."""
        with self._lock:
            return sum(t.aggregate.count - t.saved_count for t in self._tallies.values())

    def write(self, engine: Engine) -> int:
        """Write the tallies that changed since their last write; return how many rows were written."""
        with self._lock:
            dirty = [
                (key, t.aggregate) for key, t in self._tallies.items() if t.aggregate.count != t.saved_count
            ]
        if dirty:
            with Session(engine) as session:
                ids = save_call_aggregates(session, aggregates=[aggregate for _, aggregate in dirty])
            with self._lock:
                for (key, written), row_id in zip(dirty, ids, strict=True):
                    tally = self._tallies[key]
                    tally.saved_count = written.count
                    tally.aggregate = replace(tally.aggregate, row_id=row_id)
        self._forget_past()
        return len(dirty)

    def _forget_past(self) -> None:
        with self._lock:
            for key in [
                key
                for key, t in self._tallies.items()
                if key[0] < self._latest_start and t.aggregate.count == t.saved_count
            ]:
                del self._tallies[key]
