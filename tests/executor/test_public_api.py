"""The executor package's public surface and its wire-level policy expiry on a virtual clock."""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import executor
from executor import EmbeddedExecutor, ExecutorSettings
from executor.control.api_ops import OpsApi
from executor.dataplane.metrics import ProxyCounters
from tests.executor.helpers import JSON_TYPE
from tests.executor.virtual_clock import VirtualClock, virtual_executor


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


def _policy(name: str, durations: list[int]) -> dict[str, object]:
    rules = [
        {
            "match": {"path": {"prefix": f"/{index}"}},
            "fault": {"percentage": 1, "duration_seconds": seconds, "abort": {"httpStatus": 500}},
        }
        for index, seconds in enumerate(durations)
    ]
    return {"metadata": {"name": name, "version": "1.0.0"}, "spec": {"rules": rules}}


def test_policy_expiry_reads_rules_zero_of_post_only(http: httpx.Client, virtual_clock: VirtualClock) -> None:
    with virtual_executor(ExecutorSettings(demo=False), virtual_clock) as ex:
        http.post(ex.base_url + "/v1/policies", json=_policy("expiring", [2]))
        http.post(ex.base_url + "/v1/policies", json=_policy("second-rule-only", [0, 2]))
        http.post(ex.base_url + "/v1/policies/create", json=_policy("created", [2]))
        assert virtual_clock.pending() == [2]
        virtual_clock.advance(2)
        assert http.get(ex.base_url + "/v1/policies/expiring").status_code == 404
        names = {
            item["metadata"]["name"] for item in http.get(ex.base_url + "/v1/policies").json()["policies"]
        }
        assert names == {"second-rule-only", "created"}


def test_policy_api_rejects_oversized_bodies(http: httpx.Client) -> None:
    with EmbeddedExecutor(ExecutorSettings(demo=False, max_body_bytes=1000)) as ex:
        response = http.post(
            ex.base_url + "/v1/policies", content=b"{" + b" " * 2000 + b"}", headers=JSON_TYPE
        )
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
