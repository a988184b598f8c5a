"""A family B/C fault hits only what was planned: header matchers, strict bodies, no control characters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from client import FaultPlan, FaultType, HeaderMatch
from client.protocols.base import fault_body as client_fault_body
from executor import EmbeddedExecutor
from executor.dataplane.upstream_pool import UpstreamPool
from executor.dataplane.upstream_response import UpstreamError
from tests.executor.helpers import RATE_RPS, REQUESTS, fault_body, policy
from tests.executor.upstream import CountingUpstream
from tests.executor.virtual_clock import VirtualClock

APPLY_PATHS = ("/v1/faults/apply", "/api/v1/faults/apply")


def _listed(http: httpx.Client, ex: EmbeddedExecutor, apply_id: str) -> dict[str, Any]:
    faults = http.get(ex.base_url + "/v1/faults").json()["faults"]
    (entry,) = [item for item in faults if item["apply_id"] == apply_id]
    return dict(entry)


@pytest.mark.parametrize(
    ("matcher", "hits", "misses"),
    [
        ({"exact": "42"}, ["42"], ["7", "421", ""]),
        ({"prefix": "4"}, ["42", "4"], ["7", "14"]),
        ({"regex": "^4[0-9]$"}, ["42"], ["4", "421"]),
        ({"regex": "2"}, ["42", "2x"], ["7"]),  # unanchored search, as the data plane runs it
    ],
)
def test_extended_fault_hits_only_requests_carrying_the_planned_header(
    http: httpx.Client,
    api_executor: EmbeddedExecutor,
    matcher: dict[str, str],
    hits: list[str],
    misses: list[str],
) -> None:
    headers = [{"name": "X-User-Id", **matcher}]
    body = fault_body(duration_seconds=60, headers=headers, load={"rate_rps": 1})
    response = http.post(api_executor.base_url + "/v1/faults/apply", json=body)
    assert response.status_code == 200, response.text
    apply_id = response.json()["apply_id"]
    url = api_executor.proxy_url("api") + "/work"
    try:
        assert http.get(url).status_code == 200
        for value in misses:
            assert http.get(url, headers={"x-user-id": value}).status_code == 200, value
        for value in hits:
            hit = http.get(url, headers={"x-user-id": value})
            assert (hit.status_code, hit.headers.get("x-fault-injected")) == (503, "abort"), value
        # header names match case-insensitively
        assert http.get(url, headers={"X-USER-ID": hits[0]}).status_code == 503
        assert _listed(http, api_executor, apply_id)["headers"] == headers
    finally:
        http.delete(api_executor.base_url + f"/v1/faults/{apply_id}")


def test_load_headers_make_matching_traffic_and_only_it_is_hit(
    http: httpx.Client,
    virtual_api_executor: EmbeddedExecutor,
    counting: CountingUpstream,
    virtual_clock: VirtualClock,
) -> None:
    planned = [{"name": "x-user-id", "exact": "42"}]
    matching = fault_body(headers=planned, load={"rate_rps": RATE_RPS, "headers": {"X-User-Id": "42"}})
    base = virtual_api_executor.base_url
    with virtual_clock.running():
        body = http.post(base + "/api/v1/faults/apply", json=matching).json()
    assert body["metrics"]["total_request_count"] == REQUESTS
    assert body["metrics"]["blocked_request_count"] == REQUESTS
    other = fault_body(headers=planned, load={"rate_rps": RATE_RPS, "headers": {"x-user-id": "7"}})
    with virtual_clock.running():
        body = http.post(base + "/api/v1/faults/apply", json=other).json()
    assert body["metrics"]["total_request_count"] == REQUESTS
    assert body["metrics"]["blocked_request_count"] == 0
    assert [seen.get("x-user-id") for seen in counting.headers] == ["7"] * REQUESTS


def test_load_headers_pct_sends_the_matching_headers_on_that_share_of_requests(
    http: httpx.Client,
    virtual_api_executor: EmbeddedExecutor,
    counting: CountingUpstream,
    virtual_clock: VirtualClock,
) -> None:
    planned = [{"name": "x-user-id", "exact": "42"}]
    load = {"rate_rps": RATE_RPS, "headers": {"x-user-id": "42"}, "headers_pct": 30}
    url = virtual_api_executor.base_url + "/api/v1/faults/apply?include_samples=true"
    with virtual_clock.running():
        body = http.post(url, json=fault_body(headers=planned, load=load)).json()
    assert body["metrics"]["total_request_count"] == REQUESTS
    assert body["metrics"]["blocked_request_count"] == 3
    # Spread evenly over the run: requests 3, 6 and 9 carry the header (every 100/30-th), no random source.
    assert [index for index, row in enumerate(body["samples"]) if row[3]] == [3, 6, 9]
    # The others reached the upstream, without it.
    assert [seen.get("x-user-id") for seen in counting.headers] == [None] * 7


def test_a_fault_without_headers_lists_none(http: httpx.Client, api_executor: EmbeddedExecutor) -> None:
    apply_id = http.post(api_executor.base_url + "/v1/faults/apply", json=fault_body()).json()["apply_id"]
    assert _listed(http, api_executor, apply_id)["headers"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({"fault_config": {"http_status_code": 503, "delay_ms": 5}}, "fault_config.delay_ms"),
        (
            {"fault_type": "delay", "fault_config": {"delay_milliseconds": 5, "http_status_code": 503}},
            "fault_config.http_status_code",
        ),
        ({"load": {"rate_rps": 1, "foo": 2}}, "load.foo"),
        ({"headers": [{"name": "x", "exact": "1", "bogus": 2}]}, "headers[0].bogus"),
        ({"headers": [{"name": "x", "exact": "1"}, {"name": "y", "prefix": "1", "x": 0}]}, "headers[1].x"),
        ({"headers": [{"name": "x"}]}, "headers[0]"),
        ({"headers": [{"name": "x", "exact": "1", "prefix": "1"}]}, "headers[0]"),
        ({"headers": [{"exact": "1"}]}, "headers[0].name"),
        ({"headers": [{"name": "", "exact": "1"}]}, "headers[0].name"),
        ({"headers": [{"name": "x", "exact": 1}]}, "headers[0].exact"),
        ({"headers": {"x": "1"}}, "headers"),
        ({"headers": ["x"]}, "headers[0]"),
        ({"load": {"headers": ["x"]}}, "load.headers"),
        ({"load": {"headers": {"x": 1}}}, "load.headers.x"),
        ({"load": {"headers": {"x": "1"}, "headers_pct": 101}}, "load.headers_pct"),
        ({"load": {"headers": {"x": "1"}, "headers_pct": 0.5}}, "load.headers_pct"),
    ],
)
def test_unknown_or_misshapen_fields_are_refused_naming_them(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, overrides: dict[str, Any], field: str
) -> None:
    for path in APPLY_PATHS:
        response = http.post(refusing_executor.base_url + path, json=fault_body(**overrides))
        assert response.status_code == 400, (path, response.text)
        body = response.json()
        assert body["error"] == "invalid_input"
        assert body["details"] == {"field": field}
        assert body["message"]
    assert http.get(refusing_executor.base_url + "/v1/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    "plan",
    [
        FaultPlan(service="api", api="/work", fault_type=FaultType.DELAY, delay_seconds=0.01, percentage=0),
        FaultPlan(
            service="api",
            api="/work",
            fault_type=FaultType.ABORT,
            abort_http_status=503,
            percentage=0,
            method="GET",
            headers=(HeaderMatch(name="x-user-id", exact="42"), HeaderMatch(name="x-b", regex="^a")),
        ),
        FaultPlan(
            service="api",
            api="/work",
            fault_type=FaultType.ERROR_INJECTION,
            error_message="boom",
            percentage=0,
        ),
    ],
)
def test_the_clients_own_bodies_are_accepted(
    http: httpx.Client, api_executor: EmbeddedExecutor, plan: FaultPlan
) -> None:
    body = client_fault_body(plan, datetime.now(UTC))
    response = http.post(api_executor.base_url + "/v1/faults/apply", json=body)
    assert response.status_code == 200, response.text
    http.delete(api_executor.base_url + f"/v1/faults/{response.json()['apply_id']}")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"service": "api\r\nx-a: 1"}, "service"),
        ({"api": "/work HTTP/1.1\r\nX-Injected: yes\r\nX-Pad: x"}, "api"),
        ({"api": "/work\x00"}, "api"),
        ({"api": "/wo rk"}, "api"),
        ({"api": "/work\t"}, "api"),
        ({"method": "GET\r\n"}, "method"),
        ({"load": {"method": "GET\n"}}, "load.method"),
        ({"headers": [{"name": "x-a\r\nx-b", "exact": "1"}]}, "headers[0].name"),
        ({"headers": [{"name": "x a", "exact": "1"}]}, "headers[0].name"),
        ({"headers": [{"name": "x:", "exact": "1"}]}, "headers[0].name"),
        ({"headers": [{"name": "x", "exact": "1\r\n2"}]}, "headers[0].exact"),
        ({"headers": [{"name": "x", "prefix": "\x1b[0m"}]}, "headers[0].prefix"),
        ({"headers": [{"name": "x", "regex": "a\x7f"}]}, "headers[0].regex"),
        ({"load": {"headers": {"x\r\ny": "1"}}}, "load.headers"),
        ({"load": {"headers": {"x y": "1"}}}, "load.headers"),
        ({"load": {"headers": {"x": "1\r\ny: 2"}}}, "load.headers.x"),
        ({"load": {"headers": {"x": "\u0100"}}}, "load.headers.x"),
    ],
)
def test_control_characters_and_non_tokens_are_refused(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, overrides: dict[str, Any], field: str
) -> None:
    for path in APPLY_PATHS:
        response = http.post(refusing_executor.base_url + path, json=fault_body(**overrides))
        assert response.status_code == 400, (path, response.text)
        assert response.json()["details"] == {"field": field}


def test_a_tab_may_stand_in_a_header_value(http: httpx.Client, api_executor: EmbeddedExecutor) -> None:
    body = fault_body(
        percentage=0, headers=[{"name": "x", "exact": "a\tb"}], load={"rate_rps": 1, "headers": {"x": "a\tb"}}
    )
    response = http.post(api_executor.base_url + "/v1/faults/apply", json=body)
    assert response.status_code == 200, response.text


def test_an_api_cannot_smuggle_headers_to_the_upstream(
    http: httpx.Client, api_executor: EmbeddedExecutor, counting: CountingUpstream
) -> None:
    smuggling = fault_body(
        percentage=0, api="/work HTTP/1.1\r\nX-Injected: yes\r\nX-Pad: x", load={"rate_rps": RATE_RPS}
    )
    response = http.post(api_executor.base_url + "/api/v1/faults/apply", json=smuggling)
    assert response.status_code == 400
    assert not any("x-injected" in seen for seen in counting.headers)


@pytest.mark.parametrize(
    ("target", "headers", "method"),
    [
        ("/x HTTP/1.1\r\nX-Injected: yes\r\nX-Pad: x", [], "GET"),
        ("/x", [("x-a", "1\r\nX-Injected: yes")], "GET"),
        ("/x", [("X-Injected: yes\r\nx-a", "1")], "GET"),
        ("/x", [("x-a", "1\nX-Injected: yes")], "GET"),
        ("/x", [("x-a", "1\x00")], "GET"),
        ("/x", [], "GET /y HTTP/1.1\r\nX-Injected: yes\r\nX-Pad:"),
    ],
)
def test_the_upstream_client_never_writes_an_unsafe_head(
    counting: CountingUpstream, target: str, headers: list[tuple[str, str]], method: str
) -> None:
    async def send() -> None:
        pool = UpstreamPool()
        try:
            with pytest.raises(UpstreamError, match="control character"):
                await pool.request(method, counting.url + target, headers, b"", 5.0)
            ok = await pool.request("GET", counting.url + "/fine", [("x-a", "a\tb")], b"", 5.0)
            assert ok.status == 200
        finally:
            await pool.close()

    asyncio.run(send())
    assert counting.hits == [("GET", "/fine")]
    assert not any("x-injected" in seen for seen in counting.headers)


@pytest.mark.parametrize(
    "match",
    [
        {"path": {"exact": "/x\r\nX-Injected: yes"}},
        {"path": {"prefix": "/x\x00"}},
        {"path": {"regex": "a\x0b"}},
        {"method": {"exact": "GET\n"}},
        {"headers": [{"name": "x-a\r\nx-b", "exact": "1"}]},
        {"headers": [{"name": "x a", "exact": "1"}]},
        {"headers": [{"name": "x", "exact": "4\r\n2"}]},
        {"headers": [{"name": "x", "regex": "4\x7f"}]},
    ],
)
def test_policies_with_control_characters_are_refused(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, match: dict[str, Any]
) -> None:
    base = refusing_executor.base_url
    posted = http.post(base + "/v1/policies", json=policy("ctl", match=match))
    assert posted.status_code == 400
    assert posted.json() == {"error": "invalid_input", "message": "The provided input is invalid"}
    created = http.post(base + "/v1/policies/create", json=policy("ctl", match=match))
    assert created.status_code == 400
    assert created.json()["details"]["field"].startswith("spec.rules[0].match.")
    assert http.get(base + "/v1/policies").json() == {"policies": []}


def test_policy_selectors_with_control_characters_are_refused(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    document = policy("ctl", match={"path": {"prefix": "/"}})
    document["spec"]["selector"] = {"service": "api\r\n", "namespace": "demo"}
    posted = http.post(bare_executor.base_url + "/v1/policies", json=document)
    assert posted.status_code == 400
    created = http.post(bare_executor.base_url + "/v1/policies/create", json=document)
    assert created.json()["details"]["field"] == "spec.selector.service"


def test_a_tab_may_stand_in_a_policy_header_value(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    match = {"headers": [{"name": "x", "exact": "a\tb"}]}
    assert (
        http.post(bare_executor.base_url + "/v1/policies", json=policy("tab", match=match)).status_code == 201
    )
