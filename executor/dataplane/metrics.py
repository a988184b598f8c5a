"""Process-wide counters of the data plane, rendered in Prometheus text format."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from executor.model.fault_kinds import FaultKind

__all__ = ["ProxyCounters"]


@dataclass
class ProxyCounters:
    """Count proxied requests, injections and upstream failures per service."""

    proxied: Counter[str] = field(default_factory=Counter)
    upstream_errors: Counter[str] = field(default_factory=Counter)
    injected: Counter[tuple[str, FaultKind]] = field(default_factory=Counter)

    def count_request(self, service: str) -> None:
        """Count one request through the proxy."""
        self.proxied[service] += 1

    def count_injection(self, service: str, kinds: list[FaultKind]) -> None:
        """Count the faults injected into one request."""
        for kind in kinds:
            self.injected[(service, kind)] += 1

    def count_upstream_error(self, service: str) -> None:
        """Count one request the upstream could not answer (502 from the proxy)."""
        self.upstream_errors[service] += 1

    def render(self, *, services: list[str], active_faults: Callable[[], int]) -> str:
        """Render every counter in Prometheus text exposition format."""
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        family("boifi_executor_proxied_requests_total", "counter", "Requests that entered the fault proxy.")
        for service in services:
            value = self.proxied[service]
            lines.append(f'boifi_executor_proxied_requests_total{{service="{service}"}} {value}')
        for kind, metric in (
            (FaultKind.DELAY, "delays"),
            (FaultKind.ABORT, "aborts"),
            (FaultKind.ERROR, "errors"),
        ):
            name = f"boifi_executor_injected_{metric}_total"
            family(name, "counter", f"Requests given an injected {kind.value} fault.")
            for service in services:
                lines.append(f'{name}{{service="{service}"}} {self.injected[(service, kind)]}')
        family("boifi_executor_upstream_errors_total", "counter", "Requests answered 502: upstream down.")
        for service in services:
            value = self.upstream_errors[service]
            lines.append(f'boifi_executor_upstream_errors_total{{service="{service}"}} {value}')
        family("boifi_executor_active_faults", "gauge", "Faults and policies injecting now.")
        lines.append(f"boifi_executor_active_faults {active_faults()}")
        return "\n".join(lines) + "\n"
