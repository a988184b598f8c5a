"""Which failures are retried, how often, with which key, and within which deadline."""

from __future__ import annotations

import httpx
import pytest

from client import (
    BadRequestError,
    BreakerState,
    CircuitOpenError,
    ConflictError,
    ExecutorClientError,
    ExecutorConnectionError,
    ExecutorResponseError,
    ExecutorServerError,
    ExecutorTimeoutError,
    FaultPlan,
    NotFoundError,
    RetryStrategy,
    UnauthorizedError,
)
from tests.client.conftest import FakeClock, Script, make_client, metrics_body

PLAN = FaultPlan(
    service="payment", api="/pay", fault_type="delay", delay_seconds=1.0, percentage=50, duration_seconds=5
)
APPLY = "/v1/faults/apply"
OK_APPLY = httpx.Response(200, json={"apply_id": "fault-1", "status": "applied"})


def _complete(script: Script) -> Script:
    script.on("GET", "/v1/faults/fault-1/status", httpx.Response(200, json={"status": "completed"}))
    script.on("GET", "/v1/faults/fault-1/metrics", httpx.Response(200, json=metrics_body()))
    return script


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": "boom"}),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(429),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect"),
        httpx.ReadTimeout("read"),
        httpx.RemoteProtocolError("reset"),
    ],
)
def test_retryable_failures_are_retried_with_the_same_key(
    script: Script, clock: FakeClock, failure: object
) -> None:
    _complete(script).on("POST", APPLY, failure, failure, OK_APPLY)  # type: ignore[arg-type]
    observation = make_client(script, clock).apply_and_observe(PLAN, apply_key="key-1")
    posts = script.calls("POST", APPLY)
    assert len(posts) == 3
    assert {p.headers["Idempotency-Key"] for p in posts} == {"key-1"}
    assert observation.apply_id == "fault-1"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ExecutorClientError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ExecutorClientError),
    ],
)
def test_client_errors_fail_after_one_attempt_with_status_and_body(
    script: Script, clock: FakeClock, status: int, error: type[Exception]
) -> None:
    script.on(
        "POST", APPLY, httpx.Response(status, json={"error": "invalid_input", "details": {"field": "api"}})
    )
    with pytest.raises(error) as info:
        make_client(script, clock).apply_and_observe(PLAN)
    assert len(script.calls("POST", APPLY)) == 1
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.body["details"] == {"field": "api"}  # type: ignore[attr-defined]
    assert clock.sleeps == []


def test_max_retries_counts_attempts(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.Response(503))
    with pytest.raises(ExecutorServerError) as info:
        make_client(script, clock, max_retries=4).apply_and_observe(PLAN)
    assert info.value.status_code == 503
    assert len(script.calls("POST", APPLY)) == 4
    assert len(clock.sleeps) == 3


def test_none_strategy_makes_one_attempt(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.ConnectError("refused"))
    with pytest.raises(ExecutorConnectionError):
        make_client(script, clock, retry_strategy=RetryStrategy.NONE).apply_and_observe(PLAN)
    assert len(script.calls("POST", APPLY)) == 1


def test_exponential_backoff_uses_full_jitter_capped(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.Response(503))
    client = make_client(
        script, clock, max_retries=5, initial_retry_delay_sec=1.0, max_retry_delay_sec=3.0, rng=lambda: 0.5
    )
    with pytest.raises(ExecutorServerError):
        client.apply_and_observe(PLAN, timeout_sec=100)
    assert clock.sleeps == [0.5, 1.0, 1.5, 1.5]


def test_retry_after_is_honoured(script: Script, clock: FakeClock) -> None:
    _complete(script).on("POST", APPLY, httpx.Response(429, headers={"Retry-After": "4"}), OK_APPLY)
    make_client(script, clock).apply_and_observe(PLAN, timeout_sec=60)
    assert clock.sleeps[0] == 4.0


def test_deadline_bounds_retries_and_backoff(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.Response(503))
    client = make_client(script, clock, max_retries=10, initial_retry_delay_sec=2.0, rng=lambda: 0.99)
    with pytest.raises(ExecutorTimeoutError, match="deadline") as info:
        client.apply_and_observe(PLAN, timeout_sec=5.0)
    assert isinstance(info.value.__cause__, ExecutorServerError)
    assert sum(clock.sleeps) <= 5.0


def test_each_attempt_gets_only_what_is_left_of_the_deadline(script: Script, clock: FakeClock) -> None:
    seen: list[dict[str, float]] = []

    def slow(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        clock.advance(3.0)
        raise httpx.ReadTimeout("slow", request=request)

    script.on("POST", APPLY, slow)
    with pytest.raises(ExecutorTimeoutError):
        make_client(script, clock, initial_retry_delay_sec=0.0).apply_and_observe(PLAN, timeout_sec=7.0)
    assert [round(t["read"], 3) for t in seen] == [7.0, 4.0, 1.0]
    assert all(t["connect"] <= 5.0 for t in seen)


def test_bad_responses_are_client_errors(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(ExecutorResponseError, match="non-JSON"):
        make_client(script, clock).apply_and_observe(PLAN)
    script.on("POST", APPLY, httpx.Response(200, json={"status": "applied"}))
    with pytest.raises(ExecutorResponseError, match="apply_id"):
        make_client(script, clock).apply_and_observe(PLAN)


def test_body_over_the_size_limit_is_rejected(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.Response(200, content=b"x" * 5000))
    with pytest.raises(ExecutorResponseError, match=r"limit|exceeds"):
        make_client(script, clock, max_response_bytes=1024).apply_and_observe(PLAN)


def test_breaker_counts_5xx_and_connection_errors_but_not_4xx(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.Response(400, json={"error": "invalid_input"}))
    client = make_client(script, clock, circuit_breaker_failure_threshold=3, max_retries=1)
    for _ in range(5):
        with pytest.raises(BadRequestError):
            client.apply_and_observe(PLAN)
    assert client.circuit_breaker.state is BreakerState.CLOSED
    script.on("POST", APPLY, httpx.Response(500))
    for _ in range(3):
        with pytest.raises(ExecutorServerError):
            client.apply_and_observe(PLAN)
    assert client.circuit_breaker.state is BreakerState.OPEN
    sent = len(script.requests)
    with pytest.raises(CircuitOpenError):
        client.apply_and_observe(PLAN)
    assert len(script.requests) == sent


def test_breaker_half_open_trial_success_closes(script: Script, clock: FakeClock) -> None:
    script.on("POST", APPLY, httpx.ConnectError("down"))
    client = make_client(
        script, clock, circuit_breaker_failure_threshold=2, circuit_breaker_timeout_sec=30, max_retries=1
    )
    for _ in range(2):
        with pytest.raises(ExecutorConnectionError):
            client.apply_and_observe(PLAN)
    assert client.circuit_breaker.state is BreakerState.OPEN
    clock.advance(30)
    _complete(script).on("POST", APPLY, OK_APPLY)
    client.apply_and_observe(PLAN)
    assert client.circuit_breaker.state is BreakerState.CLOSED
