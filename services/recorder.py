"""Persist the client's events in batches on a background thread, never blocking a call."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ClientEvent, EventKind

logger = logging.getLogger(__name__)


class EventRecorder:
    """Subscribe to a client's events and write them to storage in batches.

    Example::

        recorder = EventRecorder(engine=engine, executor_url=url)
        unsubscribe = client.subscribe(recorder)
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
    ) -> None:
        self.engine = engine
        self.executor_url = executor_url
        self._resolve_run_id = resolve_run_id
        self._batch_size = batch_size
        self._flush_interval_sec = flush_interval_sec
        self._queue: queue.Queue[ClientEvent] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="boifi-event-recorder", daemon=True)
        self._thread.start()

    def __call__(self, event: ClientEvent) -> None:
        """Queue one event; when the queue is full, drop and count it rather than block the caller."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def flush(self) -> None:
        """Write everything queued so far (used by tests and at shutdown)."""
        self._write(self._drain())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()

    def _drain(self) -> list[ClientEvent]:
        batch: list[ClientEvent] = []
        while len(batch) < self._batch_size * 10:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=self._flush_interval_sec)
            except queue.Empty:
                continue
            self._write([first, *self._drain()])

    def _write(self, batch: list[ClientEvent]) -> None:
        if not batch:
            return
        rows: list[dict[str, Any]] = []
        try:
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
            self.written += len(rows)
        except Exception:
            logger.exception("could not record %d client events", len(batch))

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
