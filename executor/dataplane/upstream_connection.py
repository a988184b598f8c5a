"""One upstream connection: a bare asyncio protocol that writes a request and buffers its whole answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from executor.dataplane.http_head import MAX_HEAD_BYTES
from executor.dataplane.upstream_response import (
    ResponseHead,
    UpstreamError,
    UpstreamResponse,
    parse_head,
    quick_head,
    take_chunked,
)

__all__ = ["OnDone", "StaleConnection", "UpstreamConnection"]


class StaleConnection(Exception):
    """A pooled connection was closed by the upstream before it answered; a fresh one may be tried."""


# Called once per exchange: (the response, whether the connection may be reused), or an error.
OnDone = Callable[[tuple[UpstreamResponse, bool] | None, BaseException | None], None]


class UpstreamConnection(asyncio.Protocol):
    """One upstream connection: send a request, buffer its answer, resolve a future when it is whole."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._on_done: OnDone | None = None
        self._head: ResponseHead | None = None
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
            self._finish(None, StaleConnection())
        else:
            self._finish(None, UpstreamError("upstream closed the connection in the middle of its answer"))

    def start(self, payload: bytes, head_only: bool, on_done: OnDone) -> None:
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
            self._head = quick_head(raw) or parse_head(raw)
        head = self._head
        if self._head_only or head.status in (204, 304):
            body = b""
        elif head.chunked:
            chunked_body = take_chunked(buffer)
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
