"""What a data-plane handler sees and answers: a whole :class:`Request`, a :class:`Response`, a ``Reply``.

The HTTP/1.1 server (:mod:`executor.dataplane.http1`) parses requests into these and writes the responses;
a handler needs nothing else from it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Answerer",
    "AsyncHandler",
    "CallbackHandler",
    "Cancellable",
    "Reply",
    "Request",
    "Response",
    "from_async",
    "plain_response",
]

_log = logging.getLogger(__name__)


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


class Answerer(Protocol):
    """The connection a :class:`Reply` writes its answer to."""

    def answered(self, reply: Reply, response: Response) -> None: ...


class Reply:
    """How a handler answers one request: ``send`` once, now or later; ``attach`` work to cancel.

    A handler that answers from within an I/O callback (as the proxy does when it forwards over a pooled
    connection) costs no event-loop hop; one that needs to wait attaches its task, which the server cancels
    if the client goes away first.
    """

    __slots__ = ("_connection", "_task", "done", "keep_alive", "request")

    def __init__(self, connection: Answerer, request: Request, keep_alive: bool) -> None:
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
        self.send(plain_response(500, f"internal error in the fault proxy: {type(exc).__name__}\n"))

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


def plain_response(status: int, message: str) -> Response:
    """Return a plain-text answer the data plane writes itself (an error, a refusal)."""
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode())
