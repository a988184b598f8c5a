"""Credentials go only where they belong: the client against two loopback servers on different origins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from client import ExecutorClientConfig, ExecutorClientError, HttpExecutorClient
from client.credentials import OriginAuth, origin_of
from tests.client.conftest import FakeClock, metrics_body
from tests.client.servers import Reply, ScriptedServer, Seen, serve
from tests.client.test_integration import FamilyA
from tests.plans import payment_abort

TOKEN = "executor-t0ken"
COLLECTOR_TOKEN = "collector-t0ken"
PLAN = payment_abort()


def _client(url: str, clock: FakeClock | None = None, **overrides: Any) -> HttpExecutorClient:
    settings: dict[str, Any] = {
        "base_url": url,
        "auth_token": TOKEN,
        "max_retries": 1,
        "connection_timeout_sec": 5.0,  # the health gate's bound: a busy machine must not fail it
        "policy_propagation_sec": 0.0,
        **overrides,
    }
    if clock is None:
        return HttpExecutorClient(ExecutorClientConfig(**settings))
    return HttpExecutorClient(ExecutorClientConfig(**settings), clock=clock, sleep=clock.sleep)


def _authorizations(server: ScriptedServer) -> list[str | None]:
    return [seen.headers.get("authorization") for seen in server.seen]


def test_a_policy_mode_probe_target_on_another_port_gets_no_token() -> None:
    plane = FamilyA()
    clock = FakeClock()  # the probe's second passes on the fake clock: no real waiting
    with serve(plane.control) as control, serve(plane.target) as target:
        config = {"api_mode": "policy", "probe_url": f"{target.url}/s/payment", "probe_rate_rps": 20}
        with _client(control.url, clock, **config) as client:
            observation = client.apply_and_observe(PLAN, apply_key="run-1")
    assert observation.metrics is not None and observation.metrics.request_count >= 1
    assert target.seen and _authorizations(target) == [None] * len(target.seen)
    assert control.seen and set(_authorizations(control)) == {f"Bearer {TOKEN}"}


def _collector(seen: Seen) -> Reply:
    if seen.path == "/collect":
        return Reply(200, metrics_body(samples=True))
    return Reply(404, {"error": "not_found"})


@pytest.mark.parametrize("collector_token", [None, COLLECTOR_TOKEN])
def test_a_collector_on_another_origin_gets_only_its_own_token(collector_token: str | None) -> None:
    plane = FamilyA()
    with serve(plane.control) as control, serve(_collector) as collector:
        config = {"api_mode": "policy", "collector_url": collector.url, "collector_token": collector_token}
        with _client(control.url, **config) as client:
            observation = client.apply_and_observe(PLAN, apply_key="run-1")
    assert len(observation.samples) == 2
    [collect] = collector.requests("GET", "/collect")
    expected = f"Bearer {collector_token}" if collector_token else None
    assert collect.headers.get("authorization") == expected
    assert set(_authorizations(control)) == {f"Bearer {TOKEN}"}


def test_a_collector_on_the_executors_origin_gets_the_executors_token() -> None:
    plane = FamilyA()

    def both(seen: Seen) -> Reply:
        return _collector(seen) if seen.path == "/collect" else plane.control(seen)

    with serve(both) as server:
        config = {"api_mode": "policy", "collector_url": server.url, "collector_token": COLLECTOR_TOKEN}
        with _client(server.url, **config) as client:
            client.apply_and_observe(PLAN, apply_key="run-1")
    assert server.requests("GET", "/collect")
    assert set(_authorizations(server)) == {f"Bearer {TOKEN}"}


def test_a_redirect_to_another_origin_carries_no_token() -> None:
    with serve(lambda seen: Reply(200, {"faults": []})) as elsewhere:

        def executor(seen: Seen) -> Reply:
            return Reply(307, {}, headers={"Location": f"{elsewhere.url}{seen.path}"})

        with serve(executor) as server, _client(server.url) as client, pytest.raises(ExecutorClientError):
            client.list_active_faults()
    assert server.seen and set(_authorizations(server)) == {f"Bearer {TOKEN}"}
    assert _authorizations(elsewhere) == []  # not followed: nothing, token or not, reaches it


def test_origins_normalise_default_ports_and_case() -> None:
    assert origin_of("http://Exec.Test") == origin_of("http://exec.test:80/v1") == ("http", "exec.test", 80)
    assert origin_of("https://exec.test") == ("https", "exec.test", 443)
    assert origin_of("http://exec.test:8000") != origin_of("http://exec.test:8001")
    assert origin_of("http://exec.test:443") != origin_of("https://exec.test")


def test_the_auth_sends_a_token_only_to_its_origin() -> None:
    auth = OriginAuth({origin_of("http://exec.test:8000"): SecretStr(TOKEN)})

    def header(url: str) -> str | None:
        request = next(auth.sync_auth_flow(httpx.Request("GET", url)))
        return request.headers.get("authorization")

    assert header("http://exec.test:8000/v1/faults") == f"Bearer {TOKEN}"
    for other in ("http://exec.test:8001/", "https://exec.test:8000/", "http://other.test:8000/"):
        assert header(other) is None
