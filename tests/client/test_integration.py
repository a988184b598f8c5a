"""The client against real scripted HTTP servers on 127.0.0.1."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from client import (
    ExecutorCancelledError,
    ExecutorClientConfig,
    ExecutorConnectionError,
    ExecutorResponseError,
    ExecutorTimeoutError,
    HttpExecutorClient,
)
from tests.client.conftest import metrics_body
from tests.client.servers import Reply, Seen, refused_url, serve
from tests.plans import payment_abort, payment_delay

PLAN = payment_delay()
HEALTHY = Reply(200, {"status": "healthy"})


def _client(url: str, **overrides: Any) -> HttpExecutorClient:
    settings: dict[str, Any] = {
        "base_url": url,
        "initial_retry_delay_sec": 0.01,
        "max_retry_delay_sec": 0.05,
        "poll_interval_sec": 0.02,
        "connection_timeout_sec": 1.0,
        "policy_propagation_sec": 0.0,
        **overrides,
    }
    return HttpExecutorClient(ExecutorClientConfig(**settings))


def _extended(fail_first: int) -> Any:
    posts: list[Seen] = []

    def handler(seen: Seen) -> Reply:
        if seen.path in ("/v1/health", "/health"):
            return HEALTHY
        if seen.path == "/v1/faults/apply":
            posts.append(seen)
            if len(posts) <= fail_first:
                return Reply(503, {"error": "busy"})
            return Reply(200, {"apply_id": "fault-7", "status": "applied"})
        if seen.path.endswith("/status"):
            return Reply(200, {"apply_id": "fault-7", "status": "completed"})
        if seen.path.endswith("/metrics"):
            return Reply(200, metrics_body("fault-7", samples="include_samples" in seen.query))
        return Reply(404, {"error": "not_found"})

    return handler


def test_server_that_fails_twice_then_succeeds() -> None:
    handler = _extended(fail_first=2)
    with serve(handler) as server, _client(server.url) as client:
        observation = client.apply_and_observe(PLAN, apply_key="key-42")
    posts = server.requests("POST", "/v1/faults/apply")
    assert len(posts) == 3 and {p.headers["idempotency-key"] for p in posts} == {"key-42"}
    assert posts[0].json()["fault_config"] == {"delay_milliseconds": 50}
    assert observation.apply_id == "fault-7" and len(observation.samples) == 2


@pytest.mark.slow
def test_stalled_server_hits_the_deadline_as_a_timeout() -> None:
    def handler(seen: Seen) -> Reply:
        if seen.path == "/v1/health":
            return HEALTHY
        return Reply(200, {"apply_id": "x"}, stall=True)

    with serve(handler) as server, _client(server.url, max_retries=5) as client:
        with pytest.raises(ExecutorTimeoutError):
            client.apply_and_observe(PLAN, timeout_sec=0.6)
        stalled = len(server.requests("POST", "/v1/faults/apply"))
    assert stalled == 1  # the single attempt used the whole deadline; no retry was squeezed in after it


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (Reply(200, raw=b"<html>proxy error</html>"), "non-JSON"),
        (Reply(200, raw=b'{"apply_id": "x", "sta'), "non-JSON"),
        (Reply(200, {"status": "applied"}), "apply_id"),
        (Reply(200, raw=b"[" + b"1," * 3000 + b"1]"), "limit|exceeds"),
    ],
)
def test_garbage_answers_become_clear_errors(reply: Reply, needle: str) -> None:
    def handler(seen: Seen) -> Reply:
        return HEALTHY if seen.path == "/v1/health" else reply

    with (
        serve(handler) as server,
        _client(server.url, max_response_bytes=4096) as client,
        pytest.raises(ExecutorResponseError, match=needle),
    ):
        client.apply_and_observe(PLAN)


def test_dropped_connection_is_retried_as_a_connection_error() -> None:
    def handler(seen: Seen) -> Reply:
        return HEALTHY if seen.path == "/v1/health" else Reply(drop=True)

    with serve(handler) as server, _client(server.url, max_retries=3) as client:
        with pytest.raises(ExecutorConnectionError):
            client.apply_and_observe(PLAN)
        assert len(server.requests("POST", "/v1/faults/apply")) == 3


def test_refused_connections() -> None:
    with _client(refused_url(), max_retries=2) as client:
        assert client.check_health() is False
        with pytest.raises(ConnectionError):
            client.apply_and_observe(PLAN)
        with pytest.raises(ExecutorConnectionError):
            client.halt("f1")
        assert client.metrics.connection_errors >= 1


class FamilyA:
    """A control plane that behaves as EXECUTOR_API.md family A, plus a target that honours its policies."""

    def __init__(self) -> None:
        self.policies: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def control(self, seen: Seen) -> Reply:
        if seen.path == "/v1/health":
            return HEALTHY
        if seen.method == "POST" and seen.path == "/v1/policies":
            policy = seen.json()
            fault = policy["spec"]["rules"][0]["fault"]
            if not all(isinstance(fault[k], int) for k in ("percentage", "duration_seconds")):
                return Reply(400, {"error": "invalid request body: json: cannot unmarshal number"})
            with self.lock:
                self.policies[policy["metadata"]["name"]] = policy
            return Reply(201, policy)
        if seen.path == "/v1/policies" and seen.method == "GET":
            with self.lock:
                return Reply(200, {"policies": list(self.policies.values())})
        if seen.method == "DELETE" and seen.path.startswith("/v1/policies/"):
            with self.lock:
                gone = self.policies.pop(seen.path.rsplit("/", 1)[1], None)
            if gone is None:
                return Reply(
                    404,
                    {
                        "error": "not_found",
                        "message": "The requested resource was not found",
                        "details": {"resource": "policy"},
                    },
                )
            return Reply(200, {"message": "policy deleted successfully"})
        return Reply(404, raw=b"404 page not found")

    def target(self, seen: Seen) -> Reply:
        with self.lock:
            active = [
                p
                for p in self.policies.values()
                if p["spec"]["rules"][0]["match"]["path"]["exact"] == seen.path.removeprefix("/s/payment")
            ]
        if active:
            return Reply(503, {"error": "injected"}, headers={"x-fault-injected": "abort"})
        return Reply(200, {"ok": True})


@pytest.mark.slow
def test_policy_mode_against_a_family_a_server_with_the_real_probe() -> None:
    plane = FamilyA()
    plan = payment_abort()
    with serve(plane.control) as control, serve(plane.target) as target:
        config = {"api_mode": "policy", "probe_url": f"{target.url}/s/payment", "probe_rate_rps": 20}
        with _client(control.url, **config) as client:
            observation = client.apply_and_observe(plan, apply_key="run-1")
            assert client.list_active_faults() == []
    assert plane.policies == {}
    [post] = control.requests("POST", "/v1/policies")
    assert post.json()["metadata"]["name"] == "boifi-run-1"
    assert len(control.requests("DELETE", "/v1/policies/boifi-run-1")) == 1
    assert observation.metrics is not None and observation.metrics.request_count >= 10
    assert observation.metrics.affected_count == observation.metrics.request_count
    assert observation.error_rate == 1.0 and observation.timeline and observation.samples


def test_direct_mode_cancel_halts_the_running_fault() -> None:
    halted = threading.Event()

    def handler(seen: Seen) -> Reply:
        if seen.path in ("/health", "/v1/health"):
            return HEALTHY
        if seen.path == "/api/v1/faults/apply":
            halted.wait(10)
            return Reply(
                200,
                {
                    "apply_id": "fault-3",
                    "status": "cancelled",
                    "metrics": {"total_request_count": 7, "blocked_request_count": 3},
                },
            )
        if seen.path == "/v1/faults" and seen.method == "GET":
            return Reply(
                200,
                {
                    "faults": [
                        {
                            "apply_id": "fault-3",
                            "status": "running",
                            "service": "payment",
                            "api": PLAN.api,
                            "fault_type": "delay",
                            "idempotency_key": "key-c",
                        }
                    ]
                },
            )
        if seen.method == "DELETE" and seen.path == "/v1/faults/fault-3":
            halted.set()
            return Reply(200, {"apply_id": "fault-3", "status": "cancelled"})
        return Reply(404, {"error": "not_found"})

    cancel = threading.Event()
    with serve(handler) as server, _client(server.url, api_mode="direct") as client:
        timer = threading.Timer(0.2, cancel.set)
        timer.start()
        with pytest.raises(ExecutorCancelledError) as info:
            client.apply_and_observe(PLAN, apply_key="key-c", cancel=cancel, timeout_sec=20)
        timer.join()
    assert halted.is_set()
    assert info.value.partial is not None and info.value.partial.metrics is not None
    assert info.value.partial.metrics.request_count == 7


def test_one_client_serves_many_threads() -> None:
    handler = _extended(fail_first=0)
    results: list[str | None] = []
    errors: list[BaseException] = []

    with serve(handler) as server, _client(server.url) as client:

        def worker(index: int) -> None:
            try:
                results.append(client.apply_and_observe(PLAN, apply_key=f"k{index}").apply_id)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        snapshot = client.metrics.snapshot()
    assert errors == [] and results == ["fault-7"] * 6
    keys = {p.headers["idempotency-key"] for p in server.requests("POST", "/v1/faults/apply")}
    assert keys == {f"k{i}" for i in range(6)}
    assert snapshot["successful_requests"] == 18 and snapshot["failed_requests"] == 0
