"""Turn Executor bodies into RawObservation; every malformed body becomes ExecutorResponseError.

Families B and C name the same metrics differently (``request_count`` vs ``total_request_count``,
``affected_count`` vs ``blocked_request_count``); both normalise into ``ExecutorMetrics`` here.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError

from client.errors import ExecutorResponseError
from client.hypothesis import TargetHits
from client.models import ApiMode, ExecutorMetrics, RawObservation, RequestSample, TimelinePoint

_METRIC_ALIASES = {
    "total_request_count": "request_count",
    "blocked_request_count": "affected_count",
}


def require_object(data: Any, operation: str) -> dict[str, Any]:
    """Return ``data`` if it is a JSON object, else raise ExecutorResponseError."""
    if not isinstance(data, dict):
        raise ExecutorResponseError(f"{operation}: expected a JSON object, got {type(data).__name__}")
    return data


def require_str(data: dict[str, Any], key: str, operation: str) -> str:
    """Return a non-empty string field, else raise ExecutorResponseError naming it."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ExecutorResponseError(f"{operation}: response lacks the string field {key!r}")
    return value


def _describe(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(x) for x in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]]
    return "; ".join(parts)


def normalise_metrics(raw: Any, operation: str) -> ExecutorMetrics:
    """Return ExecutorMetrics from B's or C's metric names."""
    obj = require_object(raw, f"{operation} metrics")
    renamed = {_METRIC_ALIASES.get(k, k): v for k, v in obj.items()}
    if "request_count" not in renamed:
        raise ExecutorResponseError(f"{operation}: metrics lack 'request_count' (or 'total_request_count')")
    if "success_rate" not in renamed and "error_rate" in renamed:
        with contextlib.suppress(TypeError, ValueError):
            renamed["success_rate"] = 1.0 - float(renamed["error_rate"])
    fields = {k: v for k, v in renamed.items() if k in ExecutorMetrics.model_fields}
    try:
        return ExecutorMetrics.model_validate(fields)
    except ValidationError as exc:
        raise ExecutorResponseError(f"{operation}: malformed metrics ({_describe(exc)})") from exc


def parse_samples(raw: Any, operation: str) -> list[RequestSample]:
    """Return samples from ``[[offset_ms, latency_ms, status_code, affected], ...]`` (absent → [])."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ExecutorResponseError(f"{operation}: 'samples' must be a list")
    out: list[RequestSample] = []
    try:
        for row in raw:
            offset_ms, latency_ms, status_code, affected = row
            out.append(RequestSample(float(offset_ms), float(latency_ms), int(status_code), bool(affected)))
    except (TypeError, ValueError) as exc:
        raise ExecutorResponseError(f"{operation}: malformed sample row {row!r}") from exc
    return out


def parse_timeline(raw: Any, operation: str) -> list[TimelinePoint]:
    """Return timeline points (absent → [])."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ExecutorResponseError(f"{operation}: 'timeline' must be a list")
    try:
        return [TimelinePoint.model_validate(point) for point in raw]
    except ValidationError as exc:
        raise ExecutorResponseError(f"{operation}: malformed timeline ({_describe(exc)})") from exc


def parse_target(raw: Any, operation: str) -> TargetHits | None:
    """Return what the fault did on its own target, from the ``target`` object of B's or C's body.

    Absent (or null) means the Executor did not count it: None.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ExecutorResponseError(f"{operation}: 'target' must be an object")
    fields = {k: v for k, v in raw.items() if k in TargetHits.model_fields}
    try:
        return TargetHits.model_validate(fields)
    except ValidationError as exc:
        raise ExecutorResponseError(f"{operation}: malformed target ({_describe(exc)})") from exc


def observation_from_body(
    data: Any, *, operation: str, api_mode: ApiMode, apply_id: str | None = None, final: bool = True
) -> RawObservation:
    """Build a RawObservation from a metrics body of family B, C or ``/collect``."""
    body = require_object(data, operation)
    if "metrics" not in body:
        raise ExecutorResponseError(f"{operation}: response lacks the field 'metrics'")
    metrics = normalise_metrics(body["metrics"], operation)
    trace = body.get("trace_data") or {}
    logs = body.get("logs") or []
    if not isinstance(trace, dict) or not isinstance(logs, list):
        raise ExecutorResponseError(f"{operation}: 'trace_data' must be an object and 'logs' a list")
    try:
        return RawObservation(
            status_code=body.get("status_code", 200),
            latency_ms=body.get("latency_ms", metrics.avg_latency_ms),
            error_rate=body.get("error_rate", metrics.error_rate),
            trace_data=trace,
            logs=[str(line) for line in logs],
            apply_id=body.get("apply_id") or apply_id,
            api_mode=api_mode,
            status=body.get("status"),
            final=bool(body.get("final", final)),
            metrics=metrics,
            timeline=parse_timeline(body.get("timeline"), operation),
            samples=parse_samples(body.get("samples"), operation),
            target=parse_target(body.get("target"), operation),
        )
    except ValidationError as exc:
        raise ExecutorResponseError(f"{operation}: malformed observation ({_describe(exc)})") from exc
