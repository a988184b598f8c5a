"""Request matching with family A's semantics: selector, method, path and headers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from executor.model.fault_kinds import FaultAction
from executor.model.patterns import CompiledPattern, compile_pattern

__all__ = [
    "HeaderMatch",
    "MatchKind",
    "RequestMatch",
    "Rule",
    "RuleHits",
    "Selector",
    "StringMatch",
    "first_match",
]

_ANY = ("", "*")


class MatchKind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    REGEX = "regex"


@dataclass(frozen=True)
class StringMatch:
    """Match a string exactly, by prefix, or by an unanchored RE2 search (see executor.model.patterns)."""

    kind: MatchKind
    value: str
    pattern: CompiledPattern | None = None

    @classmethod
    def of(cls, kind: MatchKind, value: str) -> StringMatch:
        """Build a matcher, compiling the regex once; raise PatternError for one RE2 cannot run."""
        return cls(kind, value, compile_pattern(value) if kind is MatchKind.REGEX else None)

    def matches(self, text: str) -> bool:
        """Tell whether ``text`` matches."""
        if self.kind is MatchKind.EXACT:
            return text == self.value
        if self.kind is MatchKind.PREFIX:
            return text.startswith(self.value)
        assert self.pattern is not None
        return self.pattern.search(text) is not None


@dataclass(frozen=True)
class HeaderMatch:
    """Match a present header (``name`` lower-case, as the data plane keys them) whose value matches.

    A header sent more than once is matched, as Envoy matches it, against its values joined with ``,`` in
    the order they came: ``X-Forwarded-For: a`` and ``X-Forwarded-For: b`` are ``a,b``.
    """

    name: str
    match: StringMatch | None

    def matches(self, headers: Mapping[str, str]) -> bool:
        """Tell whether the header is present and its value matches."""
        value = headers.get(self.name)
        if value is None:
            return False
        return self.match is None or self.match.matches(value)


@dataclass(frozen=True)
class RequestMatch:
    method: StringMatch | None = None
    path: StringMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()

    def matches(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        """Tell whether a request with this method, path and (lower-cased) headers matches."""
        if self.method is not None and not self.method.matches(method):
            return False
        if self.path is not None and not self.path.matches(path):
            return False
        return all(header.matches(headers) for header in self.headers)


@dataclass(frozen=True)
class Selector:
    service: str = ""
    namespace: str = ""

    def matches(self, service: str, namespace: str) -> bool:
        """Tell whether the selector picks this service (empty or ``*`` picks any)."""
        return (self.service in _ANY or self.service == service) and (
            self.namespace in _ANY or self.namespace == namespace
        )


class RuleHits:
    """What the proxy did with one rule: the requests it took (matched first) and those its fault hit.

    Two integers the proxy increments in place, on the event loop that also reads them: nothing is
    allocated per request.
    """

    __slots__ = ("affected", "matched")

    def __init__(self) -> None:
        self.matched = 0
        self.affected = 0


@dataclass(frozen=True)
class Rule:
    """One active rule: where it comes from, what it matches and what it does.

    ``hits`` counts the requests it took; each Rule has its own (``dataclasses.replace`` makes a new one).
    """

    source: str
    selector: Selector
    match: RequestMatch
    action: FaultAction
    tags: Mapping[str, str] = field(default_factory=dict)
    halted: asyncio.Event | None = field(default=None, compare=False)
    hits: RuleHits = field(default_factory=RuleHits, init=False, compare=False, repr=False)


def first_match(
    rules: Sequence[Rule],
    *,
    service: str,
    namespace: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
) -> Rule | None:
    """Return the first rule matching the request, or None."""
    for rule in rules:
        if rule.selector.matches(service, namespace) and rule.match.matches(method, path, headers):
            return rule
    return None
