"""The policy store: family A policies active now, with an injected scheduler (faults: faultstore)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from executor.model.rules import Rule
from executor.spec.policy_spec import compile_policy

__all__ = ["PolicyStore", "Scheduler"]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


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
