"""Regular expressions as the data plane runs them: RE2, linear time, unanchored search.

The real data plane matches policy regexes with Rust's ``regex`` crate, which, like RE2, has no
backtracking: no backreferences, no lookaround, and a match costs time linear in the input. Python's ``re``
backtracks, so a pattern such as ``^/(a+)+$`` against a 40-character near-miss would take it hours while
holding the interpreter lock, freezing the control API and every proxied request with it. So every policy
regex is compiled with RE2 (``google-re2``), and one RE2 cannot compile is refused when the policy or fault
arrives, never at match time. Known difference from Rust's crate: RE2's ``\\d``, ``\\w``, ``\\s`` and ``\\b``
are ASCII-only where Rust's are Unicode-aware; paths and header values are ASCII in practice.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2

__all__ = ["CompiledPattern", "PatternError", "compile_pattern"]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the caller, not written to stderr


class PatternError(Exception):
    """A pattern RE2 cannot compile; the message says why."""


class CompiledPattern(Protocol):
    def search(self, text: str) -> Any: ...


def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile ``pattern`` with RE2; raise PatternError when it cannot run in linear time or is malformed."""
    try:
        compiled: CompiledPattern = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"not a valid RE2 pattern: {reason}") from exc
    except (UnicodeError, TypeError) as exc:
        raise PatternError(f"not a valid RE2 pattern: {exc}") from exc
    return compiled
