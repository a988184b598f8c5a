"""One way for a test to wait: poll a condition until it holds; fail with a clear message at a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition a test waited for did not hold by its deadline."""


class _Deadline:
    """Say whether a poll's result ends the wait; raise `WaitTimeout` once the deadline has passed."""

    def __init__(self, timeout: float, what: str) -> None:
        self.timeout = timeout
        self.what = what
        self.at = time.monotonic() + timeout

    def reached(self, result: object) -> bool:
        if result:
            return True
        if time.monotonic() >= self.at:
            raise WaitTimeout(f"timed out after {self.timeout:g} s waiting for {self.what}, last {result!r}")
        return False


def wait_until(
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "the condition"
) -> T:
    """Poll `condition` until it returns something truthy and return that; raise `WaitTimeout` at `timeout`.

    Example::

        run = wait_until(lambda: storage.get_run(session, run_id=1), timeout=10, what="run 1 to be stored")
    """
    deadline = _Deadline(timeout, what)
    while not deadline.reached(result := condition()):
        time.sleep(interval)
    return result


async def wait_until_async(
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.01, what: str = "the condition"
) -> T:
    """Poll `condition` as `wait_until` does, with `asyncio.sleep` so that the event loop runs meanwhile."""
    deadline = _Deadline(timeout, what)
    while not deadline.reached(result := condition()):
        await asyncio.sleep(interval)
    return result
