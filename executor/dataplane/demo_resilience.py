"""The demo shop's resilience code: the callers' timeouts and retries, orders' capacity, a cached fallback.

These are the usual defences of a small service graph, each sensible on its own:

- the gateway gives each call to orders ``gateway_timeout_ms`` and retries a call that timed out, could not
  connect or got a 5xx, up to ``gateway_attempts`` attempts in all, with exponential back-off and full jitter
  (:func:`call_with_retries`);
- orders serves at most ``orders_concurrency`` requests at once and queues ``orders_queue`` more in arrival
  order; past that it answers 503 at once (:class:`Bulkhead`). Like most servers it does not notice that a
  caller gave up: a request it accepted is worked to the end;
- orders asks inventory with ``inventory_timeout_ms`` and, when inventory fails or is slow, answers from the
  last good stock answer if it is at most ``stock_cache_max_age_s`` old (:class:`LastGood`);
- orders waits ``payment_timeout_ms`` for payment, since payments are slow now and then.

What they add up to is said in :mod:`executor.dataplane.demo_shop`.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from executor.dataplane.upstream_response import UpstreamError

__all__ = [
    "AttemptsOutcome",
    "Bulkhead",
    "LastGood",
    "ShopResilience",
    "call_with_retries",
    "gateway_failure",
]

Sleep = Callable[[float], Awaitable[object]]
Now = Callable[[], float]


@dataclass(frozen=True)
class ShopResilience:
    """The demo services' timeouts, retries, capacity and cache; the defaults are the shop's.

    Example::

        ExecutorSettings(demo_shop=ShopResilience(gateway_timeout_ms=400, gateway_attempts=2))

    Raises ValueError naming the field for a value no service could run with.
    """

    gateway_timeout_ms: float = 500.0
    gateway_attempts: int = 3
    gateway_backoff_ms: float = 25.0
    orders_concurrency: int = 16
    orders_queue: int = 32
    inventory_timeout_ms: float = 100.0
    payment_timeout_ms: float = 2000.0
    stock_cache_max_age_s: float = 120.0

    def __post_init__(self) -> None:
        for name in ("gateway_timeout_ms", "inventory_timeout_ms", "payment_timeout_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"demo_shop.{name} must be > 0")
        for name, least in (("gateway_attempts", 1), ("orders_concurrency", 1), ("orders_queue", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < least:
                raise ValueError(f"demo_shop.{name} must be an integer >= {least}")
        for name in ("gateway_backoff_ms", "stock_cache_max_age_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"demo_shop.{name} must be >= 0")


@dataclass(frozen=True, slots=True)
class AttemptsOutcome:
    """How a retried call ended: the last status (None if the last attempt got no answer) and why."""

    status: int | None
    attempts: int
    timed_out: bool = False
    detail: str = ""


async def call_with_retries(
    attempt: Callable[[float], Awaitable[int]],
    *,
    timeout_s: float,
    attempts: int,
    backoff_s: float,
    rng: random.Random,
    now: Now,
    sleep: Sleep = asyncio.sleep,
) -> AttemptsOutcome:
    """Call ``attempt(timeout_s)`` until it answers below 500, at most ``attempts`` times.

    A timeout, a transport error (``UpstreamError``) or a 5xx is retried after a back-off drawn uniformly from
    ``[0, backoff_s * 2**(n-1)]`` (full jitter) before attempt ``n + 1``; a 4xx is the caller's and is not.
    ``now`` reads monotonic seconds: an attempt that failed after its whole timeout counts as timed out.
    """
    outcome = AttemptsOutcome(None, 0)
    for number in range(1, attempts + 1):
        if number > 1 and backoff_s > 0:
            await sleep(rng.uniform(0, backoff_s * 2 ** (number - 2)))
        started_s = now()
        try:
            status = await attempt(timeout_s)
        except UpstreamError as exc:
            timed_out = now() - started_s >= timeout_s * 0.999  # the pool's timer fires at the deadline
            outcome = AttemptsOutcome(None, number, timed_out, str(exc))
            continue
        outcome = AttemptsOutcome(status, number)
        if status < 500:
            break
    return outcome


def gateway_failure(outcome: AttemptsOutcome) -> tuple[int, dict[str, object]]:
    """Say what a caller answers when its retried call did not succeed: a status and the JSON body's fields.

    A 4xx is passed on as it came; once the attempts are spent, 504 if the last one timed out, 503 if the
    callee was unavailable, 502 for any other 5xx or a connection that failed.
    """
    status = outcome.status
    if status is not None and status < 500:
        return status, {"error": "order refused", "status": status}
    tries = f"{outcome.attempts} attempt{'s' if outcome.attempts > 1 else ''}"
    if outcome.timed_out:
        answer = 504, "gateway_timeout", f"orders did not answer in time ({tries})"
    elif status == 503:
        answer = 503, "unavailable", f"orders is unavailable ({tries})"
    elif status is not None:
        answer = 502, "bad_gateway", f"orders answered {status} ({tries})"
    else:
        answer = 502, "bad_gateway", f"orders unreachable: {outcome.detail} ({tries})"
    code, error, message = answer
    return code, {"error": error, "message": message, "attempts": outcome.attempts}


class Bulkhead:
    """Let ``limit`` holders in at once and ``queue`` more wait in arrival order; refuse the rest.

    Example::

        if not await bulkhead.acquire():
            return overloaded()
        try:
            ...
        finally:
            bulkhead.release()
    """

    def __init__(self, *, limit: int, queue: int) -> None:
        self._limit = limit
        self._queue = queue
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def active(self) -> int:
        """Return how many holders are inside."""
        return self._active

    @property
    def waiting(self) -> int:
        """Return how many wait for a place."""
        return len(self._waiters)

    async def acquire(self) -> bool:
        """Enter (True), after waiting in line if need be, or return False at once when the line is full."""
        if self._active < self._limit and not self._waiters:
            self._active += 1
            return True
        if len(self._waiters) >= self._queue:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # release() hands its place over: _active already counts this holder
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a place just as it was called off: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        return True

    def release(self) -> None:
        """Leave, handing the place to the first in line if anyone waits."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._active -= 1


class LastGood:
    """Remember the last good answer and give it back while it is at most ``max_age_s`` old."""

    def __init__(self, *, max_age_s: float, now: Now) -> None:
        self._max_age_s = max_age_s
        self._now = now
        self._value: bytes | None = None
        self._stored_s = 0.0

    def remember(self, value: bytes) -> None:
        """Keep ``value`` as the last good answer, as of now."""
        self._value = value
        self._stored_s = self._now()

    def recall(self) -> bytes | None:
        """Return the last good answer if it is fresh enough, else None."""
        if self._value is None or self._now() - self._stored_s > self._max_age_s:
            return None
        return self._value
