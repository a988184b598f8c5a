"""One resilient HTTP call: breaker gate, deadline-bounded attempts, tenacity retries, events.

Every protocol goes through ``CallEngine.request``, so retry, breaker and event rules live here once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from client.breaker import CircuitBreaker
from client.config import ExecutorClientConfig
from client.errors import (
    ExecutorCancelledError,
    ExecutorClientError,
    ExecutorResponseError,
    ExecutorTimeoutError,
    counts_against_executor,
    decode_error_body,
    error_for_status,
    is_retryable,
    translate_transport_errors,
)
from client.events import EventBus, EventKind
from client.retry import Deadline, attempts_for, build_wait, stop_at_deadline
from client.transport import request_deadline

logger = logging.getLogger(__name__)

_CANCEL_POLL_SEC = 0.05


@dataclass(frozen=True)
class ApiResponse:
    """A decoded answer: status, parsed JSON body (None when empty) and headers."""

    status_code: int
    data: Any
    headers: httpx.Headers


class CallEngine:
    """Send requests to the Executor with the client's resilience rules."""

    def __init__(
        self,
        config: ExecutorClientConfig,
        http: httpx.Client,
        breaker: CircuitBreaker,
        bus: EventBus,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: Callable[[], float] | None,
    ) -> None:
        self.config = config
        self.http = http
        self.breaker = breaker
        self.bus = bus
        self.clock = clock
        self._sleep = sleep
        self._wait = build_wait(
            config.retry_strategy, config.initial_retry_delay_sec, config.max_retry_delay_sec, rng
        )

    @property
    def raw_sleep(self) -> Callable[[float], None]:
        """Return the injected sleep itself (for helpers that keep their own schedule)."""
        return self._sleep

    def sleep(
        self, seconds: float, *, cancel: threading.Event | None = None, operation: str = "wait"
    ) -> None:
        """Sleep on the injected sleep; with ``cancel``, wake early and raise ExecutorCancelledError."""
        if seconds <= 0:
            return
        if cancel is None:
            self._sleep(seconds)
            return
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            if cancel.is_set():
                raise ExecutorCancelledError(f"{operation}: cancelled")
            self._sleep(min(left, _CANCEL_POLL_SEC))
        if cancel.is_set():
            raise ExecutorCancelledError(f"{operation}: cancelled")

    def request(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        apply_key: str | None = None,
        ok_statuses: Collection[int] = (200,),
        read_timeout_sec: float | None = None,
        gate: bool = True,
        retry: bool = True,
        cancel: threading.Event | None = None,
    ) -> ApiResponse:
        """Send one logical call, retrying what is retryable within ``deadline``; raise our errors only.

        ``gate=False`` is for cleanup: the breaker neither admits nor counts the call, so a halt after a
        failure cannot reset the failure count, nor an open breaker keep a fault running.
        """
        headers = {"Idempotency-Key": apply_key} if apply_key else None
        started = self.clock()
        stop_deadline = stop_at_deadline(deadline)
        attempts = attempts_for(self.config.retry_strategy, self.config.max_retries) if retry else 1
        state = {"attempt": 0}

        def attempt() -> ApiResponse:
            state["attempt"] += 1
            if cancel is not None and cancel.is_set():
                raise ExecutorCancelledError(f"{operation}: cancelled")
            deadline.check(operation)
            self.bus.emit(EventKind.ATTEMPT, operation, attempt=state["attempt"], apply_key=apply_key)
            return self._attempt(
                operation,
                method,
                url,
                deadline,
                json_body,
                params,
                headers,
                ok_statuses,
                read_timeout_sec,
                gate,
            )

        def before_sleep(retry_state: tenacity.RetryCallState) -> None:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            self.bus.emit(
                EventKind.RETRY,
                operation,
                attempt=retry_state.attempt_number,
                delay_sec=retry_state.upcoming_sleep,
                error_class=type(exc).__name__,
                status_code=getattr(exc, "status_code", None),
                apply_key=apply_key,
                message=str(exc),
            )
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                operation,
                retry_state.attempt_number,
                exc,
                retry_state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts) | stop_deadline,
            wait=self._wait,
            retry=tenacity.retry_if_exception(is_retryable),
            sleep=lambda s: self.sleep(s, cancel=cancel, operation=operation),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            try:
                response = retrying(attempt)
            except ExecutorClientError as exc:
                if (
                    stop_deadline.triggered
                    and is_retryable(exc)
                    and not isinstance(exc, ExecutorTimeoutError)
                ):
                    raise ExecutorTimeoutError(
                        f"{operation}: deadline of {deadline.timeout_sec:g}s leaves no time to retry; "
                        f"last error: {exc}"
                    ) from exc
                raise
        except ExecutorClientError as exc:
            self.bus.emit(
                EventKind.FAILURE,
                operation,
                attempt=state["attempt"],
                error_class=type(exc).__name__,
                status_code=getattr(exc, "status_code", None),
                latency_ms=(self.clock() - started) * 1000.0,
                apply_key=apply_key,
                message=str(exc),
            )
            raise
        self.bus.emit(
            EventKind.SUCCESS,
            operation,
            attempt=state["attempt"],
            status_code=response.status_code,
            latency_ms=(self.clock() - started) * 1000.0,
            apply_key=apply_key,
        )
        return response

    def _attempt(
        self,
        operation: str,
        method: str,
        url: str,
        deadline: Deadline,
        json_body: dict[str, Any] | None,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        ok_statuses: Collection[int],
        read_timeout_sec: float | None,
        gate: bool,
    ) -> ApiResponse:
        if not gate:  # cleanup the breaker did not admit: its outcome neither trips nor resets the breaker
            return self._send(
                operation, method, url, deadline, json_body, params, headers, ok_statuses, read_timeout_sec
            )
        self.breaker.acquire()
        try:
            response = self._send(
                operation, method, url, deadline, json_body, params, headers, ok_statuses, read_timeout_sec
            )
        except ExecutorClientError as exc:
            if counts_against_executor(exc):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # the Executor answered: a 4xx is the caller's mistake
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return response

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        deadline: Deadline,
        json_body: dict[str, Any] | None,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        ok_statuses: Collection[int],
        read_timeout_sec: float | None,
    ) -> ApiResponse:
        remaining = max(deadline.remaining_sec(), 0.001)  # httpx rejects a zero or negative timeout
        read = min(read_timeout_sec or self.config.default_timeout_sec, remaining)
        timeout = httpx.Timeout(read, connect=min(self.config.connection_timeout_sec, remaining))
        limit = self.config.max_response_bytes
        with (
            translate_transport_errors(operation),
            request_deadline(remaining),  # httpx's timeouts are per read: this bounds the whole request
            self.http.stream(
                method, url, json=json_body, params=params, headers=headers, timeout=timeout
            ) as r,
        ):
            declared = r.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ExecutorResponseError(f"{operation}: response of {declared} bytes exceeds {limit}")
            chunks: list[bytes] = []
            size = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ExecutorResponseError(f"{operation}: response exceeds the {limit}-byte limit")
                chunks.append(chunk)
                if deadline.expired():
                    raise ExecutorTimeoutError(f"{operation}: deadline passed while reading the response")
            content = b"".join(chunks)
        if r.status_code not in ok_statuses:
            raise error_for_status(
                r.status_code,
                decode_error_body(content),
                operation=operation,
                retry_after=r.headers.get("retry-after"),
            )
        if r.status_code >= 400:  # an accepted error status (a 404 on delete): its body is informative only
            return ApiResponse(r.status_code, decode_error_body(content), r.headers)
        return ApiResponse(r.status_code, _decode_json(content, operation), r.headers)

    def check_health(self, path: str, *, timeout_sec: float) -> tuple[bool, float, str | None]:
        """Send one unguarded health request; return (healthy, latency_ms, error)."""
        started = time.perf_counter()
        try:
            with translate_transport_errors("health"), request_deadline(timeout_sec):
                response = self.http.get(path, timeout=timeout_sec)
            healthy = response.status_code == 200
            error = None if healthy else f"health answered {response.status_code}"
        except ExecutorClientError as exc:
            healthy, error = False, str(exc)
        return healthy, (time.perf_counter() - started) * 1000.0, error


def _decode_json(content: bytes, operation: str) -> Any:
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError as exc:
        preview = content[:80].decode("utf-8", errors="replace")
        raise ExecutorResponseError(
            f"{operation}: Executor answered with non-JSON body: {preview!r}"
        ) from exc
