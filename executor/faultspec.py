"""Family B/C apply bodies: parsing, validation and the fault they describe."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from executor.faults import AbortFault, DelayFault, ErrorFault, Fault, FaultKind

__all__ = ["FaultSpec", "FaultSpecError", "LoadOverride", "build_fault", "parse_fault_spec"]

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_MAX_DURATION_S = 24 * 3600
_MAX_DELAY_MS = 600_000
_MAX_RATE_RPS = 5000.0
_MAX_CONCURRENCY = 1024


class FaultSpecError(Exception):
    """An invalid apply body; ``field`` names the offending field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class LoadOverride:
    rate_rps: float | None = None
    concurrency: int | None = None
    method: str | None = None
    body: Any = None


@dataclass(frozen=True)
class FaultSpec:
    """A validated apply request."""

    service: str
    api: str
    fault_type: FaultKind
    percentage: int
    duration_seconds: int
    fault_config: dict[str, Any]
    method: str | None = None
    start_delay_ms: int = 0
    start_time: datetime | None = None
    load: LoadOverride | None = None


def _int(body: dict[str, Any], key: str, *, field: str, low: int, high: int, required: bool) -> int | None:
    if key not in body or body[key] is None:
        if required:
            raise FaultSpecError(f"{field} is required", field=field)
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultSpecError(f"{field} must be an integer, got {json.dumps(value)}", field=field)
    if not low <= value <= high:
        raise FaultSpecError(f"{field} must be between {low} and {high}, got {value}", field=field)
    return value


def _str(body: dict[str, Any], key: str, *, field: str, required: bool) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise FaultSpecError(f"{field} is required", field=field)
        return None
    if not isinstance(value, str) or (required and not value):
        raise FaultSpecError(f"{field} must be a non-empty string", field=field)
    return value


def _method(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if value.upper() not in _METHODS:
        raise FaultSpecError(f"{field} must be one of {sorted(_METHODS)}, got {value!r}", field=field)
    return value.upper()


def _start_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FaultSpecError("start_time must be an RFC 3339 string", field="start_time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FaultSpecError(f"start_time is not RFC 3339: {value!r}", field="start_time") from exc
    if parsed.tzinfo is None:
        raise FaultSpecError("start_time needs a time zone (e.g. Z)", field="start_time")
    return parsed.astimezone(UTC)


def _fault_config(fault_type: FaultKind, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise FaultSpecError("fault_config must be an object", field="fault_config")
    if fault_type is FaultKind.DELAY:
        delay = _int(
            config,
            "delay_milliseconds",
            field="fault_config.delay_milliseconds",
            low=1,
            high=_MAX_DELAY_MS,
            required=True,
        )
        return {"delay_milliseconds": delay}
    if fault_type is FaultKind.ABORT:
        status = _int(
            config,
            "http_status_code",
            field="fault_config.http_status_code",
            low=100,
            high=599,
            required=True,
        )
        return {"http_status_code": status}
    share = _int(
        config, "error_percentage", field="fault_config.error_percentage", low=0, high=100, required=False
    )
    message = _str(config, "error_message", field="fault_config.error_message", required=False)
    return {"error_percentage": 100 if share is None else share, "error_message": message or "injected error"}


def _load(value: Any) -> LoadOverride | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FaultSpecError("load must be an object", field="load")
    rate = value.get("rate_rps")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= _MAX_RATE_RPS
    ):
        raise FaultSpecError(
            f"load.rate_rps must be a number in (0, {_MAX_RATE_RPS:g}]", field="load.rate_rps"
        )
    concurrency = _int(
        value, "concurrency", field="load.concurrency", low=1, high=_MAX_CONCURRENCY, required=False
    )
    method = _method(_str(value, "method", field="load.method", required=False), "load.method")
    return LoadOverride(
        rate_rps=None if rate is None else float(rate),
        concurrency=concurrency,
        method=method,
        body=value.get("body"),
    )


def parse_fault_spec(raw: bytes) -> FaultSpec:
    """Parse and validate an apply body; raise FaultSpecError naming the field."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FaultSpecError(f"malformed JSON: {exc}", field="body") from exc
    if not isinstance(body, dict):
        raise FaultSpecError("body must be a JSON object", field="body")
    service = _str(body, "service", field="service", required=True)
    api = _str(body, "api", field="api", required=True)
    assert service is not None and api is not None
    if not api.startswith("/"):
        raise FaultSpecError("api must be a path starting with '/'", field="api")
    raw_type = body.get("fault_type")
    try:
        fault_type = FaultKind(raw_type)
    except ValueError as exc:
        raise FaultSpecError(
            f"fault_type must be one of delay, abort, error_injection, got {json.dumps(raw_type)}",
            field="fault_type",
        ) from exc
    if fault_type is FaultKind.NONE:
        raise FaultSpecError("fault_type must be one of delay, abort, error_injection", field="fault_type")
    percentage = _int(body, "percentage", field="percentage", low=0, high=100, required=True)
    duration = _int(
        body, "duration_seconds", field="duration_seconds", low=1, high=_MAX_DURATION_S, required=True
    )
    start_delay = _int(
        body, "start_delay_ms", field="start_delay_ms", low=0, high=_MAX_DELAY_MS, required=False
    )
    assert percentage is not None and duration is not None
    return FaultSpec(
        service=service,
        api=api,
        method=_method(_str(body, "method", field="method", required=False), "method"),
        fault_type=fault_type,
        percentage=percentage,
        duration_seconds=duration,
        start_delay_ms=start_delay or 0,
        start_time=_start_time(body.get("start_time")),
        fault_config=_fault_config(fault_type, body.get("fault_config")),
        load=_load(body.get("load")),
    )


def build_fault(spec: FaultSpec) -> Fault:
    """Return the fault a valid spec describes."""
    config = spec.fault_config
    if spec.fault_type is FaultKind.DELAY:
        return DelayFault(delay_ms=config["delay_milliseconds"])
    if spec.fault_type is FaultKind.ABORT:
        return AbortFault(http_status=config["http_status_code"])
    return ErrorFault(error_message=config["error_message"])
