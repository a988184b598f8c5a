"""The public surface: ``__all__``, the error hierarchy and the seed's usage example."""

from __future__ import annotations

import httpx
import pytest

import client
from client import (
    CircuitOpenError,
    ExecutorClientError,
    ExecutorConnectionError,
    ExecutorTimeoutError,
    FaultPlan,
    FaultType,
)
from tests.client.conftest import FakeClock, Script, make_client

SEED_NAMES = {
    "IExecutorClient",
    "HttpExecutorClient",
    "ExecutorClientConfig",
    "RetryStrategy",
    "CircuitBreaker",
    "FaultPlan",
    "FaultType",
    "RawObservation",
    "ExecutorClientMetrics",
    "ExecutorClientError",
    "ExecutorTimeoutError",
    "ExecutorConnectionError",
    "CircuitOpenError",
    "BadRequestError",
    "UnauthorizedError",
    "NotFoundError",
}
ADDED_NAMES = {
    "ExecutorCancelledError",
    "ActiveFault",
    "ServiceInfo",
    "PreparedRequest",
    "ClientEvent",
    "EventKind",
    "RequestSample",
    "TimelinePoint",
    "ExecutorMetrics",
    "ApiMode",
    "BreakerState",
    "policy_name_for",
    "HealthResult",
}


def test_all_lists_exactly_the_public_surface() -> None:
    assert set(client.__all__) >= SEED_NAMES | ADDED_NAMES
    assert len(client.__all__) == len(set(client.__all__))
    for name in client.__all__:
        assert getattr(client, name) is not None
    public = {n for n in vars(client) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(client.__all__), public - set(client.__all__)


def test_errors_are_also_builtin_errors() -> None:
    assert issubclass(ExecutorTimeoutError, TimeoutError)
    assert issubclass(ExecutorTimeoutError, ExecutorClientError)
    assert issubclass(ExecutorConnectionError, ConnectionError)
    assert issubclass(CircuitOpenError, ExecutorConnectionError)
    assert issubclass(client.ExecutorCancelledError, ExecutorClientError)
    assert issubclass(client.NotFoundError, client.ExecutorHTTPError)


def _seed_example(c: client.HttpExecutorClient) -> str:
    plan = FaultPlan(
        service="PaymentService",
        api="/api/v1/payment/process",
        fault_type=FaultType.DELAY,
        delay_seconds=2.5,
        percentage=50,
        duration_seconds=30,
        start_delay_ms=200,
    )
    try:
        observation = c.apply_and_observe(plan, timeout_sec=30.0)
        return f"Success: {observation.latency_ms}ms"
    except TimeoutError as e:
        return f"Timeout: {e}"
    except ConnectionError as e:
        return f"Connection error: {e}"
    except ExecutorClientError as e:
        return f"Error: {e}"


def test_seed_usage_example_catches_timeouts_as_builtin(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", httpx.ReadTimeout("slow"))
    assert _seed_example(make_client(script, clock)).startswith("Timeout:")


def test_seed_usage_example_catches_connection_errors_as_builtin(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", httpx.ConnectError("refused"))
    assert _seed_example(make_client(script, clock)).startswith("Connection error:")


def test_seed_usage_example_catches_business_errors_as_base(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", httpx.Response(400, json={"error": "invalid_input"}))
    assert _seed_example(make_client(script, clock)).startswith("Error:")


def test_client_is_an_executor_client_and_context_manager(script: Script, clock: FakeClock) -> None:
    with make_client(script, clock) as c:
        assert isinstance(c, client.IExecutorClient)
        assert c.check_health() is True
    with pytest.raises(RuntimeError, match="closed"):
        c._http.get("/v1/health")
