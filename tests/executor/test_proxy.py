"""The data plane on the wire: matching, seeded sampling, the three faults, 502s and halting."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from executor.dataplane.proxy import FaultProxy
from tests.executor.upstream import HOP_BY_HOP, CountingUpstream, counting_upstream
from tests.executor.virtual_clock import RESOLUTION_S, VirtualClock, virtual_executor
from tests.waiting import wait_until

SEED = 1234


@pytest.fixture
def upstream() -> Iterator[CountingUpstream]:
    with counting_upstream() as server:
        yield server


@pytest.fixture
def ex(upstream: CountingUpstream, virtual_clock: VirtualClock) -> Iterator[EmbeddedExecutor]:
    """The executor on virtual time: delays are exact and instant, and the production path holds them."""
    settings = ExecutorSettings(
        demo=False, seed=SEED, services={"api": upstream.url, "down": "http://127.0.0.1:9"}
    )
    with virtual_executor(settings, virtual_clock) as executor:
        yield executor


def _policy(
    name: str,
    fault: dict[str, object],
    match: dict[str, object] | None = None,
    selector: dict[str, str] | None = None,
) -> dict[str, object]:
    spec: dict[str, object] = {"rules": [{"match": match or {"path": {"prefix": "/"}}, "fault": fault}]}
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name, "version": "1.0.0"}, "spec": spec}


def test_requests_pass_through_untouched_without_rules(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream
) -> None:
    response = http.post(ex.proxy_url("api") + "/v1/things?x=1", json={"a": 1})
    assert response.status_code == 200
    assert response.json() == {"method": "POST", "path": "/v1/things?x=1"}
    assert "x-fault-injected" not in response.headers
    assert upstream.hits == [("POST", "/v1/things?x=1")]


def test_seeded_sampling_hits_exactly_the_predicted_requests(
    http: httpx.Client, ex: EmbeddedExecutor
) -> None:
    fault = {"percentage": 30, "abort": {"httpStatus": 503}}
    assert http.post(ex.base_url + "/v1/policies", json=_policy("p30", fault)).status_code == 201
    statuses = [http.get(ex.proxy_url("api") + f"/r/{index}").status_code for index in range(60)]
    twin = random.Random(SEED)
    assert statuses == [503 if twin.random() < 0.30 else 200 for _ in range(60)]


def test_abort_answers_without_contacting_the_upstream(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream
) -> None:
    fault = {"percentage": 100, "abort": {"httpStatus": 418}}
    http.post(ex.base_url + "/v1/policies", json=_policy("teapot", fault, {"path": {"exact": "/tea"}}))
    response = http.get(ex.proxy_url("api") + "/tea")
    assert response.status_code == 418
    assert response.headers["x-fault-injected"] == "abort"
    assert upstream.hits == []
    assert http.get(ex.proxy_url("api") + "/coffee").status_code == 200


def test_delay_holds_start_delay_then_delay_then_forwards(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    fault = {"percentage": 100, "start_delay_ms": 20, "delay": {"fixed_delay_ms": 750}}
    http.post(ex.base_url + "/v1/policies", json=_policy("slow", fault, {"method": {"exact": "GET"}}))
    with virtual_clock.running():
        response = http.get(ex.proxy_url("api") + "/x")
    assert response.status_code == 200
    assert response.headers["x-fault-injected"] == "delay"
    assert virtual_clock.monotonic() == pytest.approx(
        0.02 + 0.75, abs=RESOLUTION_S
    )  # held exactly that long, then forwarded
    assert upstream.hits == [("GET", "/x")]
    assert "x-fault-injected" not in http.post(ex.proxy_url("api") + "/x").headers


def test_a_rule_with_delay_and_abort_only_delays_as_the_real_data_plane(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    fault = {"percentage": 100, "delay": {"fixed_delay_ms": 300}, "abort": {"httpStatus": 503}}
    http.post(ex.base_url + "/v1/policies", json=_policy("both", fault))
    with virtual_clock.running():
        response = http.get(ex.proxy_url("api") + "/x")
    assert (response.status_code, response.headers["x-fault-injected"]) == (200, "delay")
    assert virtual_clock.monotonic() == pytest.approx(0.3, abs=RESOLUTION_S)
    assert upstream.hits == [("GET", "/x")]


def test_error_injection_through_family_b(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    body = {
        "service": "api",
        "api": "/boom",
        "fault_type": "error_injection",
        "percentage": 100,
        "duration_seconds": 30,
        "fault_config": {"error_percentage": 100, "error_message": "kaboom"},
        "load": {"rate_rps": 1},
    }
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=body).json()["apply_id"]
    response = http.get(ex.proxy_url("api") + "/boom")
    assert response.status_code == 500
    assert response.headers["x-fault-injected"] == "error"
    assert response.json()["error"] == "kaboom"
    assert http.delete(ex.base_url + f"/v1/faults/{apply_id}").json()["status"] == "cancelled"
    assert http.get(ex.proxy_url("api") + "/boom").status_code == 200


def test_headers_and_selector_narrow_the_match(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    fault = {"percentage": 100, "abort": {"httpStatus": 503}}
    match = {"path": {"prefix": "/"}, "headers": [{"name": "x-user-id", "exact": "42"}]}
    http.post(ex.base_url + "/v1/policies", json=_policy("vip", fault, match))
    http.post(
        ex.base_url + "/v1/policies",
        json=_policy("other", fault, selector={"service": "elsewhere", "namespace": "demo"}),
    )
    assert http.get(ex.proxy_url("api") + "/a", headers={"X-User-Id": "42"}).status_code == 503
    assert http.get(ex.proxy_url("api") + "/a", headers={"X-User-Id": "7"}).status_code == 200
    assert http.get(ex.proxy_url("api") + "/a").status_code == 200


def test_first_matching_policy_wins(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    http.post(
        ex.base_url + "/v1/policies", json=_policy("a", {"percentage": 100, "abort": {"httpStatus": 501}})
    )
    http.post(
        ex.base_url + "/v1/policies", json=_policy("b", {"percentage": 100, "abort": {"httpStatus": 502}})
    )
    assert http.get(ex.proxy_url("api") + "/").status_code == 501
    http.delete(ex.base_url + "/v1/policies/a")
    assert http.get(ex.proxy_url("api") + "/").status_code == 502


def test_upstream_down_is_a_502_counted_as_error_not_fault(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    response = http.get(ex.proxy_url("down") + "/anything")
    assert response.status_code == 502
    assert "x-fault-injected" not in response.headers
    assert "down" in response.json()["message"]
    metrics = http.get(ex.base_url + "/metrics").text
    assert 'boifi_executor_upstream_errors_total{service="down"} 1' in metrics
    assert 'boifi_executor_injected_aborts_total{service="down"} 0' in metrics


def test_unknown_service_on_the_proxy_is_404(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    response = http.get(ex.proxy_url("api").replace("/s/api", "/s/nope") + "/x")
    assert response.status_code == 404
    assert "nope" in response.json()["message"]


def test_deleting_a_policy_releases_held_requests_at_once(
    http: httpx.Client, upstream: CountingUpstream
) -> None:
    settings = ExecutorSettings(demo=False, seed=SEED, services={"api": upstream.url})
    with EmbeddedExecutor(settings) as ex:
        fault = {"percentage": 100, "delay": {"fixed_delay_ms": 600_000}}
        http.post(ex.base_url + "/v1/policies", json=_policy("forever", fault))
        results: list[httpx.Response] = []
        held = threading.Thread(
            target=lambda: results.append(http.get(ex.proxy_url("api") + "/h", timeout=60))
        )
        held.start()
        wait_until(
            lambda: 'proxied_requests_total{service="api"} 1' in http.get(ex.base_url + "/metrics").text,
            interval=0.01,
            what="the request to be held",
        )
        assert http.delete(ex.base_url + "/v1/policies/forever").status_code == 200
        held.join(timeout=30)
        assert not held.is_alive()
        assert results[0].status_code == 200
        assert upstream.hits == [("GET", "/h")]


def test_head_through_the_proxy_keeps_the_upstreams_length(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream
) -> None:
    direct = http.head(upstream.url + "/x")
    proxied = http.head(ex.proxy_url("api") + "/x")
    assert proxied.status_code == direct.status_code == 200
    assert int(proxied.headers["content-length"]) == int(direct.headers["content-length"]) > 0
    assert proxied.content == b""


def test_a_bug_while_answering_is_a_500_not_a_hang(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert http.get(ex.proxy_url("api") + "/warm").status_code == 200  # leaves an idle pooled connection

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(FaultProxy, "_answer", broken)
    direct = http.get(ex.proxy_url("api") + "/x")  # answered from the upstream's I/O callback
    assert (direct.status_code, "RuntimeError" in direct.text) == (500, True)
    fault = {"percentage": 100, "delay": {"fixed_delay_ms": 5}}
    http.post(ex.base_url + "/v1/policies", json=_policy("held", fault))
    with virtual_clock.running():
        held = http.get(ex.proxy_url("api") + "/x")  # answered from the timer that held it
        assert (held.status_code, "RuntimeError" in held.text) == (500, True)
        monkeypatch.undo()
        assert http.get(ex.proxy_url("api") + "/after").status_code == 200


def test_oversized_proxy_body_is_413(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    response = http.post(ex.proxy_url("api") + "/big", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413


@pytest.mark.parametrize("protocol", ["HTTP/1.0", "HTTP/1.1"])
def test_the_upstreams_answer_is_passed_on_without_its_hop_by_hop_headers(
    http: httpx.Client, protocol: str
) -> None:
    with (
        counting_upstream(protocol) as upstream,
        EmbeddedExecutor(ExecutorSettings(demo=False, services={"api": upstream.url})) as ex,
    ):
        for path in ("/plain", "/hop", "/plain"):  # the second /plain goes over a pooled connection
            direct = http.get(upstream.url + path)
            proxied = http.get(ex.proxy_url("api") + path)
            assert (proxied.status_code, proxied.json()) == (200, direct.json())
            hop = {name.lower() for name, _ in HOP_BY_HOP}
            end_to_end = [
                (name, value)
                for name, value in direct.headers.raw
                if name.lower().decode() not in hop and name.lower() != b"date"
            ]
            passed = [(name, value) for name, value in proxied.headers.raw if name.lower() != b"date"]
            if protocol == "HTTP/1.1" and path == "/plain":  # the usual answer: its head as it came
                assert passed == end_to_end
            else:  # rewritten by the proxy: the same end-to-end headers, in order, framed anew
                assert [item for item in passed if item[0].lower() != b"content-length"] == [
                    item for item in end_to_end if item[0].lower() != b"content-length"
                ]
                assert proxied.headers["content-length"] == str(len(proxied.content))


def _metrics(http: httpx.Client, ex: EmbeddedExecutor) -> str:
    return http.get(ex.base_url + "/metrics").text


@pytest.fixture
def real_clock(upstream: CountingUpstream) -> Iterator[EmbeddedExecutor]:
    """An executor whose delays wait on the loop's real timers (the proxy's timer path)."""
    settings = ExecutorSettings(demo=False, seed=SEED, services={"api": upstream.url})
    with EmbeddedExecutor(settings) as executor:
        yield executor


def test_a_delay_on_the_real_clock_holds_then_forwards_marked(
    http: httpx.Client, real_clock: EmbeddedExecutor, upstream: CountingUpstream
) -> None:
    fault = {"percentage": 100, "start_delay_ms": 20, "delay": {"fixed_delay_ms": 80}}
    http.post(real_clock.base_url + "/v1/policies", json=_policy("timed", fault, {"path": {"exact": "/x"}}))
    for _ in range(2):  # a new upstream connection, then a pooled one
        started = time.perf_counter()
        response = http.get(real_clock.proxy_url("api") + "/x")
        assert time.perf_counter() - started >= 0.1
        assert (response.status_code, response.headers["x-fault-injected"]) == (200, "delay")
        assert response.json() == {"method": "GET", "path": "/x"}
    assert "x-fault-injected" not in http.get(real_clock.proxy_url("api") + "/y").headers
    assert upstream.hits == [("GET", "/x"), ("GET", "/x"), ("GET", "/y")]
    assert 'boifi_executor_injected_delays_total{service="api"} 2' in _metrics(http, real_clock)


def test_a_held_request_whose_client_goes_away_is_never_forwarded(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    fault = {"percentage": 100, "delay": {"fixed_delay_ms": 100}}
    http.post(ex.base_url + "/v1/policies", json=_policy("held", fault, {"path": {"exact": "/gone"}}))
    host, port = ex.proxy_url("api").split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(b"GET /s/api/gone HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(
            lambda: 'proxied_requests_total{service="api"} 1' in _metrics(http, ex),
            interval=0.01,
            what="the request to be held",
        )
        assert virtual_clock.pending() == [pytest.approx(0.1, abs=RESOLUTION_S)]  # held on one timer
    virtual_clock.advance(0.3)  # well past the delay: a hold not called off would have been forwarded now
    http.delete(ex.base_url + "/v1/policies/held")  # and a halt must not revive it
    assert http.get(ex.proxy_url("api") + "/after").status_code == 200
    assert upstream.hits == [("GET", "/after")]
    assert 'boifi_executor_injected_delays_total{service="api"} 0' in _metrics(http, ex)
