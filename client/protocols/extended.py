"""Family B: ``POST /v1/faults/apply``, poll status, fetch metrics (seed appendix A, way 2).

Unlike the seed, the poll loop shares the apply's one deadline, reports partial metrics through
``on_progress``, and halts the fault (``DELETE /v1/faults/{id}``) when we stop watching it early — on
cancel, on the deadline, or on any error — so no fault outlives the call unobserved. An apply POST that
fails without an answer (timeout, dropped connection) may still have started a fault: it is looked up by
its idempotency key in ``GET /v1/faults`` and halted, both within one cleanup budget.
"""

from __future__ import annotations

import logging
from datetime import datetime

from client.errors import (
    ExecutorCancelledError,
    ExecutorResponseError,
    FaultExecutionError,
)
from client.models import (
    ActiveFault,
    ApiMode,
    FaultPlan,
    FaultStatus,
    PreparedRequest,
    RawObservation,
    enum_or_none,
)
from client.parsing import observation_from_body, require_object, require_str
from client.protocols.base import (
    ACTIVE_STATUSES,
    ApplyContext,
    Protocol,
    active_fault_from_b,
    fault_body,
    left_unconfirmed,
    notify_progress,
    pick_fault,
)
from client.retry import Deadline

logger = logging.getLogger(__name__)


class ExtendedProtocol(Protocol):
    """Speak API family B."""

    mode = ApiMode.EXTENDED
    halt_path = "/v1/faults/{}"
    apply_path = "/v1/faults/apply"

    def prepare(self, plan: FaultPlan, apply_key: str, start_time: datetime | None) -> PreparedRequest:
        """Return the apply POST."""
        return PreparedRequest(
            method="POST",
            url=f"{self.config.base_url}{self.apply_path}",
            headers={"Content-Type": "application/json", "Idempotency-Key": apply_key},
            json=fault_body(plan, start_time),
        )

    def apply(self, ctx: ApplyContext) -> RawObservation:
        """Apply, poll until the fault ends, and return its final metrics."""
        try:
            response = self.engine.request(
                "apply",
                "POST",
                self.apply_path,
                json_body=fault_body(ctx.plan, ctx.start_time),
                apply_key=ctx.apply_key,
                deadline=ctx.deadline,
                cancel=ctx.cancel,
            )
            apply_id = require_str(require_object(response.data, "apply"), "apply_id", "apply")
        except BaseException as exc:
            if left_unconfirmed(exc):
                self.halt_by_key(ctx)
            raise
        partial: RawObservation | None = None
        try:
            while True:
                status = self._status(apply_id, ctx)
                if status is FaultStatus.COMPLETED:
                    final = self._metrics(apply_id, ctx.deadline, final=True, ctx=ctx)
                    return final if final.status else final.model_copy(update={"status": status})
                if status is FaultStatus.FAILED:
                    raise FaultExecutionError(f"Executor reports fault {apply_id} failed")
                if status is FaultStatus.CANCELLED:
                    raise ExecutorCancelledError(
                        f"fault {apply_id} was cancelled on the Executor",
                        partial=self._metrics(apply_id, ctx.deadline, final=True, ctx=ctx),
                    )
                if ctx.on_progress is not None:
                    partial = self._metrics(apply_id, ctx.deadline, final=False, ctx=ctx)
                    notify_progress(ctx.on_progress, partial)
                wait = min(self.config.poll_interval_sec, max(0.0, ctx.deadline.remaining_sec()))
                self.engine.sleep(wait, cancel=ctx.cancel, operation="status")
        except ExecutorCancelledError as exc:
            if ctx.cancel is None or not ctx.cancel.is_set():
                raise  # cancelled on the Executor by someone else: nothing left to halt
            self.try_halt(apply_id)
            raise ExecutorCancelledError(
                f"apply {ctx.apply_key} cancelled; fault {apply_id} halted",
                partial=self._final_partial(apply_id, partial),
            ) from exc
        except FaultExecutionError:
            raise
        except BaseException:
            self.try_halt(apply_id)
            raise

    def _status(self, apply_id: str, ctx: ApplyContext) -> FaultStatus:
        response = self.engine.request(
            "status", "GET", f"/v1/faults/{apply_id}/status", deadline=ctx.deadline, cancel=ctx.cancel
        )
        text = require_str(require_object(response.data, "status"), "status", "status")
        status = enum_or_none(FaultStatus, text)
        if status not in ACTIVE_STATUSES | {FaultStatus.COMPLETED, FaultStatus.FAILED, FaultStatus.CANCELLED}:
            raise ExecutorResponseError(f"status: unknown fault status {text!r}")
        return status

    def _metrics(
        self, apply_id: str, deadline: Deadline, *, final: bool, ctx: ApplyContext | None
    ) -> RawObservation:
        params = {"include_samples": "true"} if final else None
        response = self.engine.request(
            "metrics",
            "GET",
            f"/v1/faults/{apply_id}/metrics",
            params=params,
            deadline=deadline,
            cancel=ctx.cancel if ctx is not None else None,
        )
        return observation_from_body(
            response.data, operation="metrics", api_mode=self.mode, apply_id=apply_id, final=final
        )

    def _final_partial(self, apply_id: str, fallback: RawObservation | None) -> RawObservation | None:
        try:
            return self._metrics(apply_id, self.cleanup_deadline(), final=True, ctx=None)
        except Exception:
            return fallback

    def list_active(self, deadline: Deadline) -> list[ActiveFault]:
        """Return pending and running faults from ``GET /v1/faults``."""
        response = self.engine.request("list", "GET", "/v1/faults", deadline=deadline)
        items = require_object(response.data, "list").get("faults") or []
        if not isinstance(items, list):
            raise ExecutorResponseError("list: 'faults' must be a list")
        faults = [f for f in (active_fault_from_b(item) for item in items) if f is not None]
        return [f for f in faults if f.status in ACTIVE_STATUSES]

    def halt_by_key(self, ctx: ApplyContext, *, by_target: bool = False) -> ActiveFault | None:
        """Find the apply's fault in ``GET /v1/faults`` and halt it, best-effort in one cleanup budget.

        Return the fault that was found (None if none was); never raise. ``by_target``: see ``pick_fault``.
        """
        deadline = self.cleanup_deadline()
        try:
            response = self.engine.request(
                "list", "GET", "/v1/faults", deadline=deadline, gate=False, ok_statuses=(200, 404)
            )
            if response.status_code == 404:  # an Executor without the listing: nothing to find
                return None
            items = require_object(response.data, "list").get("faults")
        except Exception as exc:
            logger.warning("cannot list faults to halt apply %s: %s", ctx.apply_key, exc)
            return None
        fault = pick_fault(items, ctx, by_target=by_target)
        if fault is None:
            logger.info("no active fault of apply %s to halt", ctx.apply_key)
            return None
        self.try_halt(fault.fault_id, deadline)
        return fault
