"""What every control API handler shares: JSON replies, request ids, 404s and body limits."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from executor.spec.gojson import go_marshal

__all__ = [
    "REQUEST_ID",
    "BodyTooLargeError",
    "json_reply",
    "make_middlewares",
    "not_found_reply",
    "read_body",
]

_ID_CHARS = string.ascii_letters + string.digits
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BodyTooLargeError(Exception):
    """A request body above the configured limit."""


def json_reply(body: Any, status: int = 200) -> web.Response:
    """Reply with compact JSON as the Go server writes it."""
    return web.Response(
        status=status, body=go_marshal(body), content_type="application/json", charset="utf-8"
    )


def not_found_reply() -> web.Response:
    """Reply like Go's router does for unknown routes and methods."""
    return web.Response(status=404, body=b"404 page not found", headers={"Content-Type": "text/plain"})


async def read_body(request: web.Request, *, max_bytes: int) -> bytes:
    """Read the whole body; raise BodyTooLargeError above ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyTooLargeError
    chunks = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def make_middlewares(*, rng: random.Random, clock: Callable[[], float] = time.time) -> list[Any]:
    """Return middlewares adding ``X-Request-Id`` and turning router misses into Go-style 404s."""

    def request_id() -> str:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(clock()))
        return f"{stamp}-{''.join(rng.choice(_ID_CHARS) for _ in range(6))}"

    @web.middleware
    async def go_style(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[REQUEST_ID] = request_id()
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            response = not_found_reply()
        except BodyTooLargeError:
            response = json_reply(
                {"error": "request_too_large", "message": "request body exceeds the size limit"}, status=413
            )
        if not response.prepared:
            response.headers["X-Request-Id"] = request[REQUEST_ID]
        return response

    return [go_style]
