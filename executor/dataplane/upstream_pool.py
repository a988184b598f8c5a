"""The proxy's forward path and the load driver's client: keep-alive HTTP/1.1 with a pool per upstream.

aiohttp's client cost more per request than the proxy's whole server side: on this 2-core machine it held
the proxy to about 1,400 req/s at concurrency 32, against about 3,700 with a pool over asyncio streams (see
benchmarks/proxy_overhead.py). Both callers want whole bodies, so each connection is a bare asyncio protocol
that buffers one response and resolves one future when it is complete: no stream reader, no per-read
wake-up, one timer per request.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from executor.dataplane.http_head import MAX_HEAD_BYTES, header_lines

__all__ = ["UpstreamError", "UpstreamPool", "UpstreamResponse"]

# Methods whose requests carry no content by convention: without a body, they announce no length (RFC 9110).
_NO_CONTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class UpstreamError(Exception):
    """The upstream could not be reached, timed out, or answered with malformed HTTP."""


class _StaleConnection(Exception):
    """A pooled connection was closed by the upstream before it answered; a fresh one may be tried."""


class UpstreamResponse:
    """Status, headers (in order, repeats kept) and the whole body of an upstream's answer.

    ``raw_head`` is set for the usual answer, framed only by one ``Content-Length`` on HTTP/1.1 with no
    connection headers: its status line and headers as received (without the blank line that ends them),
    which a proxy may pass on as they are. The headers are then parsed from it only when they are read.
    """

    __slots__ = ("_headers", "body", "raw_head", "status")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]] | None,
        body: bytes,
        raw_head: bytes = b"",
    ) -> None:
        self.status = status
        self.body = body
        self.raw_head = raw_head
        self._headers = headers

    @property
    def headers(self) -> list[tuple[str, str]]:
        if self._headers is None:
            self._headers = header_lines(self.raw_head)
        return self._headers

    def __repr__(self) -> str:
        return f"UpstreamResponse(status={self.status}, headers={self.headers!r}, body={self.body[:64]!r})"


@dataclass(slots=True)
class _Head:
    status: int
    headers: list[tuple[str, str]] | None  # None: not parsed yet (see UpstreamResponse.headers)
    length: int | None
    chunked: bool
    keep_alive: bool
    raw: bytes  # set only by _quick_head


@dataclass(frozen=True, slots=True)
class _Origin:
    secure: bool
    host: str
    port: int
    netloc: str
    key: str  # scheme://host:port, what idle connections are pooled by (a str hashes faster than this)


# Headers that change how the answer is framed or whether the connection stays open: their presence sends a
# head through the full parse below.
_FRAMING_HEADER = re.compile(rb"\r\n(?:transfer-encoding|connection|keep-alive)[ \t]*:", re.IGNORECASE)
# Every byte a request head may hold besides its CRLFs: all but the control characters (a tab may stand in a
# value).
_HEAD_SAFE_BYTES = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]+)[ \t]*(?=\r\n|$)", re.IGNORECASE)


def _quick_head(raw: bytes) -> _Head | None:
    """Read the framing of the usual answer (HTTP/1.1, one Content-Length, nothing else that frames it).

    Return None for anything else, which :func:`_parse_head` then reads in full. The headers are left
    unparsed: the proxy passes such a head on as it came.
    """
    if not raw.startswith(b"HTTP/1.1 ") or _FRAMING_HEADER.search(raw) is not None:
        return None
    lengths = _CONTENT_LENGTH.findall(raw)
    status_digits = raw[9:12]
    well_formed = status_digits.isdigit() and raw[12:13] in (b" ", b"") and status_digits[:1] != b"1"
    if len(lengths) != 1 or not well_formed:
        return None
    return _Head(int(status_digits), None, int(lengths[0]), False, True, raw)


def _parse_head(raw: bytes) -> _Head | None:
    """Parse a response head (without its blank line); None for an interim 1xx answer."""
    status_line, _, _ = raw.partition(b"\r\n")
    version, _, rest = status_line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    status = int(rest[:3])
    if 100 <= status < 200:
        return None
    headers = header_lines(raw)
    length: int | None = None
    chunked = False
    keep_alive = version != "HTTP/1.0"
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length":
            length = int(value)
        elif lower == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif lower == "connection":
            keep_alive = "close" not in value.lower() and (
                version != "HTTP/1.0" or "keep-alive" in value.lower()
            )
    return _Head(status, headers, length, chunked, keep_alive, b"")


def _take_chunked(buffer: bytearray) -> bytes | None:
    """Return the whole de-chunked body and drop it from ``buffer``, or None while it is incomplete."""
    chunks: list[bytes] = []
    position = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0].strip(), 16)
        position = line_end + 2
        if size == 0:
            if buffer[position : position + 2] == b"\r\n":  # no trailers
                end = position + 2
            else:
                trailers_end = buffer.find(b"\r\n\r\n", position)
                if trailers_end < 0:
                    return None
                end = trailers_end + 4
            del buffer[:end]
            return b"".join(chunks)
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        chunks.append(bytes(buffer[position : position + size]))
        position += size + 2


_OnDone = Callable[[tuple[UpstreamResponse, bool] | None, BaseException | None], None]
Done = Callable[[UpstreamResponse | None, UpstreamError | None], None]


class _Connection(asyncio.Protocol):
    """One upstream connection: send a request, buffer its answer, resolve a future when it is whole."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._on_done: _OnDone | None = None
        self._head: _Head | None = None
        self._head_only = False
        self._received = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        if self._on_done is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self._received = True
        self._buffer += data
        try:
            self._advance()
        except ValueError as exc:
            self.fail(UpstreamError(f"malformed upstream response: {exc}"))
            return
        if self._on_done is not None and self._head is not None and len(self._buffer) > self.max_body_bytes:
            self.fail(UpstreamError(f"upstream answer larger than {self.max_body_bytes} bytes"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._on_done is None:
            return
        head = self._head
        if head is not None and head.length is None and not head.chunked and not self._head_only:
            response = UpstreamResponse(head.status, head.headers, bytes(self._buffer), head.raw)
            self._finish((response, False), None)
        elif not self._received:
            self._finish(None, _StaleConnection())
        else:
            self._finish(None, UpstreamError("upstream closed the connection in the middle of its answer"))

    def start(self, payload: bytes, head_only: bool, on_done: _OnDone) -> None:
        """Write one request; ``on_done`` gets (response, reusable) or an error, exactly once."""
        assert self.transport is not None
        self._on_done = on_done
        self._head = None
        self._head_only = head_only
        self._received = False
        self.transport.write(payload)

    def send(self, payload: bytes, head_only: bool) -> asyncio.Future[tuple[UpstreamResponse, bool]]:
        """Write one request; the future gives its response and whether the connection may be reused."""
        waiter: asyncio.Future[tuple[UpstreamResponse, bool]] = asyncio.get_running_loop().create_future()

        def resolve(result: tuple[UpstreamResponse, bool] | None, error: BaseException | None) -> None:
            if waiter.done():
                return
            if result is None:
                waiter.set_exception(error or UpstreamError("no answer"))
            else:
                waiter.set_result(result)

        self.start(payload, head_only, resolve)
        return waiter

    def fail(self, error: BaseException) -> None:
        """End the exchange in progress with ``error`` and close the connection."""
        self._finish(None, error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _finish(self, result: tuple[UpstreamResponse, bool] | None, error: BaseException | None) -> None:
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(result, error)

    def _advance(self) -> None:
        buffer = self._buffer
        while self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ValueError(f"response head longer than {MAX_HEAD_BYTES} bytes")
                return
            raw = bytes(buffer[:end])
            del buffer[: end + 4]
            self._head = _quick_head(raw) or _parse_head(raw)
        head = self._head
        if self._head_only or head.status in (204, 304):
            body = b""
        elif head.chunked:
            chunked_body = _take_chunked(buffer)
            if chunked_body is None:
                return
            body = chunked_body
        elif head.length is not None:
            if head.length > self.max_body_bytes:
                raise ValueError(f"announced body of {head.length} bytes exceeds {self.max_body_bytes}")
            if len(buffer) < head.length:
                return
            body = bytes(buffer[: head.length])
            del buffer[: head.length]
        else:
            return  # delimited by the upstream closing the connection
        reusable = head.keep_alive and not buffer
        self._finish((UpstreamResponse(head.status, head.headers, body, head.raw), reusable), None)


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
        self._idle: dict[str, list[_Connection]] = defaultdict(list)
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
            except _StaleConnection:
                continue  # the upstream closed an idle keep-alive connection: nothing was processed
        try:
            async with asyncio.timeout_at(deadline):
                connection = await self._connect(origin)
        except TimeoutError as exc:
            raise _timed_out(origin, timeout_sec) from exc
        try:
            return await self._exchange(origin, connection, payload, method, deadline, timeout_sec)
        except _StaleConnection as exc:
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
            if isinstance(error, _StaleConnection):  # closed while idle: try again the usual way
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

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        """Pop the most recently used idle connection to ``origin`` that is still open."""
        idle = self._idle.get(origin.key)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    def _release(self, origin: _Origin, connection: _Connection, reusable: bool) -> None:
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

    async def _connect(self, origin: _Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        context = self._context() if origin.secure else None
        try:
            _, connection = await loop.create_connection(
                lambda: _Connection(self._max_body_bytes), origin.host, origin.port, ssl=context
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
        connection: _Connection,
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
