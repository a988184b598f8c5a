"""The load driver: open-loop traffic at a fixed rate through the proxy, every request measured."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from executor.dataplane.traces import TraceCollector
from executor.dataplane.upstream_pool import UpstreamPool
from executor.dataplane.upstream_response import UpstreamError
from executor.lifecycle.fault_stats import Recorder, RequestSample
from executor.model.clock import LOOP_CLOCK, Clock
from executor.model.fault_kinds import FAULT_HEADER
from executor.model.header_names import TRACE_HEADER

__all__ = ["LoadDriver", "LoadSpec"]

_MAX_IDLE_SLEEP_S = 0.05
_ERROR_LOG_LINES = 20


@dataclass(frozen=True)
class LoadSpec:
    """Where to send traffic, how fast and for how long."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    content_type: str | None = None
    rate_rps: float = 50.0
    concurrency: int = 64
    duration_s: float = 10.0
    trace_samples: int = 5
    headers: tuple[tuple[str, str], ...] = ()  # e.g. to match a header matcher
    headers_pct: int = 100  # the share of requests that carry ``headers``, spread evenly over the run

    def carries_headers(self, index: int) -> bool:
        """Tell whether request ``index`` carries ``headers``: exactly ``headers_pct`` % of every 100.

        Request ``i`` carries them when ``floor((i + 1) * pct / 100)`` passes a whole number, so the share
        holds over any run length to within one request and needs no random source.
        """
        return (index + 1) * self.headers_pct // 100 > index * self.headers_pct // 100


class LoadDriver:
    """Send requests at ``rate_rps`` (at most ``concurrency`` in flight) and record each one."""

    def __init__(
        self,
        *,
        traces: TraceCollector,
        clock: Clock = LOOP_CLOCK,
        request_timeout_sec: float = 120.0,
    ) -> None:
        self._traces = traces
        self._clock = clock.monotonic  # pacing and latencies
        self._sleep = clock.sleep
        self._timeout_s = request_timeout_sec
        self._pool: UpstreamPool | None = None

    async def open(self) -> None:
        """Create the connection pool (the proxy's own lean client: the less the driver costs per
        request, the less of its own time ends up in the latencies it reports)."""
        if self._pool is None:
            self._pool = UpstreamPool()

    async def close(self) -> None:
        """Close the pool's idle connections."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def run(self, spec: LoadSpec, recorder: Recorder, *, halted: asyncio.Event | None = None) -> None:
        """Drive traffic for ``spec.duration_s`` or until ``halted`` is set."""
        await self.open()
        interval_s = 1.0 / spec.rate_rps
        trace_every = max(1, round(spec.rate_rps))
        slots = asyncio.Semaphore(spec.concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        recorder.log(
            f"load: {spec.method} {spec.url} at {spec.rate_rps:g} req/s for {spec.duration_s:g} s "
            f"(concurrency {spec.concurrency})"
        )
        start_s = self._clock()
        index = 0
        while not (halted is not None and halted.is_set()):
            due_s = index * interval_s
            if due_s >= spec.duration_s or self._clock() - start_s >= spec.duration_s:
                break  # a lagging driver stops at the deadline instead of sending a backlog
            wait_s = start_s + due_s - self._clock()
            if wait_s > 0:
                await self._sleep(min(wait_s, _MAX_IDLE_SLEEP_S))
                continue
            await slots.acquire()
            traced = index % trace_every == 0 and index // trace_every < spec.trace_samples
            task = asyncio.ensure_future(self._one(spec, recorder, index, start_s, traced))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            task.add_done_callback(lambda _task: slots.release())
            index += 1
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
        recorder.log(f"load: sent {index} requests in {self._clock() - start_s:.3f} s")

    async def _one(
        self, spec: LoadSpec, recorder: Recorder, index: int, start_s: float, traced: bool
    ) -> None:
        assert self._pool is not None
        headers = list(spec.headers) if spec.carries_headers(index) else []
        if spec.content_type and not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("content-type", spec.content_type))
        trace_id = self._traces.new_id() if traced else None
        if trace_id:
            headers.append((TRACE_HEADER, trace_id))
        sent_s = self._clock()
        affected = False
        try:
            response = await self._pool.request(
                spec.method, spec.url, headers, spec.body or b"", self._timeout_s
            )
            status = response.status
            affected = any(name.lower() == FAULT_HEADER for name, _ in response.headers)
        except UpstreamError as exc:
            status = 0
            recorder.log(f"request #{index}: transport error {exc}")
        done_s = self._clock()
        sample = RequestSample((sent_s - start_s) * 1000, (done_s - sent_s) * 1000, status, affected)
        recorder.add(sample)
        if (
            sample.error
            and status
            and sum(1 for line in recorder.logs if "-> HTTP" in line) < _ERROR_LOG_LINES
        ):
            fault = " (injected)" if affected else ""
            recorder.log(
                f"request #{index}: {spec.method} -> HTTP {status}{fault} in {sample.latency_ms:.1f} ms"
            )
        if trace_id:
            recorder.traces.append(self._traces.trace(trace_id))
