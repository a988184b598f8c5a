"""The proxy's forward path and the load driver's client: keep-alive HTTP/1.1 with a pool per upstream.

aiohttp's client cost more per request than the proxy's whole server side: on this 2-core machine it held
the proxy to about 1,400 req/s at concurrency 32, against about 3,700 with a pool over asyncio streams (see
benchmarks/proxy_overhead.py). Both callers want whole bodies, so each connection is a bare asyncio protocol
that buffers one response and resolves one future when it is complete: no stream reader, no per-read
wake-up, one timer per request.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from executor.dataplane.upstream_connection import StaleConnection, UpstreamConnection
from executor.dataplane.upstream_response import UpstreamError, UpstreamResponse

__all__ = ["Done", "UpstreamPool"]

# Methods whose requests carry no content by convention: without a body, they announce no length (RFC 9110).
_NO_CONTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
# Every byte a request head may hold besides its CRLFs: all but the control characters (a tab may stand in a
# value).
_HEAD_SAFE_BYTES = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])

Done = Callable[[UpstreamResponse | None, UpstreamError | None], None]


@dataclass(frozen=True, slots=True)
class _Origin:
    secure: bool
    host: str
    port: int
    netloc: str
    key: str  # scheme://host:port, what idle connections are pooled by (a str hashes faster than this)


def _check_head(head: bytes, line_count: int, method: str, target: str) -> None:
    """Refuse a head a value would split: a CR or LF of its own, another control character, or a space.

    Whatever built the request (the proxy from a parsed request, the load driver from a validated fault),
    nothing that could smuggle a header or a request to the upstream is written: once every other byte is
    deleted, exactly the CRLFs that end its lines must be left. One pass in C over a few hundred bytes.
    """
    if head.translate(None, _HEAD_SAFE_BYTES) != b"\r\n" * line_count:
        raise UpstreamError(
            "refusing to send a request head with a control character or line break in a value"
        )
    if " " in method or " " in target:
        raise UpstreamError("refusing to send a request line with a space in its method or target")


def _timed_out(origin: _Origin, timeout_sec: float) -> UpstreamError:
    return UpstreamError(f"upstream {origin.host}:{origin.port} did not answer within {timeout_sec:g} s")


class UpstreamPool:
    """Send requests over pooled keep-alive connections, one idle list per (scheme, host, port).

    Example::

        pool = UpstreamPool()
        response = await pool.request("GET", "http://127.0.0.1:8081/api", [("accept", "*/*")], b"", 5.0)
        await pool.close()
    """

    def __init__(self, *, max_idle_per_host: int = 256, max_body_bytes: int = 64 * 1024 * 1024) -> None:
        self._max_body_bytes = max_body_bytes
        self._idle: dict[str, list[UpstreamConnection]] = defaultdict(list)
        self._origins: dict[str, _Origin] = {}
        self._max_idle = max_idle_per_host
        self._closed = False
        self._retries: set[asyncio.Future[None]] = set()
        self._ssl_context: ssl.SSLContext | None = None

    async def close(self) -> None:
        """Close every idle connection; connections still in use close when their exchange ends."""
        self._closed = True
        for retry in list(self._retries):
            retry.cancel()
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def idle_count(self) -> int:
        """Return how many connections wait in the pool (for tests)."""
        return sum(len(connections) for connections in self._idle.values())

    async def request(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes, timeout_sec: float
    ) -> UpstreamResponse:
        """Send one request and return the whole response; raise UpstreamError on any failure."""
        origin, payload = self._prepare(method, url, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_sec
        while (pooled := self._take_idle(origin)) is not None:
            try:
                return await self._exchange(origin, pooled, payload, method, deadline, timeout_sec)
            except StaleConnection:
                continue  # the upstream closed an idle keep-alive connection: nothing was processed
        try:
            async with asyncio.timeout_at(deadline):
                connection = await self._connect(origin)
        except TimeoutError as exc:
            raise _timed_out(origin, timeout_sec) from exc
        try:
            return await self._exchange(origin, connection, payload, method, deadline, timeout_sec)
        except StaleConnection as exc:
            message = f"upstream {origin.host}:{origin.port} closed the connection without answering"
            raise UpstreamError(message) from exc

    def try_send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout_sec: float,
        done: Done,
    ) -> bool:
        """Send over an idle pooled connection and call ``done(response, None)`` or ``done(None, error)``.

        Return False, having sent nothing, when no connection is idle (then use :meth:`request`). ``done``
        runs from the I/O callback that completes the answer: no task, no event-loop hop.
        """
        try:
            origin, payload = self._prepare(method, url, headers, body)
        except UpstreamError as exc:
            done(None, exc)
            return True
        connection = self._take_idle(origin)
        if connection is None:
            return False
        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout_sec, lambda: connection.fail(_timed_out(origin, timeout_sec)))

        def finish(result: tuple[UpstreamResponse, bool] | None, error: BaseException | None) -> None:
            timer.cancel()
            if result is not None:
                response, reusable = result
                self._release(origin, connection, reusable)
                done(response, None)
                return
            connection.close()
            if isinstance(error, StaleConnection):  # closed while idle: try again the usual way
                retry = asyncio.ensure_future(self._retry(method, url, headers, body, timeout_sec, done))
                self._retries.add(retry)
                retry.add_done_callback(self._retries.discard)
            else:
                done(None, error if isinstance(error, UpstreamError) else UpstreamError(repr(error)))

        connection.start(payload, method == "HEAD", finish)
        return True

    async def _retry(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout_sec: float,
        done: Done,
    ) -> None:
        try:
            response = await self.request(method, url, headers, body, timeout_sec)
        except UpstreamError as exc:
            done(None, exc)
        else:
            done(response, None)

    def _prepare(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[_Origin, bytes]:
        slash = url.find("/", url.find("//") + 2)
        prefix, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
        origin = self._origins.get(prefix) or self._origin(prefix)
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {origin.netloc}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        if body or method not in _NO_CONTENT_METHODS:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        try:
            head = "".join(lines).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise UpstreamError(f"refusing to send a request head that is not Latin-1: {exc}") from exc
        _check_head(head, len(lines) + 1, method, target)
        return origin, head + body

    def _take_idle(self, origin: _Origin) -> UpstreamConnection | None:
        """Pop the most recently used idle connection to ``origin`` that is still open."""
        idle = self._idle.get(origin.key)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    def _release(self, origin: _Origin, connection: UpstreamConnection, reusable: bool) -> None:
        """Put a connection whose whole answer was read back in the pool, or close it."""
        if (
            reusable
            and not connection.closed
            and not self._closed
            and len(self._idle[origin.key]) < self._max_idle
        ):
            self._idle[origin.key].append(connection)
        else:
            connection.close()

    def _origin(self, prefix: str) -> _Origin:
        parts = urlsplit(prefix)
        secure = parts.scheme == "https"
        host, port = parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80)
        origin = _Origin(secure, host, port, parts.netloc, f"{parts.scheme}://{host}:{port}")
        if len(self._origins) < 1024:
            self._origins[prefix] = origin
        return origin

    async def _connect(self, origin: _Origin) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        context = self._context() if origin.secure else None
        try:
            _, connection = await loop.create_connection(
                lambda: UpstreamConnection(self._max_body_bytes), origin.host, origin.port, ssl=context
            )
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def _exchange(
        self,
        origin: _Origin,
        connection: UpstreamConnection,
        payload: bytes,
        method: str,
        deadline: float,
        timeout_sec: float,
    ) -> UpstreamResponse:
        loop = asyncio.get_running_loop()
        keep = False
        waiter = connection.send(payload, method == "HEAD")
        timer = loop.call_at(deadline, lambda: connection.fail(_timed_out(origin, timeout_sec)))
        try:
            response, keep = await waiter
            return response
        finally:
            timer.cancel()
            # A cancelled or failed exchange leaves the connection in an unknown state: never reuse it.
            self._release(origin, connection, keep)
