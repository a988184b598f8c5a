"""A call the open breaker refuses sends nothing: a REJECTED event, counted apart from attempts."""

from __future__ import annotations

import httpx
import pytest

from client import (
    CircuitOpenError,
    ClientEvent,
    EventKind,
    ExecutorClientMetrics,
    ExecutorServerError,
    FaultPlan,
)
from tests.client.conftest import FakeClock, Script, make_client

PLAN = FaultPlan(
    service="payment", api="/pay", fault_type="delay", delay_seconds=0.1, percentage=50, duration_seconds=1
)


def test_open_breaker_rejects_calls_without_attempts(script: Script, clock: FakeClock) -> None:
    script.on("GET", "/v1/faults", httpx.Response(503, json={"error": "down"}))
    with make_client(script, clock, circuit_breaker_failure_threshold=1, max_retries=1) as client:
        with pytest.raises(ExecutorServerError):
            client.list_active_faults()  # the one failure that opens the breaker
        sent = len(script.requests)
        metrics = ExecutorClientMetrics()
        client.subscribe(metrics)
        events: list[ClientEvent] = []
        client.subscribe(events.append)
        calls = [
            lambda: client.list_active_faults(),
            lambda: client.halt("fault-1"),
            lambda: client.apply_and_observe(PLAN),
            lambda: client.apply_and_observe(PLAN, api_mode="policy"),
            lambda: client.list_services(),
        ]
        for call in calls:
            with pytest.raises(CircuitOpenError):
                call()
    assert len(script.requests) == sent  # nothing reached the wire
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.REJECTED) == len(calls)
    assert EventKind.ATTEMPT not in kinds and EventKind.FAILURE not in kinds
    rejected = [e for e in events if e.kind is EventKind.REJECTED]
    assert all("nothing sent" in (e.message or "") for e in rejected)
    assert rejected[0].to_dict()["kind"] == "rejected"
    assert metrics.rejected_calls == len(calls)
    assert metrics.total_attempts == 0 and metrics.total_requests == 0 and metrics.failed_requests == 0
    assert metrics.snapshot()["rejected_calls"] == len(calls)


def test_attempts_count_requests_sent_retries_included(script: Script, clock: FakeClock) -> None:
    script.on(
        "GET",
        "/v1/faults",
        httpx.Response(503, json={"error": "busy"}),
        httpx.Response(200, json={"faults": []}),
    )
    with make_client(script, clock) as client:
        assert client.list_active_faults() == []
    assert client.metrics.total_attempts == 2 == len(script.calls("GET", "/v1/faults"))
    assert client.metrics.total_requests == 1 and client.metrics.rejected_calls == 0
