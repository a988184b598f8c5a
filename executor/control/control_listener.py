"""The control API's listener: aiohttp's protocol, plus a request-head deadline and a connection cap.

aiohttp (3.14, ``web_protocol.py``) bounds only the wait for a request: ``keepalive_timeout`` closes a
connection whose handler is waiting for the next message, counted from the connection's start or the end of
the last response, whether part of a head came meanwhile or not. It has no deadline of its own for a head
(no server-side read timeout; ``timeout_ceil_threshold`` only rounds timeouts up), and ``web.Server``
admits every connection. So the least code is one more timer on aiohttp's own protocol:
:class:`GuardedHandler`, a ``web.RequestHandler`` armed at the connection's start and at the first byte that
arrives while it waits for a request (its private ``_waiter`` is pending), and cancelled once the parser has
queued the whole head (its private ``_messages``); when the timer fires, a 408 is answered if part of a head
came, and the connection is closed. The tests in ``tests/executor/test_limits.py`` pin those two attributes.

:class:`GuardedSite` listens with that protocol (a ``web.BaseSite``, so the runner still shuts its
connections down) and, past ``max_connections`` open ones, answers a new connection 503 and closes it at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from executor.dataplane.http_head import canned_response

__all__ = ["ControlLimits", "GuardedHandler", "GuardedSite"]

_JSON = "application/json"
_REFUSED = canned_response(
    503,
    '{"error":"too_many_connections","message":"the control API has reached its connection limit"}',
    _JSON,
)
_HEAD_TIMEOUT = canned_response(
    408, '{"error":"request_timeout","message":"the request head did not arrive in time"}', _JSON
)


@dataclass(frozen=True)
class ControlLimits:
    """How long a head may take and a connection may idle, and how many connections may be open."""

    head_timeout_s: float = 10.0
    idle_timeout_s: float = 60.0
    max_connections: int = 4096


class GuardedHandler(web.RequestHandler):
    """aiohttp's request handler plus a request-head deadline: one connection of a :class:`GuardedSite`."""

    def __init__(
        self, manager: web.Server, *, site: GuardedSite, loop: asyncio.AbstractEventLoop, **kwargs: Any
    ) -> None:
        super().__init__(manager, loop=loop, keepalive_timeout=site.limits.idle_timeout_s, **kwargs)
        self._site = site
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_begun = False
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        site = self._site
        if len(site.connections) >= site.limits.max_connections:
            self._refused = True  # the connections already open keep being served
            cast(asyncio.Transport, transport).write(_REFUSED)  # uvloop's transports do not subclass it
            transport.close()
            return
        site.connections.add(self)
        super().connection_made(transport)
        self._arm_head_timer(begun=False)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        self._site.connections.discard(self)
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if data and self._head_timer is None and self._waiter is not None and not self._waiter.done():
            self._arm_head_timer(begun=True)  # a request begins after an idle period
        elif data and self._head_timer is not None:
            self._head_begun = True
        super().data_received(data)
        if self._head_timer is not None and self._messages:
            self._cancel_head_timer()  # the whole head came

    def _arm_head_timer(self, *, begun: bool) -> None:
        self._head_begun = begun
        self._head_timer = self._loop.call_later(self._site.limits.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._messages or self.transport is None:
            return
        if self._head_begun:
            self.transport.write(_HEAD_TIMEOUT)
        self.force_close()


class GuardedSite(web.BaseSite):
    """Listen on ``host:port`` for an ``AppRunner`` with :class:`GuardedHandler` connections.

    Example::

        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await GuardedSite(runner, "127.0.0.1", 0, limits=ControlLimits(max_connections=256)).start()
    """

    __slots__ = ("_host", "_port", "connections", "limits")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, limits: ControlLimits) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self.limits = limits
        self.connections: set[GuardedHandler] = set()

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        """Start listening (OSError if the port is taken)."""
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            lambda: GuardedHandler(server, site=self, loop=loop, access_log=None),
            self._host,
            self._port,
            reuse_address=True,
        )
