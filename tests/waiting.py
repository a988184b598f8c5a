"""One way for a test to wait: poll a condition until it holds; fail with a clear message at a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition a test waited for did not hold by its deadline."""


def _timed_out(what: str, timeout: float, last: object) -> WaitTimeout:
    return WaitTimeout(f"timed out after {timeout:g} s waiting for {what} (last value: {last!r})")


def wait_until(
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "the condition"
) -> T:
    """Poll `condition` until it returns something truthy and return that; raise `WaitTimeout` at `timeout`.

    Example::

        run = wait_until(lambda: storage.get_run(session, run_id=1), timeout=10, what="run 1 to be stored")
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, result)
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.01,
    what: str = "the condition",
) -> T:
    """Poll `condition` as `wait_until` does, with `asyncio.sleep` so that the event loop runs meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, result)
        await asyncio.sleep(interval)
