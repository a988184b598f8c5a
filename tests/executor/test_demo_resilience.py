"""The demo callers' resilience parts, on a fake clock: retries, the bulkhead, the last good answer."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from executor.dataplane.demo_resilience import (
    AttemptsOutcome,
    Bulkhead,
    LastGood,
    ShopResilience,
    call_with_retries,
    gateway_failure,
)
from executor.dataplane.upstream_response import UpstreamError


class FakeClock:
    """Monotonic seconds that move only when a test (or a scripted attempt) moves them."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


def _scripted(
    clock: FakeClock, answers: list[int | str]
) -> tuple[Callable[[float], Awaitable[int]], list[float]]:
    """An attempt answering each status in turn: ``"timeout"`` spends the timeout, ``"refused"`` none."""
    timeouts: list[float] = []

    async def attempt(timeout_s: float) -> int:
        timeouts.append(timeout_s)
        answer = answers[len(timeouts) - 1]
        if answer == "timeout":
            clock.now_s += timeout_s
            raise UpstreamError(f"upstream did not answer within {timeout_s:g} s")
        if answer == "refused":
            raise UpstreamError("cannot connect")
        assert isinstance(answer, int)
        clock.now_s += 0.004
        return answer

    return attempt, timeouts


def _retry(
    clock: FakeClock, answers: list[int | str], *, attempts: int = 3
) -> tuple[AttemptsOutcome, list[float]]:
    attempt, timeouts = _scripted(clock, answers)
    outcome = asyncio.run(
        call_with_retries(
            attempt,
            timeout_s=0.25,
            attempts=attempts,
            backoff_s=0.01,
            rng=random.Random(3),
            now=clock.now,
            sleep=clock.sleep,
        )
    )
    return outcome, timeouts


def test_a_first_answer_below_500_is_not_retried() -> None:
    clock = FakeClock()
    assert _retry(clock, [200]) == (AttemptsOutcome(200, 1), [0.25])
    assert _retry(clock, [429]) == (AttemptsOutcome(429, 1), [0.25])
    assert clock.sleeps == []


def test_timeouts_and_5xx_are_retried_with_a_jittered_exponential_back_off() -> None:
    clock = FakeClock()
    outcome, timeouts = _retry(clock, ["timeout", 503, 200])
    assert outcome == AttemptsOutcome(200, 3)
    assert timeouts == [0.25, 0.25, 0.25]  # every attempt gets the whole per-attempt timeout
    first, second = clock.sleeps
    assert 0 <= first <= 0.01 and 0 <= second <= 0.02
    assert first != second  # drawn, not fixed


def test_the_outcome_says_whether_the_last_attempt_timed_out() -> None:
    assert _retry(FakeClock(), [503, 503, "timeout"])[0] == AttemptsOutcome(
        None, 3, timed_out=True, detail="upstream did not answer within 0.25 s"
    )
    refused = _retry(FakeClock(), ["timeout", "refused"], attempts=2)[0]
    assert refused == AttemptsOutcome(None, 2, timed_out=False, detail="cannot connect")
    assert _retry(FakeClock(), [500, 502, 503])[0] == AttemptsOutcome(503, 3)


@pytest.mark.parametrize(
    ("outcome", "status", "error", "message"),
    [
        (
            AttemptsOutcome(None, 3, timed_out=True),
            504,
            "gateway_timeout",
            "orders did not answer in time (3 attempts)",
        ),
        (AttemptsOutcome(503, 3), 503, "unavailable", "orders is unavailable (3 attempts)"),
        (AttemptsOutcome(500, 2), 502, "bad_gateway", "orders answered 500 (2 attempts)"),
        (
            AttemptsOutcome(None, 1, detail="cannot connect"),
            502,
            "bad_gateway",
            "orders unreachable: cannot connect (1 attempt)",
        ),
    ],
)
def test_a_spent_retry_is_an_error_answer(
    outcome: AttemptsOutcome, status: int, error: str, message: str
) -> None:
    assert gateway_failure(outcome) == (
        status,
        {"error": error, "message": message, "attempts": outcome.attempts},
    )


def test_a_4xx_is_passed_on() -> None:
    assert gateway_failure(AttemptsOutcome(429, 1)) == (429, {"error": "order refused", "status": 429})


def test_the_bulkhead_admits_its_limit_queues_in_order_and_refuses_the_rest() -> None:
    async def scenario() -> list[object]:
        bulkhead = Bulkhead(limit=2, queue=2)
        events: list[object] = []
        assert await bulkhead.acquire() and await bulkhead.acquire()

        async def queued(name: str) -> None:
            assert await bulkhead.acquire()
            events.append(name)

        waiters = [asyncio.ensure_future(queued(name)) for name in ("first", "second")]
        await asyncio.sleep(0)
        events.append((bulkhead.active, bulkhead.waiting, await bulkhead.acquire()))  # full: refused at once
        bulkhead.release()
        await asyncio.sleep(0)
        bulkhead.release()
        await asyncio.gather(*waiters)
        events.append((bulkhead.active, bulkhead.waiting))
        return events

    assert asyncio.run(scenario()) == [(2, 2, False), "first", "second", (2, 0)]


def test_a_waiter_called_off_leaves_the_line_and_loses_no_place() -> None:
    async def scenario() -> tuple[int, int]:
        bulkhead = Bulkhead(limit=1, queue=1)
        assert await bulkhead.acquire()
        waiter = asyncio.ensure_future(bulkhead.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        bulkhead.release()
        assert await bulkhead.acquire()  # the place came back: nobody holds it
        return bulkhead.active, bulkhead.waiting

    assert asyncio.run(scenario()) == (1, 0)


def test_the_last_good_answer_is_given_back_until_it_is_too_old() -> None:
    clock = FakeClock()
    cache = LastGood(max_age_s=120, now=clock.now)
    assert cache.recall() is None
    cache.remember(b'{"in_stock": true}')
    clock.now_s = 120
    assert cache.recall() == b'{"in_stock": true}'
    clock.now_s = 120.5
    assert cache.recall() is None
    cache.remember(b"fresh")
    assert cache.recall() == b"fresh"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gateway_timeout_ms", 0),
        ("gateway_attempts", 0),
        ("orders_concurrency", 1.5),
        ("orders_queue", -1),
        ("gateway_backoff_ms", -1),
        ("stock_cache_max_age_s", float("nan")),
    ],
)
def test_settings_no_service_could_run_with_are_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"demo_shop.{field} must be"):
        ShopResilience(**{field: value})  # type: ignore[arg-type]
