"""Executor health: the cached apply gate and the uncached probe that monitors use.

``check`` is the gate every apply passes: a healthy answer is trusted for ``health_check_interval_sec``, an
unhealthy one never (so one failed check cannot lock every call out for an interval). ``probe`` always sends
one real request and says what it saw; a monitor that sampled the cached gate would record a made-up sample
11 times out of 12 at a 5 s interval with the default 60 s cache.

A probe's fresh answer also updates the gate, because it is newer evidence of the same fact: a healthy one
restarts the interval, an unhealthy one drops the cached "healthy" so the next apply asks again instead of
sending into an Executor just seen down. It never makes the gate cache an unhealthy answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from client.calls import CallEngine
from client.config import ExecutorClientConfig
from client.events import EventBus, EventKind
from client.retry import Deadline

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthResult:
    """One real health request: whether it answered 200, how long it took, and why not."""

    healthy: bool
    latency_ms: float
    error: str | None = None


class HealthGate:
    """Check the Executor's health endpoint, caching healthy answers for the apply gate."""

    def __init__(
        self,
        engine: CallEngine,
        config: ExecutorClientConfig,
        bus: EventBus,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._engine = engine
        self._config = config
        self._bus = bus
        self._clock = clock
        self._lock = threading.Lock()
        self._healthy_until: float | None = None

    def check(self, path: str, deadline: Deadline | None = None) -> bool:
        """Return the cached healthy answer while it lasts, else send one request (see ``probe``)."""
        with self._lock:
            if self._healthy_until is not None and self._clock() < self._healthy_until:
                return True
        return self.probe(path, deadline).healthy

    def probe(self, path: str, deadline: Deadline | None = None) -> HealthResult:
        """Send one health request now, whatever is cached; it ends within the health timeout."""
        timeout = min(self._config.connection_timeout_sec, self._config.default_timeout_sec)
        if deadline is not None:
            timeout = max(0.001, min(timeout, deadline.remaining_sec()))
        healthy, latency_ms, error = self._engine.check_health(path, timeout_sec=timeout)
        with self._lock:
            interval = self._config.health_check_interval_sec
            self._healthy_until = self._clock() + interval if healthy and interval > 0 else None
        self._bus.emit(
            EventKind.HEALTH_CHECK, "health", healthy=healthy, latency_ms=latency_ms, message=error
        )
        if not healthy:
            logger.warning("Executor health check failed: %s", error)
        return HealthResult(healthy, latency_ms, error)
