"""Family C: synchronous ``POST /api/v1/faults/apply`` that returns once the fault has run (seed 5.1).

The seed gave this one POST a read timeout of ``timeout_sec`` on every attempt; here the read timeout is
what is left of the apply's deadline. A cancel cannot interrupt a blocking POST, so with ``cancel`` the POST
runs on a helper thread while the caller watches the event; on cancel the client finds the fault in
``GET /v1/faults`` (by idempotency key, else by a unique service/api match) and halts it, and the POST then
returns the metrics so far.
"""

from __future__ import annotations

import concurrent.futures
import logging
from datetime import datetime

from client.engine import ApiResponse
from client.errors import ExecutorCancelledError, FaultExecutionError
from client.models import ActiveFault, ApiMode, FaultPlan, PreparedRequest, RawObservation
from client.parsing import observation_from_body, require_object
from client.protocols.base import ApplyContext, active_fault_from_b, fault_body
from client.protocols.extended import ExtendedProtocol

logger = logging.getLogger(__name__)

_WATCH_SEC = 0.05


class DirectProtocol(ExtendedProtocol):
    """Speak API family C (halt and listing are family B's, which the same Executor serves)."""

    mode = ApiMode.DIRECT
    apply_path = "/api/v1/faults/apply"
    health_path = "/health"

    def prepare(self, plan: FaultPlan, apply_key: str, start_time: datetime | None) -> PreparedRequest:
        """Return the synchronous apply POST."""
        prepared = super().prepare(plan, apply_key, start_time)
        return PreparedRequest(
            prepared.method, f"{prepared.url}?include_samples=true", prepared.headers, prepared.json
        )

    def apply(self, ctx: ApplyContext) -> RawObservation:
        """Apply and wait for the Executor's final answer."""
        if ctx.cancel is None:
            return self._observation(self._post(ctx))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="boifi-direct")
        try:
            future = pool.submit(self._post, ctx)
            while not future.done():
                if ctx.cancel.wait(_WATCH_SEC):
                    return self._cancel(ctx, future)
            return self._observation(future.result())
        finally:
            pool.shutdown(wait=False)  # a POST we could not halt ends by its own read timeout

    def _post(self, ctx: ApplyContext) -> ApiResponse:
        return self.engine.request(
            "apply",
            "POST",
            self.apply_path,
            json_body=fault_body(ctx.plan, ctx.start_time),
            params={"include_samples": "true"},
            apply_key=ctx.apply_key,
            deadline=ctx.deadline,
            read_timeout_sec=max(0.001, ctx.deadline.remaining_sec()),
        )

    def _observation(self, response: ApiResponse) -> RawObservation:
        observation = observation_from_body(response.data, operation="apply", api_mode=self.mode)
        if observation.status == "failed":
            raise FaultExecutionError(f"Executor reports fault {observation.apply_id} failed")
        if observation.status == "cancelled":
            raise ExecutorCancelledError(
                f"fault {observation.apply_id} was cancelled on the Executor", partial=observation
            )
        return observation

    def _cancel(self, ctx: ApplyContext, future: concurrent.futures.Future[ApiResponse]) -> RawObservation:
        fault = self._find(ctx)
        if fault is not None:
            self.try_halt(fault.fault_id)
        partial: RawObservation | None = None
        try:
            partial = observation_from_body(
                future.result(timeout=self.config.connection_timeout_sec).data,
                operation="apply",
                api_mode=self.mode,
            )
        except (Exception, concurrent.futures.TimeoutError) as exc:
            logger.info("no partial observation after cancel: %s", exc)
        raise ExecutorCancelledError(f"apply {ctx.apply_key} cancelled", partial=partial)

    def _find(self, ctx: ApplyContext) -> ActiveFault | None:
        try:
            response = self.engine.request(
                "list", "GET", "/v1/faults", deadline=self.cleanup_deadline(), gate=False
            )
            items = require_object(response.data, "list").get("faults") or []
        except Exception as exc:
            logger.warning("cannot list faults to halt a cancelled direct apply: %s", exc)
            return None
        if not isinstance(items, list):
            return None
        faults = [
            f for f in map(active_fault_from_b, items) if f is not None and f.status in ("pending", "running")
        ]
        by_key = [f for f in faults if f.raw.get("idempotency_key") == ctx.apply_key]
        if len(by_key) == 1:
            return by_key[0]
        same = [f for f in faults if f.service == ctx.plan.service and f.api == ctx.plan.api]
        if len(same) == 1:
            return same[0]
        logger.warning("cannot identify the cancelled direct apply among %d active faults", len(faults))
        return None
