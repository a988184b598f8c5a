"""Family B/C faults: their records, and how long each one and its idempotency key are remembered."""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import Enum

from executor.lifecycle.fault_stats import Recorder
from executor.model.clock import LOOP_CLOCK, Clock
from executor.model.rules import Rule
from executor.spec.faultspec import FaultSpec

__all__ = ["FaultRecord", "FaultStatus", "FaultStore"]

DEFAULT_WINDOW_S = 24 * 3600.0
_RECHECK_S = 60.0  # a fault still running a window after its end (it cannot): look again this much later


class FaultStatus(Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (FaultStatus.COMPLETED, FaultStatus.FAILED, FaultStatus.CANCELLED)


@dataclass
class FaultRecord:
    """One fault applied through family B or C."""

    apply_id: str
    spec: FaultSpec
    rule: Rule
    start_epoch_s: float
    end_epoch_s: float
    halted: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    final_status: FaultStatus | None = None
    error_message: str | None = None
    recorder: Recorder = field(default_factory=Recorder)
    task: asyncio.Task[None] | None = None
    idempotency_key: str | None = None
    family: str = "extended"

    def target(self) -> dict[str, str | int]:
        """Return the metrics body's ``target``: requests the fault's rule took on its target, and those hit.

        The proxy counts them (see ``RuleHits``) while the fault is active, whatever sent them: the load
        driving an observed entry point, the fault's own load, or any other client.
        """
        hits = self.rule.hits
        return {
            "service": self.spec.service,
            "api": self.spec.api,
            "request_count": hits.matched,
            "affected_count": hits.affected,
        }

    def status(self, now_s: float) -> FaultStatus:
        """Return the status at ``now_s``."""
        if self.final_status is not None:
            return self.final_status
        return FaultStatus.PENDING if now_s < self.start_epoch_s else FaultStatus.RUNNING

    def active(self, now_s: float) -> bool:
        """Tell whether the fault injects at ``now_s``."""
        return not self.halted.is_set() and self.start_epoch_s <= now_s < self.end_epoch_s

    def finish(self, status: FaultStatus, error_message: str | None = None) -> None:
        """Record a terminal status once and release requests held by this fault."""
        if self.final_status is None:
            self.final_status = status
            self.error_message = error_message
        self.halted.set()
        self.done.set()

    @property
    def finished(self) -> bool:
        """Tell whether the run is over, its load included (its measurements are final)."""
        return self.final_status is not None and (self.task is None or self.task.done())

    @property
    def summarised(self) -> bool:
        """Tell whether only a summary of the measurements is kept (see FaultStore)."""
        return not self.recorder.keeps_samples

    def summarise(self) -> None:
        """Drop the samples and the load settings, keeping the final numbers, traces and logs."""
        self.recorder = self.recorder.summary()
        self.spec = dataclasses.replace(self.spec, load=None)


class FaultStore:
    """Faults applied through families B and C: running, recent in full, older ones summarised.

    A finished fault is kept in full while it is one of the ``keep_recent`` most recently finished (these
    and the running ones are what ``GET /v1/faults`` lists), then as a summary (final metrics, traces, logs),
    still answered by id. Either way it is forgotten ``window_s`` after its scheduled end, and its
    idempotency key with it, never sooner: however many faults come after it, a retried key within the
    window finds its fault, so it can never inject twice. Memory is bounded by the faults applied in a
    window, at a few kilobytes each once summarised. The store tidies itself on each apply and listing.
    """

    def __init__(
        self, *, clock: Clock = LOOP_CLOCK, keep_recent: int = 200, window_s: float = DEFAULT_WINDOW_S
    ) -> None:
        self._now = clock.now  # epoch seconds: what is active now, what is forgotten
        self._keep_recent = keep_recent
        self._window_s = window_s
        self._faults: OrderedDict[str, FaultRecord] = OrderedDict()  # in apply order
        self._live: dict[str, FaultRecord] = {}  # not finished yet
        self._recent: deque[str] = deque()  # finished and kept in full, oldest first
        self._expiry: list[tuple[float, str]] = []  # a heap of (forget at, apply_id)
        self._keys: dict[tuple[str, str], tuple[str, str]] = {}  # (family, key) -> (body digest, apply_id)

    def __len__(self) -> int:
        return len(self._faults)

    def add(self, record: FaultRecord, *, digest: str | None = None) -> None:
        """Store a new fault (and its idempotency key, with the digest of its body)."""
        self._tidy()
        self._faults[record.apply_id] = record
        self._live[record.apply_id] = record
        heapq.heappush(self._expiry, (record.end_epoch_s + self._window_s, record.apply_id))
        if record.idempotency_key is not None and digest is not None:
            self._keys[(record.family, record.idempotency_key)] = (digest, record.apply_id)

    def find_key(self, family: str, key: str) -> tuple[str, FaultRecord] | None:
        """Return the body digest and the fault an idempotency key started, or None if it is not known."""
        self._tidy()
        known = self._keys.get((family, key))
        if known is None:
            return None
        digest, apply_id = known
        return digest, self._faults[apply_id]

    def key_count(self) -> int:
        """Count the idempotency keys remembered."""
        return len(self._keys)

    def get(self, apply_id: str) -> FaultRecord | None:
        """Return a fault by id (in full or summarised), or None."""
        return self._faults.get(apply_id)

    def records(self) -> list[FaultRecord]:
        """Return the running and recent faults (not the summarised ones), oldest first."""
        self._tidy()
        return [record for record in self._faults.values() if not record.summarised]

    def unfinished(self) -> list[FaultRecord]:
        """Return the faults whose run is not over."""
        return list(self._live.values())

    def active_rules(self) -> list[Rule]:
        """Return the rules of faults injecting now."""
        now = self._now()
        return [record.rule for record in self._live.values() if record.active(now)]

    def active_count(self) -> int:
        """Count faults injecting now."""
        now = self._now()
        return sum(1 for record in self._live.values() if record.active(now))

    def _tidy(self) -> None:
        for apply_id, record in list(self._live.items()):
            if record.finished:
                del self._live[apply_id]
                self._recent.append(apply_id)
        while len(self._recent) > self._keep_recent:
            self._faults[self._recent.popleft()].summarise()
        now = self._now()
        while self._expiry and self._expiry[0][0] <= now:
            _, apply_id = heapq.heappop(self._expiry)
            if apply_id in self._live:
                heapq.heappush(self._expiry, (now + _RECHECK_S, apply_id))
            else:
                self._forget(self._faults[apply_id])

    def _forget(self, record: FaultRecord) -> None:
        del self._faults[record.apply_id]
        if record.apply_id in self._recent:
            self._recent.remove(record.apply_id)
        if record.idempotency_key is not None:
            slot = (record.family, record.idempotency_key)
            if self._keys.get(slot, ("", ""))[1] == record.apply_id:
                del self._keys[slot]
