"""The data plane: a reverse proxy that injects faults into requests to named services."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from executor.faults import FAULT_HEADER, FaultKind, Injection, Sleep
from executor.http1 import Request, Response
from executor.metrics import ProxyCounters
from executor.rules import Rule, first_match
from executor.traces import PARENT_HEADER, TRACE_HEADER, TraceCollector
from executor.upstream import UpstreamError, UpstreamPool

__all__ = ["PROXY_PREFIX", "FaultHalted", "FaultProxy", "ServiceTarget"]

PROXY_PREFIX = "/s"
_ROUTE = PROXY_PREFIX + "/"
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",  # the body is sent at once; an interim 100 Continue would only be skipped
    }
)


class FaultHalted(Exception):
    """The fault holding a request was cancelled or deleted while it waited."""


@dataclass(frozen=True)
class ServiceTarget:
    """A named upstream behind the proxy and the APIs it offers."""

    name: str
    upstream: str
    apis: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _halting_sleep(sleep: Sleep, halted: asyncio.Event | None) -> Sleep:
    async def interruptible(seconds: float) -> None:
        if halted is None:
            await sleep(seconds)
            return
        if halted.is_set():
            raise FaultHalted
        if sleep is asyncio.sleep:  # the real clock: one timer, no extra tasks on the request's path
            try:
                async with asyncio.timeout(seconds):
                    await halted.wait()
            except TimeoutError:
                return
            raise FaultHalted
        sleeper = asyncio.ensure_future(sleep(seconds))
        waiter = asyncio.ensure_future(halted.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()
        if halted.is_set():
            raise FaultHalted

    return interruptible


class FaultProxy:
    """Forward ``/s/{service}/{path}`` to the service's upstream, injecting the first matching rule."""

    def __init__(
        self,
        *,
        services: dict[str, ServiceTarget],
        rules: Callable[[], list[Rule]],
        rng: random.Random,
        counters: ProxyCounters,
        traces: TraceCollector,
        namespace: str = "demo",
        sleep: Sleep = asyncio.sleep,
        upstream_timeout_sec: float = 60.0,
    ) -> None:
        self._services = services
        self._rules = rules
        self._rng = rng
        self._counters = counters
        self._traces = traces
        self._namespace = namespace
        self._sleep = sleep
        self._upstream_timeout_sec = upstream_timeout_sec
        self._pool: UpstreamPool | None = None

    async def open(self) -> None:
        """Create the connection pool the proxy forwards with."""
        if self._pool is None:
            self._pool = UpstreamPool()

    async def close(self) -> None:
        """Close the pool's idle connections."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def handle(self, request: Request) -> Response:
        """Proxy one request for ``/s/{service}/{path}``; the path is forwarded as received."""
        service_path = request.path[len(PROXY_PREFIX) + 1 :] if request.path.startswith(_ROUTE) else ""
        name, slash, tail = service_path.partition("/")
        target = self._services.get(name)
        if target is None:
            what = f"unknown service {name!r}" if name else f"no service in path {request.path!r}"
            hint = f"; the proxy serves {PROXY_PREFIX}/<service>/<path>"
            return _json(404, {"error": "not_found", "message": what + hint})
        path = slash + tail if slash else "/"
        self._counters.count_request(name)
        started_s = time.perf_counter()
        wall_start_us = int(time.time() * 1e6)
        headers = {key.lower(): value for key, value in request.headers}
        rule = first_match(
            self._rules(),
            service=name,
            namespace=self._namespace,
            method=request.method,
            path=path,
            headers=headers,
        )
        injection = Injection()
        if rule is not None and rule.action.sample(self._rng):
            try:
                injection = await rule.action.apply(_halting_sleep(self._sleep, rule.halted))
            except FaultHalted:
                injection = Injection(kinds=[FaultKind.DELAY])
        self._counters.count_injection(name, injection.kinds)
        trace_id = headers.get(TRACE_HEADER)
        span_id = self._traces.new_id(16) if trace_id else None
        if injection.reply is not None:
            reply = injection.reply
            response = Response(reply.status, list(reply.headers.items()), reply.body)
        else:
            response = await self._forward(request, target, path, headers, span_id)
            if injection.affected:
                response.headers.append((FAULT_HEADER, injection.header_value))
        if trace_id and span_id:
            tags: dict[str, object] = {
                "component": "boifi-proxy",
                "service": name,
                "http.method": request.method,
                "http.path": path,
                "http.status_code": response.status,
                "fault.injected": injection.affected,
            }
            if injection.affected:
                tags["fault.type"] = injection.header_value
                tags["fault.rule"] = rule.source if rule else ""
            self._traces.record(
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=headers.get(PARENT_HEADER),
                operation_name=f"proxy {name} {request.method} {path}",
                start_us=wall_start_us,
                duration_us=int((time.perf_counter() - started_s) * 1e6),
                ok=response.status < 500,
                tags=tags,
            )
        return response

    async def _forward(
        self,
        request: Request,
        target: ServiceTarget,
        path: str,
        headers: dict[str, str],
        span_id: str | None,
    ) -> Response:
        assert self._pool is not None, "proxy is not started"
        upstream_headers = [(key, value) for key, value in headers.items() if key not in _HOP_BY_HOP]
        if span_id:  # the proxy's span becomes the upstream's parent, replacing the caller's
            upstream_headers = [
                (key, value) for key, value in upstream_headers if key != PARENT_HEADER.lower()
            ]
            upstream_headers.append((PARENT_HEADER, span_id))
        url = target.upstream + path
        if request.query:
            url += "?" + request.query
        try:
            upstream = await self._pool.request(
                request.method, url, upstream_headers, request.body, self._upstream_timeout_sec
            )
        except UpstreamError as exc:
            self._counters.count_upstream_error(target.name)
            message = f"upstream of service {target.name!r} unavailable: {exc}"
            return _json(502, {"error": "bad_gateway", "message": message})
        out_headers = [(key, value) for key, value in upstream.headers if key.lower() not in _HOP_BY_HOP]
        if request.method == "HEAD":  # the length a GET would have, which the upstream announced
            out_headers += [
                (key, value) for key, value in upstream.headers if key.lower() == "content-length"
            ]
        return Response(upstream.status, out_headers, upstream.body)


def _json(status: int, body: dict[str, object]) -> Response:
    return Response(status, [("Content-Type", "application/json; charset=utf-8")], json.dumps(body).encode())
