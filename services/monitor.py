"""Sample the Executor's health at an interval and record it with the client's breaker state."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from client import HttpExecutorClient, redact_url
from services.health_rollup import AGGREGATE_SEC, HealthRollup
from services.worker import Wait, Worker, event_wait


class HealthMonitor:
    """Probe the Executor's health every `interval_sec` on a background thread and store each sample.

    Each sample is one real request (`client.probe_health()`), recorded with its own latency and error:
    `check_health()` is the apply gate and answers from its cache for `health_check_interval_sec`, so
    sampling it would record made-up samples between real ones.

    Samples keep a fixed rate (the next one is due `interval_sec` after the previous one was due, not after
    it ended), and a check ends within the client's health timeout however slowly the Executor answers, so a
    dripping or hung Executor shows as unhealthy samples on time rather than as a silence. A check that
    overruns the interval makes the monitor skip the ticks it missed instead of catching up in a burst.
    A row stands for the samples of one state (healthy or not, breaker state) over at most `aggregate_sec`
    (`services.health_rollup`): a change of state starts a new row at once, an idle healthy console writes
    one row a minute. A row that cannot be stored is kept and written with the next sample, and reported
    by `worker` (`last_error`); sampling goes on.

    Example::

        monitor = HealthMonitor(engine=engine, client=client, interval_sec=5)
        monitor.start()
        ...
        monitor.stop()
    """

    def __init__(
        self,
        *,
        engine: Engine,
        client: HttpExecutorClient,
        interval_sec: float = 5.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        aggregate_sec: float = AGGREGATE_SEC,
        wait: Wait = event_wait,
    ) -> None:
        if interval_sec <= 0:
            raise ValueError("interval_sec must be positive")
        self.engine = engine
        self.client = client
        self.interval_sec = interval_sec
        self._now = now
        self._clock = clock
        self.last_healthy: bool | None = None
        self.last_error: str | None = None  # why the last sample was unhealthy (None when healthy)
        self.rollup = HealthRollup(
            executor_url=redact_url(str(client.config.base_url)), aggregate_sec=aggregate_sec
        )  # stored and queried as the Console's executor_url: no password
        self.worker = Worker(
            name="boifi-health-monitor",
            step=self.sample,
            period_sec=interval_sec,
            fixed_rate=True,
            clock=clock,
            wait=wait,
        )

    def start(self) -> None:
        """Start sampling on the background thread (once)."""
        self.worker.start()

    def stop(self, timeout_sec: float = 10.0) -> bool:
        """Stop sampling; return whether the thread ended within `timeout_sec`."""
        return self.worker.stop(timeout_sec)

    def sample(self) -> bool:
        """Take one health sample now, record it, and return whether the Executor was healthy.

        Raises what storing the sample raised (it is kept for the next write); `last_healthy` is the
        probe's answer all the same.
        """
        started = self._clock()
        try:
            result = self.client.probe_health()
            healthy, latency_ms, error = result.healthy, result.latency_ms, result.error
        except Exception as exc:  # probe_health reports, never raises; this guards the thread
            healthy, error = False, f"{type(exc).__name__}: {exc}"
            latency_ms = (self._clock() - started) * 1000.0
        state = self.client.circuit_breaker.state
        self.last_healthy, self.last_error = healthy, error
        self.rollup.add(
            timestamp=self._now(),
            healthy=healthy,
            latency_ms=latency_ms,
            breaker_state=str(getattr(state, "value", state)),
            error=error,
        )
        self.rollup.write(self.engine)
        return healthy
