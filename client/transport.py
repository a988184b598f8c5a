"""The wire-level deadline: every request the client sends ends by an absolute time, whatever the server does.

httpx's timeouts bound each socket operation, not a request: a read timeout of 30 s restarts with every byte,
so a server that sends its status line and then one header byte every half second holds a call for as long
as it likes, and the apply's one deadline (retry.py) is never consulted. Here the deadline is enforced where
the waiting happens: ``DeadlineTransport`` is httpx's ``HTTPTransport`` on an httpcore connection pool whose
network backend clamps every connect, read and write timeout to what is left of the request's deadline, and
raises httpcore's own timeout (httpx's ``ConnectTimeout``/``ReadTimeout``/``WriteTimeout``) once it is gone.

The deadline travels in a ``ContextVar`` set around one request by ``request_deadline``: httpcore's sync
pool does all of a request's I/O (head and body) on the thread that sends it, and a context variable is
per thread, so concurrent requests on one shared client keep their own deadlines. A request sent outside a
``request_deadline`` block keeps httpx's per-operation timeouts only.

This module reads ``time.monotonic`` itself, unlike the resilience logic (retry.py, breaker.py), which takes
an injected clock: socket timeouts are real seconds, so the absolute time that clamps them must be on the
real monotonic clock. Callers convert once, at the edge, from what is left on their own (injected) clock.
Unit tests that inject ``httpx.MockTransport`` never reach this code; the loopback tests do.

``HTTPTransport`` in httpx 0.27/0.28 takes no network backend, so ``DeadlineTransport`` replaces the pool
it builds with one that has ours (``_pool`` is the one attribute its request path uses). Because the client
passes a transport of its own, httpx no longer applies ``HTTP(S)_PROXY`` environment variables to it.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

_deadline_at: ContextVar[float | None] = ContextVar("boifi_request_deadline", default=None)


@contextmanager
def request_deadline(budget_sec: float) -> Iterator[None]:
    """Make every request sent in the block end within ``budget_sec`` from now (nested: the sooner)."""
    at = time.monotonic() + max(0.0, budget_sec)
    outer = _deadline_at.get()
    token = _deadline_at.set(at if outer is None else min(outer, at))
    try:
        yield
    finally:
        _deadline_at.reset(token)


def _clamp(timeout: float | None, error: type[Exception], operation: str) -> float | None:
    at = _deadline_at.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error(f"request deadline passed before {operation}")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout, "reading"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout, "writing"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout, "the TLS handshake")
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, clamped))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend (or ``inner``) with every timeout clamped to the request's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout, "connecting")
        return DeadlineStream(
            self._inner.connect_tcp(host, port, clamped, local_address, socket_options=socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout, "connecting")
        return DeadlineStream(self._inner.connect_unix_socket(path, clamped, socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's HTTP/1.1 transport whose connections honour ``request_deadline``.

    >>> with httpx.Client(transport=DeadlineTransport()) as http, request_deadline(2.0):
    ...     http.get("http://127.0.0.1:8080/v1/health")  # returns or raises within about 2 s
    """

    def __init__(self, *, limits: httpx.Limits | None = None, verify: ssl.SSLContext | bool = True) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        ssl_context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        )
        super().__init__(verify=ssl_context, limits=limits)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("this httpx's HTTPTransport has no connection pool the deadline can replace")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineBackend(),
        )
