"""Who may drive the control API: the Host, Origin, bearer-token and Content-Type checks.

Each refusal answers in the JSON error shape of the family the path belongs to, before any handler runs (so
before any body is read, parsed or stored):

- 421 ``misdirected_request``: a ``Host`` that is not one of the executor's names (DNS rebinding);
- 403 ``forbidden_origin``: an ``Origin`` that is not the executor's own (a web page driving the API);
- 401 ``unauthorized``: a missing, malformed or wrong bearer token, when a token is configured;
- 415 ``unsupported_media_type``: a POST, PUT or PATCH whose body is not ``application/json``.

The health probes (``/health``, ``/v1/health``, ``/v1/ready``) reveal nothing and stay open to all.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from yarl import URL

from executor.control.api_common import json_reply
from executor.control.host_names import LOOPBACK_NAMES, is_loopback_host, split_host_header

__all__ = ["OPEN_PATHS", "ControlGuard"]

OPEN_PATHS = frozenset({"/health", "/v1/health", "/v1/ready"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FAMILY_A = ("/v1/policies", "/v1/config/stream")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSPECIFIED = frozenset({"0.0.0.0", "::", ""})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refusal(request: web.Request, status: int, code: str, message: str, field: str) -> web.Response:
    """Reply in the family's shape: family A's Go errors carry no ``details``, B's and C's name the field."""
    body: dict[str, Any] = {"error": code, "message": message}
    if not request.path.startswith(_FAMILY_A):
        body["details"] = {"field": field}
    return json_reply(body, status=status)


class ControlGuard:
    """The control API's aiohttp middleware: Host, Origin, token and Content-Type checks, in that order.

    Example::

        guard = ControlGuard(bound_host="127.0.0.1", token=None, allowed_hosts=())
        app = web.Application(middlewares=[guard.middleware])
    """

    def __init__(self, *, bound_host: str, token: str | None, allowed_hosts: Iterable[str]) -> None:
        self._token = token.encode() if token is not None else None
        extra = frozenset(allowed_hosts)
        self._allowed_origin_hosts = extra
        bound = bound_host.strip("[]").lower()
        if is_loopback_host(bound_host) or extra:
            names = LOOPBACK_NAMES | extra
            self._hosts: frozenset[str] | None = names | (frozenset({bound}) - _UNSPECIFIED)
        else:
            self._hosts = None  # off loopback, without allowed hosts, any Host may reach us
        self.middleware = self._make_middleware()

    def __repr__(self) -> str:
        return f"ControlGuard(token={'set' if self._token else 'unset'}, hosts={self._hosts})"

    def _make_middleware(self) -> Any:
        @web.middleware
        async def control_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            refused = self.check(request)
            return refused if refused is not None else await handler(request)

        return control_guard

    def check(self, request: web.Request) -> web.Response | None:
        """Return the refusal of ``request``, or None when it may go on to its handler."""
        if request.path in OPEN_PATHS:
            return None
        return (
            self._check_host(request)
            or self._check_origin(request)
            or self._check_token(request)
            or self._check_content_type(request)
        )

    def _check_host(self, request: web.Request) -> web.Response | None:
        if self._hosts is None:
            return None
        parsed = split_host_header(request.headers.get("Host", ""))
        if parsed is not None and parsed[0] in self._hosts:
            return None
        message = "this Host is not one of the executor's names; allow a name with --allowed-host"
        return _refusal(request, 421, "misdirected_request", message, "Host")

    def _check_origin(self, request: web.Request) -> web.Response | None:
        origin = request.headers.get("Origin")
        if origin is None or self._is_own_origin(request, origin):
            return None
        message = "cross-origin requests to the control API are refused"
        return _refusal(request, 403, "forbidden_origin", message, "Origin")

    def _is_own_origin(self, request: web.Request, origin: str) -> bool:
        parsed_host = split_host_header(request.headers.get("Host", ""))
        try:
            url = URL(origin)
            host = (url.host or "").strip("[]").lower()
            if not url.scheme or not host or url.path not in ("", "/") or url.query_string:
                return False
            if host in self._allowed_origin_hosts:
                return True
            if parsed_host is None:
                return False
            name, port = parsed_host
            own_port = port if port is not None else _DEFAULT_PORTS.get(request.scheme)
            return (url.scheme, host, url.port) == (request.scheme, name, own_port)
        except ValueError:
            return False

    def _check_token(self, request: web.Request) -> web.Response | None:
        if self._token is None:
            return None
        header = request.headers.get("Authorization")
        scheme, _, credentials = (header or "").partition(" ")
        credentials = credentials.strip(" ")
        if header is None:
            message = "a bearer token is required: send Authorization: Bearer <token>"
        elif scheme.lower() != "bearer" or not credentials:
            message = "the Authorization header must be: Bearer <token>"
        else:
            try:
                given = credentials.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                given = b""
            if hmac.compare_digest(given, self._token):
                return None
            response = _refusal(
                request, 401, "unauthorized", "the bearer token is not valid", "Authorization"
            )
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        response = _refusal(request, 401, "unauthorized", message, "Authorization")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def _check_content_type(self, request: web.Request) -> web.Response | None:
        if request.method not in _BODY_METHODS or request.match_info.http_exception is not None:
            return None  # no body to read, or no such route: the router answers (Go's 404)
        if "Content-Type" in request.headers and request.content_type == "application/json":
            return None
        message = "the request body must be JSON, sent with Content-Type: application/json"
        return _refusal(request, 415, "unsupported_media_type", message, "Content-Type")
