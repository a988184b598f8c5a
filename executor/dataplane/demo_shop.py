"""A small demo shop whose services call each other through the fault proxy.

Call graph: gateway ``POST /api/v1/checkout`` -> orders ``POST /api/v1/order/create`` -> inventory
``GET /api/v1/inventory/check`` and payment ``POST /api/v1/payment/process``. The gateway protects
itself (timeout plus fallback answer); orders does not, so faults below it propagate unchanged.

The services share the executor's event loop with the proxy, so what they cost per request is time the
proxy waits for the loop: they run on the data plane's lean server, spend their service time on one loop
timer (a leaf needs no task at all) and call each other over the proxy's keep-alive client.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from executor.dataplane.http_messages import CallbackHandler, Reply, Request, Response
from executor.dataplane.traces import TraceCollector
from executor.dataplane.upstream_pool import UpstreamPool
from executor.dataplane.upstream_response import UpstreamError
from executor.model.header_names import PARENT_HEADER, TRACE_HEADER

__all__ = ["DEMO_APIS", "DemoShop", "LatencyModel"]

DEMO_APIS: dict[str, tuple[tuple[str, str], ...]] = {
    "gateway": (("POST", "/api/v1/checkout"), ("GET", "/api/v1/products")),
    "orders": (("POST", "/api/v1/order/create"), ("GET", "/api/v1/order/status")),
    "payment": (("POST", "/api/v1/payment/process"),),
    "inventory": (("GET", "/api/v1/inventory/check"),),
}
HEALTH_PATH = "/healthz"
_UNPROTECTED_TIMEOUT_S = 300.0  # orders waits for its dependencies as long as a default HTTP client would
_JSON = "application/json; charset=utf-8"
_TRACE = TRACE_HEADER.lower()
_PARENT = PARENT_HEADER.lower()


@dataclass(frozen=True)
class LatencyModel:
    """Base latency of a few milliseconds, an exponential spread, a rare slow tail, rare errors."""

    base_ms: float = 2.0
    spread_ms: float = 1.0
    tail_probability: float = 0.01
    tail_ms: float = 15.0
    error_probability: float = 0.002

    def draw_ms(self, rng: random.Random) -> float:
        """Draw one service time in milliseconds."""
        latency = self.base_ms + rng.expovariate(1.0) * self.spread_ms
        if rng.random() < self.tail_probability:
            latency += rng.uniform(0.5, 1.0) * self.tail_ms
        return latency

    def fails(self, rng: random.Random) -> bool:
        """Decide whether this request fails naturally."""
        return rng.random() < self.error_probability


@dataclass(frozen=True, slots=True)
class _Span:
    """A traced request's server span, begun when the service received it."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    operation_name: str
    service: str
    started_s: float
    wall_start_us: int


Route = Callable[[Request, Reply, _Span | None], None]
AsyncRoute = Callable[[Request, _Span | None], Awaitable[Response]]


