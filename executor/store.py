"""Policy and fault stores: what is active now, with an injected clock and scheduler."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from executor.faultspec import FaultSpec
from executor.policy import compile_policy
from executor.rules import Rule
from executor.stats import Recorder

__all__ = ["FaultRecord", "FaultStatus", "FaultStore", "PolicyStore", "Scheduler"]

Clock = Callable[[], float]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


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
class _StoredPolicy:
    document: dict[str, Any]
    rules: list[Rule]
    halted: asyncio.Event


class PolicyStore:
    """Family A policies by name, in insertion order, with expiry and change listeners."""

    def __init__(self, *, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._policies: OrderedDict[str, _StoredPolicy] = OrderedDict()
        self._timers: dict[str, Cancellable] = {}
        self._listeners: set[asyncio.Queue[list[dict[str, Any]]]] = set()
        self._rules: list[Rule] = []

    def get(self, name: str) -> dict[str, Any] | None:
        """Return the stored policy document, or None."""
        stored = self._policies.get(name)
        return stored.document if stored else None

    def documents(self) -> list[dict[str, Any]]:
        """Return every stored policy, in order."""
        return [stored.document for stored in self._policies.values()]

    def rules(self) -> list[Rule]:
        """Return the data-plane rules of every policy, in order."""
        return self._rules

    def put(self, document: dict[str, Any], *, expire_after_s: int = 0) -> None:
        """Create or replace a policy; delete it ``expire_after_s`` later when that is positive."""
        name = document["metadata"]["name"]
        old = self._policies.get(name)
        if old is not None:
            old.halted.set()
        halted = asyncio.Event()
        rules = [dataclasses.replace(rule, halted=halted) for rule in compile_policy(document)]
        self._policies[name] = _StoredPolicy(document, rules, halted)
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if expire_after_s > 0:
            self._timers[name] = self._scheduler.call_later(expire_after_s, lambda: self._expire(name))
        self._changed()

    def delete(self, name: str) -> bool:
        """Delete a policy at once; return whether it existed."""
        stored = self._policies.pop(name, None)
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if stored is None:
            return False
        stored.halted.set()
        self._changed()
        return True

    def _expire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.delete(name)

    def clear(self) -> None:
        """Delete every policy and timer without notifying (used at shutdown)."""
        for name in list(self._policies):
            self._policies.pop(name).halted.set()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._rules = []

    def subscribe(self) -> asyncio.Queue[list[dict[str, Any]]]:
        """Return a queue that receives the full policy list after every change."""
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        self._listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
        """Stop sending changes to ``queue``."""
        self._listeners.discard(queue)

    def _changed(self) -> None:
        self._rules = [rule for stored in self._policies.values() for rule in stored.rules]
        snapshot = self.documents()
        for queue in self._listeners:
            queue.put_nowait(snapshot)


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


class FaultStore:
    """Faults applied through families B and C, active and recent."""

    def __init__(self, *, clock: Clock = time.time, keep_recent: int = 200) -> None:
        self._clock = clock
        self._keep_recent = keep_recent
        self._faults: OrderedDict[str, FaultRecord] = OrderedDict()

    def add(self, record: FaultRecord) -> None:
        """Store a new fault, forgetting the oldest finished ones beyond the limit."""
        self._faults[record.apply_id] = record
        finished = [key for key, item in self._faults.items() if item.final_status is not None]
        for key in finished[: max(0, len(self._faults) - self._keep_recent)]:
            del self._faults[key]

    def get(self, apply_id: str) -> FaultRecord | None:
        """Return a fault by id, or None."""
        return self._faults.get(apply_id)

    def records(self) -> list[FaultRecord]:
        """Return every remembered fault, oldest first."""
        return list(self._faults.values())

    def active_rules(self) -> list[Rule]:
        """Return the rules of faults injecting now."""
        now = self._clock()
        return [record.rule for record in self._faults.values() if record.active(now)]

    def active_count(self) -> int:
        """Count faults injecting now."""
        now = self._clock()
        return sum(1 for record in self._faults.values() if record.active(now))
