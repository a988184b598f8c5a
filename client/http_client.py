"""The seed's ``IExecutorClient`` interface and its resilient HTTP implementation.

Where the seed design was wrong, and what this client does instead:

- a retry could inject twice: one logical apply now carries one ``Idempotency-Key`` (policy mode: one
  policy name) on every attempt;
- ``timeout_sec`` bounded each attempt, not the call: it now bounds the whole apply, and when it is None the
  deadline is the plan's duration plus ``default_timeout_sec`` (the seed's bare 30 s default could never
  see a 30 s fault through);
- a failed health check was cached for a whole interval, locking every call out for a minute: now only a
  healthy result is cached, and the breaker handles a flapping Executor;
- the breaker counted the caller's 4xx mistakes and let everyone through while HALF_OPEN (see breaker.py);
- httpx's timeouts are per socket read, so a server dripping its answer held a call for ever: the client's
  own transport ends every request by its share of the deadline (transport.py).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime

import httpx

from client.breaker import BreakerState, CircuitBreaker
from client.calls import CallEngine
from client.config import ExecutorClientConfig
from client.credentials import OriginAuth
from client.discovery import fetch_services
from client.errors import ExecutorClientError, ExecutorConnectionError
from client.events import ClientEvent, EventBus, EventKind, ExecutorClientMetrics, utc_now
from client.health import HealthGate, HealthResult
from client.models import (
    ActiveFault,
    ApiMode,
    FaultPlan,
    PreparedRequest,
    RawObservation,
    ServiceInfo,
)
from client.phases import run_phases
from client.protocols.base import ApplyContext, ProgressCallback, Protocol
from client.protocols.direct import DirectProtocol
from client.protocols.extended import ExtendedProtocol
from client.protocols.policy import PolicyProtocol, policy_name_for
from client.redaction import redact_url
from client.retry import Deadline
from client.transport import DeadlineTransport

logger = logging.getLogger(__name__)


def new_apply_key() -> str:
    """Return a fresh idempotency key for one logical apply."""
    return uuid.uuid4().hex


class IExecutorClient(ABC):
    """The seed's interface: apply a plan and observe it; check the Executor's health."""

    @abstractmethod
    def apply_and_observe(self, plan: FaultPlan, timeout_sec: float | None = None) -> RawObservation:
        """Apply ``plan`` and return what was observed."""

    @abstractmethod
    def check_health(self) -> bool:
        """Return True if the Executor is reachable and healthy."""


class HttpExecutorClient(IExecutorClient):
    """Talk to an Executor over HTTP in the configured ``api_mode``, with retries, deadline and breaker.

    >>> with HttpExecutorClient(ExecutorClientConfig(base_url="http://127.0.0.1:8080")) as client:
    ...     observation = client.apply_and_observe(plan, timeout_sec=60)
    """

    def __init__(
        self,
        config: ExecutorClientConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        probe_transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], datetime] = utc_now,
        rng: Callable[[], float] | None = None,
    ) -> None:
        if config is None:
            config = ExecutorClientConfig.from_env()
        else:  # re-validate: a model_copy(update=...) skips validation and may hold plain strings
            config = type(config).model_validate(
                {name: getattr(config, name) for name in type(config).model_fields}
            )
        self.config = cfg = config
        self._clock = clock
        self._wall_clock = wall_clock
        self._bus = EventBus(wall_clock)
        self.metrics = ExecutorClientMetrics()
        self._bus.subscribe(self.metrics)
        self.circuit_breaker = CircuitBreaker(
            cfg.circuit_breaker_failure_threshold,
            cfg.circuit_breaker_timeout_sec,
            half_open_max_calls=cfg.half_open_max_calls,
            enabled=cfg.circuit_breaker_enabled,
            clock=clock,
        )
        self.circuit_breaker.add_listener(self._on_transition)
        headers = {"User-Agent": "boifi-console-client/0.1", "Accept": "application/json"}
        self._http = httpx.Client(
            base_url=cfg.base_url,
            transport=transport if transport is not None else DeadlineTransport(),
            headers=headers,  # no Authorization here: OriginAuth adds it per request, for its origin only
            auth=OriginAuth.for_config(cfg),
            follow_redirects=False,  # a 3xx is an answer: no credential follows it elsewhere
            timeout=httpx.Timeout(cfg.default_timeout_sec, connect=cfg.connection_timeout_sec),
        )
        self._engine = CallEngine(
            cfg, self._http, self.circuit_breaker, self._bus, clock=clock, sleep=sleep, rng=rng
        )
        self._probe_transport = probe_transport
        self._protocols: dict[ApiMode, Protocol] = {}
        self._protocols_lock = threading.Lock()
        self._protocol = self._protocol_for(None)
        self._health = HealthGate(self._engine, cfg, self._bus, clock=clock)

    def _protocol_for(self, api_mode: ApiMode | str | None) -> Protocol:
        """Return the protocol of ``api_mode`` (None: the config's), built once over the one engine."""
        mode = self.config.api_mode if api_mode is None else ApiMode(api_mode)
        with self._protocols_lock:
            protocol = self._protocols.get(mode)
            if protocol is None:
                protocol = self._protocols[mode] = self._make_protocol(mode)
            return protocol

    def _make_protocol(self, mode: ApiMode) -> Protocol:
        if mode is ApiMode.POLICY:
            return PolicyProtocol(
                self._engine, self.config, probe_transport=self._probe_transport, wall_clock=self._wall_clock
            )
        if mode is ApiMode.DIRECT:
            return DirectProtocol(self._engine, self.config)
        return ExtendedProtocol(self._engine, self.config)

    @property
    def api_mode(self) -> ApiMode:
        """Return the API family this client speaks when a call names none."""
        return self.config.api_mode

    def subscribe(self, listener: Callable[[ClientEvent], None]) -> Callable[[], None]:
        """Deliver every client event to ``listener``; return a function that unsubscribes it."""
        return self._bus.subscribe(listener)

    @staticmethod
    def policy_name_for(apply_key: str) -> str:
        """Return the policy name policy mode uses for ``apply_key``."""
        return policy_name_for(apply_key)

    def apply_and_observe(
        self,
        plan: FaultPlan,
        timeout_sec: float | None = None,
        *,
        api_mode: ApiMode | str | None = None,
        start_time: datetime | None = None,
        apply_key: str | None = None,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RawObservation:
        """Apply ``plan``, watch it run, and return the observation; ``timeout_sec`` bounds all of it.

        A plan with phases, an entry point or a hypothesis runs baseline, fault and recovery (client.phases)
        and comes back judged: ``verdict``, ``severity_score``, ``phases``, ``deviations``,
        ``time_to_recovery_s`` and ``target`` are on the observation.

        ``api_mode`` speaks another API family for this call only (None: the config's), through the same
        breaker, event bus and connection pool: one Executor URL is one client whatever the family.
        """
        if not isinstance(plan, FaultPlan):
            plan = FaultPlan.model_validate(plan)  # raises before anything is sent
        protocol = self._protocol_for(api_mode)
        key = apply_key or new_apply_key()
        timeout = (
            timeout_sec
            if timeout_sec is not None
            else self._default_timeout_sec(plan, start_time, protocol.mode)
        )
        deadline = Deadline.after(timeout, self._clock)
        self._engine.reject_if_open("apply", apply_key=key)  # emits REJECTED: nothing was sent
        try:
            self._ensure_healthy(deadline, protocol)
        except ExecutorClientError as exc:
            self._bus.emit(
                EventKind.FAILURE, "apply", error_class=type(exc).__name__, apply_key=key, message=str(exc)
            )
            raise
        ctx = ApplyContext(plan, key, deadline, start_time, on_progress, cancel)
        return run_phases(protocol, ctx, clock=self._clock, wall_clock=self._wall_clock)

    def _default_timeout_sec(self, plan: FaultPlan, start_time: datetime | None, mode: ApiMode) -> float:
        phases_sec = plan.baseline_seconds + plan.duration_seconds + plan.recovery_seconds
        timeout = phases_sec + self.config.default_timeout_sec
        if mode is ApiMode.POLICY:
            timeout += self.config.policy_propagation_sec
        if start_time is not None:
            aware = start_time if start_time.tzinfo else start_time.replace(tzinfo=self._wall_clock().tzinfo)
            timeout += max(0.0, (aware - self._wall_clock()).total_seconds())
        return timeout

    def check_health(self) -> bool:
        """Return True if the Executor answers its health endpoint; a healthy answer is cached.

        This is the apply gate. The check ends within ``min(connection_timeout_sec, default_timeout_sec)``,
        however slowly the Executor answers.
        """
        return self._health.check(self._protocol.health_path)

    def probe_health(self) -> HealthResult:
        """Send one real health request now, never answered from the cache, and return what it saw.

        Bounded as ``check_health``. For monitors: every sample is a request. Its answer refreshes the apply
        gate's cache (healthy) or clears it (unhealthy); see client/health.py.
        """
        return self._health.probe(self._protocol.health_path)

    def _ensure_healthy(self, deadline: Deadline, protocol: Protocol) -> None:
        if not self._health.check(protocol.health_path, deadline):
            deadline.check("apply (health check)")
            executor = redact_url(self.config.base_url)
            raise ExecutorConnectionError(f"Executor at {executor} is unhealthy or unreachable")

    def halt(self, fault_id: str, *, api_mode: ApiMode | str | None = None) -> bool:
        """Stop a running fault (policy mode: delete the policy); True if removed, False if unknown."""
        return self._protocol_for(api_mode).halt(fault_id, self._deadline())

    def list_active_faults(self, *, api_mode: ApiMode | str | None = None) -> list[ActiveFault]:
        """Return the Executor's active faults (policy mode: every policy)."""
        return self._protocol_for(api_mode).list_active(self._deadline())

    def list_services(self) -> list[ServiceInfo]:
        """Return the services ``GET /v1/services`` lists, or [] where the Executor has no such endpoint."""
        return fetch_services(self._engine, self._deadline())

    def preview_request(
        self, plan: FaultPlan, *, apply_key: str = "<key>", api_mode: ApiMode | str | None = None
    ) -> PreparedRequest:
        """Return exactly what an apply in ``api_mode`` would send first, token and URL password masked."""
        prepared = self._protocol_for(api_mode).prepare(plan, apply_key, None)
        headers = dict(prepared.headers)
        if self.config.auth_token is not None:
            headers["Authorization"] = "Bearer ***"
        return PreparedRequest(prepared.method, redact_url(prepared.url), headers, prepared.json)

    @property
    def breaker_state(self) -> BreakerState:
        """Return the circuit breaker's state."""
        return self.circuit_breaker.state

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> HttpExecutorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _deadline(self) -> Deadline:
        return Deadline.after(self.config.default_timeout_sec, self._clock)

    def _on_transition(self, old: BreakerState, new: BreakerState) -> None:
        self._bus.emit(EventKind.BREAKER_TRANSITION, "breaker", old_state=old, new_state=new)
