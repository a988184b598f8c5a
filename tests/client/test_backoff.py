"""Back-off bounds (property-based) and the deadline."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tenacity import RetryCallState

from client import RetryStrategy
from client.errors import RateLimitedError
from client.retry import Deadline, build_wait
from tests.client.conftest import FakeClock


def _state(attempt: int, exc: BaseException | None = None) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    if exc is not None:
        state.set_exception((type(exc), exc, None))
    return state


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60),
    initial=st.floats(min_value=0.0, max_value=5.0),
    cap=st.floats(min_value=0.0, max_value=30.0),
    draw=st.floats(min_value=0.0, max_value=0.999999),
)
def test_exponential_full_jitter_stays_between_zero_and_capped_exponential(
    attempt: int, initial: float, cap: float, draw: float
) -> None:
    wait = build_wait(RetryStrategy.EXPONENTIAL_BACKOFF, initial, cap, rng=lambda: draw)
    delay = wait(_state(attempt))
    assert 0.0 <= delay <= min(cap, initial * 2 ** (attempt - 1)) + 1e-9


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60),
    initial=st.floats(min_value=0.0, max_value=5.0),
    cap=st.floats(min_value=0.0, max_value=30.0),
    draw=st.floats(min_value=0.0, max_value=0.999999),
)
def test_linear_backoff_stays_within_ten_percent_below_capped_line(
    attempt: int, initial: float, cap: float, draw: float
) -> None:
    delay = build_wait(RetryStrategy.LINEAR_BACKOFF, initial, cap, rng=lambda: draw)(_state(attempt))
    line = min(cap, initial * attempt)
    assert 0.9 * line - 1e-9 <= delay <= line + 1e-9


def test_full_jitter_uses_the_whole_range() -> None:
    low = build_wait(RetryStrategy.EXPONENTIAL_BACKOFF, 0.5, 10.0, rng=lambda: 0.0)(_state(3))
    high = build_wait(RetryStrategy.EXPONENTIAL_BACKOFF, 0.5, 10.0, rng=lambda: 0.999)(_state(3))
    assert low == 0.0 and 1.99 < high < 2.0
    assert build_wait(RetryStrategy.EXPONENTIAL_BACKOFF, 0.5, 10.0, rng=lambda: 0.999)(_state(20)) < 10.0


def test_retry_after_is_honoured_over_a_shorter_backoff() -> None:
    wait = build_wait(RetryStrategy.EXPONENTIAL_BACKOFF, 0.5, 10.0, rng=lambda: 0.0)
    limited = RateLimitedError("slow down", status_code=429, retry_after_sec=7.0)
    assert wait(_state(1, limited)) == 7.0


def test_none_strategy_does_not_wait() -> None:
    assert build_wait(RetryStrategy.NONE, 0.5, 10.0)(_state(2)) == 0.0


def test_deadline_counts_down_on_the_injected_clock() -> None:
    clock = FakeClock()
    deadline = Deadline.after(5.0, clock)
    assert deadline.remaining_sec() == 5.0 and not deadline.expired()
    clock.advance(5.0)
    assert deadline.expired()
