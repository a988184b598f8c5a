"""One client connection of the data plane's HTTP/1.1 server: httptools' parser under an asyncio protocol.

Requests are parsed whole (head and body), answered in order (pipelining), kept alive, and timed out when
idle or slow to send a head (:mod:`executor.dataplane.http1_deadlines`); a rejection (400, 413, 431, 501) is
answered after the requests before it, then the connection closes. A client's end of stream cancels its
request in progress. Past the server's connection cap, a new connection is answered 503 and closed at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING, cast

import httptools

from executor.dataplane.http1_deadlines import ConnectionDeadlines
from executor.dataplane.http_head import MAX_HEAD_BYTES, canned_response, header_lines
from executor.dataplane.http_messages import Reply, Request, Response, plain_response

if TYPE_CHECKING:
    from executor.dataplane.http1 import Http1Server

__all__ = ["Http1Connection"]

_MAX_PIPELINED = 16  # stop reading from a client that queues more requests than this
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_REFUSED = canned_response(503, "the fault proxy has reached its connection limit; try again later\n")


class Http1Connection(ConnectionDeadlines, asyncio.Protocol):
    """One client connection: parse requests, answer them in order, keep the connection alive."""

    def __init__(self, server: Http1Server) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._queue: deque[tuple[Request, bool] | Response] = deque()
        self._current: Reply | None = None  # the request being answered; the ones behind it wait
        self._dispatching = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_since: float | None = None
        self._head_deadline: float | None = None
        self._paused = False
        self._closing = False
        # the request being parsed
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._rejected = False
        self._continue_pending = False
        self._in_body = False
        self._in_head = False
        self._head_bytes = 0  # bytes received while the head of a request is not complete

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        server = self._server
        if server.max_connections is not None and len(server.connections) >= server.max_connections:
            self._closing = True  # refused; the connections already open keep being served
            self._transport.write(_REFUSED)
            self._transport.close()
            return
        server.connections.add(self)
        self._start_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._server.connections.discard(self)
        self._stop_idle_timer()
        if self._current is not None:
            self._current.cancel()  # the client is gone: nobody waits for the answer
            self._current = None
        self._queue.clear()

    def data_received(self, data: bytes) -> None:
        if self._closing or self._rejected:
            return
        self._idle_since = None
        if not self._in_body:
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(plain_response(501, "protocol upgrades are not supported by the fault proxy\n"))
        except httptools.HttpParserError as exc:
            if not self._rejected:
                self._reject(plain_response(400, f"malformed HTTP request: {exc}\n"))
        if not self._in_body and self._head_bytes > MAX_HEAD_BYTES and not self._rejected:
            self._reject(plain_response(431, f"request head exceeds {MAX_HEAD_BYTES} bytes\n"))
        if self._current is None and self._queue:
            self._next()
        if self._current is None and not self._closing:
            self._arm_idle_timer()  # part of a request: a client that stalls mid-request is timed out too
            if self._in_head and self._head_deadline is None:
                self._await_head()  # a head split across reads, begun while idle: the rare case

    # -- httptools callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._in_head = False
        self._head_deadline = None
        self._head_bytes = 0
        expected = 0
        expects_continue = False
        for name, value in self._headers:
            lower = name.lower()
            if lower == "content-length" and value.strip().isdigit():
                expected = int(value)
            elif lower == "expect" and value.strip().lower() == "100-continue":
                expects_continue = True
        if expected > self._server.max_body_bytes:
            self._reject(self._too_large())
            raise httptools.HttpParserError("body too large")  # stops the parser; nothing more is read
        if expects_continue and expected and self._transport is not None:
            if self._current is None and not self._queue:
                self._transport.write(_CONTINUE)
            else:  # an earlier request is still being answered: the interim answer must follow it
                self._continue_pending = True

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self._server.max_body_bytes:
            self._reject(self._too_large())
            raise httptools.HttpParserError("body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._parser.should_upgrade():
            return  # feed_data raises HttpParserUpgrade next, which answers 501
        url = self._url.decode("latin-1")
        path, _, query = url.partition("?")
        request = Request(
            method=self._parser.get_method().decode("latin-1"),
            path=path,
            query=query,
            headers=self._headers,
            body=b"".join(self._body),
            version=self._parser.get_http_version(),
        )
        self._enqueue((request, self._parser.should_keep_alive()))
        if len(self._queue) >= _MAX_PIPELINED and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    # -- answering

    def _too_large(self) -> Response:
        return plain_response(413, f"request body exceeds {self._server.max_body_bytes} bytes\n")

    def _reject(self, response: Response) -> None:
        """Answer ``response`` after the requests already queued, then close the connection."""
        self._rejected = True
        self._enqueue(response)

    def _enqueue(self, item: tuple[Request, bool] | Response) -> None:
        self._queue.append(item)  # dispatched once the parser has consumed the data (see data_received)

    def _next(self) -> None:
        """Hand queued requests to the handler, one at a time, for as long as they are answered at once."""
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue and self._current is None and not self._closing:
                item = self._queue.popleft()
                if isinstance(item, Response):  # a rejection: answer it, then close
                    self._write(item, "1.1", keep_alive=False, head=False)
                    self._close()
                    return
                request, keep_alive = item
                reply = Reply(self, request, keep_alive)
                self._current = reply
                try:
                    self._server.handler(request, reply)
                except Exception as exc:  # a handler bug must not take the connection's other requests down
                    reply.fail(exc)
        finally:
            self._dispatching = False
        if self._current is None and not self._closing:
            self._idle()

    def answered(self, reply: Reply, response: Response) -> None:
        """Write the answer to the request in progress, then go on with the next one."""
        if reply is not self._current or self._closing:
            return
        self._current = None
        request = reply.request
        keep_alive = reply.keep_alive and not self._server.stopping
        self._write(response, request.version, keep_alive, request.method == "HEAD")
        if not keep_alive:
            self._close()
            return
        if self._paused and len(self._queue) < _MAX_PIPELINED // 2 and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        if self._queue:
            self._next()
        elif not self._dispatching:
            self._idle()

    def _idle(self) -> None:
        if self._continue_pending and self._transport is not None and not self._queue:
            self._continue_pending = False
            self._transport.write(_CONTINUE)
        self._arm_idle_timer()
        if self._in_head and self._head_deadline is None:
            self._await_head()  # a pipelined head waited for this answer: its time starts now

    def _write(self, response: Response, version: str, keep_alive: bool, head: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        headers = response.headers
        if response.raw_head:
            if keep_alive and version != "1.0":
                transport.write(b"%b\r\n\r\n%b" % (response.raw_head, b"" if head else response.body))
                return
            headers = header_lines(response.raw_head)
        status = response.status
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"]
        has_date = False
        head_length: str | None = None
        for name, value in headers:
            lower = name.lower()
            if lower in _FRAMING:
                if head and lower == "content-length":
                    head_length = value  # a HEAD answer announces the length a GET would have
                continue
            has_date = has_date or lower == "date"
            lines.append(f"{name}: {value}\r\n")
        if not has_date:
            lines.append(f"Date: {self._server.date.value()}\r\n")
        has_body = status >= 200 and status not in (204, 304)
        if has_body:
            lines.append(f"Content-Length: {head_length or len(response.body)}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        elif version == "1.0":
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        head_bytes = "".join(lines).encode("latin-1")
        send_body = has_body and not head and response.body
        transport.write(head_bytes + response.body if send_body else head_bytes)

    def _close(self) -> None:
        self._closing = True
        self._stop_idle_timer()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    @property
    def busy(self) -> bool:
        return self._current is not None

    def close_if_idle(self) -> None:
        """Close now unless a request is being answered (that one closes when done)."""
        if not self.busy:
            self._close()

    def abort(self) -> None:
        """Cancel the request in progress and drop the connection."""
        if self._current is not None:
            self._current.cancel()
            self._current = None
        if self._transport is not None:
            self._transport.abort()
