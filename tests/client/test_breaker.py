"""Circuit breaker: transitions, half-open admission, listeners, and a property-based state machine."""

from __future__ import annotations

import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from client import BreakerState, CircuitBreaker, CircuitOpenError
from tests.client.conftest import FakeClock


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        breaker.acquire()
        breaker.record_failure()


def test_breaker_opens_after_threshold_and_rejects_calls(clock: FakeClock) -> None:
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        breaker.acquire()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(2, 10.0, clock=clock)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_half_open_admits_bounded_trials_then_closes_on_success(clock: FakeClock) -> None:
    breaker = CircuitBreaker(1, 10.0, half_open_max_calls=2, clock=clock)
    _open(breaker)
    clock.advance(9.9)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.acquire()
    breaker.acquire()
    with pytest.raises(CircuitOpenError, match="HALF_OPEN"):
        breaker.acquire()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.acquire()


def test_half_open_failure_reopens(clock: FakeClock) -> None:
    breaker = CircuitBreaker(5, 10.0, clock=clock)
    _open(breaker)
    clock.advance(10)
    breaker.acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(5)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_release_frees_a_half_open_permit(clock: FakeClock) -> None:
    breaker = CircuitBreaker(1, 1.0, clock=clock)
    _open(breaker)
    clock.advance(1)
    breaker.acquire()
    breaker.release()
    breaker.acquire()


def test_listeners_get_transitions_and_a_raising_listener_is_isolated(clock: FakeClock) -> None:
    breaker = CircuitBreaker(1, 1.0, clock=clock)
    seen: list[tuple[BreakerState, BreakerState]] = []

    def bad(old: BreakerState, new: BreakerState) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(bad)
    remove = breaker.add_listener(lambda old, new: seen.append((old, new)))
    _open(breaker)
    clock.advance(1)
    breaker.acquire()
    breaker.record_success()
    assert seen == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    remove()
    _open(breaker)
    assert len(seen) == 3


def test_disabled_breaker_never_rejects(clock: FakeClock) -> None:
    breaker = CircuitBreaker(1, 10.0, enabled=False, clock=clock)
    for _ in range(10):
        breaker.acquire()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_half_open_admits_one_trial_across_threads(clock: FakeClock) -> None:
    breaker = CircuitBreaker(1, 1.0, clock=clock)
    _open(breaker)
    clock.advance(1)
    admitted: list[int] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            breaker.acquire()
            admitted.append(i)
        except CircuitOpenError:
            pass

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 1


class BreakerMachine(RuleBasedStateMachine):
    """Model the breaker as a tiny reference implementation and compare after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.threshold = 3
        self.timeout = 5.0
        self.max_trials = 2
        self.breaker = CircuitBreaker(
            self.threshold, self.timeout, half_open_max_calls=self.max_trials, clock=self.clock
        )
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.in_flight = 0  # admitted calls not yet ended
        self.trials = 0

    def _refresh(self) -> None:
        if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.timeout:
            self.state, self.trials = BreakerState.HALF_OPEN, 0

    @rule(seconds=st.floats(min_value=0, max_value=8))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def acquire(self) -> None:
        self._refresh()
        allowed = self.state is BreakerState.CLOSED or (
            self.state is BreakerState.HALF_OPEN and self.trials < self.max_trials
        )
        if allowed:
            self.breaker.acquire()
            self.in_flight += 1
            if self.state is BreakerState.HALF_OPEN:
                self.trials += 1
        else:
            with pytest.raises(CircuitOpenError):
                self.breaker.acquire()

    @precondition(lambda self: self.in_flight > 0)
    @rule(ok=st.booleans())
    def finish(self, ok: bool) -> None:
        self.in_flight -= 1
        self._refresh()
        if ok:
            self.breaker.record_success()
            self.state, self.failures, self.trials = BreakerState.CLOSED, 0, 0
        else:
            self.breaker.record_failure()
            self.failures += 1
            if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
                self.state, self.opened_at, self.trials = BreakerState.OPEN, self.clock(), 0

    @invariant()
    def matches_model(self) -> None:
        self._refresh()
        assert self.breaker.state is self.state


TestBreakerStateMachine = BreakerMachine.TestCase
TestBreakerStateMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
