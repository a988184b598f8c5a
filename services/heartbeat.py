"""Renew the leases of a process's active runs on one background worker, so recovery leaves them alone."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from services.worker import Wait, Worker, event_wait

logger = logging.getLogger(__name__)


class Heartbeat:
    """Renew the lease of the active runs of `owner` every `interval_sec` on one background worker.

    Example::

        heartbeat = Heartbeat(engine=engine, owner=owner, run_ids=runner.active_run_ids, interval_sec=10)
        heartbeat.start()
        heartbeat.stop()
    """

    def __init__(
        self,
        *,
        engine: Engine,
        owner: str,
        run_ids: Callable[[], list[int]],
        interval_sec: float,
        now: Callable[[], datetime],
        wait: Wait = event_wait,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self._run_ids = run_ids
        self._now = now
        self._failing = False
        self.worker = Worker(
            name="boifi-heartbeat",
            step=self.beat,
            period_sec=interval_sec,
            immediate=False,
            final_step=self.beat,
            wait=wait,
        )

    def start(self) -> None:
        """Start renewing."""
        self.worker.start()

    def stop(self, timeout_sec: float = 5.0) -> bool:
        """Renew once more, then stop the thread; return whether it ended within `timeout_sec`."""
        return self.worker.stop(timeout_sec)

    def beat(self) -> None:
        """Renew the leases of the runs active right now; an unavailable storage is logged once per outage."""
        run_ids = self._run_ids()
        if not run_ids:
            return
        try:
            with Session(self.engine) as session:
                storage.heartbeat(session, run_ids=run_ids, owner=self.owner, now=self._now())
        except storage.STORAGE_ERRORS as exc:
            if not self._failing:
                self._failing = True
                logger.warning("cannot renew the leases of runs %s: %s", run_ids, storage.describe_error(exc))
            return
        if self._failing:
            self._failing = False
            logger.warning("the leases of runs %s are renewed again", run_ids)
