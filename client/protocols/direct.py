"""Family C: synchronous ``POST /api/v1/faults/apply`` that returns once the fault has run (seed 5.1).

The seed gave this one POST a read timeout of ``timeout_sec`` on every attempt; here the whole POST ends by
what is left of the apply's deadline. When it ends without an answer — the deadline passed, the connection
dropped, Ctrl-C — the fault it started would inject until its duration ran out: the client finds it in
``GET /v1/faults`` by its idempotency key and halts it (``DELETE /v1/faults/{id}``), best-effort within one
``connection_timeout_sec``. A cancel cannot interrupt a blocking POST, so with ``cancel`` the POST runs on a
helper thread while the caller watches the event; on cancel the fault is found the same way (or, for an
Executor that lists no keys, as the only active fault on the plan's service and API) and halted, and the
POST then returns the metrics so far.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from datetime import datetime

from client.calls import ApiResponse
from client.errors import ExecutorCancelledError, FaultExecutionError
from client.measures import percentile
from client.models import ApiMode, FaultPlan, FaultStatus, PreparedRequest, RawObservation
from client.parsing import observation_from_body
from client.protocols.base import ApplyContext, fault_body, left_unconfirmed
from client.protocols.extended import ExtendedProtocol

logger = logging.getLogger(__name__)

_WATCH_SEC = 0.05


def with_p50(observation: RawObservation) -> RawObservation:
    """Return ``observation`` with its p50 taken from its samples when family C's metrics lack one.

    Family C's answer has no ``p50_latency_ms``; a finished direct-mode run showed p50 "-" beside its p95.
    The samples it carries give it by the one percentile rule (client.measures).
    """
    metrics = observation.metrics
    if metrics is None or metrics.p50_latency_ms is not None or not observation.samples:
        return observation
    p50 = percentile(sorted(s.latency_ms for s in observation.samples), 0.50)
    return observation.model_copy(update={"metrics": metrics.model_copy(update={"p50_latency_ms": p50})})


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
        """Apply and wait for the Executor's final answer; halt the fault if that answer never comes."""
        if ctx.cancel is None:
            return self._observation(self._settle(ctx, self._post))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="boifi-direct")
        try:
            future = pool.submit(self._post, ctx)
            try:
                while not future.done() and not ctx.cancel.wait(_WATCH_SEC):
                    pass
            except BaseException:  # Ctrl-C while watching: the POST goes on, and so does its fault
                self.halt_by_key(ctx)
                raise
            if not future.done():
                return self._cancel(ctx, future)
            return self._observation(self._settle(ctx, lambda _: future.result()))
        finally:
            pool.shutdown(wait=False)  # a POST we could not halt ends by the deadline, on the wire

    def _settle(self, ctx: ApplyContext, post: Callable[[ApplyContext], ApiResponse]) -> ApiResponse:
        """Return the POST's answer; if it fails without one, halt the fault it may have left running."""
        try:
            return post(ctx)
        except BaseException as exc:
            if left_unconfirmed(exc):
                self.halt_by_key(ctx)
            raise

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
        observation = with_p50(observation_from_body(response.data, operation="apply", api_mode=self.mode))
        if observation.status is FaultStatus.FAILED:
            raise FaultExecutionError(f"Executor reports fault {observation.apply_id} failed")
        if observation.status is FaultStatus.CANCELLED:
            raise ExecutorCancelledError(
                f"fault {observation.apply_id} was cancelled on the Executor", partial=observation
            )
        return observation

    def _cancel(self, ctx: ApplyContext, future: concurrent.futures.Future[ApiResponse]) -> RawObservation:
        self.halt_by_key(ctx, by_target=True)
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
