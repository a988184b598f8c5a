"""How a demo service is served: routes by method and path, server spans, drawn service times.

A leaf answers from one loop timer (no task); a route that calls other services runs as a task, attached to
the request (called off if the caller goes away) or detached from it (worked to its end, as a server that
does not notice its caller gave up).
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
from executor.model.header_names import PARENT_HEADER, TRACE_HEADER

__all__ = ["AsyncRoute", "LatencyModel", "Route", "ServiceHost", "Span", "json_response"]

HEALTH_PATH = "/healthz"
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
class Span:
    """A traced request's server span, begun when the service received it."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    operation_name: str
    service: str
    started_s: float
    wall_start_us: int


Route = Callable[[Request, Reply, Span | None], None]
AsyncRoute = Callable[[Request, Span | None], Awaitable[Response]]


def json_response(
    status: int, body: Mapping[str, object], headers: list[tuple[str, str]] | None = None
) -> Response:
    """Return a JSON answer."""
    return Response(status, [("Content-Type", _JSON), *(headers or [])], json.dumps(body).encode())


def _resolve(waiter: asyncio.Future[Response | None], failure: Response | None) -> None:
    if not waiter.done():
        waiter.set_result(failure)


class ServiceHost:
    """Serve demo services' routes, tracing them and spending drawn service times on the loop.

    Example::

        host = ServiceHost(traces=traces, rng=random.Random(1))
        handler = host.handler("payment", {("POST", "/pay"): host.leaf("payment", {"paid": True})})
    """

    def __init__(
        self, *, traces: TraceCollector, rng: random.Random, latency: LatencyModel | None = None
    ) -> None:
        self._traces = traces
        self._rng = rng
        self._latency = latency or LatencyModel()
        self._working: set[asyncio.Task[None]] = set()  # detached routes' requests

    async def close(self) -> None:
        """Call off the detached requests still being worked on."""
        for task in list(self._working):
            task.cancel()
        await asyncio.gather(*self._working, return_exceptions=True)

    def handler(self, service: str, table: dict[tuple[str, str], Route]) -> CallbackHandler:
        """Return the handler of ``service``, dispatching to ``table``'s routes by method and path."""
        by_path: dict[str, dict[str, Route]] = {}
        for (method, path), route in table.items():
            by_path.setdefault(path, {})[method] = route
            if method == "GET":
                by_path[path]["HEAD"] = route

        def dispatch(request: Request, reply: Reply) -> None:
            methods = by_path.get(request.path)
            if methods is None:
                if request.path == HEALTH_PATH:
                    reply.send(json_response(200, {"status": "ok"}))
                    return
                known = ", ".join(sorted(by_path))
                message = f"{service} has no API {request.path!r}; it serves {known}"
                reply.send(json_response(404, {"error": "not_found", "message": message}))
                return
            route = methods.get(request.method)
            if route is None:
                allowed = ", ".join(sorted(methods))
                message = f"{service} {request.path} does not accept {request.method}; use {allowed}"
                body = {"error": "method_not_allowed", "message": message}
                reply.send(json_response(405, body, [("Allow", allowed)]))
                return
            route(request, reply, self._begin_span(service, request))

        return dispatch

    def _begin_span(self, service: str, request: Request) -> Span | None:
        trace_id = parent = None
        for name, value in request.headers:
            lower = name.lower()
            if lower == _TRACE:
                trace_id = value
            elif lower == _PARENT:
                parent = value
        if not trace_id:
            return None
        return Span(
            trace_id=trace_id,
            span_id=self._traces.new_id(16),
            parent_span_id=parent,
            operation_name=f"{service} {request.method} {request.path}",
            service=service,
            started_s=time.perf_counter(),
            wall_start_us=int(time.time() * 1e6),
        )

    def _record(self, span: Span | None, response: Response) -> None:
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
            failure = json_response(500, {"error": "internal error", "service": service})
        return asyncio.get_running_loop().call_later(delay_s, then, failure)

    async def work_done(self, service: str) -> Response | None:
        """Spend one drawn service time of ``service``; return its natural failure, or None."""
        waiter: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()
        self._work(service, lambda failure: _resolve(waiter, failure))
        return await waiter

    def leaf(self, service: str, payload: dict[str, object]) -> Route:
        """Return a route that answers ``payload`` after one service time, from a loop timer."""
        body = {"service": service, **payload}

        def route(_request: Request, reply: Reply, span: Span | None) -> None:
            def finish(failure: Response | None) -> None:
                try:  # runs in a timer callback: a bug must answer 500, not leave the caller waiting
                    response = failure or json_response(200, body)
                    self._record(span, response)
                except Exception as exc:
                    reply.fail(exc)
                else:
                    reply.send(response)

            reply.attach(self._work(service, finish))  # a caller that goes away calls the work off

        return route

    def attached(self, handler: AsyncRoute) -> Route:
        """Return a route running ``handler`` as a task that is called off if the caller goes away."""

        def route(request: Request, reply: Reply, span: Span | None) -> None:
            async def run() -> Response:
                response = await handler(request, span)
                self._record(span, response)
                return response

            reply.answer(run())

        return route

    def detached(self, handler: AsyncRoute) -> Route:
        """Run ``handler`` to its end even if the caller goes away, as a server that does not notice."""

        def route(request: Request, reply: Reply, span: Span | None) -> None:
            async def run() -> None:
                try:
                    response = await handler(request, span)
                    self._record(span, response)
                except Exception as exc:
                    reply.fail(exc)
                else:
                    reply.send(response)  # ignored if the caller is gone

            task = asyncio.ensure_future(run())
            self._working.add(task)
            task.add_done_callback(self._working.discard)

        return route
