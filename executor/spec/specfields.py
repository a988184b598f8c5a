"""Readers of family B/C body fields: each checks one field and raises FaultSpecError naming it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from executor.model.header_names import PARENT_HEADER, TRACE_HEADER
from executor.model.patterns import PatternError, compile_pattern
from executor.model.rules import HeaderMatch, MatchKind, StringMatch
from executor.model.wire_syntax import control_char, describe_char, is_token

__all__ = [
    "METHODS",
    "FaultSpecError",
    "HeaderSpec",
    "ObserveSpec",
    "check_api",
    "no_control",
    "read_headers",
    "read_int",
    "read_load_headers",
    "read_method",
    "read_observe",
    "read_str",
    "refuse_unknown",
]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_MATCHERS = tuple(kind.value for kind in MatchKind)
_OBSERVE_FIELDS = ("service", "api", "method")
# Headers the load driver's client writes itself (framing, the connection, tracing): one set in a body would
# be sent twice, and two Content-Length or Transfer-Encoding headers are how requests get smuggled.
_DRIVER_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"}
    | {"expect", "proxy-connection", TRACE_HEADER, PARENT_HEADER}
)


class FaultSpecError(Exception):
    """An invalid apply body; ``field`` names the offending field (a dotted path, e.g. ``load.rate_rps``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def refuse_unknown(body: dict[str, Any], allowed: Iterable[str], *, prefix: str = "") -> None:
    """Raise FaultSpecError for the first key of ``body`` not in ``allowed``: nothing is silently dropped."""
    known = set(allowed)
    for key in body:
        if key not in known:
            field = f"{prefix}{key}"
            raise FaultSpecError(
                f"unknown field {field}; known here: {', '.join(sorted(known))}", field=field
            )


def read_int(
    body: dict[str, Any], key: str, *, field: str, low: int, high: int, required: bool
) -> int | None:
    """Return the integer at ``key`` (None when absent), or raise unless it is an int in [low, high]."""
    if key not in body or body[key] is None:
        if required:
            raise FaultSpecError(f"{field} is required", field=field)
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultSpecError(f"{field} must be an integer, got {json.dumps(value)[:40]}", field=field)
    if not low <= value <= high:
        raise FaultSpecError(f"{field} must be between {low} and {high}, got {value}", field=field)
    return value


def read_str(body: dict[str, Any], key: str, *, field: str, required: bool) -> str | None:
    """Return the string at ``key`` (None when absent), or raise unless it is one (non-empty if required)."""
    value = body.get(key)
    if value is None:
        if required:
            raise FaultSpecError(f"{field} is required", field=field)
        return None
    if not isinstance(value, str) or (required and not value):
        raise FaultSpecError(f"{field} must be a non-empty string", field=field)
    return value


def no_control(value: str, *, field: str, allow_tab: bool = False) -> str:
    """Return ``value``, or raise if it holds a control character (CR, LF, NUL, ...; tab when allowed)."""
    char = control_char(value, allow_tab=allow_tab)
    if char is not None:
        raise FaultSpecError(
            f"{field} must not contain control characters, found {describe_char(char)}", field=field
        )
    return value


def check_api(api: str, field: str = "api") -> None:
    """Raise unless ``api`` is a path that may stand on a request line: ``/`` then visible ASCII only."""
    if not api.startswith("/"):
        raise FaultSpecError(f"{field} must be a path starting with '/'", field=field)
    no_control(api, field=field)
    if any(not "!" <= char <= "~" for char in api):  # no space, no raw UTF-8: percent-encode them
        raise FaultSpecError(f"{field} must be visible ASCII (percent-encode anything else)", field=field)


def read_method(value: str | None, field: str) -> str | None:
    """Return the upper-cased HTTP method, or raise unless it is one the executor drives."""
    if value is None:
        return None
    if value.upper() not in METHODS:
        raise FaultSpecError(f"{field} must be one of {sorted(METHODS)}, got {value!r}", field=field)
    return value.upper()


@dataclass(frozen=True)
class HeaderSpec:
    """One planned header matcher: a name (matched case-insensitively) and one of exact, prefix, regex.

    As in family A, an empty value sets no condition on the value: the header only has to be present.
    """

    name: str
    kind: MatchKind
    value: str

    def to_wire(self) -> dict[str, str]:
        """Return the body's form, ``{"name": ..., "exact": ...}``."""
        return {"name": self.name, self.kind.value: self.value}

    def to_match(self) -> HeaderMatch:
        """Return the data plane's matcher (the data plane lower-cases header names)."""
        return HeaderMatch(
            name=self.name.lower(), match=StringMatch.of(self.kind, self.value) if self.value else None
        )


def _header(item: Any, where: str) -> HeaderSpec:
    if not isinstance(item, dict):
        raise FaultSpecError(
            f'{where} must be an object like {{"name": "x-user-id", "exact": "42"}}', field=where
        )
    refuse_unknown(item, ("name", *_MATCHERS), prefix=f"{where}.")
    name = item.get("name")
    if not isinstance(name, str) or not is_token(name):
        raise FaultSpecError(f"{where}.name must be a header name (an HTTP token)", field=f"{where}.name")
    given = [kind for kind in _MATCHERS if kind in item]
    if len(given) != 1:
        raise FaultSpecError(f"{where} needs exactly one of exact, prefix or regex", field=where)
    kind = MatchKind(given[0])
    field = f"{where}.{kind.value}"
    value = item[kind.value]
    if not isinstance(value, str):
        raise FaultSpecError(f"{field} must be a string", field=field)
    no_control(value, field=field, allow_tab=True)
    if kind is MatchKind.REGEX:
        try:
            compile_pattern(value)
        except PatternError as exc:
            raise FaultSpecError(f"{field}: {exc}", field=field) from exc
    return HeaderSpec(name=name, kind=kind, value=value)


def read_headers(value: Any) -> tuple[HeaderSpec, ...]:
    """Return the planned header matchers of ``headers`` (a list; absent or null is none)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FaultSpecError("headers must be a list of header matchers", field="headers")
    return tuple(_header(item, f"headers[{index}]") for index, item in enumerate(value))


def read_load_headers(value: Any) -> tuple[tuple[str, str], ...]:
    """Return the headers the load driver sends, from ``load.headers`` (an object of name to value)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise FaultSpecError("load.headers must be an object of header name to value", field="load.headers")
    headers = []
    for name, item in value.items():
        if not is_token(name):
            raise FaultSpecError(
                f"load.headers: {name!r} is not a header name (an HTTP token)", field="load.headers"
            )
        field = f"load.headers.{name}"
        if name.lower() in _DRIVER_HEADERS:
            raise FaultSpecError(f"{field} is set by the load driver itself", field=field)
        if not isinstance(item, str):
            raise FaultSpecError(f"{field} must be a string", field=field)
        no_control(item, field=field, allow_tab=True)
        if max(item, default="\0") > "\xff":
            raise FaultSpecError(f"{field} must be Latin-1 text (a header value on the wire)", field=field)
        headers.append((name, item))
    return tuple(headers)


@dataclass(frozen=True)
class ObserveSpec:
    """The entry point a fault's load drives and its metrics describe, apart from the fault's own target."""

    service: str
    api: str
    method: str | None = None

    def to_wire(self) -> dict[str, str | None]:
        """Return the body's form, ``{"service": ..., "api": ..., "method": ...}``."""
        return {"service": self.service, "api": self.api, "method": self.method}


def read_observe(value: Any) -> ObserveSpec | None:
    """Return the observed entry point of ``observe`` (an object; absent or null is none)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        example = '{"service": "gateway", "api": "/api/v1/checkout"}'
        raise FaultSpecError(f"observe must be an object like {example}", field="observe")
    refuse_unknown(value, _OBSERVE_FIELDS, prefix="observe.")
    service = read_str(value, "service", field="observe.service", required=True)
    api = read_str(value, "api", field="observe.api", required=True)
    assert service is not None and api is not None
    no_control(service, field="observe.service")
    check_api(api, field="observe.api")
    method = read_method(read_str(value, "method", field="observe.method", required=False), "observe.method")
    return ObserveSpec(service=service, api=api, method=method)
