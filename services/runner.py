"""Run experiments on worker threads, streaming their progress into storage.

Pages and the CLI call `submit` and get a run id at once; the run row is written before the apply starts, so a
crash leaves a visible run (and, in policy mode, a policy name) for recovery to clean up. What happens on a
run's own worker thread (apply, progress, guardrail, outcome) and the lease renewal live in
`services.run_recording`; every later write of a run goes through one storage spool (`services.spool`), which
keeps what storage refuses and stores it when storage answers again. `outcome` and `storage_backlog` say how a
run ended and what is not stored yet, whatever storage does.

Workers are daemon threads, so that an exiting interpreter does not first wait for every run to take its full
course (it joins non-daemon threads before running `atexit` hooks); instead an `atexit` hook, registered by
`start`, halts the runs still in flight and records them as cancelled. That is how the dashboard's runs stop
when Streamlit's server exits on SIGTERM.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ApiMode, FaultPlan, HttpExecutorClient, redact_url
from services.guardrail import Guardrail
from services.heartbeat import Heartbeat
from services.run_recording import ActiveRun, RunOutcome, RunRecorder
from services.spool import DEFAULT_MEMORY_ITEMS, Spool, StorageBacklog
from storage.engine import SQLITE_BUSY_TIMEOUT_MS

logger = logging.getLogger(__name__)

_CLOSED = "the runner is shut down"
_NOT_STARTED = "the runner is not started: call start() first"

HALTED_BY_USER = "halted by user"
SHUT_DOWN = "console shut down"
PROCESS_EXITING = "console process exiting"
SHUTDOWN_TIMEOUT_SEC = 30.0
# At shutdown, how long storage may take to accept what waits before it is spooled: as long as one write may
# wait on another connection's lock, so that a lock (bounded by the shutdown's deadline) costs a wait.
SPOOL_CLOSE_SEC = SQLITE_BUSY_TIMEOUT_MS / 1000


def make_owner_id() -> str:
    """Return an id for this process as the owner of its runs: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runner:
    """Execute fault plans in the background through one shared client, recording everything.

    Example::

        runner = Runner(engine=engine, client=client)
        runner.start()
        run_id = runner.submit(plan, guardrail=Guardrail(max_error_rate=0.5))
        runner.wait(run_id)
        runner.shutdown()
    """

    def __init__(
        self,
        *,
        engine: Engine,
        client: HttpExecutorClient,
        owner: str | None = None,
        max_workers: int = 4,
        lease_sec: float = 30.0,
        heartbeat_interval_sec: float | None = None,
        progress_interval_sec: float = 1.0,
        recover_on_start: bool = True,
        now: Callable[[], datetime] = utc_now,
        spool_dir: Path | None = None,
        spool_memory_items: int = DEFAULT_MEMORY_ITEMS,
    ) -> None:
        self.engine = engine
        self.client = client
        self.owner = owner or make_owner_id()
        self.lease_sec = lease_sec
        self._recover_on_start = recover_on_start
        self._now = now
        self.spool = Spool(engine=engine, directory=spool_dir, memory_items=spool_memory_items, now=now)
        self._recorder = RunRecorder(
            engine=engine,
            client=client,
            now=now,
            progress_interval_sec=progress_interval_sec,
            spool=self.spool,
        )
        self._slots = threading.BoundedSemaphore(max_workers)
        self._lock = threading.Lock()
        self._active: dict[int, ActiveRun] = {}
        self._by_key: dict[str, int] = {}
        self._closed = threading.Event()
        self._started = False
        interval = (
            heartbeat_interval_sec if heartbeat_interval_sec is not None else max(lease_sec / 3.0, 0.05)
        )
        self._heartbeat = Heartbeat(
            engine=engine, owner=self.owner, run_ids=self._leased_run_ids, interval_sec=interval, now=now
        )

    def start(self) -> None:
        """Renew leases, recover the orphaned runs of dead processes, and halt our runs at exit (once)."""
        with self._lock:
            if self._started or self._closed.is_set():
                return
            self._started = True
        self.spool.start()
        self._heartbeat.start()
        atexit.register(self._shutdown_at_exit)
        if self._recover_on_start:
            from services.recovery import recover_orphaned_runs

            recover_orphaned_runs(
                engine=self.engine,
                client_for=self._client_for,
                lease_sec=self.lease_sec,
                owner=self.owner,
                now=self._now,
                spool_dir=self.spool.directory,
            )

    def _client_for(self, executor_url: str, api_mode: ApiMode) -> HttpExecutorClient | None:
        """Return our one client for a run's Executor (it speaks every api mode per call), else None."""
        if redact_url(executor_url).rstrip("/") != self.executor_url.rstrip("/"):
            return None
        return self.client

    @property
    def executor_url(self) -> str:
        """The Executor's URL as runs store it: its password, if any, redacted."""
        return redact_url(str(self.client.config.base_url))

    @property
    def api_mode(self) -> ApiMode:
        """The client's configured mode: that of runs submitted without one."""
        return ApiMode(self.client.config.api_mode)

    def submit(
        self,
        plan: FaultPlan,
        *,
        labels: Sequence[str] = (),
        notes: str = "",
        guardrail: Guardrail | None = None,
        timeout_sec: float | None = None,
        start_time: datetime | None = None,
        api_mode: ApiMode | str | None = None,
        launched_by: str | None = None,
        campaign_id: int | None = None,
        trial_number: int | None = None,
    ) -> int:
        """Record a queued run for `plan` and start it on a worker thread; return its id at once.

        `api_mode` is the API family this run speaks (None: the client's configured mode); the one client
        speaks it per call, and the run's halts and recovery use the mode stored on the run. `launched_by`
        is who launched it (the dashboard's logged-in user), stored on the run; a campaign's trial gives
        its `campaign_id` and `trial_number` (services/campaigns).
        """
        if self._closed.is_set():
            raise RuntimeError(_CLOSED)
        if not self._started:
            raise RuntimeError(_NOT_STARTED)
        mode = self.api_mode if api_mode is None else ApiMode(api_mode)
        apply_key = f"run-{uuid.uuid4().hex[:16]}"
        with Session(self.engine) as session:
            run = storage.create_run(
                session,
                plan=plan.model_dump(mode="json"),
                executor_url=self.executor_url,
                api_mode=mode,
                apply_key=apply_key,
                owner=self.owner,
                labels=list(labels),
                notes=notes,
                guardrail=guardrail.to_dict() if guardrail and guardrail.enabled else None,
                now=self._now(),
                launched_by=launched_by,
                campaign_id=campaign_id,
                trial_number=trial_number,
            )
            run_id = int(run.id)  # type: ignore[arg-type]
        active = ActiveRun(run_id=run_id, plan=plan, apply_key=apply_key, guardrail=guardrail, api_mode=mode)
        if mode is ApiMode.POLICY:
            active.fault_id = self.client.policy_name_for(apply_key)
        with self._lock:
            closed = self._closed.is_set()  # checked again under the lock shutdown takes its snapshot with
            if not closed:
                self._active[run_id] = active
                self._by_key[apply_key] = run_id
        if closed:
            active.halt(SHUT_DOWN)
            self._recorder.finish(active, active.stop_status, None)
            raise RuntimeError(_CLOSED)
        worker = threading.Thread(
            target=self._work, args=(active, timeout_sec, start_time), name=f"boifi-run-{run_id}", daemon=True
        )
        worker.start()
        return run_id

    def cancel(self, run_id: int, *, reason: str = HALTED_BY_USER) -> bool:
        """Halt a run of this process: stop its fault on the Executor and record it as cancelled."""
        with self._lock:
            active = self._active.get(run_id)
        if active is None:
            return False
        active.halt(reason)
        return True

    def run_id_for_key(self, apply_key: str | None) -> int | None:
        if apply_key is None:
            return None
        with self._lock:
            return self._by_key.get(apply_key)

    def active_run_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._active)

    def _leased_run_ids(self) -> list[int]:
        """Active runs, and ended ones whose end storage has not taken yet: both keep their lease."""
        return sorted(set(self.active_run_ids()) | set(self.spool.pending_run_ids()))

    def outcome(self, run_id: int) -> RunOutcome | None:
        """Return how run `run_id` of this process ended, from memory (stored or not); None if unknown."""
        return self._recorder.outcome(run_id)

    def storage_backlog(self, run_id: int | None = None) -> StorageBacklog:
        """Return what storage has not taken yet, of every run of this process or of `run_id`."""
        return self.spool.backlog(run_id)

    def wait(self, run_id: int, timeout: float | None = None) -> bool:
        """Block until the run has finished in this process; True if it did within `timeout`."""
        with self._lock:
            active = self._active.get(run_id)
        return active is None or active.done.wait(timeout)

    def shutdown(
        self,
        *,
        cancel_active: bool = True,
        wait: bool = True,
        timeout_sec: float = SHUTDOWN_TIMEOUT_SEC,
        reason: str = SHUT_DOWN,
    ) -> None:
        """Stop accepting runs; halt active ones (their faults are removed) and wait up to `timeout_sec`.

        A halted run that has not finished by then is recorded as interrupted, so no run this runner
        owned stays `running`; its worker may still record the real outcome later.
        """
        with self._lock:
            first_call = not self._closed.is_set()
            self._closed.set()
            runs = list(self._active.values())
        atexit.unregister(self._shutdown_at_exit)
        if cancel_active:
            for active in runs:
                active.halt(reason)
        deadline = time.monotonic() + timeout_sec
        if wait:
            stuck = [active for active in runs if not active.done.wait(max(0.0, deadline - time.monotonic()))]
            if stuck and cancel_active:
                self._mark_stuck(
                    stuck, f"interrupted: {reason}, and the run did not stop within {timeout_sec:g} s"
                )
        if first_call:
            self._heartbeat.stop()
            # What storage has not taken by now goes to spool files, which the next start replays.
            budget = min(SPOOL_CLOSE_SEC, max(0.0, deadline - time.monotonic())) if wait else 0.0
            self.spool.close(timeout_sec=budget)

    def _shutdown_at_exit(self) -> None:
        self.shutdown(reason=PROCESS_EXITING)

    def _mark_stuck(self, runs: Sequence[ActiveRun], reason: str) -> None:
        logger.warning(
            "runs %s did not stop in time; their faults may stay active until they expire",
            [active.run_id for active in runs],
        )
        for active in runs:
            try:
                with Session(self.engine) as session:
                    storage.mark_interrupted(session, run_id=active.run_id, reason=reason, now=self._now())
            except Exception as exc:
                logger.warning(
                    "could not mark run %s interrupted: %s", active.run_id, storage.describe_error(exc)
                )

    def _work(self, active: ActiveRun, timeout_sec: float | None, start_time: datetime | None) -> None:
        try:
            with self._slots:
                self._recorder.execute(active, timeout_sec, start_time)
        finally:
            with self._lock:
                self._active.pop(active.run_id, None)
                self._by_key.pop(active.apply_key, None)
            active.done.set()
