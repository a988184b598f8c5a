"""A lean HTTP/1.1 server for the data plane: httptools' parser under an asyncio protocol.

The proxy sits on every request of an experiment, so its own cost is what it adds to the latencies we
report. aiohttp's server builds a request object, a router match, a response object and a payload writer
per request; this server does only what a buffering reverse proxy needs: parse the head and the whole body,
call one handler, write one response. Keep-alive, pipelining (answered in order), ``Expect: 100-continue``,
chunked request bodies, a body limit (413), malformed requests (400) and an idle timeout are handled here;
the handler sees a plain :class:`Request` and answers a plain :class:`Response` through a :class:`Reply`.

A client's end of stream cancels its request in progress: a caller that gives up on a held (delayed) request
must release it at once, so a half-closing client, rare over HTTP/1.1, is treated as gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Protocol, cast

import httptools

__all__ = [
    "AsyncHandler",
    "CallbackHandler",
    "Cancellable",
    "Http1Server",
    "Reply",
    "Request",
    "Response",
    "from_async",
    "header_lines",
]

_log = logging.getLogger(__name__)
_MAX_HEAD_BYTES = 64 * 1024  # request line and headers together
_MAX_PIPELINED = 16  # stop reading from a client that queues more requests than this
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TIMER_SLACK_S = 0.002  # the loop's clock and timers have millisecond resolution
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(slots=True)
class Request:
    """One whole request as received: the raw (not percent-decoded) path and query, headers in order."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    version: str = "1.1"


@dataclass(slots=True)
class Response:
    """What a handler answers; the server adds ``Content-Length``, ``Connection`` and ``Date``.

    Framing headers in ``headers`` are dropped, except a ``Content-Length`` answering a HEAD request.

    ``raw_head``, when given, is a whole HTTP/1.1 status line and headers (without the blank line that ends
    them) whose ``Content-Length`` frames ``body``, as a reverse proxy receives them from its upstream: on a
    keep-alive HTTP/1.1 connection it is written as it is; otherwise its headers take the place of
    ``headers`` and the server frames the answer as usual.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw_head: bytes = b""


AsyncHandler = Callable[[Request], Awaitable[Response]]


class Cancellable(Protocol):
    """Work answering a request that can be called off: a task, a loop timer."""

    def cancel(self) -> object: ...


class Reply:
    """How a handler answers one request: ``send`` once, now or later; ``attach`` work to cancel.

    A handler that answers from within an I/O callback (as the proxy does when it forwards over a pooled
    connection) costs no event-loop hop; one that needs to wait attaches its task, which the server cancels
    if the client goes away first.
    """

    __slots__ = ("_connection", "_task", "done", "keep_alive", "request")

    def __init__(self, connection: _Connection, request: Request, keep_alive: bool) -> None:
        self._connection = connection
        self.request = request
        self.keep_alive = keep_alive
        self.done = False
        self._task: Cancellable | None = None

    def send(self, response: Response) -> None:
        """Write ``response`` (ignored once sent, or when the client is gone)."""
        if not self.done:
            self.done = True
            self._task = None
            self._connection.answered(self, response)

    def attach(self, task: Cancellable) -> None:
        """Cancel ``task`` (a task, or a timer holding the request) if the client goes before the answer."""
        self._task = task

    def answer(self, work: Awaitable[Response]) -> None:
        """Run ``work`` as an attached task and send what it returns (a 500 if it fails)."""

        async def run() -> None:
            try:
                response = await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.fail(exc)
            else:
                self.send(response)

        def close_unstarted(_task: asyncio.Future[None]) -> None:
            if isinstance(work, Coroutine):  # cancelled before it ran: close it, or it warns when collected
                work.close()

        task = asyncio.ensure_future(run())
        task.add_done_callback(close_unstarted)
        self.attach(task)

    def fail(self, exc: Exception) -> None:
        """Log a handler's failure and answer 500: a bug must not leave the client waiting."""
        _log.error("data plane handler failed on %s %s", self.request.method, self.request.path, exc_info=exc)
        self.send(_plain(500, f"internal error in the fault proxy: {type(exc).__name__}\n"))

    def cancel(self) -> None:
        """Stop the attached work; the answer will not be written."""
        self.done = True
        if self._task is not None:
            self._task.cancel()  # a no-op for a task or timer that is already done
        self._task = None


