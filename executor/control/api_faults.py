"""Families B (extended fault API) and C (direct apply), and the ``/collect`` probe endpoint."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from executor.control.api_common import json_reply, read_body
from executor.lifecycle.fault_runner import FaultRunner, IdempotencyConflictError, UnknownServiceError
from executor.lifecycle.faultstore import FaultRecord, FaultStatus, FaultStore
from executor.lifecycle.load_budget import LoadBudgetExceededError
from executor.spec.faultspec import FaultSpec, FaultSpecError, parse_fault_spec
from executor.spec.specfields import check_api, read_method
from executor.spec.timefmt import rfc3339

__all__ = ["FaultApi"]

_MAX_KEY_LENGTH = 255
_MAX_COLLECT_S = 600


def _invalid(message: str, field: str) -> web.Response:
    return json_reply({"error": "invalid_input", "message": message, "details": {"field": field}}, status=400)


def _unknown_fault(apply_id: str) -> web.Response:
    return json_reply(
        {"error": "not_found", "message": f"unknown apply_id {apply_id!r}", "details": {"resource": "fault"}},
        status=404,
    )


def _unknown_service(exc: UnknownServiceError) -> web.Response:
    return json_reply(
        {
            "error": "not_found",
            "message": f"unknown service {exc.service!r}",
            "details": {"field": exc.field},
        },
        status=404,
    )


def _wants_samples(request: web.Request) -> bool:
    return request.query.get("include_samples", "").lower() in ("1", "true", "yes")


class FaultApi:
    """Handlers of ``/v1/faults``, ``/api/v1/faults/apply`` and ``/collect``."""

    def __init__(self, *, runner: FaultRunner, store: FaultStore, max_body_bytes: int) -> None:
        self._runner = runner
        self._store = store
        self._max_body_bytes = max_body_bytes

    def add_routes(self, app: web.Application) -> None:
        """Register the family B and C routes on ``app``."""
        router = app.router
        router.add_post("/v1/faults/apply", self.apply_extended)
        router.add_get("/v1/faults", self.list)
        router.add_get("/v1/faults/{apply_id}/status", self.status)
        router.add_get("/v1/faults/{apply_id}/metrics", self.metrics)
        router.add_delete("/v1/faults/{apply_id}", self.cancel)
        router.add_post("/api/v1/faults/apply", self.apply_direct)
        router.add_get("/collect", self.collect)

    async def _start(self, request: web.Request, family: str) -> FaultRecord | web.Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key) <= _MAX_KEY_LENGTH:
            return _invalid(f"Idempotency-Key must be 1-{_MAX_KEY_LENGTH} characters", "Idempotency-Key")
        if key is not None and not all(" " <= char <= "~" for char in key):
            # it is listed and echoed back: only text every client and every JSON reply can carry
            return _invalid("Idempotency-Key must be printable ASCII", "Idempotency-Key")
        raw = await read_body(request, max_bytes=self._max_body_bytes)
        try:
            spec: FaultSpec = parse_fault_spec(raw, now_s=self._runner.now())
        except FaultSpecError as exc:
            return _invalid(exc.message, exc.field)
        try:
            return self._runner.apply(spec, raw, family=family, key=key)
        except IdempotencyConflictError:
            body = {
                "error": "idempotency_key_reused",
                "message": "this Idempotency-Key was used with a different body",
            }
            return json_reply(body, status=409)
        except LoadBudgetExceededError as exc:
            return json_reply(exc.body(), status=429)
        except UnknownServiceError as exc:
            return _unknown_service(exc)

    async def apply_extended(self, request: web.Request) -> web.Response:
        """Start a fault and answer at once with its schedule."""
        record = await self._start(request, "extended")
        if isinstance(record, web.Response):
            return record
        return json_reply(
            {
                "apply_id": record.apply_id,
                "status": "applied",
                "scheduled_start_time": rfc3339(record.start_epoch_s),
                "scheduled_end_time": rfc3339(record.end_epoch_s),
            }
        )

    async def apply_direct(self, request: web.Request) -> web.Response:
        """Start a fault and answer when it has run its course (or was halted)."""
        record = await self._start(request, "direct")
        if isinstance(record, web.Response):
            return record
        await self._runner.wait_done(record)
        status = record.final_status or FaultStatus.COMPLETED
        body: dict[str, Any] = {
            "apply_id": record.apply_id,
            "status": status.value,
            "metrics": record.recorder.direct_metrics(),
            "target": record.target(),
            "trace_data": record.recorder.trace_data(),
            "logs": list(record.recorder.logs),
        }
        if record.error_message:
            body["error_message"] = record.error_message
        if _wants_samples(request) and record.recorder.keeps_samples:
            body["samples"] = record.recorder.sample_rows()
        return json_reply(body)

    async def list(self, _request: web.Request) -> web.Response:
        """List active and recent faults."""
        return json_reply({"faults": [self._runner.summary(record) for record in self._store.records()]})

    async def status(self, request: web.Request) -> web.Response:
        """Return one fault's status."""
        record = self._store.get(request.match_info["apply_id"])
        if record is None:
            return _unknown_fault(request.match_info["apply_id"])
        return json_reply(self._runner.status_body(record))

    async def metrics(self, request: web.Request) -> web.Response:
        """Return one fault's metrics so far (``final`` once its run has ended)."""
        record = self._store.get(request.match_info["apply_id"])
        if record is None:
            return _unknown_fault(request.match_info["apply_id"])
        final = record.task is not None and record.task.done()
        body = record.recorder.metrics_body(
            record.apply_id, final=final, include_samples=_wants_samples(request), target=record.target()
        )
        return json_reply(body)

    async def cancel(self, request: web.Request) -> web.Response:
        """Halt a fault now."""
        record = self._runner.cancel(request.match_info["apply_id"])
        if record is None:
            return _unknown_fault(request.match_info["apply_id"])
        status = record.final_status or FaultStatus.CANCELLED
        return json_reply({"apply_id": record.apply_id, "status": status.value})

    async def collect(self, request: web.Request) -> web.Response:
        """Probe a service's API through the proxy for ``duration_sec`` and return B's metrics body."""
        service = request.query.get("service", "")
        api = request.query.get("api", "")
        if not service:
            return _invalid("service is required", "service")
        method = request.query.get("method") or None
        try:
            check_api(api)
            method = read_method(method, "method")
        except FaultSpecError as exc:
            return _invalid(exc.message, exc.field)
        try:
            duration_s = float(request.query.get("duration_sec", "5"))
            rate = float(request.query["rate_rps"]) if "rate_rps" in request.query else None
        except ValueError:
            return _invalid("duration_sec and rate_rps must be numbers", "duration_sec")
        if not 0 < duration_s <= _MAX_COLLECT_S:
            return _invalid(f"duration_sec must be in (0, {_MAX_COLLECT_S}]", "duration_sec")
        if rate is not None and not 0 < rate <= 5000:
            return _invalid("rate_rps must be in (0, 5000]", "rate_rps")
        try:
            recorder = await self._runner.collect(
                service=service,
                api=api,
                duration_s=duration_s,
                method=method,
                rate_rps=rate,
            )
        except UnknownServiceError as exc:
            return _unknown_service(exc)
        body = recorder.metrics_body(
            f"collect-{service}", final=True, include_samples=_wants_samples(request)
        )
        return json_reply(body)
