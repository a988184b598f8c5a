"""Shared fixtures: a fake clock, a scripted MockTransport and a client factory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from client import ExecutorClientConfig, HttpExecutorClient
from tests.waiting import WaitTimeout, wait_until

BASE_URL = "http://executor.test"


class FakeClock:
    """A monotonic clock that moves only when slept on or advanced."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answer requests from per-route queues (the last reply repeats) and record every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.on("GET", "/v1/health", httpx.Response(200, json={"status": "healthy"}))
        self.on("GET", "/health", httpx.Response(200, json={"status": "healthy"}))

    def on(self, method: str, path: str, *replies: Reply) -> Script:
        self.routes[(method, path)] = list(replies)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"error": "not_found"})
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def api_calls(self) -> list[httpx.Request]:
        return [r for r in self.requests if "health" not in r.url.path]


class FixedWallClock:
    """A wall clock pinned to a moment."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture(autouse=True)
def _no_thread_left_behind() -> Iterator[None]:
    before = set(threading.enumerate())
    yield

    def extra() -> list[str]:
        return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]

    try:
        wait_until(lambda: not extra(), timeout=5.0, interval=0.01, what="the test's threads to end")
    except WaitTimeout:
        pytest.fail(f"threads left behind: {extra()}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def script() -> Script:
    return Script()


def make_client(
    script: Script,
    clock: FakeClock,
    *,
    probe: Callable[[httpx.Request], httpx.Response] | None = None,
    rng: Callable[[], float] = lambda: 0.5,
    **overrides: Any,
) -> HttpExecutorClient:
    settings: dict[str, Any] = {"base_url": BASE_URL, "policy_propagation_sec": 0.0, **overrides}
    return HttpExecutorClient(
        ExecutorClientConfig(**settings),
        transport=httpx.MockTransport(script),
        probe_transport=httpx.MockTransport(probe) if probe else None,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=FixedWallClock(),
        rng=rng,
    )


def metrics_body(apply_id: str = "fault-1", *, final: bool = True, samples: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apply_id": apply_id,
        "final": final,
        "status_code": 200,
        "latency_ms": 120.5,
        "error_rate": 0.02,
        "metrics": {
            "request_count": 100,
            "affected_count": 50,
            "success_rate": 0.98,
            "error_rate": 0.02,
            "avg_latency_ms": 120.5,
            "p50_latency_ms": 6.1,
            "p95_latency_ms": 250.0,
            "p99_latency_ms": 260.0,
            "max_latency_ms": 270.0,
        },
        "timeline": [
            {
                "t_s": 0,
                "request_count": 50,
                "affected_count": 25,
                "error_count": 1,
                "avg_latency_ms": 120.0,
                "p95_latency_ms": 250.0,
            }
        ],
        "trace_data": {"traceID": "t1", "spans": []},
        "logs": ["started", "ended"],
    }
    if samples:
        body["samples"] = [[0.5, 6.0, 200, 0], [10.25, 250.0, 200, 1]]
    return body
