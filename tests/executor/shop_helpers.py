"""Shared by the demo shop's tests: the proxy's request counters, and a warm stock cache in orders."""

from __future__ import annotations

import re

import httpx

from executor import EmbeddedExecutor
from tests.waiting import wait_until

_PROXIED = re.compile(r'boifi_executor_proxied_requests_total\{service="(\w+)"\} (\d+)')


def proxied_counts(http: httpx.Client, ex: EmbeddedExecutor) -> dict[str, int]:
    """Return how many requests have entered the proxy for each service (``/metrics``)."""
    text = http.get(ex.base_url + "/metrics").text
    return {service: int(count) for service, count in _PROXIED.findall(text)}


def warm_stock_cache(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    """Create orders until one gets a live stock answer, which orders then keeps as its last good one."""

    def live_order() -> bool:
        answer = http.post(ex.proxy_url("orders") + "/api/v1/order/create", json={})
        return answer.status_code == 200 and answer.json()["stock"] == "live"

    wait_until(live_order, timeout=10, what="an order with a live stock answer")
