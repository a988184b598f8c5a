"""A small demo shop whose services call each other through the fault proxy, with resilience code.

Call graph: gateway ``POST /api/v1/checkout`` -> orders ``POST /api/v1/order/create`` -> inventory
``GET /api/v1/inventory/check`` and payment ``POST /api/v1/payment/process``. The callers defend themselves
as :mod:`executor.dataplane.demo_resilience` describes (parameters in :class:`ShopResilience`): the gateway
retries orders with a timeout per attempt, orders has bounded capacity, a cached stock fallback and a long
payment timeout.

What the gateway answers: 200 when an attempt succeeds. Once its attempts are spent, an error, as a real
shop's API must (the customer has to know that no order was placed; the old silent ``202 accepted`` hid
every failure): 504 when the last attempt timed out, 503 when orders was at capacity, 502 for any other
5xx or a connection that failed. A 4xx from orders is passed on without a retry. Orders answers 503 (with
``Retry-After``) when its queue is full and 502 naming the dependency that failed.

Where it breaks (written for maintainers and tests; the README and the dashboard do not say): the timeouts
are not nested. Orders waits for payment far longer than the gateway waits for orders, and keeps working on
an attempt the gateway abandoned. A payment delay just above the gateway's per-attempt timeout makes every
attempt time out while its work goes on, so orders receives ``gateway_attempts`` requests per checkout, its
queue fills, and the entry point fails almost entirely, slowly. A delay well below the timeout costs only its
own latency, and a failing or slow inventory is masked by the last good stock answer (while it is fresh).

The services share the executor's event loop with the proxy, so what they cost per request is time the
proxy waits for the loop: they run on the data plane's lean server, spend their service time on one loop
timer (a leaf needs no task at all) and call each other over the proxy's keep-alive client.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from executor.dataplane.demo_resilience import (
    Bulkhead,
    LastGood,
    ShopResilience,
    call_with_retries,
    gateway_failure,
)
from executor.dataplane.demo_services import LatencyModel, Route, ServiceHost, Span, json_response
from executor.dataplane.http_messages import CallbackHandler, Request, Response
from executor.dataplane.traces import TraceCollector
from executor.dataplane.upstream_pool import UpstreamPool
from executor.dataplane.upstream_response import UpstreamError, UpstreamResponse
from executor.model.header_names import PARENT_HEADER, TRACE_HEADER

__all__ = ["DEMO_APIS", "DemoShop"]

DEMO_APIS: dict[str, tuple[tuple[str, str], ...]] = {
    "gateway": (("POST", "/api/v1/checkout"), ("GET", "/api/v1/products")),
    "orders": (("POST", "/api/v1/order/create"), ("GET", "/api/v1/order/status")),
    "payment": (("POST", "/api/v1/payment/process"),),
    "inventory": (("GET", "/api/v1/inventory/check"),),
}


class DemoShop:
    """Build the four demo services; each calls the others' APIs through the proxy.

    Example::

        shop = DemoShop(proxy_url=runtime.proxy_url, traces=traces, rng=random.Random(1))
        await shop.open()
        handlers = shop.handlers()  # one per service, each served by its own Http1Server
    """

    def __init__(
        self,
        *,
        proxy_url: Callable[[str], str],
        traces: TraceCollector,
        rng: random.Random,
        latency: LatencyModel | None = None,
        resilience: ShopResilience | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._proxy_url = proxy_url
        self._rng = rng
        self._host = ServiceHost(traces=traces, rng=rng, latency=latency)
        self._resilience = resilience = resilience or ShopResilience()
        self._now = now
        self._orders_capacity = Bulkhead(limit=resilience.orders_concurrency, queue=resilience.orders_queue)
        self._last_stock = LastGood(max_age_s=resilience.stock_cache_max_age_s, now=now)
        self._pool: UpstreamPool | None = None

    async def open(self) -> None:
        """Create the connection pool the services call each other with."""
        self._pool = UpstreamPool()

    async def close(self) -> None:
        """Call off the requests orders is still working on, then close the pool."""
        await self._host.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def handlers(self) -> dict[str, CallbackHandler]:
        """Return one request handler per demo service, for :class:`executor.dataplane.http1.Http1Server`."""
        host = self._host
        routes: dict[str, dict[tuple[str, str], Route]] = {
            "gateway": {
                ("POST", "/api/v1/checkout"): host.attached(self._checkout),
                ("GET", "/api/v1/products"): host.leaf("gateway", {"products": ["book", "lamp"]}),
            },
            "orders": {
                ("POST", "/api/v1/order/create"): host.detached(self._create_order),
                ("GET", "/api/v1/order/status"): host.leaf("orders", {"order": "o-1", "state": "paid"}),
            },
            "payment": {("POST", "/api/v1/payment/process"): host.leaf("payment", {"paid": True})},
            "inventory": {("GET", "/api/v1/inventory/check"): host.leaf("inventory", {"in_stock": True})},
        }
        return {name: host.handler(name, table) for name, table in routes.items()}

    async def _call(
        self, span: Span | None, service: str, method: str, path: str, timeout_s: float
    ) -> UpstreamResponse:
        assert self._pool is not None, "demo shop is not open"
        headers = [("Content-Type", "application/json")]
        if span is not None:
            headers += [(TRACE_HEADER, span.trace_id), (PARENT_HEADER, span.span_id)]
        url = self._proxy_url(service) + path
        return await self._pool.request(method, url, headers, b"{}", timeout_s)

    async def _create_order(self, _request: Request, span: Span | None) -> Response:
        capacity = self._orders_capacity
        if not await capacity.acquire():
            message = f"orders is at capacity ({capacity.active} in progress, {capacity.waiting} queued)"
            body = {"error": "overloaded", "service": "orders", "message": message}
            return json_response(503, body, [("Retry-After", "1")])
        try:
            return await self._order(span)
        finally:
            capacity.release()

    async def _order(self, span: Span | None) -> Response:
        stock = await self._stock(span)
        if isinstance(stock, Response):
            return stock
        timeout_s = self._resilience.payment_timeout_ms / 1000
        try:
            status = (await self._call(span, "payment", "POST", "/api/v1/payment/process", timeout_s)).status
        except UpstreamError as exc:
            return json_response(
                502, {"error": "dependency failed", "dependency": "payment", "detail": str(exc)}
            )
        if status >= 400:
            return json_response(
                502, {"error": "dependency failed", "dependency": "payment", "status": status}
            )
        failure = await self._host.work_done("orders")
        body = {"service": "orders", "order": "o-1", "state": "created", "stock": stock}
        return failure or json_response(200, body)

    async def _stock(self, span: Span | None) -> str | Response:
        """Check the stock: ``live``, else ``cached`` (the last good answer), else orders' 502."""
        timeout_s = self._resilience.inventory_timeout_ms / 1000
        failure: dict[str, object]
        try:
            response = await self._call(span, "inventory", "GET", "/api/v1/inventory/check", timeout_s)
        except UpstreamError as exc:
            failure = {"detail": str(exc)}
        else:
            if response.status < 400:
                self._last_stock.remember(response.body)
                return "live"
            failure = {"status": response.status}
        if self._last_stock.recall() is not None:
            return "cached"
        return json_response(502, {"error": "dependency failed", "dependency": "inventory", **failure})

    async def _checkout(self, _request: Request, span: Span | None) -> Response:
        failure = await self._host.work_done("gateway")
        if failure is not None:
            return failure

        async def attempt(timeout_s: float) -> int:
            return (await self._call(span, "orders", "POST", "/api/v1/order/create", timeout_s)).status

        resilience = self._resilience
        outcome = await call_with_retries(
            attempt,
            timeout_s=resilience.gateway_timeout_ms / 1000,
            attempts=resilience.gateway_attempts,
            backoff_s=resilience.gateway_backoff_ms / 1000,
            rng=self._rng,
            now=self._now,
        )
        if outcome.status is not None and outcome.status < 400:
            return json_response(outcome.status, {"service": "gateway", "checkout": "confirmed"})
        status, body = gateway_failure(outcome)
        return json_response(status, {"service": "gateway", **body})
