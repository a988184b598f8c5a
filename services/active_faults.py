"""Poll the Executor's active faults on one background thread; pages read the latest snapshot."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from client import ActiveFault, ApiMode, ExecutorClientError, HttpExecutorClient, NotFoundError
from services.worker import Wait, Worker, event_wait

__all__ = ["ActiveFaultsPoller", "FaultsSnapshot"]


@dataclass(frozen=True)
class FaultsSnapshot:
    """The Executor's active faults as last listed, or why the listing failed; `taken_at` None: not yet."""

    faults: tuple[ActiveFault, ...] = ()
    error: str | None = None
    taken_at: datetime | None = None
    polls: int = field(default=0, compare=False)
    policy_ids: frozenset[str] = frozenset()  # faults listed in the policy family (halted in that mode)

    def api_mode_of(self, fault_id: str) -> ApiMode | None:
        """Return the api mode that halts `fault_id`: policy for a listed policy, else None (client's)."""
        return ApiMode.POLICY if fault_id in self.policy_ids else None


class ActiveFaultsPoller:
    """List the Executor's active faults every `interval_sec` on one thread, whatever the number of pages.

    Every browser tab used to list the faults itself on each refresh, so the Executor's load (and the
    client's call counts on the Monitor) grew with the number of open tabs. Now one process-wide poller asks;
    pages only read `snapshot`. `refresh()` polls at once (after a halt, so the list is not stale).

    Example::

        poller = ActiveFaultsPoller(client=client, interval_sec=2)
        poller.start()
        poller.snapshot.faults
        poller.stop()
    """

    def __init__(
        self,
        *,
        client: HttpExecutorClient,
        interval_sec: float = 2.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        wait: Wait = event_wait,
    ) -> None:
        if interval_sec <= 0:
            raise ValueError("interval_sec must be positive")
        self.client = client
        self.interval_sec = interval_sec
        self._now = now
        self._lock = threading.Lock()
        self._snapshot = FaultsSnapshot()
        self.worker = Worker(
            name="boifi-active-faults", step=self.poll, period_sec=interval_sec, clock=clock, wait=wait
        )

    @property
    def snapshot(self) -> FaultsSnapshot:
        """Return the latest listing (no I/O)."""
        return self._snapshot

    def poll(self) -> FaultsSnapshot:
        """List the active faults now, store the result as the snapshot and return it.

        An Executor's error is the snapshot's reason; an unexpected one is that too, then raised, so that
        the worker reports it.
        """
        with self._lock:  # one listing at a time, so a slower older answer cannot replace a newer one
            polls = self._snapshot.polls + 1
            try:
                faults, policy_ids = self._list()
                snapshot = FaultsSnapshot(
                    faults=faults, taken_at=self._now(), polls=polls, policy_ids=policy_ids
                )
            except ExecutorClientError as exc:
                snapshot = FaultsSnapshot(error=str(exc), taken_at=self._now(), polls=polls)
            except Exception as exc:  # the page shows the reason; the worker logs it
                self._snapshot = FaultsSnapshot(
                    error=f"{type(exc).__name__}: {exc}", taken_at=self._now(), polls=polls
                )
                raise
            self._snapshot = snapshot
            return snapshot

    def _list(self) -> tuple[tuple[ActiveFault, ...], frozenset[str]]:
        """List in the client's mode and, unless that is policy, the policy family too (404: not served)."""
        faults = list(self.client.list_active_faults())
        if ApiMode(self.client.config.api_mode) is ApiMode.POLICY:
            return tuple(faults), frozenset(fault.fault_id for fault in faults)
        try:
            policies = self.client.list_active_faults(api_mode=ApiMode.POLICY.value)
        except NotFoundError:
            policies = []
        known = {fault.fault_id for fault in faults}
        extra = [fault for fault in policies if fault.fault_id not in known]
        return tuple(faults + extra), frozenset(fault.fault_id for fault in extra)

    def refresh(self) -> None:
        """Ask the thread to poll now instead of at its next interval."""
        self.worker.wake()

    def start(self) -> None:
        """Start the polling thread (once)."""
        self.worker.start()

    def stop(self, timeout_sec: float = 10.0) -> bool:
        """Stop the polling thread; return whether it ended within `timeout_sec`."""
        return self.worker.stop(timeout_sec)
