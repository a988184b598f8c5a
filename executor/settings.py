"""Settings of the embedded executor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ExecutorSettings"]


@dataclass(frozen=True)
class ExecutorSettings:
    """Where the executor listens and what it fronts.

    Example::

        ExecutorSettings(port=0, demo=True, services={"api": "http://127.0.0.1:8080"}, seed=7)
    """

    host: str = "127.0.0.1"
    port: int = 0
    proxy_port: int = 0
    demo: bool = True
    services: Mapping[str, str] = field(default_factory=dict)
    seed: int | None = None
    default_rate_rps: float = 50.0
    default_concurrency: int = 64
    namespace: str = "demo"
    max_body_bytes: int = 1024 * 1024
    gateway_timeout_ms: float = 1000.0
    sse_keepalive_s: float = 15.0
    # Slow and greedy clients (README, "API notes"). On the proxy, the demo services and the control API, a
    # request head must arrive whole within request_head_timeout_s (from the connection's start, or from its
    # first byte after an idle period), an idle keep-alive connection closes after idle_keepalive_timeout_s,
    # and past max_connections open ones a new connection is answered 503 and closed. The family B/C faults
    # whose windows overlap share load_budget_rps: an apply past it is refused (429) and nothing is stored.
    request_head_timeout_s: float = 10.0
    idle_keepalive_timeout_s: float = 60.0
    max_connections: int = 4096
    load_budget_rps: float = 1000.0
    # After a family B/C fault's end, the requests it already holds keep their delay (an injected delay is
    # measured whole) for up to this long; then the rest are released and the fault completes.
    end_grace_s: float = 10.0
    # A family B/C fault and its idempotency key are remembered this long after the fault's end, so that a
    # retried apply never injects twice; the most recent finished faults are kept in full (listed, with their
    # samples), older ones as summaries.
    idempotency_window_s: float = 24 * 3600.0
    keep_recent_faults: int = 200
    token: str | None = field(default=None, repr=False)
