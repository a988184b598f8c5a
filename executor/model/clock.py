"""The executor's one time seam: what fault windows, load pacing, holds and expiries read time and wait with.

Production runs on :data:`LOOP_CLOCK`, the wall clock and the running event loop's own sleep and timers.
A test passes a virtual clock with the same four methods (``tests/executor/virtual_clock.py``), so that the
code it runs is the production code, timers included, while time moves only when the test lets it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["LOOP_CLOCK", "Cancellable", "Clock", "LoopClock"]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time as the executor's asyncio side sees it: two readings, a sleep and a timer."""

    def now(self) -> float:
        """Return the time in epoch seconds (fault windows, ids, stamps)."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back (load pacing, measured latencies)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Cancellable:
        """Call ``callback(*args)`` on the running loop ``delay`` seconds from now."""
        ...


class LoopClock:
    """The production clock: ``time.time``, ``time.perf_counter`` and the running loop's sleep and timers."""

    __slots__ = ()

    # The readings are the builtins themselves: the proxy reads the time on every request, and a method
    # wrapping them would add a Python frame to each reading.
    now = staticmethod(time.time)
    monotonic = staticmethod(time.perf_counter)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the running loop."""
        await asyncio.sleep(seconds)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> asyncio.TimerHandle:
        """Schedule ``callback(*args)`` on one timer of the running loop."""
        return asyncio.get_running_loop().call_later(delay, callback, *args)


LOOP_CLOCK = LoopClock()
