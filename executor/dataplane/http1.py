"""A lean HTTP/1.1 server for the data plane: httptools' parser under an asyncio protocol.

The proxy sits on every request of an experiment, so its own cost is what it adds to the latencies we
report. aiohttp's server builds a request object, a router match, a response object and a payload writer
per request; this server does only what a buffering reverse proxy needs: parse the head and the whole body,
call one handler, write one response. Keep-alive, pipelining (answered in order), ``Expect: 100-continue``,
chunked request bodies, a body limit (413), malformed requests (400), an idle timeout, a request-head
deadline (408) and a connection cap (503) are handled here; the handler sees a plain :class:`Request` and
answers a plain :class:`Response` through a :class:`Reply` (all three in
:mod:`executor.dataplane.http_messages`).

A client's end of stream cancels its request in progress: a caller that gives up on a held (delayed) request
must release it at once, so a half-closing client, rare over HTTP/1.1, is treated as gone.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

from executor.dataplane.http1_protocol import Http1Connection
from executor.dataplane.http_messages import AsyncHandler, CallbackHandler, from_async

__all__ = ["Http1Server"]


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


class Http1Server:
    """Serve ``handler`` over HTTP/1.1 on one listening socket.

    A connection closes after ``keepalive_timeout_s`` with nothing in progress, or when a request head takes
    longer than ``head_timeout_s`` to arrive; past ``max_connections`` open ones (None: no cap), a new
    connection is answered 503 and closed.

    Example::

        async def hello(request: Request) -> Response:
            return Response(200, [("Content-Type", "text/plain")], b"hello")

        server = Http1Server(hello, max_body_bytes=1 << 20, head_timeout_s=10, max_connections=1024)
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
        head_timeout_s: float = 10.0,
        max_connections: int | None = None,
        callback_handler: CallbackHandler | None = None,
    ) -> None:
        if callback_handler is None:
            if handler is None:
                raise ValueError("give a handler or a callback_handler")
            callback_handler = from_async(handler)
        self.handler = callback_handler
        self.max_body_bytes = max_body_bytes
        self.keepalive_timeout_s = keepalive_timeout_s
        self.head_timeout_s = head_timeout_s
        self.max_connections = max_connections
        self.connections: set[Http1Connection] = set()
        self.date = _DateHeader()
        self.stopping = False
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port) and return the bound port; OSError if busy."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Http1Connection(self), host, port, reuse_address=True)
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
