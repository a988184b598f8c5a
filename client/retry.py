"""Retry policy on tenacity, and the one deadline that bounds a whole apply.

The seed slept ``initial * 2**(n-1)`` plus up to 10 % jitter, read the real clock, and gave every attempt the
full timeout, so three attempts could take three times ``timeout_sec``. Here exponential back-off uses full
jitter (AWS architecture blog: uniform between 0 and the capped exponential), the random source and the
clock are injected, and every attempt gets at most what is left of one ``Deadline``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import tenacity
from tenacity import RetryCallState
from tenacity.wait import wait_base

from client.config import RetryStrategy
from client.errors import ExecutorTimeoutError, RateLimitedError


@dataclass
class Deadline:
    """A point on an injected monotonic clock by which an operation must be done."""

    clock: Callable[[], float]
    expires_at: float
    timeout_sec: float

    @classmethod
    def after(cls, timeout_sec: float, clock: Callable[[], float]) -> Deadline:
        """Return a deadline ``timeout_sec`` from now."""
        return cls(clock=clock, expires_at=clock() + timeout_sec, timeout_sec=timeout_sec)

    def remaining_sec(self) -> float:
        """Return the seconds left (negative once passed)."""
        return self.expires_at - self.clock()

    def expired(self) -> bool:
        """Tell whether the deadline has passed."""
        return self.remaining_sec() <= 0

    def check(self, operation: str) -> None:
        """Raise ExecutorTimeoutError if the deadline has passed."""
        if self.expired():
            raise ExecutorTimeoutError(f"{operation}: deadline of {self.timeout_sec:g}s passed")


class wait_full_jitter(wait_base):
    """Wait uniformly between 0 and the capped exponential ``initial * 2**(n-1)``, from an injected rng."""

    def __init__(self, initial_sec: float, max_sec: float, rng: Callable[[], float]) -> None:
        self._cap = tenacity.wait_exponential(multiplier=initial_sec, max=max_sec, min=0)
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        return self._rng() * self._cap(retry_state)


class wait_linear_jitter(wait_base):
    """Wait ``initial * n`` capped at max, less up to 10 % jitter, from an injected rng."""

    def __init__(self, initial_sec: float, max_sec: float, rng: Callable[[], float]) -> None:
        self._base = tenacity.wait_incrementing(start=initial_sec, increment=initial_sec, max=max_sec)
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        return self._base(retry_state) * (1.0 - 0.1 * self._rng())


class wait_retry_after(wait_base):
    """Wait at least the ``Retry-After`` of a 429, else what the inner strategy says."""

    def __init__(self, inner: wait_base) -> None:
        self._inner = inner

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self._inner(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimitedError) and exc.retry_after_sec is not None:
            return max(delay, exc.retry_after_sec)
        return delay


def build_wait(
    strategy: RetryStrategy, initial_sec: float, max_sec: float, rng: Callable[[], float] | None = None
) -> wait_base:
    """Return the tenacity wait for a strategy."""
    source = rng or random.random
    if strategy is RetryStrategy.EXPONENTIAL_BACKOFF:
        inner: wait_base = wait_full_jitter(initial_sec, max_sec, source)
    elif strategy is RetryStrategy.LINEAR_BACKOFF:
        inner = wait_linear_jitter(initial_sec, max_sec, source)
    else:
        inner = tenacity.wait_none()
    return wait_retry_after(inner)


class stop_at_deadline(tenacity.stop.stop_base):
    """Stop when the next back-off would not end before the deadline; remember that it did."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.triggered = False

    def __call__(self, retry_state: RetryCallState) -> bool:
        if self.deadline.remaining_sec() <= (retry_state.upcoming_sleep or 0.0):
            self.triggered = True
        return self.triggered


def attempts_for(strategy: RetryStrategy, max_retries: int) -> int:
    """Return how many attempts a call may make (NONE means one, as the seed's table says)."""
    return 1 if strategy is RetryStrategy.NONE else max_retries
