"""The data plane: a reverse proxy that injects faults into requests to named services."""

from __future__ import annotations

import functools
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from executor.dataplane.fault_holds import FaultHalted, HoldRegistry
from executor.dataplane.http_messages import Reply, Request, Response
from executor.dataplane.metrics import ProxyCounters
from executor.dataplane.traces import TraceCollector
from executor.dataplane.upstream_pool import UpstreamPool
from executor.dataplane.upstream_response import UpstreamError, UpstreamResponse
from executor.model.clock import LOOP_CLOCK, Clock
from executor.model.fault_kinds import FAULT_HEADER, DelayFault, FaultKind, Injection
from executor.model.header_names import PARENT_HEADER, TRACE_HEADER
from executor.model.rules import Rule, first_match
from executor.model.service_target import ServiceTarget

__all__ = ["PROXY_PREFIX", "FaultProxy"]

PROXY_PREFIX = "/s"
_ROUTE = PROXY_PREFIX + "/"
_LENGTH = "content-length"
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


# The same headers, found in a raw upstream head; Content-Length stays, since the body is passed on unchanged.
_HOP_BY_HOP_HEAD = re.compile(
    rb"\r\n(?:" + b"|".join(name.encode() for name in sorted(_HOP_BY_HOP - {_LENGTH})) + rb")[ \t]*:",
    re.IGNORECASE,
)


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
        clock: Clock = LOOP_CLOCK,
        upstream_timeout_sec: float = 60.0,
    ) -> None:
        self._services = services
        self._rules = rules
        self._rng = rng
        self._counters = counters
        self._traces = traces
        self._namespace = namespace
        self._upstream_timeout_sec = upstream_timeout_sec
        self._pool: UpstreamPool | None = None
        self._holds = HoldRegistry(clock)

    async def open(self) -> None:
        """Create the connection pool the proxy forwards with."""
        if self._pool is None:
            self._pool = UpstreamPool()

    async def close(self) -> None:
        """Stop watching for halts and close the pool's idle connections."""
        self._holds.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def dispatch(self, request: Request, reply: Reply) -> None:
        """Proxy one request for ``/s/{service}/{path}``; the path is forwarded as received.

        A request no fault hits is forwarded over an idle pooled connection and answered from the I/O
        callback that completes the upstream's answer, without a task or an event-loop hop: this is what
        keeps the proxy's added latency low. One a plain delay hits waits on a loop timer first (see
        :meth:`_hold`). Other faults, traced requests and requests that need a new upstream connection run
        as a task attached to ``reply`` (cancelled if the client goes away).
        """
        service_path = request.path[len(PROXY_PREFIX) + 1 :] if request.path.startswith(_ROUTE) else ""
        name, slash, tail = service_path.partition("/")
        target = self._services.get(name)
        if target is None:
            what = f"unknown service {name!r}" if name else f"no service in path {request.path!r}"
            hint = f"; the proxy serves {PROXY_PREFIX}/<service>/<path>"
            reply.send(_json(404, {"error": "not_found", "message": what + hint}))
            return
        path = slash + tail if slash else "/"
        self._counters.count_request(name)
        headers = {key.lower(): value for key, value in request.headers}
        if len(headers) < len(request.headers):  # a header came more than once
            headers = _joined(request.headers)
        rule = first_match(
            self._rules(),
            service=name,
            namespace=self._namespace,
            method=request.method,
            path=path,
            headers=headers,
        )
        hit = False
        if rule is not None:
            hit = rule.action.sample(self._rng)
            hits = rule.hits  # what a fault's metrics report as its ``target``; inline: no frame per request
            hits.matched += 1
            hits.affected += hit
        call = _Call(request, target, path, headers, rule if hit else None)
        traced = TRACE_HEADER in headers
        if hit and not traced and self._hold(call, reply):
            return
        if hit or traced:
            reply.answer(self._inject_and_forward(call))
            return
        self._send(call, reply, None)

    def _send(self, call: _Call, reply: Reply, fault_header: str | None) -> None:
        """Forward from I/O callbacks over an idle pooled connection, or from a task when none is idle."""
        assert self._pool is not None, "proxy is not started"

        def done(upstream: UpstreamResponse | None, error: UpstreamError | None) -> None:
            try:
                response = self._answer(call, upstream, error, fault_header)
            except Exception as exc:  # runs in the upstream's I/O callback: never let a bug escape there
                reply.fail(exc)
            else:
                reply.send(response)

        request = call.request
        url, upstream_headers = self._upstream_request(call, None)
        if not self._pool.try_send(
            request.method, url, upstream_headers, request.body, self._upstream_timeout_sec, done
        ):
            reply.answer(self._forward(call, None, fault_header))

    def _hold(self, call: _Call, reply: Reply) -> bool:
        """Hold a request a plain delay hit on one loop timer, then forward it from callbacks: no task.

        This is the usual delay experiment, and a task per held request would add its own event-loop hops
        to the delay we report. The hold ends at once when its fault is halted (cancelled or deleted), and
        is called off when the client goes away. Other faults and traced requests take the task path.
        """
        rule = call.rule
        assert rule is not None
        fault = rule.action.fault
        if not isinstance(fault, DelayFault):
            return False
        halted = rule.halted
        if halted is not None and halted.is_set():
            self._release(call, reply)
            return True
        hold_s = (rule.action.start_delay_ms + fault.delay_ms) / 1000
        reply.attach(self._holds.hold(halted, hold_s, functools.partial(self._release, call, reply)))
        return True

    def _release(self, call: _Call, reply: Reply) -> None:
        """End a request's hold: count the delay and forward it, marked as delayed."""
        if reply.done:  # the client went away meanwhile
            return
        try:
            self._counters.count_injection(call.target.name, [FaultKind.DELAY])
            self._send(call, reply, "delay")
        except Exception as exc:  # runs in a timer callback: never let a bug escape there
            reply.fail(exc)

    async def _inject_and_forward(self, call: _Call) -> Response:
        """Apply the fault that hit the request (if any), forward unless it answers, and trace it."""
        name = call.target.name
        started_s = time.perf_counter()
        wall_start_us = int(time.time() * 1e6)
        rule = call.rule
        injection = Injection()
        if rule is not None:
            try:
                injection = await rule.action.apply(self._holds.halting_sleep(rule.halted))
            except FaultHalted:
                injection = Injection(kinds=[FaultKind.DELAY])
        self._counters.count_injection(name, injection.kinds)
        trace_id = call.headers.get(TRACE_HEADER)
        span_id = self._traces.new_id(16) if trace_id else None
        if injection.reply is not None:
            reply = injection.reply
            response = Response(reply.status, list(reply.headers.items()), reply.body)
        else:
            fault_header = injection.header_value if injection.affected else None
            response = await self._forward(call, span_id, fault_header)
        if trace_id and span_id:
            method, path = call.request.method, call.path
            tags: dict[str, object] = {
                "component": "boifi-proxy",
                "service": name,
                "http.method": method,
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
                parent_span_id=call.headers.get(PARENT_HEADER),
                operation_name=f"proxy {name} {method} {path}",
                start_us=wall_start_us,
                duration_us=int((time.perf_counter() - started_s) * 1e6),
                ok=response.status < 500,
                tags=tags,
            )
        return response

    def _upstream_request(self, call: _Call, span_id: str | None) -> tuple[str, list[tuple[str, str]]]:
        upstream_headers = [
            (key, value) for key, value in call.request.headers if key.lower() not in _HOP_BY_HOP
        ]
        if span_id:  # the proxy's span becomes the upstream's parent, replacing the caller's
            upstream_headers = [
                (key, value) for key, value in upstream_headers if key.lower() != PARENT_HEADER.lower()
            ]
            upstream_headers.append((PARENT_HEADER, span_id))
        url = call.target.upstream + call.path
        if call.request.query:
            url += "?" + call.request.query
        return url, upstream_headers

    async def _forward(self, call: _Call, span_id: str | None, fault_header: str | None = None) -> Response:
        assert self._pool is not None, "proxy is not started"
        url, upstream_headers = self._upstream_request(call, span_id)
        try:
            upstream = await self._pool.request(
                call.request.method, url, upstream_headers, call.request.body, self._upstream_timeout_sec
            )
        except UpstreamError as exc:
            return self._answer(call, None, exc, fault_header)
        return self._answer(call, upstream, None, fault_header)

    def _answer(
        self,
        call: _Call,
        upstream: UpstreamResponse | None,
        error: UpstreamError | None,
        fault_header: str | None = None,
    ) -> Response:
        """Turn the upstream's answer into the proxy's, or a 502 when there is none; mark an injected fault.

        When nothing is added to it, a usual upstream head with no hop-by-hop header is passed on as it came,
        without parsing or rewriting it.
        """
        if upstream is None:
            name = call.target.name
            self._counters.count_upstream_error(name)
            message = f"upstream of service {name!r} unavailable: {error}"
            response = _json(502, {"error": "bad_gateway", "message": message})
        elif fault_header is None and upstream.raw_head and not _HOP_BY_HOP_HEAD.search(upstream.raw_head):
            return Response(upstream.status, [], upstream.body, upstream.raw_head)
        else:
            headers = [(key, value) for key, value in upstream.headers if key.lower() not in _HOP_BY_HOP]
            if call.request.method == "HEAD":  # the length a GET would have, which the upstream announced
                headers += [(key, value) for key, value in upstream.headers if key.lower() == _LENGTH]
            response = Response(upstream.status, headers, upstream.body)
        if fault_header is not None:
            response.headers.append((FAULT_HEADER, fault_header))
        return response


@dataclass(slots=True)
class _Call:
    """One proxied request, resolved: its target, path within the service, headers, and the rule that hit."""

    request: Request
    target: ServiceTarget
    path: str
    headers: dict[str, str]  # lower-cased names, for matching (see _joined); the upstream gets request's
    rule: Rule | None


def _joined(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Key headers by lower-cased name for matching, joining a repeated header's values with ``,`` in order.

    This is what Envoy (family A's data plane) matches a repeated header against: ``X-Forwarded-For: a`` then
    ``X-Forwarded-For: b`` is matched as ``a,b``. The upstream still gets every line as it came.
    """
    joined: dict[str, str] = {}
    for key, value in headers:
        name = key.lower()
        joined[name] = joined[name] + "," + value if name in joined else value
    return joined


def _json(status: int, body: dict[str, object]) -> Response:
    return Response(status, [("Content-Type", "application/json; charset=utf-8")], json.dumps(body).encode())
