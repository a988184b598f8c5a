"""What every Executor protocol shares: the apply context, the B/C request body and cleanup helpers."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from client.calls import CallEngine
from client.config import ExecutorClientConfig
from client.errors import ExecutorHTTPError
from client.hypothesis import Observe
from client.models import (
    ActiveFault,
    ApiMode,
    FaultPlan,
    FaultStatus,
    FaultType,
    PreparedRequest,
    RawObservation,
    enum_or_none,
)
from client.protocols.collect import collect, observed_target
from client.retry import Deadline

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[RawObservation], None]
ACTIVE_STATUSES = frozenset({FaultStatus.PENDING, FaultStatus.RUNNING})


@dataclass
class ApplyContext:
    """Everything one logical apply needs."""

    plan: FaultPlan
    apply_key: str
    deadline: Deadline
    start_time: datetime | None = None
    on_progress: ProgressCallback | None = None
    cancel: threading.Event | None = None


def notify_progress(callback: ProgressCallback | None, observation: RawObservation) -> None:
    """Call the progress callback, logging and swallowing anything it raises."""
    if callback is None:
        return
    try:
        callback(observation)
    except Exception:
        logger.exception("on_progress callback failed")


def rfc3339(moment: datetime) -> str:
    """Return an RFC 3339 UTC string (naive datetimes are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def matching_headers(plan: FaultPlan) -> dict[str, str]:
    """Return the headers that make a request match the plan's header match (name to value)."""
    return {h.name: h.value_to_send for h in plan.headers}


def fault_body(plan: FaultPlan, start_time: datetime | None) -> dict[str, Any]:
    """Return the apply body of families B and C (integers on the wire)."""
    if plan.fault_type is FaultType.DELAY:
        config: dict[str, Any] = {"delay_milliseconds": plan.delay_ms}
    elif plan.fault_type is FaultType.ABORT:
        config = {"http_status_code": plan.abort_http_status}
    else:
        config = {
            "error_percentage": plan.percentage,
            "error_message": plan.error_message or "injected error",
        }
    body: dict[str, Any] = {
        "service": plan.service,
        "api": plan.api,
        "fault_type": plan.fault_type.value,
        "percentage": plan.percentage,
        "duration_seconds": plan.duration_seconds,
        "start_delay_ms": plan.start_delay_ms,
        "fault_config": config,
    }
    if plan.method:
        body["method"] = plan.method
    if plan.headers:  # the load driver sends matching traffic, else a header match hits nothing
        body["headers"] = [h.to_wire() for h in plan.headers]
        load: dict[str, Any] = {"headers": matching_headers(plan)}
        if plan.matching_traffic_pct < 100:
            load["headers_pct"] = plan.matching_traffic_pct
        body["load"] = load
    if start_time is not None:
        body["start_time"] = rfc3339(start_time)
    if plan.observe is not None:  # the executor's load then drives the entry point (EXECUTOR_API.md)
        body["observe"] = plan.observe.to_wire()
    return body


def active_fault_from_b(item: Any) -> ActiveFault | None:
    """Return an ActiveFault from an entry of ``GET /v1/faults``, or None if it is malformed."""
    if not isinstance(item, dict) or not isinstance(item.get("apply_id"), str):
        return None
    status = enum_or_none(FaultStatus, item.get("status"))
    if status is None:  # a status we cannot tell active or not: not a fault we can act on
        return None
    percentage = item.get("percentage")
    return ActiveFault(
        fault_id=item["apply_id"],
        service=str(item.get("service", "")),
        api=str(item.get("api", "")),
        fault_type=enum_or_none(FaultType, item.get("fault_type")),
        status=status,
        percentage=percentage if isinstance(percentage, int) else None,
        raw=item,
    )


def left_unconfirmed(exc: BaseException) -> bool:
    """Tell whether an apply POST that raised ``exc`` may have left a fault running whose id we never got.

    Only a refusal (a 4xx other than 408/429 on the last attempt) proves that nothing started: a retried POST
    carries one idempotency key, so an earlier attempt that did start a fault makes a later one answer 200.
    A timeout, a dropped connection, a 5xx, 408 or 429 after an earlier attempt, a garbled answer, a cancel
    or Ctrl-C may each leave one behind.
    """
    if isinstance(exc, ExecutorHTTPError):
        return exc.status_code >= 500 or exc.status_code in (408, 429)
    return True


def pick_fault(items: Any, ctx: ApplyContext, *, by_target: bool) -> ActiveFault | None:
    """Return the active fault of ``ctx`` in a ``GET /v1/faults`` listing: by idempotency key, else None.

    With ``by_target`` a fault that is the only active one on the plan's service and API is taken too (for
    Executors that list no keys); that guess is for an explicit cancel only.
    """
    if not isinstance(items, list):
        return None
    faults = [f for f in map(active_fault_from_b, items) if f is not None and f.status in ACTIVE_STATUSES]
    by_key = [f for f in faults if f.raw.get("idempotency_key") == ctx.apply_key]
    if len(by_key) == 1:
        return by_key[0]
    if by_target:
        same = [f for f in faults if f.service == ctx.plan.service and f.api == ctx.plan.api]
        if len(same) == 1:
            return same[0]
    return None


class Protocol(ABC):
    """One Executor API family."""

    mode: ApiMode
    health_path = "/v1/health"
    halt_path: str  # DELETE target of a running fault, with "{}" for its id

    def __init__(self, engine: CallEngine, config: ExecutorClientConfig) -> None:
        self.engine = engine
        self.config = config

    def cleanup_deadline(self) -> Deadline:
        """Return the budget for best-effort cleanup after a failure: one connect timeout."""
        return Deadline.after(self.config.connection_timeout_sec, self.engine.clock)

    @abstractmethod
    def prepare(self, plan: FaultPlan, apply_key: str, start_time: datetime | None) -> PreparedRequest:
        """Return the first request an apply sends (headers without auth)."""

    @abstractmethod
    def apply(self, ctx: ApplyContext) -> RawObservation:
        """Apply the plan, observe it, and return the observation."""

    def halt(self, fault_id: str, deadline: Deadline, *, gate: bool = True) -> bool:
        """Stop a running fault with ``DELETE halt_path``; True if removed, False if unknown (404)."""
        response = self.engine.request(
            "halt",
            "DELETE",
            self.halt_path.format(fault_id),
            deadline=deadline,
            ok_statuses=(200, 204, 404),
            gate=gate,
        )
        return response.status_code != 404

    @abstractmethod
    def list_active(self, deadline: Deadline) -> list[ActiveFault]:
        """Return the faults the Executor has active."""

    def observe(
        self, ctx: ApplyContext, seconds: float, on_partial: ProgressCallback | None = None
    ) -> RawObservation:
        """Observe the plan's entry point without a fault for ``seconds`` (baseline, recovery).

        Families B and C ask the Executor's ``GET /collect``; samples are on the observation's own axis.
        """
        return self.collect_at("/collect", ctx, observed_target(ctx.plan), seconds, on_partial)

    def collect_at(
        self,
        url: str,
        ctx: ApplyContext,
        target: Observe,
        seconds: float,
        on_partial: ProgressCallback | None = None,
    ) -> RawObservation:
        """Observe ``target`` for ``seconds`` through ``GET url`` (a ``/collect``), by the deadline."""
        return collect(
            self.engine,
            url,
            target,
            seconds,
            deadline=ctx.deadline,
            api_mode=self.mode,
            cancel=ctx.cancel,
            on_partial=on_partial,
            chunk_sec=max(1.0, self.config.poll_interval_sec),
        )

    def lead_sec(self, ctx: ApplyContext, now: datetime) -> float:
        """Return how long after ``apply`` is called its fault starts (and its samples' axis with it)."""
        if ctx.start_time is None:
            return 0.0
        start = ctx.start_time if ctx.start_time.tzinfo else ctx.start_time.replace(tzinfo=UTC)
        return max(0.0, (start - now).total_seconds())

    def try_halt(self, fault_id: str, deadline: Deadline | None = None) -> None:
        """Halt best-effort within ``deadline`` (default: the cleanup budget), ungated; never raise."""
        try:
            self.halt(fault_id, deadline or self.cleanup_deadline(), gate=False)
        except Exception as exc:
            logger.warning("could not halt %s: %s", fault_id, exc)
