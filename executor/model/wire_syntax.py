"""What may reach the HTTP wire: header names that are tokens, values without control characters.

A value from a control API body that ends up in a request head (a path, a method, a header the load driver
sends) or in a matcher of one must not hold CR or LF, which would split the head and smuggle headers or a
whole request to the upstream, nor any other control character, which an HTTP parser refuses or
misreads. Header values may hold a horizontal tab (RFC 9110 field values do).
"""

from __future__ import annotations

import re

__all__ = ["control_char", "describe_char", "is_token"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: what a method and header name are


def control_char(text: str, *, allow_tab: bool = False) -> str | None:
    """Return the first control character (below 0x20, or 0x7f) in ``text``, or None; tab may be allowed."""
    found = (_CONTROL_BUT_TAB if allow_tab else _CONTROL).search(text)
    return found.group() if found else None


def is_token(text: str) -> bool:
    """Tell whether ``text`` is an HTTP token (a valid method or header name)."""
    return _TOKEN.fullmatch(text) is not None


def describe_char(char: str) -> str:
    """Name a character for an error message, e.g. ``U+000D``."""
    return f"U+{ord(char):04X}"
