"""Family B/C apply bodies: parsing, validation, and the fault and rule they describe.

Validation is strict so that a fault hits only what was planned: an unknown field anywhere is refused
(never silently dropped), a value that would reach an HTTP head or a matcher may hold no control character,
header matchers are honoured, and a start time must fall within the next 24 hours.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from executor.model.fault_kinds import (
    FINAL_STATUSES,
    AbortFault,
    DelayFault,
    ErrorFault,
    Fault,
    FaultAction,
    FaultKind,
)
from executor.model.rules import MatchKind, RequestMatch, Rule, Selector, StringMatch
from executor.spec.jsonbody import JsonBodyError, parse_object
from executor.spec.specfields import (
    FaultSpecError,
    HeaderSpec,
    ObserveSpec,
    check_api,
    no_control,
    read_headers,
    read_int,
    read_load_headers,
    read_method,
    read_observe,
    read_str,
    refuse_unknown,
)
from executor.spec.timefmt import parse_rfc3339

__all__ = [
    "MAX_START_AHEAD_S",
    "FaultSpec",
    "FaultSpecError",
    "HeaderSpec",
    "LoadOverride",
    "ObserveSpec",
    "build_fault",
    "build_rule",
    "parse_fault_spec",
]

MAX_START_AHEAD_S = 24 * 3600
_MAX_DURATION_S = 24 * 3600
_MAX_DELAY_MS = 600_000
_MAX_RATE_RPS = 5000.0
_MAX_CONCURRENCY = 1024
_FIELDS = (
    "service",
    "api",
    "method",
    "fault_type",
    "percentage",
    "duration_seconds",
    "start_delay_ms",
    "start_time",
    "fault_config",
    "load",
    "headers",
    "observe",
)
_CONFIG_FIELDS = {
    FaultKind.DELAY: ("delay_milliseconds",),
    FaultKind.ABORT: ("http_status_code",),
    FaultKind.ERROR: ("error_percentage", "error_message"),
}
_LOAD_FIELDS = ("rate_rps", "concurrency", "method", "body", "headers", "headers_pct")


@dataclass(frozen=True)
class LoadOverride:
    """How the load driver deviates from its defaults for one fault."""

    rate_rps: float | None = None
    concurrency: int | None = None
    method: str | None = None
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    headers_pct: int = 100  # the share of the load's requests that carry ``headers``


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
    start_epoch_s: float | None = None
    load: LoadOverride | None = None
    headers: tuple[HeaderSpec, ...] = ()
    observe: ObserveSpec | None = None  # the entry point the load drives; None: the fault's own target


def _start_time(value: Any, now_s: float) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FaultSpecError("start_time must be an RFC 3339 string", field="start_time")
    try:
        start_s = parse_rfc3339(value)
    except ValueError as exc:
        raise FaultSpecError(f"start_time {value[:40]!r}: {exc}", field="start_time") from exc
    if start_s - now_s > MAX_START_AHEAD_S:
        raise FaultSpecError(
            f"start_time may be at most {MAX_START_AHEAD_S // 3600} h ahead; a time in the past starts now",
            field="start_time",
        )
    return start_s


def _fault_config(fault_type: FaultKind, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise FaultSpecError("fault_config must be an object", field="fault_config")
    refuse_unknown(config, _CONFIG_FIELDS[fault_type], prefix="fault_config.")
    if fault_type is FaultKind.DELAY:
        delay = read_int(
            config,
            "delay_milliseconds",
            field="fault_config.delay_milliseconds",
            low=1,
            high=_MAX_DELAY_MS,
            required=True,
        )
        return {"delay_milliseconds": delay}
    if fault_type is FaultKind.ABORT:
        status = read_int(
            config,
            "http_status_code",
            field="fault_config.http_status_code",
            low=FINAL_STATUSES.start,  # a 1xx is no final answer: a client would wait for another
            high=FINAL_STATUSES.stop - 1,
            required=True,
        )
        return {"http_status_code": status}
    share = read_int(
        config, "error_percentage", field="fault_config.error_percentage", low=0, high=100, required=False
    )
    message = read_str(config, "error_message", field="fault_config.error_message", required=False)
    return {"error_percentage": 100 if share is None else share, "error_message": message or "injected error"}


def _load(value: Any) -> LoadOverride | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FaultSpecError("load must be an object", field="load")
    refuse_unknown(value, _LOAD_FIELDS, prefix="load.")
    rate = value.get("rate_rps")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= _MAX_RATE_RPS
    ):
        raise FaultSpecError(
            f"load.rate_rps must be a number in (0, {_MAX_RATE_RPS:g}]", field="load.rate_rps"
        )
    concurrency = read_int(
        value, "concurrency", field="load.concurrency", low=1, high=_MAX_CONCURRENCY, required=False
    )
    method = read_method(read_str(value, "method", field="load.method", required=False), "load.method")
    share = read_int(value, "headers_pct", field="load.headers_pct", low=0, high=100, required=False)
    return LoadOverride(
        rate_rps=None if rate is None else float(rate),
        concurrency=concurrency,
        method=method,
        body=value.get("body"),
        headers=read_load_headers(value.get("headers")),
        headers_pct=100 if share is None else share,
    )


def _fault_type(raw_type: Any) -> FaultKind:
    try:
        fault_type = FaultKind(raw_type)
    except ValueError:
        fault_type = FaultKind.NONE
    if fault_type is FaultKind.NONE:
        raise FaultSpecError(
            f"fault_type must be one of delay, abort, error_injection, got {json.dumps(raw_type)[:40]}",
            field="fault_type",
        )
    return fault_type


def parse_fault_spec(raw: bytes, *, now_s: float) -> FaultSpec:
    """Parse and validate an apply body received at ``now_s``; raise FaultSpecError naming the field."""
    try:
        body = parse_object(raw)
    except JsonBodyError as exc:
        raise FaultSpecError(str(exc), field="body") from exc
    refuse_unknown(body, _FIELDS)
    service = read_str(body, "service", field="service", required=True)
    assert service is not None
    no_control(service, field="service")
    api = read_str(body, "api", field="api", required=True)
    assert api is not None
    check_api(api)
    fault_type = _fault_type(body.get("fault_type"))
    percentage = read_int(body, "percentage", field="percentage", low=0, high=100, required=True)
    duration = read_int(
        body, "duration_seconds", field="duration_seconds", low=1, high=_MAX_DURATION_S, required=True
    )
    start_delay = read_int(
        body, "start_delay_ms", field="start_delay_ms", low=0, high=_MAX_DELAY_MS, required=False
    )
    assert percentage is not None and duration is not None
    return FaultSpec(
        service=service,
        api=api,
        method=read_method(read_str(body, "method", field="method", required=False), "method"),
        fault_type=fault_type,
        percentage=percentage,
        duration_seconds=duration,
        start_delay_ms=start_delay or 0,
        start_epoch_s=_start_time(body.get("start_time"), now_s),
        fault_config=_fault_config(fault_type, body.get("fault_config")),
        load=_load(body.get("load")),
        headers=read_headers(body.get("headers")),
        observe=read_observe(body.get("observe")),
    )


def build_fault(spec: FaultSpec) -> Fault:
    """Return the fault a valid spec describes."""
    config = spec.fault_config
    if spec.fault_type is FaultKind.DELAY:
        return DelayFault(delay_ms=config["delay_milliseconds"])
    if spec.fault_type is FaultKind.ABORT:
        return AbortFault(http_status=config["http_status_code"])
    return ErrorFault(error_message=config["error_message"])


def build_rule(spec: FaultSpec, *, source: str, halted: asyncio.Event) -> Rule:
    """Return the data-plane rule of a valid spec: its service, method, path and headers, nothing wider."""
    return Rule(
        source=source,
        selector=Selector(service=spec.service),
        match=RequestMatch(
            method=StringMatch.of(MatchKind.EXACT, spec.method) if spec.method else None,
            path=StringMatch.of(MatchKind.EXACT, spec.api),
            headers=tuple(header.to_match() for header in spec.headers),
        ),
        action=FaultAction(
            percentage=spec.percentage, fault=build_fault(spec), start_delay_ms=spec.start_delay_ms
        ),
        halted=halted,
    )
