"""Persist the client's events in batches on a background thread, never blocking a call."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ClientEvent, EventKind
from services.worker import Wait, Worker, event_wait

logger = logging.getLogger(__name__)


class EventRecorder:
    """Subscribe to a client's events and write them to storage in batches on a background worker.

    A queued event wakes the worker, which writes everything queued; a batch that cannot be written is
    reported (`worker.last_error`) and dropped, and recording goes on. `close` drains the queue.

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
        wait: Wait = event_wait,
    ) -> None:
        self.engine = engine
        self.executor_url = executor_url
        self._resolve_run_id = resolve_run_id
        self._batch_size = batch_size
        self._queue: queue.Queue[ClientEvent] = queue.Queue(maxsize=max_queue)
        self.dropped = 0
        self.worker = Worker(
            name="boifi-event-recorder", step=self._write_queued, period_sec=flush_interval_sec, wait=wait
        )

    def __call__(self, event: ClientEvent) -> None:
        """Queue one event; when the queue is full, drop and count it rather than block the caller."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            return
        self.worker.wake()

    def start(self) -> None:
        """Start writing in the background (once)."""
        self.worker.start()

    def flush(self) -> None:
        """Write everything queued so far on the calling thread (used by tests and at shutdown)."""
        try:
            self._write_queued()
        except storage.STORAGE_ERRORS as exc:  # an outage: one line, no traceback
            logger.error("could not record client events: %s", storage.describe_error(exc))
        except Exception:
            logger.exception("could not record client events")

    def close(self, timeout_sec: float = 10.0) -> None:
        """Stop the worker (bounded), then write what is still queued."""
        self.worker.stop(timeout_sec)
        self.flush()
        if self.dropped:
            logger.warning("dropped %d client events: the recorder's queue was full", self.dropped)

    def _write_queued(self) -> None:
        """Write the queue in batches until it is empty (what was queued after the start included)."""
        while batch := self._drain():
            self._write(batch)

    def _drain(self) -> list[ClientEvent]:
        batch: list[ClientEvent] = []
        while len(batch) < self._batch_size * 10:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[ClientEvent]) -> None:
        """Write one batch in one session; raise what storage raised (the batch is then lost)."""
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