CallbackHandler = Callable[[Request, Reply], None]


def from_async(handler: AsyncHandler) -> CallbackHandler:
    """Adapt ``async def handler(request) -> Response``: each request runs as a task."""

    def dispatch(request: Request, reply: Reply) -> None:
        reply.answer(handler(request))

    return dispatch


def header_lines(raw_head: bytes) -> list[tuple[str, str]]:
    """Return the headers of a raw head (status or request line first, no blank line), in order."""
    headers = []
    for line in raw_head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


def _plain(status: int, message: str) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode())


class _DateHeader:
    """An HTTP date, formatted at most once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def value(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True)
        return self._value


class _Connection(asyncio.Protocol):
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
        self._idle_since: float | None = None  # loop time since when nothing is received or answered
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
        self._head_bytes = 0  # bytes received while the head of a request is not complete

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self._server.connections.add(self)
        self._arm_idle_timer()

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
            self._reject(_plain(501, "protocol upgrades are not supported by the fault proxy\n"))
        except httptools.HttpParserError as exc:
            if not self._rejected:
                self._reject(_plain(400, f"malformed HTTP request: {exc}\n"))
        if not self._in_body and self._head_bytes > _MAX_HEAD_BYTES and not self._rejected:
            self._reject(_plain(431, f"request head exceeds {_MAX_HEAD_BYTES} bytes\n"))
        if self._current is None and self._queue:
            self._next()
        if self._current is None and not self._closing:
            self._arm_idle_timer()  # part of a request: a client that stalls mid-request is timed out too

    # -- httptools callbacks

    def on_message_begin(self) -> None:
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
        return _plain(413, f"request body exceeds {self._server.max_body_bytes} bytes\n")

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

    def _arm_idle_timer(self) -> None:
        """Start the idle period; one timer per connection checks it, instead of a new timer per request."""
        self._idle_since = self._loop.time()
        if self._idle_timer is None:
            self._idle_timer = self._loop.call_at(
                self._idle_since + self._server.keepalive_timeout_s, self._check_idle
            )

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self._closing:
            return
        timeout_s = self._server.keepalive_timeout_s
        if self._idle_since is None:  # a request is being received or answered: look again later
            self._idle_timer = self._loop.call_later(timeout_s, self._check_idle)
        elif self._loop.time() >= self._idle_since + timeout_s - _TIMER_SLACK_S:
            self._close()
        else:
            self._idle_timer = self._loop.call_at(self._idle_since + timeout_s, self._check_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

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


class Http1Server:
    """Serve ``handler`` over HTTP/1.1 on one listening socket.

    Example::

        async def hello(request: Request) -> Response:
            return Response(200, [("Content-Type", "text/plain")], b"hello")

        server = Http1Server(hello, max_body_bytes=1 << 20)
        port = await server.start("127.0.0.1", 0)
        ...
        await server.stop()
    """

    def __init__(
        self,
        handler: AsyncHandler | None = None,
        *,
        max_body_bytes: int,
        keepalive_timeout_s: float = 75.0,
        callback_handler: CallbackHandler | None = None,
    ) -> None:
        if callback_handler is None:
            if handler is None:
                raise ValueError("give a handler or a callback_handler")
            callback_handler = from_async(handler)
        self.handler = callback_handler
        self.max_body_bytes = max_body_bytes
        self.keepalive_timeout_s = keepalive_timeout_s
        self.connections: set[_Connection] = set()
        self.date = _DateHeader()
        self.stopping = False
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port) and return the bound port; OSError if busy."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port, reuse_address=True)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def stop(self, timeout_s: float = 1.0) -> None:
        """Stop listening, let requests in progress finish for up to ``timeout_s``, then drop the rest."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close_if_idle()
        deadline = time.monotonic() + timeout_s
        while any(connection.busy for connection in self.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            connection.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await asyncio.sleep(0)  # let the transports deliver connection_lost
