"""The executor package's public surface and its wire-level policy expiry with a fake scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import executor
from executor import EmbeddedExecutor, ExecutorSettings
from executor.control.api_ops import OpsApi
from executor.dataplane.metrics import ProxyCounters


def test_public_names_are_exactly_all() -> None:
    assert sorted(executor.__all__) == [
        "EmbeddedExecutor",
        "ExecutorError",
        "ExecutorRuntime",
        "ExecutorSettings",
        "ExecutorStartError",
    ]
    public = {name for name in vars(executor) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if isinstance(getattr(executor, name), type(executor))}
    assert public - modules == set(executor.__all__)


class ManualScheduler:
    """Keep scheduled callbacks until the test fires them on the executor's loop."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> ManualScheduler:
        self.pending.append((delay, callback))
        return self

    def cancel(self) -> None:
        """Cancelling is a no-op here: every test fires explicitly."""

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for _delay, callback in pending:
            callback()


def _policy(name: str, durations: list[int]) -> dict[str, object]:
    rules = [
        {
            "match": {"path": {"prefix": f"/{index}"}},
            "fault": {"percentage": 1, "duration_seconds": seconds, "abort": {"httpStatus": 500}},
        }
        for index, seconds in enumerate(durations)
    ]
    return {"metadata": {"name": name, "version": "1.0.0"}, "spec": {"rules": rules}}


def test_policy_expiry_reads_rules_zero_of_post_only(http: httpx.Client) -> None:
    scheduler = ManualScheduler()
    with EmbeddedExecutor(ExecutorSettings(demo=False), scheduler=scheduler) as ex:
        http.post(ex.base_url + "/v1/policies", json=_policy("expiring", [2]))
        http.post(ex.base_url + "/v1/policies", json=_policy("second-rule-only", [0, 2]))
        http.post(ex.base_url + "/v1/policies/create", json=_policy("created", [2]))
        assert [delay for delay, _ in scheduler.pending] == [2]
        ex.call(scheduler.fire)
        assert http.get(ex.base_url + "/v1/policies/expiring").status_code == 404
        names = {
            item["metadata"]["name"] for item in http.get(ex.base_url + "/v1/policies").json()["policies"]
        }
        assert names == {"second-rule-only", "created"}


def test_policy_api_rejects_oversized_bodies(http: httpx.Client) -> None:
    with EmbeddedExecutor(ExecutorSettings(demo=False, max_body_bytes=1000)) as ex:
        response = http.post(ex.base_url + "/v1/policies", content=b"{" + b" " * 2000 + b"}")
        assert response.status_code == 413
        assert response.json()["error"] == "request_too_large"


def test_ready_is_503_while_not_ready() -> None:
    async def scenario() -> tuple[int, dict[str, str]]:
        app = web.Application()
        OpsApi(
            services={}, proxy_url=str, counters=ProxyCounters(), active_faults=lambda: 0, ready=lambda: False
        ).add_routes(app)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            response = await client.get("/v1/ready")
            return response.status, await response.json()

    status, body = asyncio.run(scenario())
    assert status == 503
    assert body["status"] == "not_ready" and body["reason"]


def test_config_stream_sends_keepalive_comments(http: httpx.Client) -> None:
    with (
        EmbeddedExecutor(ExecutorSettings(demo=False, sse_keepalive_s=0.05)) as ex,
        http.stream("GET", ex.base_url + "/v1/config/stream") as response,
    ):
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line == ": keepalive":
                break
        assert lines[:2] == ["event: full_config", "data: []"]
