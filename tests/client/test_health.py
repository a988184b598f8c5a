"""``probe_health`` always sends; ``check_health`` stays the cached apply gate."""

from __future__ import annotations

import httpx

from client import HealthResult
from tests.client.conftest import FakeClock, Script, make_client


def test_probe_health_sends_every_time_and_reports_what_it_saw(script: Script, clock: FakeClock) -> None:
    with make_client(script, clock) as client:
        results = [client.probe_health() for _ in range(3)]
    assert len(script.calls("GET", "/v1/health")) == 3
    assert all(isinstance(r, HealthResult) and r.healthy and r.error is None for r in results)
    assert all(r.latency_ms >= 0 for r in results)


def test_a_healthy_probe_refreshes_the_gate_and_an_unhealthy_one_clears_it(
    script: Script, clock: FakeClock
) -> None:
    script.on(
        "GET",
        "/v1/health",
        httpx.Response(200, json={"status": "healthy"}),
        httpx.Response(503, json={"status": "down"}),
        httpx.Response(200, json={"status": "healthy"}),
    )
    with make_client(script, clock, max_retries=1) as client:
        assert client.probe_health().healthy is True
        assert client.check_health() is True  # answered from the cache the probe refreshed
        assert len(script.calls("GET", "/v1/health")) == 1
        down = client.probe_health()
        assert down.healthy is False and down.error is not None and "503" in down.error
        assert client.check_health() is True  # the cache was dropped: this one asked the Executor
        assert len(script.calls("GET", "/v1/health")) == 3
