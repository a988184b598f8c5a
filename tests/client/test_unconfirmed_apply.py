"""An apply POST that fails without an answer halts the fault it may have started, found by its key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from client import (
    BadRequestError,
    ExecutorClientConfig,
    ExecutorConnectionError,
    ExecutorTimeoutError,
    HttpExecutorClient,
)
from executor import EmbeddedExecutor
from tests.client.servers import Reply, Seen, serve
from tests.plans import payment_abort

PLAN = payment_abort(percentage=10, duration_seconds=120)
HEALTHY = Reply(200, {"status": "healthy"})

pytestmark = pytest.mark.timeout(60)


def _faults_with_key(base_url: str, key: str) -> list[dict[str, Any]]:
    faults = httpx.get(f"{base_url}/v1/faults", timeout=5).json()["faults"]
    return [fault for fault in faults if fault.get("idempotency_key") == key]


@pytest.mark.slow
def test_direct_apply_past_its_deadline_cancels_the_fault_on_the_real_executor(
    executor: EmbeddedExecutor,
) -> None:
    config = ExecutorClientConfig(base_url=executor.base_url, api_mode="direct", connection_timeout_sec=2)
    try:
        with HttpExecutorClient(config) as client, pytest.raises(ExecutorTimeoutError):
            client.apply_and_observe(PLAN, timeout_sec=1.5, apply_key="direct-timeout")
        (fault,) = _faults_with_key(executor.base_url, "direct-timeout")
    finally:  # without the halt the fault would inject for its whole 120 s
        for left in _faults_with_key(executor.base_url, "direct-timeout"):
            httpx.delete(f"{executor.base_url}/v1/faults/{left['apply_id']}", timeout=5)
    assert fault["status"] == "cancelled" and fault["active"] is False


def _family_bc(apply_reply: Reply, apply_path: str) -> tuple[Any, list[str]]:
    halted: list[str] = []

    def handler(seen: Seen) -> Reply:
        if seen.path in ("/health", "/v1/health"):
            return HEALTHY
        if seen.path == apply_path:
            return apply_reply
        if seen.method == "GET" and seen.path == "/v1/faults":
            listed = [
                {"apply_id": "other", "status": "running", "service": PLAN.service, "api": PLAN.api},
                {"apply_id": "ours", "status": "running", "idempotency_key": "key-1", "service": "x"},
                {"apply_id": "done", "status": "completed", "idempotency_key": "key-1"},
            ]
            return Reply(200, {"faults": listed})
        if seen.method == "DELETE":
            halted.append(seen.path.rsplit("/", 1)[1])
            return Reply(200, {"status": "cancelled"})
        return Reply(404, {"error": "not_found"})

    return handler, halted


def _client(url: str, **overrides: Any) -> HttpExecutorClient:
    settings: dict[str, Any] = {
        "base_url": url,
        "initial_retry_delay_sec": 0.01,
        "max_retry_delay_sec": 0.02,
        "connection_timeout_sec": 1.0,
        **overrides,
    }
    return HttpExecutorClient(ExecutorClientConfig(**settings))


@pytest.mark.parametrize(
    ("mode", "path"), [("direct", "/api/v1/faults/apply"), ("extended", "/v1/faults/apply")]
)
def test_a_dropped_apply_halts_only_the_fault_with_its_key(mode: str, path: str) -> None:
    handler, halted = _family_bc(Reply(drop=True), path)
    with serve(handler) as server, _client(server.url, api_mode=mode) as client:
        with pytest.raises(ExecutorConnectionError):
            client.apply_and_observe(PLAN, apply_key="key-1", timeout_sec=10)
        listings = server.requests("GET", "/v1/faults")
    assert halted == ["ours"] and len(listings) == 1


def test_a_stalled_extended_apply_halts_its_fault_after_the_deadline() -> None:
    handler, halted = _family_bc(Reply(200, {"apply_id": "ours"}, stall=True), "/v1/faults/apply")
    with serve(handler) as server, _client(server.url) as client, pytest.raises(ExecutorTimeoutError):
        client.apply_and_observe(PLAN, apply_key="key-1", timeout_sec=0.6)
    assert halted == ["ours"]


def test_a_refused_apply_looks_for_nothing() -> None:
    handler, halted = _family_bc(Reply(400, {"error": "invalid_input"}), "/api/v1/faults/apply")
    with serve(handler) as server, _client(server.url, api_mode="direct") as client:
        with pytest.raises(BadRequestError):
            client.apply_and_observe(PLAN, apply_key="key-1")
        listings = server.requests("GET", "/v1/faults")
    assert halted == [] and listings == []
