"""A virtual clock for the executor's time seam: time moves only when a test lets it, and then at once.

The executor runs its production code on it, timers included: a delay still holds its request on one
``call_later``, a fault still ends when its end is due, the load driver still paces its requests. Only the
waiting is virtual. The clock watches the loop it creates: time jumps to the next timer only when the loop
has nothing else to do (no callback ready, nothing received, and after anything was received, nothing more
for ``settle_s`` of real time), so that
what a timer sets off on loopback (the load driver's request reaching the proxy, the proxy's answer reaching
the driver) is done before time moves on. Network timeouts stay on the loop's real clock.

Example::

    clock = VirtualClock()
    with virtual_executor(settings, clock) as ex:
        ...  # time stands still: a 600 s fault stays active while the test probes it
        with clock.running():
            ...  # time runs whenever the loop is idle: a 1 s fault and its load finish at once
        clock.advance(30)  # or: let exactly 30 s pass, firing every timer due meanwhile in order
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import itertools
import math
import selectors
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from executor import EmbeddedExecutor, ExecutorSettings

__all__ = ["RESOLUTION_S", "VirtualClock", "VirtualTimer", "virtual_executor"]

T = TypeVar("T")
_WAIT_S = 30.0
_GRID = 2**20
RESOLUTION_S = 1 / _GRID  # timers fire on this grid, rounded up (see VirtualClock)


class VirtualTimer:
    """One ``call_later`` on the virtual clock."""

    __slots__ = ("_args", "_callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self._callback = callback
        self._args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Call the timer off (harmless once it has fired)."""
        self.cancelled = True

    def run(self) -> None:
        """Call the callback unless the timer was called off meanwhile."""
        if not self.cancelled:
            self.cancelled = True
            self._callback(*self._args)


class VirtualClock:
    """The executor's clock (see ``executor.model.clock.Clock``) on virtual time, for tests."""

    def __init__(self, *, start_epoch_s: float | None = None, settle_s: float = 0.002) -> None:
        # Times are kept on a grid of 2**-20 s (about a microsecond), where sums of epoch seconds and delays
        # are exact: a fault whose end timer fires is past its end, not a rounding error short of it.
        self._epoch_s = _on_grid(time.time() if start_epoch_s is None else start_epoch_s, math.floor)
        self._elapsed_s = 0.0
        self._target_s = 0.0  # time may run up to here (infinity while running)
        self._timers: list[tuple[float, int, VirtualTimer]] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._settled: threading.Event | None = None
        # Before time jumps, the loop waits this long (real time) for what another thread may still send it,
        # such as a threaded upstream's answer: time then moves on with the work in flight, not ahead of it.
        self.settle_s = settle_s

    def now(self) -> float:
        """Return virtual epoch seconds."""
        return self._epoch_s + self._elapsed_s

    def monotonic(self) -> float:
        """Return the virtual seconds elapsed since the clock was made."""
        return self._elapsed_s

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, _wake, woken)
        try:
            await woken
        finally:
            timer.cancel()

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> VirtualTimer:
        """Call ``callback(*args)`` once ``delay`` virtual seconds have passed."""
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("a VirtualClock's timers run on the loop from its new_event_loop()")
        timer = VirtualTimer(_on_grid(self._elapsed_s + max(0.0, delay), math.ceil), callback, args)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """Return an event loop this clock watches (pass it as ``loop_factory``)."""
        loop = asyncio.SelectorEventLoop(_IdleSelector(self))
        self._loop = loop
        return loop

    def pending(self) -> list[float]:
        """Return in how many virtual seconds each timer still to fire is due, soonest first."""
        return self._on_loop(
            lambda: [when - self._elapsed_s for when, _, timer in sorted(self._timers) if not timer.cancelled]
        )

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass, firing each timer due in turn; return once the loop idles."""
        settled = threading.Event()

        def start() -> None:
            self._target_s = _on_grid(self._elapsed_s + seconds, math.ceil)  # where call_later(seconds) fires
            self._settled = settled

        self._on_loop(start)
        if not settled.wait(_WAIT_S):
            raise TimeoutError(f"the loop did not settle within {_WAIT_S} s of real time")

    @contextmanager
    def running(self) -> Iterator[None]:
        """Let time run whenever the loop is idle, until the block ends (then it stands still again)."""
        self._on_loop(lambda: setattr(self, "_target_s", math.inf))
        try:
            yield
        finally:
            self._on_loop(lambda: setattr(self, "_target_s", self._elapsed_s))

    def _on_loop(self, function: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or not loop.is_running() or _running_loop() is loop:
            return function()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(function())
            except BaseException as exc:  # handed to the waiting thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return done.result(timeout=_WAIT_S)

    # The selector's side, on the loop's thread.

    def _fire_due(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Hand every timer due by now to the loop; tell whether there was one."""
        fired = False
        while self._timers and self._timers[0][0] <= self._elapsed_s:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                loop.call_soon(timer.run)
                fired = True
        return fired

    def _jump(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Move time to the next timer within the target, or to the target; tell whether a timer fired."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if self._timers and self._timers[0][0] <= self._target_s:
            self._elapsed_s = self._timers[0][0]
            return self._fire_due(loop)
        if self._elapsed_s < self._target_s < math.inf:
            self._elapsed_s = self._target_s
        if self._settled is not None and self._elapsed_s >= self._target_s:
            self._settled.set()
            self._settled = None
        return False

    def _may_jump(self) -> bool:
        return self._settled is not None or self._target_s > self._elapsed_s


class _IdleSelector(selectors.BaseSelector):
    """The loop's selector, which lets the clock fire its timers, and jump when the loop would block."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._inner = selectors.DefaultSelector()
        self._busy = False  # the loop received something since time last jumped

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        clock = self._clock
        loop = clock._loop
        assert loop is not None
        if clock._fire_due(loop):
            timeout = 0  # what fired runs in this pass of the loop
        if (timeout is not None and timeout <= 0) or not clock._may_jump():
            return self._received(self._inner.select(timeout))
        events = self._inner.select(0)
        if not events and self._busy:  # something came in since the last jump: more may be on its way
            events = self._inner.select(clock.settle_s)
        if events:
            return self._received(events)
        if clock._jump(loop):
            self._busy = False
            return []
        return self._received(self._inner.select(timeout))

    def _received(
        self, events: list[tuple[selectors.SelectorKey, int]]
    ) -> list[tuple[selectors.SelectorKey, int]]:
        if events:
            self._busy = True
        return events

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()


@contextmanager
def virtual_executor(settings: ExecutorSettings, clock: VirtualClock) -> Iterator[EmbeddedExecutor]:
    """Run an embedded executor on ``clock``; its faults and load are let run out while it stops."""
    executor = EmbeddedExecutor(settings, clock=clock, loop_factory=clock.new_event_loop)
    executor.start()
    try:
        yield executor
    finally:
        with clock.running():
            executor.stop()


def _on_grid(seconds: float, rounding: Callable[[float], int]) -> float:
    return rounding(seconds * _GRID) / _GRID


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)
