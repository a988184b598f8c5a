"""The demo shop: faults propagate through the call graph; callers time out, retry, queue and fall back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from executor.dataplane.demo_resilience import ShopResilience
from tests.executor.helpers import policy, wait_final
from tests.executor.shop_helpers import proxied_counts, warm_stock_cache
from tests.executor.virtual_clock import VirtualClock, virtual_executor
from tests.executors import running_demo_executor
from tests.waiting import wait_until


@pytest.fixture
def shop() -> Iterator[EmbeddedExecutor]:
    resilience = ShopResilience(gateway_timeout_ms=300, gateway_attempts=3, payment_timeout_ms=2000)
    with running_demo_executor(seed=5, demo_shop=resilience, default_rate_rps=20) as ex:
        yield ex


def _payment_policy(fault: dict[str, object]) -> dict[str, object]:
    return {
        "metadata": {"name": "payment-fault", "version": "1.0.0"},
        "spec": {
            "selector": {"service": "payment", "namespace": "demo"},
            "rules": [{"match": {"path": {"exact": "/api/v1/payment/process"}}, "fault": fault}],
        },
    }


def _inventory_policy(fault: dict[str, object]) -> dict[str, object]:
    return policy("inventory-fault", match={"path": {"exact": "/api/v1/inventory/check"}}, fault=fault)


def _timed_post(http: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = http.post(url, json={})
    return response, (time.perf_counter() - started) * 1000


def test_a_delay_on_payment_shows_up_in_checkout_latency(http: httpx.Client, shop: EmbeddedExecutor) -> None:
    fault = {"percentage": 100, "delay": {"fixed_delay_ms": 150}}
    assert http.post(shop.base_url + "/v1/policies", json=_payment_policy(fault)).status_code == 201
    response, elapsed_ms = _timed_post(http, shop.proxy_url("gateway") + "/api/v1/checkout")
    assert response.status_code == 200
    assert response.json()["checkout"] == "confirmed"
    assert "x-fault-injected" not in response.headers  # the fault hit payment, not the gateway hop
    assert elapsed_ms >= 150


@pytest.mark.slow
def test_the_gateway_gives_up_with_504_while_orders_keeps_waiting(
    http: httpx.Client, shop: EmbeddedExecutor
) -> None:
    warm_stock_cache(http, shop)  # so that a slow inventory on a loaded machine cannot fail an attempt
    fault = {"percentage": 100, "delay": {"fixed_delay_ms": 800}}
    http.post(shop.base_url + "/v1/policies", json=_payment_policy(fault))
    checkout, checkout_ms = _timed_post(http, shop.proxy_url("gateway") + "/api/v1/checkout")
    assert checkout.status_code == 504
    assert checkout.json() == {
        "service": "gateway",
        "error": "gateway_timeout",
        "message": "orders did not answer in time (3 attempts)",
        "attempts": 3,
    }
    assert 3 * 300 <= checkout_ms < 800 + 3 * 300  # three timeouts, no wait for payment's 800 ms
    order, elapsed_ms = _timed_post(http, shop.proxy_url("orders") + "/api/v1/order/create")
    assert order.status_code == 200  # orders' own timeout for payment is longer: it simply waits
    assert elapsed_ms >= 800


def test_an_abort_on_payment_fails_orders_and_the_gateway_after_its_retries(
    http: httpx.Client, shop: EmbeddedExecutor
) -> None:
    http.post(
        shop.base_url + "/v1/policies",
        json=_payment_policy({"percentage": 100, "abort": {"httpStatus": 503}}),
    )
    order = http.post(shop.proxy_url("orders") + "/api/v1/order/create", json={})
    assert order.status_code == 502
    assert order.json() == {"error": "dependency failed", "dependency": "payment", "status": 503}
    before = proxied_counts(http, shop)["payment"]
    checkout = http.post(shop.proxy_url("gateway") + "/api/v1/checkout", json={})
    assert checkout.status_code == 502
    assert checkout.json()["message"] == "orders answered 502 (3 attempts)"
    assert proxied_counts(http, shop)["payment"] - before == 3


def test_each_request_yields_spans_across_the_call_graph(http: httpx.Client, shop: EmbeddedExecutor) -> None:
    body = http.get(shop.base_url + "/collect?service=gateway&api=/api/v1/checkout&duration_sec=0.2").json()
    trace = body["trace_data"]
    spans = trace["spans"]
    assert {span["traceID"] for span in spans} == {trace["traceID"]}
    names = [span["operationName"] for span in spans]
    for expected in (
        "proxy gateway POST /api/v1/checkout",
        "gateway POST /api/v1/checkout",
        "orders POST /api/v1/order/create",
        "inventory GET /api/v1/inventory/check",
        "payment POST /api/v1/payment/process",
    ):
        assert expected in names
    by_id = {span["spanID"]: span for span in spans}
    payment = next(span for span in spans if span["operationName"].startswith("payment"))
    proxy_hop = by_id[payment["parentSpanID"]]
    assert proxy_hop["operationName"] == "proxy payment POST /api/v1/payment/process"
    assert by_id[proxy_hop["parentSpanID"]]["operationName"] == "orders POST /api/v1/order/create"
    for span in spans:
        assert isinstance(span["duration"], int) and span["status"] in ("ok", "error")
        assert isinstance(span["tags"], dict)


def test_concurrent_faults_on_different_services(http: httpx.Client, virtual_clock: VirtualClock) -> None:
    bodies = [
        {
            "service": "payment",
            "api": "/api/v1/payment/process",
            "fault_type": "delay",
            "fault_config": {"delay_milliseconds": 5},
        },
        {
            "service": "inventory",
            "api": "/api/v1/inventory/check",
            "fault_type": "abort",
            "fault_config": {"http_status_code": 429},
        },
        {
            "service": "orders",
            "api": "/api/v1/order/status",
            "fault_type": "error_injection",
            "fault_config": {"error_message": "orders down"},
        },
    ]
    settings = ExecutorSettings(demo=True, seed=5, default_rate_rps=20)
    with virtual_executor(settings, virtual_clock) as shop:  # the faults and their load on virtual time
        ids = []
        for body in bodies:
            body.update({"percentage": 100, "duration_seconds": 1, "load": {"rate_rps": 10}})
            ids.append(http.post(shop.base_url + "/v1/faults/apply", json=body).json()["apply_id"])
        finals = [wait_final(http, shop, apply_id, virtual_clock) for apply_id in ids]
    for metrics, expected_status in zip(finals, (200, 429, 500), strict=True):
        assert metrics["metrics"]["request_count"] == 10
        assert metrics["metrics"]["affected_count"] == 10
        assert metrics["status_code"] == expected_status


def _upstream(http: httpx.Client, shop: EmbeddedExecutor, name: str) -> str:
    services = http.get(shop.base_url + "/v1/services").json()["services"]
    return next(service["upstream"] for service in services if service["name"] == name)


def test_a_demo_service_says_what_it_serves(http: httpx.Client, shop: EmbeddedExecutor) -> None:
    orders = _upstream(http, shop, "orders")
    assert http.get(orders + "/healthz").json() == {"status": "ok"}
    missing = http.get(orders + "/api/v1/refund")
    assert missing.status_code == 404
    assert "/api/v1/order/create" in missing.json()["message"]
    wrong = http.delete(orders + "/api/v1/order/create")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert wrong.json()["error"] == "method_not_allowed"
    head = http.head(_upstream(http, shop, "inventory") + "/api/v1/inventory/check")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0


def test_orders_answers_from_the_last_good_stock_while_inventory_fails(
    http: httpx.Client, shop: EmbeddedExecutor
) -> None:
    orders = shop.proxy_url("orders") + "/api/v1/order/create"
    assert http.post(orders, json={}).json()["stock"] == "live"
    abort = {"percentage": 100, "abort": {"httpStatus": 500}}
    assert http.post(shop.base_url + "/v1/policies", json=_inventory_policy(abort)).status_code == 201
    order = http.post(orders, json={})
    assert order.status_code == 200
    assert order.json()["stock"] == "cached"


def test_orders_without_a_stock_answer_yet_fails_when_inventory_does(http: httpx.Client) -> None:
    with running_demo_executor(seed=5) as fresh:
        abort = {"percentage": 100, "abort": {"httpStatus": 500}}
        http.post(fresh.base_url + "/v1/policies", json=_inventory_policy(abort))
        order = http.post(fresh.proxy_url("orders") + "/api/v1/order/create", json={})
    assert order.status_code == 502
    failed = order.json()
    assert (failed["error"], failed["dependency"]) == ("dependency failed", "inventory")
    # the abort's 500, or on a loaded machine the first call's 100 ms timeout (a new connection)
    assert failed.get("status") == 500 or "did not answer within 0.1 s" in failed["detail"]


def test_a_slow_inventory_costs_orders_only_its_stock_timeout(http: httpx.Client) -> None:
    resilience = ShopResilience(inventory_timeout_ms=100)
    with running_demo_executor(seed=5, demo_shop=resilience) as ex:
        orders = ex.proxy_url("orders") + "/api/v1/order/create"
        assert http.post(orders, json={}).json()["stock"] == "live"
        fault = {"percentage": 100, "delay": {"fixed_delay_ms": 2000}}
        http.post(ex.base_url + "/v1/policies", json=_inventory_policy(fault))
        order, elapsed_ms = _timed_post(http, orders)
    assert order.json()["stock"] == "cached"
    assert 100 <= elapsed_ms < 2000


def test_orders_at_capacity_answers_503_at_once(http: httpx.Client) -> None:
    resilience = ShopResilience(orders_concurrency=1, orders_queue=0)
    with running_demo_executor(seed=5, demo_shop=resilience) as ex, ThreadPoolExecutor(1) as pool:
        fault = {"percentage": 100, "delay": {"fixed_delay_ms": 500}}
        http.post(ex.base_url + "/v1/policies", json=_payment_policy(fault))
        orders = ex.proxy_url("orders") + "/api/v1/order/create"
        first = pool.submit(_timed_post, http, orders)
        waiting = "the first order to wait for payment"
        wait_until(lambda: proxied_counts(http, ex)["payment"] == 1, what=waiting)
        refused, refused_ms = _timed_post(http, orders)
        accepted, _ = first.result(timeout=30)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["message"] == "orders is at capacity (1 in progress, 0 queued)"
    assert refused_ms < 500  # refused at once, not after the payment delay
    assert accepted.status_code == 200
