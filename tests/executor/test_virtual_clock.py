"""The executor's time seam: the loop's own clock in production, a virtual one that tests step."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

from executor.model.clock import LOOP_CLOCK, LoopClock
from tests.executor.virtual_clock import RESOLUTION_S, VirtualClock

T = TypeVar("T")


@contextmanager
def _loop_thread(clock: VirtualClock) -> Iterator[asyncio.AbstractEventLoop]:
    """Run the clock's loop in a thread, as EmbeddedExecutor does."""
    loop = clock.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _on(loop: asyncio.AbstractEventLoop, function: Callable[[], T]) -> T:
    async def call() -> T:
        return function()

    return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)


def test_time_stands_still_until_advanced_then_timers_fire_in_order() -> None:
    clock = VirtualClock(start_epoch_s=1000.0)
    fired: list[float] = []
    with _loop_thread(clock) as loop:
        _on(loop, lambda: [clock.call_later(delay, fired.append, delay) for delay in (0.3, 0.1, 0.2)])
        _on(loop, lambda: None)  # a few passes of the loop: nothing fires while time stands still
        assert (fired, clock.monotonic(), clock.now()) == ([], 0.0, 1000.0)
        clock.advance(0.15)
        assert fired == [0.1]
        assert clock.monotonic() == pytest.approx(0.15, abs=RESOLUTION_S)
        clock.advance(1.0)
        assert fired == [0.1, 0.2, 0.3]
        assert clock.now() == pytest.approx(1001.15, abs=RESOLUTION_S)
        assert clock.pending() == []


def test_a_cancelled_timer_never_fires_and_a_zero_delay_fires_at_once() -> None:
    clock = VirtualClock()
    fired: list[str] = []
    with _loop_thread(clock) as loop:
        timer = _on(loop, lambda: clock.call_later(0.1, fired.append, "cancelled"))
        _on(loop, lambda: clock.call_later(0, fired.append, "now"))
        timer.cancel()
        _on(loop, lambda: None)
        assert fired == ["now"]  # time still stands at 0
        clock.advance(1.0)
        assert fired == ["now"]


def test_running_jumps_from_timer_to_timer_whenever_the_loop_is_idle() -> None:
    clock = VirtualClock()

    async def three_long_sleeps() -> float:
        for _ in range(3):
            await clock.sleep(3600)
        return clock.monotonic()

    with _loop_thread(clock) as loop:
        with clock.running():
            done = asyncio.run_coroutine_threadsafe(three_long_sleeps(), loop).result(timeout=10)
        assert done == 3 * 3600
        stood = asyncio.run_coroutine_threadsafe(three_long_sleeps(), loop)
        _on(loop, lambda: None)
        assert not stood.done()  # outside running() time stands still again
        clock.advance(3 * 3600)
        assert stood.result(timeout=10) == 6 * 3600


def test_a_timer_for_the_time_left_fires_at_the_end_not_a_rounding_error_before_it() -> None:
    clock = VirtualClock(start_epoch_s=1_764_800_000.123)
    ends: list[tuple[float, float]] = []

    async def wait_out(end_s: float) -> None:
        while clock.now() < end_s:  # as the fault runner and load driver pace themselves
            await clock.sleep(min(end_s - clock.now(), 0.1))
        ends.append((clock.now(), end_s))

    with _loop_thread(clock) as loop, clock.running():
        asyncio.run_coroutine_threadsafe(wait_out(clock.now() + 1.0), loop).result(timeout=10)
    ((now_s, end_s),) = ends
    assert end_s <= now_s < end_s + RESOLUTION_S


def test_a_virtual_clocks_timer_refuses_another_loop() -> None:
    clock = VirtualClock()

    async def schedule() -> None:
        clock.call_later(1, lambda: None)

    with pytest.raises(RuntimeError, match="new_event_loop"):
        asyncio.run(schedule())


def test_the_production_clock_is_the_running_loops_own() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        handle = LOOP_CLOCK.call_later(0, fired.set_result, "fired")
        assert isinstance(handle, asyncio.TimerHandle)  # one loop timer, nothing on top
        assert await fired == "fired"
        before = LOOP_CLOCK.monotonic()
        await LOOP_CLOCK.sleep(0)
        assert LOOP_CLOCK.monotonic() >= before

    assert isinstance(LOOP_CLOCK, LoopClock)
    asyncio.run(scenario())
