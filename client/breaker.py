"""Circuit breaker: a thread-safe state machine with an injected clock.

The seed's breaker kept its state as bare strings, read ``time.time()`` itself, let every caller through
while HALF_OPEN and counted the caller's 4xx mistakes as Executor failures. This one uses an ``Enum``, a
clock seam, admits at most ``half_open_max_calls`` trial calls at once, and is told by the caller (see
``errors.counts_against_executor``) which outcomes are the Executor's fault.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from client.errors import CircuitOpenError

logger = logging.getLogger(__name__)


class BreakerState(StrEnum):
    """State of the circuit breaker."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    @classmethod
    def parse(cls, value: object) -> BreakerState:
        """Return the state `value` names, in any case, with ``-`` or ``_`` (a BreakerState unchanged)."""
        if isinstance(value, cls):
            return value
        text = str(getattr(value, "value", value)).strip().upper().replace("-", "_")
        return cls(text)


BreakerListener = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Reject calls after repeated Executor failures, then let a few trial calls probe for recovery.

    >>> breaker = CircuitBreaker(failure_threshold=5, timeout_sec=60.0)
    >>> breaker.acquire()          # raises CircuitOpenError while OPEN
    >>> breaker.record_success()   # or record_failure(); either releases the permit
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        timeout_sec: float = 60.0,
        *,
        half_open_max_calls: int = 1,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.timeout_sec = timeout_sec
        self.half_open_max_calls = half_open_max_calls
        self.enabled = enabled
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failure_count = 0
        self._opened_at = 0.0
        self._half_open_in_flight = 0
        self._listeners: list[BreakerListener] = []

    @property
    def state(self) -> BreakerState:
        """Return the current state, moving OPEN to HALF_OPEN once the timeout has passed."""
        with self._lock:
            transition = self._maybe_half_open()
            state = self._state
        self._notify(transition)
        return state

    def add_listener(self, listener: BreakerListener) -> Callable[[], None]:
        """Call ``listener(old, new)`` on every transition; return a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def check(self) -> None:
        """Raise CircuitOpenError if a call would be rejected now, without taking a permit."""
        if not self.enabled:
            return
        with self._lock:
            transition = self._maybe_half_open()
            rejected = self._state is BreakerState.OPEN or (
                self._state is BreakerState.HALF_OPEN
                and self._half_open_in_flight >= self.half_open_max_calls
            )
        self._notify(transition)
        if rejected:
            raise CircuitOpenError(f"Circuit breaker is {self._state.value}; call rejected without sending")

    def acquire(self) -> None:
        """Admit one call or raise CircuitOpenError; an admitted call must end in record_* or release."""
        if not self.enabled:
            return
        with self._lock:
            transition = self._maybe_half_open()
            if self._state is BreakerState.OPEN:
                retry_in = max(0.0, self._opened_at + self.timeout_sec - self._clock())
                error = CircuitOpenError(f"Circuit breaker is OPEN; next trial call in {retry_in:.1f}s")
            elif (
                self._state is BreakerState.HALF_OPEN
                and self._half_open_in_flight >= self.half_open_max_calls
            ):
                error = CircuitOpenError("Circuit breaker is HALF_OPEN and its trial calls are in flight")
            else:
                if self._state is BreakerState.HALF_OPEN:
                    self._half_open_in_flight += 1
                error = None
        self._notify(transition)
        if error is not None:
            raise error

    def release(self) -> None:
        """End an admitted call whose outcome says nothing about the Executor."""
        with self._lock:
            if self._state is BreakerState.HALF_OPEN and self._half_open_in_flight > 0:
                self._half_open_in_flight -= 1

    def record_success(self) -> None:
        """End an admitted call that the Executor served: close the breaker."""
        with self._lock:
            self._failure_count = 0
            transition = self._set(BreakerState.CLOSED)
        self._notify(transition)

    def record_failure(self) -> None:
        """End an admitted call that the Executor failed: count it, and open when the threshold is met."""
        if not self.enabled:
            return
        with self._lock:
            self._failure_count += 1
            transition = None
            if self._state is BreakerState.HALF_OPEN or self._failure_count >= self.failure_threshold:
                self._opened_at = self._clock()
                transition = self._set(BreakerState.OPEN)
        self._notify(transition)

    def reset(self) -> None:
        """Close the breaker and forget failures."""
        self.record_success()

    def _maybe_half_open(self) -> tuple[BreakerState, BreakerState] | None:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.timeout_sec:
            return self._set(BreakerState.HALF_OPEN)
        return None

    def _set(self, new: BreakerState) -> tuple[BreakerState, BreakerState] | None:
        old = self._state
        self._half_open_in_flight = 0
        if old is new:
            return None
        self._state = new
        logger.info("circuit breaker %s -> %s", old.value, new.value)
        return old, new

    def _notify(self, transition: tuple[BreakerState, BreakerState] | None) -> None:
        if transition is None:
            return
        for listener in list(self._listeners):
            try:
                listener(*transition)
            except Exception:
                logger.exception("circuit breaker listener failed")