def _json(status: int, body: Mapping[str, object], headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", _JSON), *(headers or [])], json.dumps(body).encode())


def _resolve(waiter: asyncio.Future[Response | None], failure: Response | None) -> None:
    if not waiter.done():
        waiter.set_result(failure)


class DemoShop:
    """Build the four demo services; each calls the others' APIs through the proxy."""

    def __init__(
        self,
        *,
        proxy_url: Callable[[str], str],
        traces: TraceCollector,
        rng: random.Random,
        latency: LatencyModel | None = None,
        gateway_timeout_ms: float = 1000.0,
    ) -> None:
        self._proxy_url = proxy_url
        self._traces = traces
        self._rng = rng
        self._latency = latency or LatencyModel()
        self._gateway_timeout_s = gateway_timeout_ms / 1000
        self._pool: UpstreamPool | None = None

    async def open(self) -> None:
        """Create the connection pool the services call each other with."""
        self._pool = UpstreamPool()

    async def close(self) -> None:
        """Close that pool."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def handlers(self) -> dict[str, CallbackHandler]:
        """Return one request handler per demo service, for :class:`executor.dataplane.http1.Http1Server`."""
        routes: dict[str, dict[tuple[str, str], Route]] = {
            "gateway": {
                ("POST", "/api/v1/checkout"): self._async(self._checkout),
                ("GET", "/api/v1/products"): self._leaf("gateway", {"products": ["book", "lamp"]}),
            },
            "orders": {
                ("POST", "/api/v1/order/create"): self._async(self._create_order),
                ("GET", "/api/v1/order/status"): self._leaf("orders", {"order": "o-1", "state": "paid"}),
            },
            "payment": {("POST", "/api/v1/payment/process"): self._leaf("payment", {"paid": True})},
            "inventory": {("GET", "/api/v1/inventory/check"): self._leaf("inventory", {"in_stock": True})},
        }
        return {name: self._service(name, table) for name, table in routes.items()}

    def _service(self, service: str, table: dict[tuple[str, str], Route]) -> CallbackHandler:
        by_path: dict[str, dict[str, Route]] = {}
        for (method, path), route in table.items():
            by_path.setdefault(path, {})[method] = route
            if method == "GET":
                by_path[path]["HEAD"] = route

        def dispatch(request: Request, reply: Reply) -> None:
            methods = by_path.get(request.path)
            if methods is None:
                if request.path == HEALTH_PATH:
                    reply.send(_json(200, {"status": "ok"}))
                    return
                known = ", ".join(sorted(by_path))
                message = f"{service} has no API {request.path!r}; it serves {known}"
                reply.send(_json(404, {"error": "not_found", "message": message}))
                return
            route = methods.get(request.method)
            if route is None:
                allowed = ", ".join(sorted(methods))
                message = f"{service} {request.path} does not accept {request.method}; use {allowed}"
                body = {"error": "method_not_allowed", "message": message}
                reply.send(_json(405, body, [("Allow", allowed)]))
                return
            route(request, reply, self._begin_span(service, request))

        return dispatch

    def _begin_span(self, service: str, request: Request) -> _Span | None:
        trace_id = parent = None
        for name, value in request.headers:
            lower = name.lower()
            if lower == _TRACE:
                trace_id = value
            elif lower == _PARENT:
                parent = value
        if not trace_id:
            return None
        return _Span(
            trace_id=trace_id,
            span_id=self._traces.new_id(16),
            parent_span_id=parent,
            operation_name=f"{service} {request.method} {request.path}",
            service=service,
            started_s=time.perf_counter(),
            wall_start_us=int(time.time() * 1e6),
        )

    def _record(self, span: _Span | None, response: Response) -> None:
        if span is not None:
            self._traces.record(
                trace_id=span.trace_id,
                span_id=span.span_id,
                parent_span_id=span.parent_span_id,
                operation_name=span.operation_name,
                start_us=span.wall_start_us,
                duration_us=int((time.perf_counter() - span.started_s) * 1e6),
                ok=response.status < 500,
                tags={"service": span.service, "http.status_code": response.status, "span.kind": "server"},
            )

    def _work(self, service: str, then: Callable[[Response | None], None]) -> asyncio.TimerHandle:
        """Spend one drawn service time on a loop timer, then call ``then`` with a natural failure or None."""
        delay_s = self._latency.draw_ms(self._rng) / 1000
        failure = None
        if self._latency.fails(self._rng):
            failure = _json(500, {"error": "internal error", "service": service})
        return asyncio.get_running_loop().call_later(delay_s, then, failure)

    async def _work_done(self, service: str) -> Response | None:
        waiter: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()
        self._work(service, lambda failure: _resolve(waiter, failure))
        return await waiter

    def _leaf(self, service: str, payload: dict[str, object]) -> Route:
        body = {"service": service, **payload}

        def route(_request: Request, reply: Reply, span: _Span | None) -> None:
            def finish(failure: Response | None) -> None:
                try:  # runs in a timer callback: a bug must answer 500, not leave the caller waiting
                    response = failure or _json(200, body)
                    self._record(span, response)
                except Exception as exc:
                    reply.fail(exc)
                else:
                    reply.send(response)

            reply.attach(self._work(service, finish))  # a caller that goes away calls the work off

        return route

    def _async(self, handler: AsyncRoute) -> Route:
        def route(request: Request, reply: Reply, span: _Span | None) -> None:
            async def run() -> Response:
                response = await handler(request, span)
                self._record(span, response)
                return response

            reply.answer(run())

        return route

    async def _call(self, span: _Span | None, service: str, method: str, path: str, timeout_s: float) -> int:
        assert self._pool is not None, "demo shop is not open"
        headers = [("Content-Type", "application/json")]
        if span is not None:
            headers += [(TRACE_HEADER, span.trace_id), (PARENT_HEADER, span.span_id)]
        url = self._proxy_url(service) + path
        response = await self._pool.request(method, url, headers, b"{}", timeout_s)
        return response.status

    async def _create_order(self, _request: Request, span: _Span | None) -> Response:
        for service, method, path in (
            ("inventory", "GET", "/api/v1/inventory/check"),
            ("payment", "POST", "/api/v1/payment/process"),
        ):
            try:
                status = await self._call(span, service, method, path, _UNPROTECTED_TIMEOUT_S)
            except UpstreamError as exc:
                body = {"error": "dependency failed", "dependency": service, "detail": str(exc)}
                return _json(502, body)
            if status >= 400:
                return _json(502, {"error": "dependency failed", "dependency": service, "status": status})
        failure = await self._work_done("orders")
        return failure or _json(200, {"service": "orders", "order": "o-1", "state": "created"})

    async def _checkout(self, _request: Request, span: _Span | None) -> Response:
        failure = await self._work_done("gateway")
        if failure is not None:
            return failure
        try:
            status = await self._call(span, "orders", "POST", "/api/v1/order/create", self._gateway_timeout_s)
        except UpstreamError as exc:
            return self._fallback(f"orders unavailable: {exc}")
        if status >= 500:
            return self._fallback(f"orders answered {status}")
        return _json(status, {"service": "gateway", "checkout": "confirmed"})

    def _fallback(self, reason: str) -> Response:
        body = {"service": "gateway", "checkout": "accepted", "fallback": True, "reason": reason}
        return _json(202, body, [("x-fallback", "true")])
