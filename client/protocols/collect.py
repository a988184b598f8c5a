"""Observe an entry point without a fault: ``GET /collect`` on the Executor (families B/C) or a collector.

``/collect?service=&api=&method=&duration_sec=&include_samples=true`` drives the Executor's load at the
entry point for ``duration_sec`` and answers B's metrics body. The call goes through the one CallEngine
(breaker, retries, events). With a progress callback the observation is cut into chunks of about a second,
so that the caller sees every second of it; a cancel stops the wait for a chunk at once.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import threading
from collections.abc import Callable
from typing import Any

from client.calls import ApiResponse, CallEngine
from client.errors import ExecutorCancelledError
from client.hypothesis import Observe
from client.models import ApiMode, FaultPlan, RawObservation, RequestSample
from client.parsing import observation_from_body
from client.retry import Deadline
from client.summaries import summarise, timeline

__all__ = ["MAX_COLLECT_SEC", "collect", "interruptible", "observation_of", "observed_target"]

MAX_COLLECT_SEC = 600  # the longest observation one /collect call may ask for (EXECUTOR_API.md)
_WATCH_SEC = 0.05
PartialCallback = Callable[[RawObservation], None]


def observed_target(plan: FaultPlan) -> Observe:
    """Return where a plan is observed: its ``observe``, else the fault's own target."""
    if plan.observe is not None:
        return plan.observe
    return Observe(service=plan.service, api=plan.api, method=plan.method)


def interruptible(call: Callable[[], ApiResponse], cancel: threading.Event) -> ApiResponse:
    """Run a long blocking call on a helper thread so that ``cancel`` can stop the wait for it."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="boifi-collect")
    try:
        future = pool.submit(call)
        while not future.done():
            if cancel.wait(_WATCH_SEC):
                raise ExecutorCancelledError("collect: cancelled")
        return future.result()
    finally:
        pool.shutdown(wait=False)  # an abandoned collect ends by its own read timeout


def observation_of(
    samples: list[RequestSample], *, api_mode: ApiMode, final: bool, logs: list[str] | None = None
) -> RawObservation:
    """Return an observation built from samples alone (metrics and timeline by client.summaries)."""
    metrics = summarise(samples)
    return RawObservation(
        status_code=200,
        latency_ms=metrics.avg_latency_ms,
        error_rate=metrics.error_rate,
        logs=logs or [],
        api_mode=api_mode,
        final=final,
        metrics=metrics,
        timeline=timeline(samples),
        samples=samples,
    )


def collect(
    engine: CallEngine,
    url: str,
    target: Observe,
    seconds: float,
    *,
    deadline: Deadline,
    api_mode: ApiMode,
    cancel: threading.Event | None = None,
    on_partial: PartialCallback | None = None,
    chunk_sec: float = 1.0,
) -> RawObservation:
    """Observe ``target`` for ``seconds`` through ``GET url`` and return one observation from its start."""
    params: dict[str, Any] = {"service": target.service, "api": target.api}
    if target.method:
        params["method"] = target.method
    step = chunk_sec if on_partial is not None else MAX_COLLECT_SEC
    count = max(1, math.ceil(seconds / step - 1e-9))
    started = engine.clock()
    samples: list[RequestSample] = []
    parts: list[RawObservation] = []
    for index in range(count):
        duration = min(step, seconds - index * step)
        offset_ms = (engine.clock() - started) * 1000.0

        def call(duration: float = duration) -> ApiResponse:
            return engine.request(
                "collect",
                "GET",
                url,
                params={**params, "duration_sec": _number(duration), "include_samples": "true"},
                deadline=deadline,
                read_timeout_sec=max(0.001, deadline.remaining_sec()),
                cancel=cancel,
            )

        try:
            response = call() if cancel is None else interruptible(call, cancel)
        except ExecutorCancelledError as exc:
            partial = observation_of(samples, api_mode=api_mode, final=False) if parts else None
            raise ExecutorCancelledError(str(exc), partial=partial) from exc
        part = observation_from_body(response.data, operation="collect", api_mode=api_mode)
        parts.append(part)
        samples += [dataclasses.replace(s, offset_ms=s.offset_ms + offset_ms) for s in part.samples]
        if on_partial is not None and index < count - 1:
            on_partial(observation_of(samples, api_mode=api_mode, final=False))
    if len(parts) == 1:
        return parts[0]
    return observation_of(
        samples, api_mode=api_mode, final=True, logs=[line for p in parts for line in p.logs]
    )


def _number(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else round(seconds, 3)
