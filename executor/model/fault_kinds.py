"""Fault kinds, shaped like toxiproxy's toxics: settings plus one behaviour each.

Randomness and sleep come in from outside, so tests decide exactly which requests are hit.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

__all__ = [
    "FAULT_HEADER",
    "FINAL_STATUSES",
    "AbortFault",
    "DelayFault",
    "ErrorFault",
    "Fault",
    "FaultAction",
    "FaultKind",
    "Injection",
    "PassThrough",
    "Reply",
]

FAULT_HEADER = "x-fault-injected"
FINAL_STATUSES = range(200, 600)  # what an answer's status line may carry: no 1xx, no four digits

Sleep = Callable[[float], Awaitable[None]]


class FaultKind(Enum):
    NONE = "none"
    DELAY = "delay"
    ABORT = "abort"
    ERROR = "error_injection"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Injection:
    """What happened to one request: the faults applied and, if answered here, the reply."""

    kinds: list[FaultKind] = field(default_factory=list)
    reply: Reply | None = None

    @property
    def affected(self) -> bool:
        return bool(self.kinds)

    @property
    def header_value(self) -> str:
        if FaultKind.ERROR in self.kinds:
            return "error"
        if FaultKind.ABORT in self.kinds:
            return "abort"
        return "delay"


class Fault(Protocol):
    @property
    def kind(self) -> FaultKind: ...

    async def inject(self, injection: Injection, sleep: Sleep) -> None:
        """Apply this fault to the request described by ``injection``."""


@dataclass(frozen=True)
class PassThrough:
    kind: FaultKind = FaultKind.NONE

    async def inject(self, injection: Injection, sleep: Sleep) -> None:
        """Leave the request alone."""


@dataclass(frozen=True)
class DelayFault:
    delay_ms: int
    kind: FaultKind = FaultKind.DELAY

    async def inject(self, injection: Injection, sleep: Sleep) -> None:
        """Hold the request ``delay_ms`` before it goes on."""
        await sleep(self.delay_ms / 1000)
        injection.kinds.append(self.kind)


@dataclass(frozen=True)
class AbortFault:
    """Answer a request at once with ``http_status``, marked ``x-fault-injected: abort``.

    The policy API accepts any ``httpStatus`` above 0, as the real control plane does, but a response can
    only carry a final status, 200-599: anything else (a 1xx, which a client reads as interim and then waits
    for more, or 999, or 1000, which no status line can hold) is answered as 500, still marked as an
    injected abort, with a body naming the configured status. The fault API refuses such statuses up front.
    """

    http_status: int
    kind: FaultKind = FaultKind.ABORT

    async def inject(self, injection: Injection, sleep: Sleep) -> None:
        """Answer with ``http_status`` (500 for one no response may carry) without contacting the upstream."""
        injection.kinds.append(self.kind)
        headers = {FAULT_HEADER: "abort", "content-type": "text/plain"}
        if FINAL_STATUSES.start <= self.http_status < FINAL_STATUSES.stop:
            injection.reply = Reply(self.http_status, headers, b"fault filter abort")
            return
        body = (
            f"fault filter abort: configured status {self.http_status} is not a final HTTP status (200-599)"
        )
        injection.reply = Reply(500, headers, body.encode())


@dataclass(frozen=True)
class ErrorFault:
    error_message: str = "injected error"
    kind: FaultKind = FaultKind.ERROR

    async def inject(self, injection: Injection, sleep: Sleep) -> None:
        """Answer HTTP 500 with a JSON body carrying the error message."""
        injection.kinds.append(self.kind)
        body = json.dumps({"error": self.error_message, "fault_injected": True}).encode()
        headers = {FAULT_HEADER: "error", "content-type": "application/json"}
        injection.reply = Reply(500, headers, body)


@dataclass(frozen=True)
class FaultAction:
    """Which share of matching requests to hit, after what hold, with which fault."""

    percentage: int
    fault: Fault
    start_delay_ms: int = 0

    def sample(self, rng: random.Random) -> bool:
        """Decide with probability exactly ``percentage / 100`` whether to inject."""
        return rng.random() * 100 < self.percentage

    async def apply(self, sleep: Sleep) -> Injection:
        """Hold the request ``start_delay_ms``, then inject the fault."""
        injection = Injection()
        if self.start_delay_ms > 0:
            await sleep(self.start_delay_ms / 1000)
        await self.fault.inject(injection, sleep)
        return injection
