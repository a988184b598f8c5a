"""Settings of the embedded executor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from executor.control.host_names import is_loopback_host, normalise_host_name
from executor.dataplane.demo_resilience import ShopResilience

__all__ = ["ExecutorSettings", "check_service_url"]


@dataclass(frozen=True)
class ExecutorSettings:
    """Where the executor listens and what it fronts.

    Example::

        ExecutorSettings(port=0, demo=True, services={"api": "http://127.0.0.1:8080"}, seed=7)

    With ``token`` set, every control endpoint but the health probes requires ``Authorization: Bearer
    <token>``; ``allowed_hosts`` are the extra names (besides the loopback ones) a ``Host`` or ``Origin``
    may carry. Raises ValueError for a token no header can carry, a malformed allowed host, or a service
    URL with credentials in it.
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
    demo_shop: ShopResilience = field(default_factory=ShopResilience)  # the demo callers' timeouts, retries
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
    allowed_hosts: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.token is not None and not (self.token and all("!" <= char <= "~" for char in self.token)):
            raise ValueError("token must be non-empty visible ASCII (no spaces or control characters)")
        hosts = [self.allowed_hosts] if isinstance(self.allowed_hosts, str) else self.allowed_hosts
        object.__setattr__(self, "allowed_hosts", tuple(normalise_host_name(host) for host in hosts))
        for name, url in self.services.items():
            check_service_url(name, url)

    @property
    def on_loopback(self) -> bool:
        """Tell whether the listeners bind an address only this machine can reach."""
        return is_loopback_host(self.host)


def check_service_url(name: str, url: str) -> None:
    """Raise ValueError, naming the service but not echoing its URL, if ``url`` carries credentials."""
    try:
        parts = urlsplit(url)
        has_user_info = parts.username is not None or parts.password is not None
    except ValueError as exc:
        raise ValueError(f"service {name!r}: its URL is malformed") from exc
    if has_user_info or "@" in parts.netloc:
        raise ValueError(
            f"service {name!r}: credentials in service URLs (user:password@host) are not supported; "
            "give the upstream's address only"
        )
