"""Matching traffic for a header match: the value the load driver and the probe send, and how often.

A plan that matches ``x-canary: yes`` hits nothing unless its traffic carries that header. The value sent is

- ``exact``: the value itself;
- ``prefix``: the prefix followed by ``MATCH_SUFFIX``;
- ``regex``: the header's ``send_value`` when given, else a value built from the pattern by
  `value_for_regex` (below) and checked with an unanchored search. A pattern it cannot build a value for
  (lookarounds, back-references, classes it cannot satisfy) is refused with a message asking for
  ``send_value``.

`carries_match` spreads the plan's ``matching_traffic_pct`` evenly over the requests, the same rule as the
embedded executor's load driver (``load.headers_pct``), so no random source is needed.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own regex parser: the structure of a pattern, not a guess
from re._constants import MAXREPEAT
from typing import Any

__all__ = ["MATCH_SUFFIX", "carries_match", "value_for_regex"]

MATCH_SUFFIX = "boifi"
_PRINTABLE = [chr(c) for c in range(0x21, 0x7F)]  # visible ASCII: what a header value may safely hold
_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}


class _CannotBuild(Exception):
    """The pattern uses a construct `value_for_regex` does not build values for."""


def carries_match(index: int, share_pct: int) -> bool:
    """Tell whether request ``index`` (from 0) carries the matching headers: ``share_pct`` %, evenly."""
    return (index + 1) * share_pct // 100 > index * share_pct // 100


def value_for_regex(pattern: str) -> str | None:
    """Return a header value that ``pattern`` finds (unanchored search), or None if none can be built.

    The method: walk the pattern's parse (``re._parser``) and emit, for each element, the least it needs —
    a literal as written, the first character a class admits, a repeat at its minimum count, the first
    branch of an alternation, nothing for an anchor — then keep the result only if ``re.search`` finds the
    pattern in it. Patterns with lookarounds or back-references are not built.
    """
    try:
        value = _build(sre_parse.parse(pattern).data)
        if re.search(pattern, value) is None:
            return None
    except (_CannotBuild, re.error, RecursionError):
        return None
    return value


def _build(items: list[tuple[Any, Any]]) -> str:
    return "".join(_element(str(op), arg) for op, arg in items)


def _element(op: str, arg: Any) -> str:
    if op == "LITERAL":
        return chr(arg)
    if op == "NOT_LITERAL":
        return next(c for c in _PRINTABLE if ord(c) != arg)
    if op == "ANY":
        return "a"
    if op == "IN":
        return _class_char(arg)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, body = arg
        return _build(list(body)) * (low if low != MAXREPEAT else 1)
    if op == "SUBPATTERN":
        return _build(list(arg[-1]))
    if op == "ATOMIC_GROUP":
        return _build(list(arg))
    if op == "BRANCH":
        return _build(list(arg[1][0]))
    if op == "AT":
        return ""
    raise _CannotBuild(op)


def _class_char(items: list[tuple[Any, Any]]) -> str:
    """Return a visible character that the class ``[...]`` admits."""
    ops = [(str(op), arg) for op, arg in items]
    if ops and ops[0][0] == "NEGATE":
        pattern = re.compile("[" + "".join(_class_source(op, arg) for op, arg in ops[1:]) + "]")
        for char in _PRINTABLE:
            if not pattern.match(char):
                return char
        raise _CannotBuild("class")
    op, arg = ops[0]
    if op == "LITERAL":
        return chr(arg)
    if op == "RANGE":
        return chr(arg[0])
    if op == "CATEGORY" and str(arg) in _CATEGORY_CHARS:
        return _CATEGORY_CHARS[str(arg)]
    raise _CannotBuild(op)


def _class_source(op: str, arg: Any) -> str:
    if op == "LITERAL":
        return re.escape(chr(arg))
    if op == "RANGE":
        return f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}"
    if op == "CATEGORY":
        return {"CATEGORY_DIGIT": r"\d", "CATEGORY_WORD": r"\w", "CATEGORY_SPACE": r"\s"}.get(str(arg), "")
    raise _CannotBuild(op)
