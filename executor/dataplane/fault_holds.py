"""Requests a delay holds on one clock timer each, found by the halt that frees them early.

A fault that is cancelled or deleted sets its ``halted`` event; every request it holds is then released at
once instead of waiting out its delay. The proxy (:mod:`executor.dataplane.proxy`) holds a plain delay's
requests here without a task, and its task path sleeps here too (:meth:`HoldRegistry.halting_sleep`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from executor.model.clock import Cancellable, Clock
from executor.model.fault_kinds import Sleep

__all__ = ["FaultHalted", "Hold", "HoldRegistry"]


class FaultHalted(Exception):
    """The fault holding a request was cancelled or deleted while it waited."""


class Hold:
    """A request held by a delay, in the set its halt releases."""

    __slots__ = ("_forward", "_holds", "timer")

    def __init__(self, holds: set[Hold], forward: Callable[[], None]) -> None:
        self._holds = holds
        self._forward = forward
        self.timer: Cancellable | None = None

    def release(self) -> None:
        """End the hold (its time is up, or its fault was halted) and forward the request."""
        self.cancel()
        self._forward()

    def cancel(self) -> None:
        """Call the hold off (the client went away): nothing is forwarded."""
        self._holds.discard(self)
        if self.timer is not None:
            self.timer.cancel()


class HoldRegistry:
    """Hold requests on the clock's timers; release a halted fault's holds at once."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._holds: dict[asyncio.Event, set[Hold]] = {}  # held requests, by the halt that frees them
        self._watchers: set[asyncio.Future[None]] = set()

    def hold(self, halted: asyncio.Event | None, seconds: float, forward: Callable[[], None]) -> Hold:
        """Call ``forward`` after ``seconds`` on one timer, or as soon as ``halted`` is set."""
        holds = self._holds_for(halted)
        hold = Hold(holds, forward)
        hold.timer = self._clock.call_later(seconds, hold.release)
        holds.add(hold)
        return hold

    def halting_sleep(self, halted: asyncio.Event | None) -> Sleep:
        """Return a sleep that holds on one timer and raises FaultHalted if its fault is halted."""
        if halted is None:
            return self._clock.sleep

        async def interruptible(seconds: float) -> None:
            if halted.is_set():
                raise FaultHalted
            woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            hold = self.hold(halted, seconds, lambda: _wake(woken))
            try:
                await woken
            finally:
                hold.cancel()
            if halted.is_set():
                raise FaultHalted

        return interruptible

    def close(self) -> None:
        """Stop watching for halts."""
        for watcher in list(self._watchers):
            watcher.cancel()

    def _holds_for(self, halted: asyncio.Event | None) -> set[Hold]:
        if halted is None:
            return set()  # nothing can halt it: nobody needs to find it
        holds = self._holds.get(halted)
        if holds is None:
            holds = self._holds[halted] = set()
            watcher = asyncio.ensure_future(self._release_when_halted(halted))
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)
        return holds

    async def _release_when_halted(self, halted: asyncio.Event) -> None:
        try:
            await halted.wait()
        finally:
            holds = self._holds.pop(halted, set())
        for hold in list(holds):
            hold.release()


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)
