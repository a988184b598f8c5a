"""Prune telemetry (client events, call aggregates, breaker transitions, health) older than the retention."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from services.worker import Wait, Worker, event_wait

logger = logging.getLogger(__name__)

PRUNE_INTERVAL_SEC = 3600.0


class TelemetryRetention:
    """Delete telemetry older than `retention_days` at start and then every `interval_sec`.

    Runs keep everything of their own (timeline, samples); only the console's running record of the
    Executor goes: client events, routine-call aggregates, breaker transitions and health samples.

    Example::

        retention = TelemetryRetention(engine=engine, retention_days=30)
        retention.start()
        ...
        retention.stop()
    """

    def __init__(
        self,
        *,
        engine: Engine,
        retention_days: float = 30.0,
        interval_sec: float = PRUNE_INTERVAL_SEC,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        wait: Wait = event_wait,
    ) -> None:
        if retention_days <= 0:
            raise ValueError("retention_days must be positive")
        self.engine = engine
        self.retention_days = retention_days
        self._now = now
        self.worker = Worker(
            name="boifi-telemetry-retention",
            step=self.prune,
            period_sec=interval_sec,
            clock=clock,
            wait=wait,
        )

    def prune(self) -> int:
        """Delete the telemetry older than the retention period now; return how many rows went."""
        cutoff = self._now() - timedelta(days=self.retention_days)
        with Session(self.engine) as session:
            removed = storage.prune_telemetry(session, before=cutoff)
        if removed:
            logger.info("pruned %d telemetry rows older than %s", removed, cutoff.isoformat())
        return removed

    def start(self) -> None:
        """Prune now, then every interval, on the background worker (once)."""
        self.worker.start()

    def stop(self, timeout_sec: float = 10.0) -> bool:
        """Stop pruning; return whether the worker ended within `timeout_sec`."""
        return self.worker.stop(timeout_sec)
