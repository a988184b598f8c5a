"""Families B and C with ``observe``: the load drives an entry point; ``target`` counts the fault's hits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from executor.dataplane.demo_shop import DEMO_APIS
from executor.spec.faultspec import FaultSpec, FaultSpecError, ObserveSpec, parse_fault_spec
from tests.executor.helpers import REQUESTS, fault_body, wait_final
from tests.executor.upstream import CountingUpstream
from tests.executor.virtual_clock import VirtualClock, virtual_executor
from tests.waiting import wait_until

_FRONT = {"service": "api", "api": "/front"}  # an entry point on the same upstream as the fault's /work
_PATHS = ("/v1/faults/apply", "/api/v1/faults/apply")


def _parse(**overrides: Any) -> FaultSpec:
    return parse_fault_spec(json.dumps(fault_body(**overrides)).encode(), now_s=0.0)


def test_the_parser_reads_observe_and_upper_cases_its_method() -> None:
    spec = _parse(observe={"service": "gateway", "api": "/api/v1/checkout", "method": "post"})
    assert spec.observe == ObserveSpec(service="gateway", api="/api/v1/checkout", method="POST")
    assert _parse(observe={"service": "gateway", "api": "/x", "method": None}).observe.method is None
    assert _parse().observe is None
    assert _parse(observe=None).observe is None


@pytest.mark.parametrize(
    ("observe", "field"),
    [
        ("gateway", "observe"),
        ([], "observe"),
        ({"api": "/x"}, "observe.service"),
        ({"service": "", "api": "/x"}, "observe.service"),
        ({"service": 3, "api": "/x"}, "observe.service"),
        ({"service": "api\r\nX-Evil: 1", "api": "/x"}, "observe.service"),
        ({"service": "api"}, "observe.api"),
        ({"service": "api", "api": "x"}, "observe.api"),
        ({"service": "api", "api": "/a b"}, "observe.api"),
        ({"service": "api", "api": "/a\nb"}, "observe.api"),
        ({"service": "api", "api": "/x", "method": "FETCH"}, "observe.method"),
        ({"service": "api", "api": "/x", "method": 1}, "observe.method"),
        ({"service": "api", "api": "/x", "path": "/y"}, "observe.path"),
    ],
)
def test_bad_observe_bodies_are_refused_naming_the_field(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, observe: Any, field: str
) -> None:
    with pytest.raises(FaultSpecError) as raised:
        _parse(observe=observe)
    assert raised.value.field == field
    for path in _PATHS:
        response = http.post(refusing_executor.base_url + path, json=fault_body(observe=observe))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_input"
        assert response.json()["details"] == {"field": field}
    assert http.get(refusing_executor.base_url + "/v1/faults").json() == {"faults": []}


def test_an_unknown_observed_service_is_404_naming_observe_service(
    http: httpx.Client, refusing_executor: EmbeddedExecutor
) -> None:
    for path in _PATHS:
        body = fault_body(observe={"service": "ghost", "api": "/x"})
        response = http.post(refusing_executor.base_url + path, json=body)
        assert response.status_code == 404
        assert response.json()["details"] == {"field": "observe.service"}
        assert "ghost" in response.json()["message"]
    assert http.get(refusing_executor.base_url + "/v1/faults").json() == {"faults": []}


@pytest.fixture
def ex(virtual_api_executor: EmbeddedExecutor) -> EmbeddedExecutor:
    return virtual_api_executor


def test_observe_drives_the_entry_point_and_target_counts_only_the_faults_own_hits(
    http: httpx.Client, ex: EmbeddedExecutor, counting: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    body = fault_body(duration_seconds=1, observe=_FRONT)
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=body).json()["apply_id"]
    for _ in range(3):  # time stands still: the fault is active, and only these reach its target
        assert http.get(ex.proxy_url("api") + "/work").status_code == 503
    metrics = wait_final(http, ex, apply_id, virtual_clock)
    assert counting.hits.count(("GET", "/front")) == REQUESTS
    assert ("GET", "/work") not in counting.hits  # aborted at the proxy
    assert metrics["metrics"]["request_count"] == REQUESTS  # the entry point's numbers
    assert metrics["metrics"]["affected_count"] == 0
    assert metrics["status_code"] == 200
    assert metrics["target"] == {"service": "api", "api": "/work", "request_count": 3, "affected_count": 3}
    (listed,) = http.get(ex.base_url + "/v1/faults").json()["faults"]
    assert listed["observe"] == {"service": "api", "api": "/front", "method": None}


def test_without_observe_target_matches_the_faults_own_load(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=fault_body(percentage=50)).json()["apply_id"]
    partial = http.get(ex.base_url + f"/v1/faults/{apply_id}/metrics").json()
    assert partial["final"] is False
    assert partial["target"]["request_count"] <= 1  # time stands still: at most the first request is out
    metrics = wait_final(http, ex, apply_id, virtual_clock)
    target = metrics["target"]
    assert target["request_count"] == metrics["metrics"]["request_count"] == REQUESTS
    assert target["affected_count"] == metrics["metrics"]["affected_count"]
    assert 0 < target["affected_count"] < REQUESTS
    (listed,) = http.get(ex.base_url + "/v1/faults").json()["faults"]
    assert listed["observe"] is None


def test_a_request_another_rule_takes_first_is_not_counted(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    first = fault_body(duration_seconds=600, observe=_FRONT, fault_config={"http_status_code": 502})
    second = fault_body(duration_seconds=600, observe=_FRONT)
    ids = [
        http.post(ex.base_url + "/v1/faults/apply", json=body).json()["apply_id"] for body in (first, second)
    ]
    assert http.get(ex.proxy_url("api") + "/work").status_code == 502  # the first matching rule wins
    targets = [http.get(ex.base_url + f"/v1/faults/{i}/metrics").json()["target"] for i in ids]
    assert [target["request_count"] for target in targets] == [1, 0]
    for apply_id in ids:
        http.delete(ex.base_url + f"/v1/faults/{apply_id}")
    wait_final(http, ex, ids[1], virtual_clock)


def test_observe_method_and_load_overrides(
    http: httpx.Client, ex: EmbeddedExecutor, counting: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    observe = {**_FRONT, "method": "put"}
    with virtual_clock.running():
        direct = http.post(ex.base_url + "/api/v1/faults/apply", json=fault_body(observe=observe))
    assert direct.status_code == 200
    assert direct.json()["metrics"]["total_request_count"] == REQUESTS
    assert direct.json()["target"] == {
        "service": "api",
        "api": "/work",
        "request_count": 0,
        "affected_count": 0,
    }
    assert counting.hits.count(("PUT", "/front")) == REQUESTS
    load = {"rate_rps": 5, "method": "DELETE"}  # load.method still wins, as it does over the fault's method
    with virtual_clock.running():
        http.post(ex.base_url + "/api/v1/faults/apply", json=fault_body(observe=observe, load=load))
    assert counting.hits.count(("DELETE", "/front")) == 5


def test_idempotency_covers_observe(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    headers = {"Idempotency-Key": "observed"}
    body = fault_body(duration_seconds=30, observe=_FRONT)
    first = http.post(ex.base_url + "/v1/faults/apply", json=body, headers=headers)
    again = http.post(ex.base_url + "/v1/faults/apply", json=body, headers=headers)
    assert again.json() == first.json()
    moved = fault_body(duration_seconds=30, observe={**_FRONT, "api": "/elsewhere"})
    conflict = http.post(ex.base_url + "/v1/faults/apply", json=moved, headers=headers)
    assert conflict.status_code == 409
    unobserved = http.post(
        ex.base_url + "/v1/faults/apply", json=fault_body(duration_seconds=30), headers=headers
    )
    assert unobserved.status_code == 409
    assert len(http.get(ex.base_url + "/v1/faults").json()["faults"]) == 1
    http.delete(ex.base_url + f"/v1/faults/{first.json()['apply_id']}")
    wait_final(http, ex, first.json()["apply_id"], virtual_clock)


def test_collect_takes_a_method_and_counts_as_target_hits_only_where_a_fault_hits(
    http: httpx.Client, ex: EmbeddedExecutor, counting: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    apply_id = http.post(
        ex.base_url + "/v1/faults/apply", json=fault_body(duration_seconds=600, observe=_FRONT)
    ).json()["apply_id"]
    collect = ex.base_url + "/collect?service=api&duration_sec=1&include_samples=true"
    virtual_clock.advance(0.5)  # the fault's own load runs: /front is no target of it
    wait_until(lambda: counting.hits.count(("GET", "/front")) >= REQUESTS // 2, what="the load at /front")
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/metrics").json()["target"]["request_count"] == 0
    with virtual_clock.running():
        probe = http.get(collect + "&api=/probe&method=post").json()
    assert set(probe) >= {"metrics", "timeline", "samples", "final"} and "target" not in probe
    assert len(probe["samples"]) == probe["metrics"]["request_count"] == REQUESTS
    assert counting.hits.count(("POST", "/probe")) == REQUESTS
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/metrics").json()["target"]["request_count"] == 0
    with virtual_clock.running():
        hit = http.get(collect + "&api=/work&method=GET").json()  # the fault is active on /work: real hits
    assert hit["metrics"]["affected_count"] == REQUESTS
    target = http.get(ex.base_url + f"/v1/faults/{apply_id}/metrics").json()["target"]
    assert target["request_count"] == target["affected_count"] == REQUESTS
    bad = http.get(collect + "&api=/probe&method=FETCH")
    assert bad.status_code == 400 and bad.json()["details"] == {"field": "method"}
    http.delete(ex.base_url + f"/v1/faults/{apply_id}")
    wait_final(http, ex, apply_id, virtual_clock)


@pytest.fixture
def shop(virtual_clock: VirtualClock) -> Iterator[EmbeddedExecutor]:
    """The demo shop on virtual time, with the load at 10 req/s."""
    settings = ExecutorSettings(demo=True, seed=5, default_rate_rps=REQUESTS)
    with virtual_executor(settings, virtual_clock) as ex:
        yield ex


def _proxied(http: httpx.Client, ex: EmbeddedExecutor) -> dict[str, int]:
    text = http.get(ex.base_url + "/metrics").text
    found = re.findall(r'^boifi_executor_proxied_requests_total\{service="([^"]+)"\} (\d+)$', text, re.M)
    return {service: int(count) for service, count in found}


def _api(service: str, method: str) -> str:
    return next(path for verb, path in DEMO_APIS[service] if verb == method)


def test_observing_the_gateway_reports_its_answers_and_the_payment_hits(
    http: httpx.Client, shop: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    entry = _api("gateway", "POST")
    body = {
        "service": "payment",
        "api": _api("payment", "POST"),
        "fault_type": "abort",
        "percentage": 100,
        "duration_seconds": 1,
        "fault_config": {"http_status_code": 503},
        "observe": {"service": "gateway", "api": entry},  # its listed method: POST
    }
    before = _proxied(http, shop)
    apply_id = http.post(shop.base_url + "/v1/faults/apply", json=body).json()["apply_id"]
    wait_final(http, shop, apply_id, virtual_clock)
    metrics = http.get(shop.base_url + f"/v1/faults/{apply_id}/metrics?include_samples=true").json()
    after = _proxied(http, shop)
    sent = metrics["metrics"]["request_count"]
    assert sent == REQUESTS
    assert after["gateway"] - before["gateway"] == sent  # only the load calls the gateway
    target = metrics["target"]
    assert target["service"] == "payment" and target["api"] == body["api"]
    # checkouts reached payment through orders; each request the fault took there, it hit
    assert 0 < target["request_count"] <= after["payment"] - before["payment"]
    assert target["affected_count"] == target["request_count"]
    # the samples are the gateway's own answers: the abort hit payment, so none carries the fault's mark
    assert len(metrics["samples"]) == sent
    assert metrics["metrics"]["affected_count"] == 0
    assert any(f"observed at gateway {entry}" in line for line in metrics["logs"])
