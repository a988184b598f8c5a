"""A small demo shop whose services call each other through the fault proxy.

Call graph: gateway ``POST /api/v1/checkout`` -> orders ``POST /api/v1/order/create`` -> inventory
``GET /api/v1/inventory/check`` and payment ``POST /api/v1/payment/process``. The gateway protects
itself (timeout plus fallback answer); orders does not, so faults below it propagate unchanged.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from executor.faults import Sleep
from executor.traces import PARENT_HEADER, TRACE_HEADER, TraceCollector

__all__ = ["DEMO_APIS", "DemoShop", "LatencyModel"]

DEMO_APIS: dict[str, tuple[tuple[str, str], ...]] = {
    "gateway": (("POST", "/api/v1/checkout"), ("GET", "/api/v1/products")),
    "orders": (("POST", "/api/v1/order/create"), ("GET", "/api/v1/order/status")),
    "payment": (("POST", "/api/v1/payment/process"),),
    "inventory": (("GET", "/api/v1/inventory/check"),),
}

Handler = Callable[[web.Request], Awaitable[web.Response]]
_SPAN_ID: web.RequestKey[str] = web.RequestKey("span_id", str)


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


class DemoShop:
    """Build the four demo services; ``call`` reaches a service's API through the proxy."""

    def __init__(
        self,
        *,
        proxy_url: Callable[[str], str],
        traces: TraceCollector,
        rng: random.Random,
        latency: LatencyModel | None = None,
        sleep: Sleep = asyncio.sleep,
        gateway_timeout_ms: float = 1000.0,
    ) -> None:
        self._proxy_url = proxy_url
        self._traces = traces
        self._rng = rng
        self._latency = latency or LatencyModel()
        self._sleep = sleep
        self._gateway_timeout_s = gateway_timeout_ms / 1000
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the session the services call each other with."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        """Close that session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def build_apps(self) -> dict[str, web.Application]:
        """Return one aiohttp application per demo service."""
        handlers: dict[str, dict[tuple[str, str], Handler]] = {
            "gateway": {
                ("POST", "/api/v1/checkout"): self._checkout,
                ("GET", "/api/v1/products"): self._leaf("gateway", {"products": ["book", "lamp"]}),
            },
            "orders": {
                ("POST", "/api/v1/order/create"): self._create_order,
                ("GET", "/api/v1/order/status"): self._leaf("orders", {"order": "o-1", "state": "paid"}),
            },
            "payment": {("POST", "/api/v1/payment/process"): self._leaf("payment", {"paid": True})},
            "inventory": {("GET", "/api/v1/inventory/check"): self._leaf("inventory", {"in_stock": True})},
        }
        apps = {}
        for name, routes in handlers.items():
            app = web.Application()
            for (method, path), handler in routes.items():
                app.router.add_route(method, path, self._traced(name, handler))
            app.router.add_get("/healthz", self._health)
            apps[name] = app
        return apps

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def _traced(self, service: str, handler: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.Response:
            trace_id = request.headers.get(TRACE_HEADER)
            if not trace_id:
                return await handler(request)
            span_id = self._traces.new_id(16)
            request[_SPAN_ID] = span_id
            started_s = time.perf_counter()
            wall_us = int(time.time() * 1e6)
            response = await handler(request)
            self._traces.record(
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=request.headers.get(PARENT_HEADER),
                operation_name=f"{service} {request.method} {request.path}",
                start_us=wall_us,
                duration_us=int((time.perf_counter() - started_s) * 1e6),
                ok=response.status < 500,
                tags={"service": service, "http.status_code": response.status, "span.kind": "server"},
            )
            return response

        return wrapper

    async def _work(self, service: str) -> web.Response | None:
        await self._sleep(self._latency.draw_ms(self._rng) / 1000)
        if self._latency.fails(self._rng):
            return web.json_response({"error": "internal error", "service": service}, status=500)
        return None

    def _leaf(self, service: str, payload: dict[str, object]) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            await request.read()
            failure = await self._work(service)
            return failure or web.json_response({"service": service, **payload})

        return handler

    async def _call(
        self, request: web.Request, service: str, method: str, path: str, timeout_s: float | None
    ) -> tuple[int, dict[str, object]]:
        assert self._session is not None, "demo shop is not open"
        headers = {}
        if TRACE_HEADER in request.headers:
            headers[TRACE_HEADER] = request.headers[TRACE_HEADER]
            headers[PARENT_HEADER] = request.get(_SPAN_ID, "")
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self._session.request(
            method, self._proxy_url(service) + path, json={}, headers=headers, timeout=timeout
        ) as response:
            await response.read()
            return response.status, {"status": response.status}

    async def _create_order(self, request: web.Request) -> web.Response:
        await request.read()
        for service, method, path in (
            ("inventory", "GET", "/api/v1/inventory/check"),
            ("payment", "POST", "/api/v1/payment/process"),
        ):
            try:
                status, _ = await self._call(request, service, method, path, None)
            except (aiohttp.ClientError, OSError) as exc:
                return web.json_response(
                    {"error": "dependency failed", "dependency": service, "detail": repr(exc)}, status=502
                )
            if status >= 400:
                return web.json_response(
                    {"error": "dependency failed", "dependency": service, "status": status}, status=502
                )
        failure = await self._work("orders")
        return failure or web.json_response({"service": "orders", "order": "o-1", "state": "created"})

    async def _checkout(self, request: web.Request) -> web.Response:
        await request.read()
        failure = await self._work("gateway")
        if failure is not None:
            return failure
        try:
            status, _ = await self._call(
                request, "orders", "POST", "/api/v1/order/create", self._gateway_timeout_s
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return self._fallback(f"orders unavailable: {type(exc).__name__}")
        if status >= 500:
            return self._fallback(f"orders answered {status}")
        return web.json_response({"service": "gateway", "checkout": "confirmed"}, status=status)

    def _fallback(self, reason: str) -> web.Response:
        body = {"service": "gateway", "checkout": "accepted", "fallback": True, "reason": reason}
        return web.json_response(body, status=202, headers={"x-fallback": "true"})
