"""The checks every name on the wire gets: services, API paths, HTTP methods and header names.

`FaultPlan` (the fault's target) and `Observe` (the observed entry point) use the same ones, so an entry
point is refused for exactly what a target would be.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = [
    "ApiPath",
    "HttpMethod",
    "ServiceName",
    "check_api",
    "check_header_name",
    "check_method",
    "check_service",
    "no_control_characters",
]

_HTTP_METHOD = re.compile(r"[A-Z]+")
_HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: 1*tchar


def no_control_characters(value: str, what: str) -> str:
    """Return ``value``, or raise naming ``what`` if it holds a control character (C0, DEL, C1).

    These strings end up in request lines, headers and policy matchers: a CR or LF would split one.
    """
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            raise ValueError(
                f"{what} must not contain control characters (CR, LF, tab, DEL...): "
                f"found {char!r} at position {position}"
            )
    return value


def check_service(value: str) -> str:
    """Return a service name that is not blank and has no control characters."""
    if not value.strip():
        raise ValueError("service must not be blank")
    return no_control_characters(value, "service")


def check_api(value: str) -> str:
    """Return an API path that starts with '/' and has no control characters."""
    if not value.startswith("/"):
        raise ValueError("api must start with '/'")
    return no_control_characters(value, "api")


def check_method(value: str | None) -> str | None:
    """Return an HTTP method upper-cased (None or '' mean any method)."""
    if value is None or value == "":
        return None
    upper = no_control_characters(value, "method").upper()
    if not _HTTP_METHOD.fullmatch(upper):
        raise ValueError("method must be an HTTP method such as GET or POST")
    return upper


def check_header_name(value: str) -> str:
    """Return a header name that is an RFC 9110 token."""
    no_control_characters(value, "header name")
    if not _HTTP_TOKEN.fullmatch(value):
        raise ValueError(
            f"header name {value!r} is not an HTTP token (RFC 9110: letters, digits and !#$%&'*+-.^_`|~ only)"
        )
    return value


ServiceName = Annotated[str, Field(min_length=1), AfterValidator(check_service)]
ApiPath = Annotated[str, Field(min_length=1), AfterValidator(check_api)]
HttpMethod = Annotated[str | None, AfterValidator(check_method)]  # None or '' mean any method
