"""Guardrails: stop a run's fault when its own measurements cross a bound."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Guardrail:
    """Bounds on a run's measured error rate and p99 latency, checked once enough requests were seen.

    The error rate is a fraction (0-1) inside, as the client measures it; people give and read it in
    percent, so the dashboard and the CLI build a guardrail with `from_percent` and show `describe()`.

    Example::

        Guardrail.from_percent(max_error_rate_pct=50, max_p99_latency_ms=2000, min_requests=50)
    """

    max_error_rate: float | None = None
    max_p99_latency_ms: float | None = None
    min_requests: int = 20

    def __post_init__(self) -> None:
        if self.max_error_rate is not None and not 0.0 <= self.max_error_rate <= 1.0:
            raise ValueError("guardrail max_error_rate must be between 0 and 1")
        if self.max_p99_latency_ms is not None and self.max_p99_latency_ms <= 0:
            raise ValueError("guardrail max_p99_latency_ms must be positive")
        if self.min_requests < 1:
            raise ValueError("guardrail min_requests must be at least 1")

    @classmethod
    def from_percent(
        cls,
        *,
        max_error_rate_pct: float | None = None,
        max_p99_latency_ms: float | None = None,
        min_requests: int = 20,
    ) -> Guardrail:
        """Build a guardrail from an error rate in percent (0-100), the unit people use."""
        if max_error_rate_pct is not None and not 0.0 <= max_error_rate_pct <= 100.0:
            raise ValueError("guardrail max error rate is a percentage: give a value from 0 to 100")
        return cls(
            max_error_rate=None if max_error_rate_pct is None else max_error_rate_pct / 100.0,
            max_p99_latency_ms=max_p99_latency_ms,
            min_requests=min_requests,
        )

    @property
    def max_error_rate_pct(self) -> float | None:
        return None if self.max_error_rate is None else self.max_error_rate * 100.0

    @property
    def enabled(self) -> bool:
        return self.max_error_rate is not None or self.max_p99_latency_ms is not None

    def describe(self) -> str:
        """Say in words when this guardrail stops a run, error rate in percent."""
        bounds = []
        if self.max_error_rate_pct is not None:
            bounds.append(f"the error rate exceeds {self.max_error_rate_pct:g} %")
        if self.max_p99_latency_ms is not None:
            bounds.append(f"the p99 latency exceeds {self.max_p99_latency_ms:g} ms")
        if not bounds:
            return "no guardrail"
        return f"halt when {' or '.join(bounds)}, judged after {self.min_requests} requests"

    def violation(
        self, *, request_count: int, error_rate: float | None, p99_latency_ms: float | None
    ) -> str | None:
        """Return why the bound is crossed, or None while the run is within bounds."""
        if request_count < self.min_requests:
            return None
        if self.max_error_rate is not None and error_rate is not None and error_rate > self.max_error_rate:
            return (
                f"guardrail: error rate {error_rate:.1%} exceeded {self.max_error_rate:.1%} "
                f"after {request_count} requests"
            )
        if (
            self.max_p99_latency_ms is not None
            and p99_latency_ms is not None
            and p99_latency_ms > self.max_p99_latency_ms
        ):
            return (
                f"guardrail: p99 latency {p99_latency_ms:.0f} ms exceeded {self.max_p99_latency_ms:.0f} ms "
                f"after {request_count} requests"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_error_rate": self.max_error_rate,
            "max_p99_latency_ms": self.max_p99_latency_ms,
            "min_requests": self.min_requests,
        }
