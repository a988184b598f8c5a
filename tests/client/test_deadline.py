"""The one deadline holds on the wire: a server that drips its answer cannot hold a call past it.

httpx's read timeout restarts on every byte, so these servers (one header or body byte every 0.5 s) held
an apply or a health check until the server stopped. ``connection_timeout_sec`` is small here because the
cleanup after a timeout (halt, delete) has a budget of one connect timeout on top of ``timeout_sec``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from client import ExecutorClientConfig, ExecutorTimeoutError, HttpExecutorClient
from client.transport import DeadlineTransport, request_deadline
from tests.client.raw_servers import Action, Answer, DripBody, DripHead, raw_serve
from tests.plans import payment_delay

TIMEOUT_SEC = 1.0
CONNECT_SEC = 1.0
SLACK_SEC = 2.0  # generous for a noisy machine; without the transport deadline these calls take minutes

PLAN = payment_delay(duration_seconds=10)
HEALTHY = Answer(200, {"status": "healthy"})
APPLY_PATHS = {"direct": "/api/v1/faults/apply", "extended": "/v1/faults/apply", "policy": "/v1/policies"}
DRIPS = {"head": DripHead(), "body": DripBody()}

pytestmark = pytest.mark.timeout(60)


def _client(url: str, mode: str, **overrides: Any) -> HttpExecutorClient:
    settings: dict[str, Any] = {
        "base_url": url,
        "api_mode": mode,
        "connection_timeout_sec": CONNECT_SEC,
        "initial_retry_delay_sec": 0.01,
        "max_retry_delay_sec": 0.05,
        "poll_interval_sec": 0.05,
        "policy_propagation_sec": 0.0,
        "probe_url": url,
        "probe_rate_rps": 10,
        "probe_timeout_sec": 5.0,
        **overrides,
    }
    return HttpExecutorClient(ExecutorClientConfig(**settings))


def _elapsed(call: Any) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("drip", sorted(DRIPS))
@pytest.mark.parametrize("mode", sorted(APPLY_PATHS))
def test_apply_ends_by_its_deadline_when_the_apply_answer_drips(mode: str, drip: str) -> None:
    def handler(method: str, path: str) -> Action:
        if path == APPLY_PATHS[mode]:
            return DRIPS[drip]
        if path in ("/health", "/v1/health"):
            return HEALTHY
        if method == "GET" and path == "/v1/faults":
            return Answer(200, {"faults": []})
        return Answer(200, {"message": "policy deleted successfully"})

    with raw_serve(handler) as server, _client(server.url, mode) as client:

        def apply() -> None:
            with pytest.raises(ExecutorTimeoutError):
                client.apply_and_observe(PLAN, timeout_sec=TIMEOUT_SEC)

        elapsed = _elapsed(apply)
    assert elapsed < TIMEOUT_SEC + SLACK_SEC


@pytest.mark.slow
def test_cleanup_after_a_timeout_is_bounded_by_the_connect_timeout() -> None:
    def handler(method: str, path: str) -> Action:
        if path == "/v1/health":
            return HEALTHY
        if path == "/v1/faults/apply":
            return Answer(200, {"apply_id": "fault-1", "status": "applied"})
        return DripHead()  # status polls and the halt after the timeout

    with raw_serve(handler) as server, _client(server.url, "extended") as client:

        def apply() -> None:
            with pytest.raises(ExecutorTimeoutError):
                client.apply_and_observe(PLAN, timeout_sec=TIMEOUT_SEC)

        elapsed = _elapsed(apply)
        halts = server.requests("DELETE", "/v1/faults/fault-1")
    assert halts, "the fault was not halted after the timeout"
    assert elapsed < TIMEOUT_SEC + CONNECT_SEC + SLACK_SEC


@pytest.mark.slow
def test_policy_probe_against_a_dripping_target_keeps_the_deadline() -> None:
    def handler(method: str, path: str) -> Action:
        if path == "/v1/health":
            return HEALTHY
        if path == "/v1/policies":
            return Answer(201, {"metadata": {"name": "boifi-x"}})
        if method == "DELETE":
            return Answer(200, {"message": "policy deleted successfully"})
        return DripHead()  # the target the probe sends to

    with raw_serve(handler) as server, _client(server.url, "policy") as client:

        def apply() -> None:
            with pytest.raises(ExecutorTimeoutError):
                client.apply_and_observe(PLAN, timeout_sec=TIMEOUT_SEC)

        elapsed = _elapsed(apply)
        probed = server.requests("GET", PLAN.api)
    assert probed, "the probe sent nothing"
    assert elapsed < TIMEOUT_SEC + SLACK_SEC


@pytest.mark.slow
@pytest.mark.parametrize("drip", sorted(DRIPS))
@pytest.mark.parametrize("mode", sorted(APPLY_PATHS))
def test_check_health_ends_by_its_timeout_when_health_drips(mode: str, drip: str) -> None:
    with (
        raw_serve(lambda method, path: DRIPS[drip]) as server,
        _client(server.url, mode, health_check_interval_sec=0) as client,
    ):
        healthy: list[bool] = []
        elapsed = _elapsed(lambda: healthy.append(client.check_health()))
    assert healthy == [False]
    assert elapsed < CONNECT_SEC + SLACK_SEC


@pytest.mark.slow
def test_the_health_check_before_an_apply_stays_within_the_apply_deadline() -> None:
    with (
        raw_serve(lambda method, path: DripHead()) as server,
        _client(server.url, "extended", connection_timeout_sec=5.0) as client,
    ):

        def apply() -> None:
            with pytest.raises(ExecutorTimeoutError):
                client.apply_and_observe(PLAN, timeout_sec=TIMEOUT_SEC)

        elapsed = _elapsed(apply)
    assert elapsed < TIMEOUT_SEC + SLACK_SEC


def test_a_request_whose_deadline_has_passed_is_not_sent() -> None:
    with (
        raw_serve(lambda method, path: HEALTHY) as server,
        httpx.Client(transport=DeadlineTransport()) as http,
    ):
        with request_deadline(0.0), pytest.raises(httpx.ConnectTimeout):
            http.get(f"{server.url}/v1/health")
        with request_deadline(5.0):
            assert http.get(f"{server.url}/v1/health").status_code == 200
        seen = list(server.seen)
    assert seen == [("GET", "/v1/health")]
