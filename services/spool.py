"""Write the storage writes of runs on one thread, and keep those storage refused until it answers again.

Nothing a run writes (start, fault id, progress, final outcome) waits on the database on the run's own thread,
and nothing raises into it: `submit` queues the write, the spool's thread stores it. When storage fails the
writes stay queued, in memory up to `memory_items` items (a write, a sample, a timeline point), beyond that in
one spool file per run (services/spool_files.py); the thread retries with exponential back-off (tenacity) and
stores them, per run in the order of its life and the finish last, once storage answers. Every write is
idempotent (services/pending_writes.py), so a retry after a write whose answer was lost stores it once.
`close` spools what is still waiting to files, which the next start or `boifi runs recover` replays
(services/spool_replay.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

import storage
from services.pending_writes import PendingWrite, WriteKind
from services.run_backlog import RunBacklog
from services.spool_files import database_key, default_spool_dir

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_ITEMS = 200_000
Store = Callable[[Sequence[PendingWrite]], None]


@dataclass(frozen=True)
class StorageBacklog:
    """What is waiting to be stored: `samples`; `events` (timeline points, starts, fault ids, progress);
    `summaries` (runs' final outcomes); for which `runs`, since when, and the last error storage gave."""

    samples: int = 0
    events: int = 0
    summaries: int = 0
    runs: tuple[int, ...] = ()
    spooled_runs: tuple[int, ...] = ()  # those kept in spool files rather than in memory
    last_error: str | None = None
    since: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.runs

    @property
    def outage(self) -> bool:
        """Whether storage refused what waits (else it is only in flight, stored within moments)."""
        return self.since is not None


class _Unstored(Exception):
    """A pass left writes unstored because storage refused one."""


class Spool:
    """Store run writes on one thread; keep, spill and retry what storage refuses.

    Before `start` (or after `close`) `submit` stores at once on the caller's thread, still never raising.

    Example::

        spool = Spool(engine=engine, directory=tmp_path / "spool")
        spool.start()
        spool.submit(progress_write(run_id, summary=summary, timeline=points))
        spool.close(timeout_sec=5)
    """

    def __init__(
        self,
        *,
        engine: Engine,
        directory: Path | None = None,
        memory_items: int = DEFAULT_MEMORY_ITEMS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] | None = None,
        initial_backoff_sec: float = 0.25,
        max_backoff_sec: float = 5.0,
        store: Store | None = None,
    ) -> None:
        self.engine = engine
        self.directory = directory if directory is not None else default_spool_dir()
        self.memory_items = memory_items
        self._key = database_key(engine)
        self._now = now
        self._store = store or self._store_in_database
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._runs: dict[int, RunBacklog] = {}
        self._failing = False
        self._failures = 0
        self._last_error: str | None = None
        self._since: datetime | None = None
        self._reported: set[str] = set()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._retrying = Retrying(
            retry=retry_if_exception_type(_Unstored),
            wait=wait_exponential(
                multiplier=initial_backoff_sec, min=initial_backoff_sec, max=max_backoff_sec
            ),
            stop=self._should_stop,
            sleep=sleep or self._pause,
            reraise=True,
        )

    def start(self) -> None:
        """Store writes on a thread of our own from now on (once)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._loop, name="boifi-storage-spool", daemon=True)
            self._thread.start()
            self._wake.set()  # writes submitted before the start

    def submit(self, write: PendingWrite) -> None:
        """Queue `write`; store it now when no thread does (before `start`, after `close`). Never raises."""
        try:
            with self._lock:
                run = self._runs.get(write.run_id)
                if run is None:
                    run = self._runs[write.run_id] = RunBacklog(write.run_id, self.directory, self._key)
                self._keep(run.add, write)
                self._enforce_memory_bound()
                threaded = self._thread is not None and not self._closed
                wake = threaded and not self._failing  # while failing, the back-off sets the pace
            if wake:
                self._wake.set()
            elif not threaded:
                self._store_now()
        except Exception:  # a bug here must not end a run: say so loudly, keep running
            logger.exception("could not queue a %s write of run %s", write.kind.value, write.run_id)

    def _keep(self, action: Callable[..., None], *args: object) -> None:
        try:
            action(*args)
        except OSError as exc:  # the spool directory failed too: memory keeps it while the process lives
            self._report_once(f"cannot spool run results to {self.directory}: {exc}")

    def _enforce_memory_bound(self) -> None:
        runs = sorted(self._runs.values(), key=RunBacklog.memory_items, reverse=True)
        used = sum(run.memory_items() for run in runs)
        for run in runs:
            if used <= self.memory_items:
                return
            used -= run.memory_items()
            self._keep(run.spill)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.drain()
            except Exception:  # a bug: report it, and let the next submit try again
                logger.exception("the storage spool failed")

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)  # `close` cuts a back-off short

    def _should_stop(self, _state: RetryCallState) -> bool:
        return self._stopping.is_set()

    def drain(self) -> bool:
        """Store until nothing waits, backing off while storage refuses; False if stopped before that."""
        try:
            self._retrying(self._drain)
        except _Unstored:
            return False  # stopping while storage still refuses: `close` spools what is left
        return True

    def _drain(self) -> None:
        while True:
            if not self.flush():
                raise _Unstored(self._last_error)
            with self._lock:
                if not self._runs:
                    return

    def flush(self) -> bool:
        """Try once to store every waiting write, run by run; return False if storage refused one."""
        stored_all = True
        with self._lock:
            run_ids = list(self._runs)
        for run_id in run_ids:
            try:
                with self._lock:
                    run = self._runs.get(run_id)
                    if run is None:
                        continue
                    generation, writes = run.generation, run.writes()
                self._store(writes)
                with self._changed:
                    if run.forget(writes, generation):
                        self._runs.pop(run_id, None)
                    self._changed.notify_all()
            except Exception as exc:
                stored_all = False
                self._note_failure(run_id, exc)
                if isinstance(exc, storage.STORAGE_ERRORS):
                    break  # storage is down: the other runs' writes would fail the same way
        if stored_all:
            self._note_success()
        return stored_all

    def _store_in_database(self, writes: Sequence[PendingWrite]) -> None:
        with Session(self.engine) as session:
            for write in writes:
                write.store(session)

    def _store_now(self) -> None:
        """Store on the caller's thread; once the spool is closed, spool to files what storage refused."""
        if self.flush():
            return
        with self._lock:
            if self._closed:
                for run in self._runs.values():
                    self._keep(run.spill)
                    run.release()

    def _note_failure(self, run_id: int, exc: Exception) -> None:
        text = storage.describe_error(exc)
        with self._changed:
            self._failures += 1
            self._last_error = text
            first = not self._failing
            if first:
                self._failing = True
                self._since = self._now()
            self._changed.notify_all()
        if not isinstance(exc, storage.STORAGE_ERRORS):
            if text not in self._reported:  # a bug, not an outage: its traceback helps
                self._reported.add(text)
                logger.error("could not store the results of run %s: %s", run_id, text, exc_info=exc)
        elif first:
            problem = storage.describe_failure(self.engine.url, exc)
            logger.warning("storage unavailable: %s; keeping run results until it answers", problem)

    def _note_success(self) -> None:
        with self._changed:
            recovered = self._failing
            self._failing = False
            self._last_error = None
            self._since = None
            self._changed.notify_all()
        if recovered:
            logger.warning("storage answers again; the run results kept meanwhile are stored")

    def _report_once(self, text: str) -> None:
        if text not in self._reported:
            self._reported.add(text)
            logger.warning("%s", text)

    def wait_settled(self, run_id: int, timeout_sec: float) -> bool:
        """Wait until `run_id`'s writes are stored (True) or storage refuses one (False), bounded."""
        with self._changed:
            if run_id not in self._runs:
                return True
            if self._thread is None or self._closed or self._failing:
                return False
            failures = self._failures
            self._changed.wait_for(
                lambda: run_id not in self._runs or self._failures != failures, timeout=timeout_sec
            )
            return run_id not in self._runs

    def pending_run_ids(self) -> list[int]:
        """Return the runs with writes waiting."""
        with self._lock:
            return sorted(self._runs)

    def backlog(self, run_id: int | None = None) -> StorageBacklog:
        """Return what is waiting to be stored, for every run or for `run_id`."""
        with self._lock:
            runs = [run for run in self._runs.values() if run_id is None or run.run_id == run_id]
            samples = events = summaries = 0
            for run in runs:
                for kind, (sample_count, point_count) in run.counts.items():
                    samples += sample_count
                    events += point_count + (kind is not WriteKind.FINISH)
                    summaries += kind is WriteKind.FINISH
            return StorageBacklog(
                samples=samples,
                events=events,
                summaries=summaries,
                runs=tuple(sorted(run.run_id for run in runs)),
                spooled_runs=tuple(sorted(run.run_id for run in runs if run.spilled)),
                last_error=self._last_error if runs else None,
                since=self._since if runs else None,
            )

    def close(self, timeout_sec: float = 5.0) -> None:
        """Store what storage takes within `timeout_sec`, spool the rest to files, and stop the thread."""
        with self._changed:
            if self._closed:
                return
            if self._thread is not None:
                self._changed.wait_for(lambda: not self._runs or self._failing, timeout=max(0.0, timeout_sec))
            self._closed = True
            self._stopping.set()
            self._wake.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=1.0)
        with self._lock:
            for run in self._runs.values():
                self._keep(run.spill)
                run.release()
            left = sorted(run.run_id for run in self._runs.values() if run.spilled)
        if left:
            logger.warning(
                "runs %s: results not stored yet are kept in %s for the next start", left, self.directory
            )
