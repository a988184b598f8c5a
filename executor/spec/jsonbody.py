"""Strict JSON for family B/C bodies, and the nesting scan the policy API's Go-style decoder shares.

Python's ``json`` accepts what an HTTP API should not, and fails in ways that became 500s: ``NaN`` and
``Infinity``, ``1e999`` (read as infinity), integers of thousands of digits (``int()`` refuses more than
4,300), nesting deeper than the interpreter's recursion limit, duplicate keys (the last one silently wins),
lone surrogate escapes (``"\\ud800"``, which no UTF-8 reply can carry), a byte order mark, and bodies that
are not UTF-8 at all (UTF-16 is auto-detected). :func:`parse_object` refuses all of them with a reason.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["MAX_DEPTH", "JsonBodyError", "depth_exceeded", "parse_object"]

MAX_DEPTH = 64  # a B/C body nests 3 levels; its free-form ``load.body`` gets the rest
_MAX_INT_DIGITS = 19  # int64, as everything the API counts is
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBodyError(Exception):
    """A body that is not one strict JSON object; the message says why."""


def depth_exceeded(raw: bytes, limit: int) -> str | None:
    """Return the bracket (``[`` or ``{``) at which ``raw`` nests deeper than ``limit``, or None.

    A linear scan that ignores brackets inside strings; it runs before parsing, so that no parser recurses
    into a body like 100,000 ``[``.
    """
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return chr(byte)
        else:
            depth -= 1
    return None


def _int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits <= _MAX_INT_DIGITS:
        value = int(literal)
        if -(2**63) <= value < 2**63:
            return value
    shown = literal if len(literal) <= 30 else f"{literal[:20]}... ({digits} digits)"
    raise JsonBodyError(f"integer {shown} is out of the 64-bit range")


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        shown = literal if len(literal) <= 30 else literal[:20] + "..."
        raise JsonBodyError(f"number {shown} is out of range")
    return value


def _constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonBodyError(f"duplicate key {json.dumps(key)}")
        out[key] = value
    return out


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates anywhere (iteratively: the depth is bounded, but a stack is cheaper)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise JsonBodyError("string holds a lone surrogate escape (not a Unicode character)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_object(raw: bytes) -> dict[str, Any]:
    """Parse ``raw`` as one strict JSON object; raise JsonBodyError with the reason otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonBodyError(f"body is not valid UTF-8 (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        raise JsonBodyError("body starts with a byte order mark")
    if not text.strip():
        raise JsonBodyError("body is empty; expected a JSON object")
    if depth_exceeded(raw, MAX_DEPTH) is not None:
        raise JsonBodyError(f"body nests deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object
        )
    except json.JSONDecodeError as exc:
        raise JsonBodyError(f"malformed JSON: {exc}") from exc
    except RecursionError as exc:  # not expected after the depth scan; never a 500 either way
        raise JsonBodyError(f"body nests deeper than {MAX_DEPTH} levels") from exc
    if not isinstance(body, dict):
        raise JsonBodyError("body must be a JSON object")
    _check_strings(body)
    return body
