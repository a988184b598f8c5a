"""Persist the client's events in batches on a background thread; never block a call, never drop quietly."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ClientEvent, EventKind
from services.call_aggregates import CallAggregator, is_routine
from services.worker import Wait, Worker, event_wait

logger = logging.getLogger(__name__)

RETRY_MAX_SEC = 10.0
AGGREGATE_SEC = 60


class EventRecorder:
    """Subscribe to a client's events and write them to storage in batches on a background worker.

    A queued event wakes the worker, which writes everything queued, oldest first. A batch that cannot be
    written stays queued and is retried, in order, after a back-off that doubles from `flush_interval_sec`
    to `RETRY_MAX_SEC` (one warning when writing starts failing, one line when it works again). Only when
    `max_queue` events are waiting is a new one dropped: `dropped` counts those (the Monitor shows it) and
    the first is logged. Routine background calls (`is_routine`: the faults poll, health probes) are not
    queued one by one but counted per `aggregate_sec` interval (`services.call_aggregates`). `close`
    drains the queue; what it still cannot write then is counted as dropped.

    Example::

        recorder = EventRecorder(engine=engine, executor_url=url)
        unsubscribe = client.subscribe(recorder)
        recorder.start()
        ...
        recorder.close()
    """

    def __init__(
        self,
        *,
        engine: Engine,
        executor_url: str,
        resolve_run_id: Callable[[str | None], int | None] = lambda key: None,
        batch_size: int = 200,
        flush_interval_sec: float = 0.5,
        max_queue: int = 100_000,
        aggregate_sec: int = AGGREGATE_SEC,
        clock: Callable[[], float] = time.monotonic,
        wait: Wait = event_wait,
    ) -> None:
        self.engine = engine
        self.executor_url = executor_url
        self._resolve_run_id = resolve_run_id
        self._batch_size = batch_size
        self._max_queue = max_queue
        self._clock = clock
        self._lock = threading.Lock()  # guards the queue and the counters
        self._write_lock = threading.Lock()  # one writer at a time: the worker, or `flush` on another thread
        self._queue: deque[ClientEvent] = deque()
        self.aggregates = CallAggregator(executor_url=executor_url, interval_sec=aggregate_sec)
        self.dropped = 0
        self.last_error: str | None = None
        self._failed_attempts = 0
        self._retry_at: float | None = None
        self._retry_sec = flush_interval_sec
        self._min_retry_sec = flush_interval_sec
        self.worker = Worker(
            name="boifi-event-recorder", step=self._write_queued, period_sec=flush_interval_sec, wait=wait
        )

    @property
    def waiting(self) -> int:
        """Return how many events are queued, not yet written."""
        return len(self._queue)

    def __call__(self, event: ClientEvent) -> None:
        """Queue one event (a routine one is counted instead); when the queue is full, drop and count it."""
        if is_routine(event):
            self.aggregates.add(event)
            return
        with self._lock:
            if len(self._queue) >= self._max_queue:
                self._drop(1, "the recorder's queue is full")
                return
            self._queue.append(event)
        self.worker.wake()

    def start(self) -> None:
        """Start writing in the background (once)."""
        self.worker.start()

    def flush(self) -> bool:
        """Write everything queued so far on the calling thread, back-off or not; return whether all went."""
        return self._write_pending(force=True)

    def close(self, timeout_sec: float = 10.0) -> None:
        """Stop the worker (bounded), then write what is still queued; count what cannot be written."""
        self.worker.stop(timeout_sec)
        if not self.flush():
            with self._lock:
                lost = len(self._queue) + self.aggregates.unsaved_events()
                self._queue.clear()
                self._drop(lost, f"storage failed at shutdown ({self.last_error})")
        if self.dropped:
            logger.warning("dropped %d client events in all", self.dropped)

    def _drop(self, count: int, why: str) -> None:
        # Called with `_lock` held. Logged once: the count is what the Monitor shows afterwards.
        if count <= 0:
            return
        if not self.dropped:
            logger.warning("dropping client events: %s (counted as 'events dropped' on the Monitor)", why)
        self.dropped += count

    def _write_queued(self) -> None:
        """Write the queue and the aggregates (the worker's step); wait out the back-off after a failure."""
        self._write_pending(force=False)

    def _write_pending(self, *, force: bool) -> bool:
        with self._write_lock:
            if not force and self._retry_at is not None and self._clock() < self._retry_at:
                return False
            try:
                while batch := self._peek():
                    self._write(batch)
                    with self._lock:
                        for _ in batch:
                            self._queue.popleft()
                self.aggregates.write(self.engine)
            except Exception as exc:
                self._failed(exc)
                return False
            self._recovered()
            return True

    def _peek(self) -> list[ClientEvent]:
        with self._lock:
            return list(islice(self._queue, self._batch_size * 10))

    def _failed(self, exc: Exception) -> None:
        outage = isinstance(exc, storage.STORAGE_ERRORS)  # expected: one line; anything else: a traceback
        self.last_error = f"{type(exc).__name__}: {storage.describe_error(exc) if outage else exc}"
        if not self._failed_attempts:
            logger.warning(
                "could not record client events (%d waiting), retrying with back-off: %s",
                self.waiting,
                self.last_error,
                exc_info=None if outage else exc,
            )
        self._failed_attempts += 1
        self._retry_at = self._clock() + self._retry_sec
        self._retry_sec = min(self._retry_sec * 2, RETRY_MAX_SEC)

    def _recovered(self) -> None:
        if self._failed_attempts:
            logger.warning("recording client events again after %d failed attempts", self._failed_attempts)
        self.last_error = None
        self._failed_attempts = 0
        self._retry_at = None
        self._retry_sec = self._min_retry_sec

    def _write(self, batch: list[ClientEvent]) -> None:
        """Write one batch in one transaction; raise what storage raised (nothing of it is then stored)."""
        rows: list[dict[str, Any]] = []
        with Session(self.engine) as session:
            for event in batch:
                if event.kind is EventKind.BREAKER_TRANSITION:
                    storage.record_breaker_transition(
                        session,
                        timestamp=event.timestamp,
                        old_state=str(event.old_state),
                        new_state=str(event.new_state),
                        executor_url=self.executor_url,
                        commit=False,
                    )
                rows.append(self._row(event))
            storage.record_client_events(session, events=rows)

    def _row(self, event: ClientEvent) -> dict[str, Any]:
        data = event.to_dict()
        apply_key = data.get("apply_key")
        return {
            "timestamp": event.timestamp,
            "kind": str(data["kind"]),
            "operation": data.get("operation"),
            "attempt": data.get("attempt"),
            "delay_sec": data.get("delay_sec"),
            "error_class": data.get("error_class"),
            "status_code": data.get("status_code"),
            "latency_ms": data.get("latency_ms"),
            "apply_key": apply_key,
            "run_id": self._resolve_run_id(apply_key),
            "message": data.get("message"),
            "executor_url": self.executor_url,
        }
