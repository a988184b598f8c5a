"""The proxy's forward path and the load driver's client: keep-alive HTTP/1.1 with a pool per upstream.

aiohttp's client cost more per request than the proxy's whole server side: on this 2-core machine it held
the proxy to about 1,400 req/s at concurrency 32, against about 3,700 with this pool (see
benchmarks/proxy_overhead.py). Both callers want whole bodies anyway, so a plain request/response exchange
over asyncio streams is all they need."""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["UpstreamError", "UpstreamPool", "UpstreamResponse"]

_MAX_HEAD_BYTES = 64 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached, timed out, or answered with malformed HTTP."""


class _StaleConnection(Exception):
    """A pooled connection was closed by the upstream before it answered; a fresh one may be tried."""


@dataclass(frozen=True)
class UpstreamResponse:
    """Status, headers (in order, repeats kept) and the whole body of an upstream's answer."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


_Key = tuple[str, str, int]


class UpstreamPool:
    """Send requests over pooled keep-alive connections, one idle list per (scheme, host, port).

    Example::

        pool = UpstreamPool()
        response = await pool.request("GET", "http://127.0.0.1:8081/api", [("accept", "*/*")], b"", 5.0)
        await pool.close()
    """

    def __init__(self, *, max_idle_per_host: int = 256) -> None:
        self._idle: dict[_Key, list[_Connection]] = defaultdict(list)
        self._max_idle = max_idle_per_host
        self._closed = False
        self._ssl_context: ssl.SSLContext | None = None

    async def close(self) -> None:
        """Close every idle connection; connections still in use close when their exchange ends."""
        self._closed = True
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
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        payload = "".join(lines).encode("latin-1") + body
        key: _Key = (parts.scheme, host, port)
        try:
            async with asyncio.timeout(timeout_sec):
                return await self._send(key, secure, payload, method)
        except TimeoutError as exc:
            raise UpstreamError(f"upstream {host}:{port} did not answer within {timeout_sec:g} s") from exc

    async def _send(self, key: _Key, secure: bool, payload: bytes, method: str) -> UpstreamResponse:
        idle = self._idle[key]
        while idle:
            pooled = idle.pop()
            if pooled.reader.at_eof() or pooled.writer.is_closing():
                pooled.close()
                continue
            try:
                return await self._exchange(key, pooled, payload, method)
            except _StaleConnection:
                continue  # the upstream closed an idle keep-alive connection: nothing was processed
        _, host, port = key
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=self._context() if secure else None, limit=_MAX_HEAD_BYTES
            )
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {host}:{port}: {exc}") from exc
        try:
            return await self._exchange(key, _Connection(reader, writer), payload, method)
        except _StaleConnection as exc:
            raise UpstreamError(f"upstream {host}:{port} closed the connection without answering") from exc

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def _exchange(
        self, key: _Key, connection: _Connection, payload: bytes, method: str
    ) -> UpstreamResponse:
        keep = False
        try:
            try:
                connection.writer.write(payload)
                await connection.writer.drain()
            except ConnectionError as exc:
                raise _StaleConnection from exc
            status, headers, length, chunked, reusable = await _read_head(connection.reader)
            if method == "HEAD" or status in (204, 304):
                body = b""
            elif chunked:
                body = await _read_chunked(connection.reader)
            elif length is not None:
                body = await connection.reader.readexactly(length)
            else:
                body = await connection.reader.read()  # delimited by the upstream closing the connection
                reusable = False
            keep = reusable  # only a connection whose whole answer was read may serve another request
            return UpstreamResponse(status, headers, body)
        except _StaleConnection:
            raise
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as exc:
            raise UpstreamError(f"malformed or incomplete upstream response: {exc!r}") from exc
        finally:
            # A cancelled or failed exchange leaves the connection in an unknown state: never reuse it.
            if keep and not self._closed and len(self._idle[key]) < self._max_idle:
                self._idle[key].append(connection)
            else:
                connection.close()


async def _read_head(
    reader: asyncio.StreamReader,
) -> tuple[int, list[tuple[str, str]], int | None, bool, bool]:
    """Read one final response head (1xx interim answers are skipped)."""
    first = True
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if first and not exc.partial:
                raise _StaleConnection from exc
            raise
        first = False
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(rest[:3])
        if 100 <= status < 200:
            continue
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        keep_alive = version != "HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            lower = name.lower()
            if lower == "content-length":
                length = int(value)
            elif lower == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif lower == "connection":
                keep_alive = "close" not in value.lower() and (
                    version != "HTTP/1.0" or "keep-alive" in value.lower()
                )
            headers.append((name, value))
        return status, headers, length, chunked, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
