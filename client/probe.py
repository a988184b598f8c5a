"""Policy-mode probe: send the plan's request to the target at a fixed rate and measure every answer.

The seed's policy adapter needed a separate proxy service to observe anything; the probe is built in. It
uses httpx directly (the target is not the Executor, so the breaker and retries do not apply), with short
timeouts and bounded concurrency. An injected fault is recognised by the ``x-fault-injected`` header.

Every probe request ends by ``min(timeout_sec, what is left of the apply's deadline)`` on the wire (see
transport.py): a target that drips its answers can neither stretch a sample past ``timeout_sec`` nor keep
the probe's worker pool, which is joined before ``run`` returns, busy past the deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from client.errors import ExecutorCancelledError, ExecutorTimeoutError
from client.matching import carries_match
from client.models import RequestSample
from client.retry import Deadline
from client.transport import DeadlineTransport, request_deadline

logger = logging.getLogger(__name__)

_TICK_SEC = 0.05


@dataclass(frozen=True)
class ProbeSettings:
    """Where and how fast to probe."""

    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()  # e.g. the values that match the plan's header match
    headers_pct: int = 100  # the share of requests that carry ``headers`` (client.matching.carries_match)
    rate_rps: float = 20.0
    concurrency: int = 8
    timeout_sec: float = 5.0


class Probe:
    """Drive open-loop traffic for a duration and collect samples.

    >>> samples = Probe(ProbeSettings(url="http://127.0.0.1:9000/s/payment/pay")).run(5.0, deadline=deadline)
    """

    def __init__(
        self,
        settings: ProbeSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._samples: list[RequestSample] = []

    def samples(self) -> list[RequestSample]:
        """Return the samples recorded so far, in send order."""
        with self._lock:
            return sorted(self._samples, key=lambda s: s.offset_ms)

    def run(
        self,
        duration_sec: float,
        *,
        deadline: Deadline,
        cancel: threading.Event | None = None,
        on_second: Callable[[list[RequestSample]], None] | None = None,
    ) -> list[RequestSample]:
        """Probe for ``duration_sec`` or until the deadline; raise ExecutorCancelledError on cancel."""
        settings = self.settings
        limit = threading.BoundedSemaphore(settings.concurrency)
        timeout = httpx.Timeout(settings.timeout_sec, connect=min(settings.timeout_sec, 2.0))
        with (
            httpx.Client(  # no Executor token: the target is another origin (client/credentials.py)
                transport=self._transport or DeadlineTransport(),
                timeout=timeout,
                follow_redirects=False,
            ) as http,
            ThreadPoolExecutor(settings.concurrency, thread_name_prefix="boifi-probe") as pool,
        ):
            started = self._clock()
            sent = 0
            reported_second = 0
            while True:
                elapsed = self._clock() - started
                if elapsed >= duration_sec - 1e-6:
                    break
                if deadline.expired():
                    raise ExecutorTimeoutError(
                        f"probe: deadline passed after {elapsed:.1f}s of a {duration_sec:g}s observation"
                    )
                if cancel is not None and cancel.is_set():
                    raise ExecutorCancelledError("probe cancelled")
                if on_second is not None and int(elapsed) > reported_second:
                    reported_second = int(elapsed)
                    on_second(self.samples())
                due = sent / settings.rate_rps
                if due - elapsed > 1e-6:  # a tinier sleep may not move a clock at all
                    self._sleep(min(due - elapsed, _TICK_SEC, max(0.0, duration_sec - elapsed)))
                    continue
                if not limit.acquire(timeout=_TICK_SEC):
                    continue  # every worker is busy: skip rather than queue (queueing would skew latencies)
                budget_sec = min(settings.timeout_sec, deadline.remaining_sec())
                headers = dict(settings.headers) if carries_match(sent, settings.headers_pct) else {}
                offset_ms = (self._clock() - started) * 1000.0
                pool.submit(self._send, http, limit, offset_ms, budget_sec, headers)
                sent += 1
        return self.samples()

    def _send(
        self,
        http: httpx.Client,
        limit: threading.BoundedSemaphore,
        offset_ms: float,
        budget_sec: float,
        headers: dict[str, str],
    ) -> None:
        settings = self.settings
        begin = self._clock()
        try:
            try:
                with request_deadline(budget_sec):
                    response = http.request(settings.method, settings.url, headers=headers)
                status = response.status_code
                affected = "x-fault-injected" in response.headers
            except httpx.HTTPError as exc:
                logger.debug("probe request failed: %s", exc)
                status, affected = 0, False
            end = self._clock()
        finally:
            limit.release()
        sample = RequestSample(offset_ms, (end - begin) * 1000.0, status, affected)
        with self._lock:
            self._samples.append(sample)
