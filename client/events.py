"""Typed, timestamped client events, the bus that delivers them, and the metrics subscriber."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from client.breaker import BreakerState
from client.errors import ErrorKind, error_kind_named
from client.measures import percentile

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """Return the current time in UTC (the default wall clock)."""
    return datetime.now(UTC)


class EventKind(StrEnum):
    """What happened."""

    ATTEMPT = "attempt"  # a request actually sent
    REJECTED = "rejected"  # refused by the open breaker; nothing sent
    RETRY = "retry"
    SUCCESS = "success"
    FAILURE = "failure"
    BREAKER_TRANSITION = "breaker_transition"
    HEALTH_CHECK = "health_check"


@dataclass(frozen=True)
class ClientEvent:
    """One thing the client did; fields that do not apply to the kind are None."""

    kind: EventKind
    timestamp: datetime
    operation: str
    attempt: int | None = None
    delay_sec: float | None = None
    error_class: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    apply_key: str | None = None
    old_state: BreakerState | None = None
    new_state: BreakerState | None = None
    healthy: bool | None = None
    message: str | None = None

    @property
    def error_kind(self) -> ErrorKind | None:
        """Return the kind of the error this event names (None without one)."""
        return error_kind_named(self.error_class)

    def to_dict(self) -> dict[str, Any]:
        """Return plain values (kind as its string) for storage."""
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


Listener = Callable[[ClientEvent], None]


class EventBus:
    """Deliver events to subscribers; a subscriber that raises is logged and skipped."""

    def __init__(self, wall_clock: Callable[[], datetime] = utc_now) -> None:
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._listeners: tuple[Listener, ...] = ()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; return a function that removes it."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = tuple(x for x in self._listeners if x is not listener)

        return unsubscribe

    def emit(self, kind: EventKind, operation: str, **fields: Any) -> None:
        """Build an event stamped with the wall clock and deliver it."""
        listeners = self._listeners
        if not listeners:
            return
        event = ClientEvent(kind=kind, timestamp=self._wall_clock(), operation=operation, **fields)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("client event listener failed")


class ExecutorClientMetrics:
    """The seed's counters, fed by subscribing to a client's events.

    >>> metrics = ExecutorClientMetrics()
    >>> unsubscribe = client.subscribe(metrics)
    >>> metrics.get_success_rate()
    """

    def __init__(self, *, latency_window: int = 10_000) -> None:
        self._lock = threading.RLock()
        self._latencies_ms: deque[float] = deque(maxlen=latency_window)
        self.total_requests = 0  # logical calls that sent at least one request
        self.total_attempts = 0  # requests sent, retries included
        self.rejected_calls = 0  # refused by the open breaker before anything was sent
        self.successful_requests = 0
        self.failed_requests = 0
        self.timeout_errors = 0
        self.connection_errors = 0
        self.bad_request_errors = 0
        self.total_retries = 0
        self.successful_retries = 0
        self.circuit_breaker_opens = 0
        self.circuit_breaker_half_opens = 0
        self.health_checks = 0
        self.failed_health_checks = 0

    def __call__(self, event: ClientEvent) -> None:
        """Count one event."""
        with self._lock:
            if event.kind is EventKind.SUCCESS:
                self.total_requests += 1
                self.successful_requests += 1
                if event.attempt and event.attempt > 1:
                    self.successful_retries += 1
                if event.latency_ms is not None:
                    self._latencies_ms.append(event.latency_ms)
            elif event.kind is EventKind.FAILURE:
                self.total_requests += 1
                self.failed_requests += 1
                self._count_error(event.error_kind)
                if event.latency_ms is not None:
                    self._latencies_ms.append(event.latency_ms)
            elif event.kind is EventKind.ATTEMPT:
                self.total_attempts += 1
            elif event.kind is EventKind.REJECTED:
                self.rejected_calls += 1
            elif event.kind is EventKind.RETRY:
                self.total_retries += 1
            elif event.kind is EventKind.BREAKER_TRANSITION:
                if event.new_state is BreakerState.OPEN:
                    self.circuit_breaker_opens += 1
                elif event.new_state is BreakerState.HALF_OPEN:
                    self.circuit_breaker_half_opens += 1
            elif event.kind is EventKind.HEALTH_CHECK:
                self.health_checks += 1
                if not event.healthy:
                    self.failed_health_checks += 1

    def _count_error(self, kind: ErrorKind | None) -> None:
        if kind is ErrorKind.TIMEOUT:
            self.timeout_errors += 1
        elif kind in (ErrorKind.CONNECTION, ErrorKind.CIRCUIT_OPEN):
            self.connection_errors += 1
        elif kind is ErrorKind.BAD_REQUEST:
            self.bad_request_errors += 1

    @property
    def avg_latency_ms(self) -> float:
        """Return the mean call latency over the window."""
        with self._lock:
            values = list(self._latencies_ms)
        return sum(values) / len(values) if values else 0.0

    @property
    def p95_latency_ms(self) -> float:
        """Return the 95th percentile call latency over the window."""
        with self._lock:
            return percentile(sorted(self._latencies_ms), 0.95)

    @property
    def p99_latency_ms(self) -> float:
        """Return the 99th percentile call latency over the window."""
        with self._lock:
            return percentile(sorted(self._latencies_ms), 0.99)

    def get_success_rate(self) -> float:
        """Return successful calls over all calls (0 when none)."""
        return self.successful_requests / self.total_requests if self.total_requests else 0.0

    def get_retry_rate(self) -> float:
        """Return retries per call (0 when none)."""
        return self.total_retries / self.total_requests if self.total_requests else 0.0

    def snapshot(self) -> dict[str, float]:
        """Return every counter and rate as a plain dict."""
        with self._lock:
            counters = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {
            **counters,
            "success_rate": self.get_success_rate(),
            "retry_rate": self.get_retry_rate(),
            "avg_latency_ms": self.avg_latency_ms,
            "p95_latency_ms": self.p95_latency_ms,
            "p99_latency_ms": self.p99_latency_ms,
        }
