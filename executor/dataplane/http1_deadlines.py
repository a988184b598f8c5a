"""The one timer of a data-plane connection: its idle (keep-alive) timeout and its request-head deadline.

A connection with nothing in progress closes after the idle timeout (also between the reads of a request
that stalls). A request head must also arrive whole within the head timeout (HAProxy's ``timeout
http-request``), counted from the connection's start, from the first byte of a head that follows an idle
period, or from the end of the answer a pipelined head waited for; past it, a 408 is answered if part of a
head came, and the connection closes. Trickling a head byte by byte does not extend it. A head that arrives
in one read, the usual case, arms nothing: the hot path pays for no timer per request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from executor.dataplane.http_head import canned_response

if TYPE_CHECKING:
    from executor.dataplane.http1 import Http1Server

__all__ = ["ConnectionDeadlines"]

_TIMER_SLACK_S = 0.002  # the loop's clock and timers have millisecond resolution
_HEAD_TIMEOUT = canned_response(408, "the request head did not arrive in time\n")


class ConnectionDeadlines:
    """The timer bookkeeping of :class:`~executor.dataplane.http1_protocol.Http1Connection`."""

    _server: Http1Server
    _loop: asyncio.AbstractEventLoop
    _transport: asyncio.Transport | None
    _closing: bool
    _in_head: bool  # part of a head is parsed, not all of it
    _idle_timer: asyncio.TimerHandle | None
    _idle_since: float | None  # loop time since when nothing is received or answered
    _head_deadline: float | None  # loop time by which the head being awaited must be whole

    def _close(self) -> None:
        raise NotImplementedError

    def _start_timer(self) -> None:
        """Start a new connection's idle period and its first head's deadline, on one timer."""
        server = self._server
        now = self._idle_since = self._loop.time()
        self._head_deadline = now + server.head_timeout_s
        due = min(self._head_deadline, now + server.keepalive_timeout_s)
        self._idle_timer = self._loop.call_at(due, self._check_idle)

    def _arm_idle_timer(self) -> None:
        """Start the idle period; one timer per connection checks it, instead of a new timer per request."""
        self._idle_since = self._loop.time()
        if self._idle_timer is None:
            self._idle_timer = self._loop.call_at(
                self._idle_since + self._server.keepalive_timeout_s, self._check_idle
            )

    def _await_head(self) -> None:
        """Start the deadline of a head begun while nothing was in progress (or waiting for an answer)."""
        due = self._head_deadline = self._loop.time() + self._server.head_timeout_s
        timer = self._idle_timer
        if timer is None or timer.when() > due:
            if timer is not None:
                timer.cancel()
            self._idle_timer = self._loop.call_at(due, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self._closing:
            return
        timeout_s = self._server.keepalive_timeout_s
        if self._idle_since is None:  # a request is being received or answered: look again later
            self._idle_timer = self._loop.call_later(timeout_s, self._check_idle)
            return
        now = self._loop.time()
        idle_due = self._idle_since + timeout_s
        head_due = self._head_deadline
        if head_due is not None and now >= head_due - _TIMER_SLACK_S:
            if self._in_head and self._transport is not None:
                self._transport.write(_HEAD_TIMEOUT)
            self._close()
        elif now >= idle_due - _TIMER_SLACK_S:
            self._close()
        else:
            due = idle_due if head_due is None else min(idle_due, head_due)
            self._idle_timer = self._loop.call_at(due, self._check_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
