"""One resilient HTTP call: breaker gate, deadline-bounded attempts, tenacity retries, events.

Every protocol goes through ``CallEngine.request``, so retry, breaker and event rules live here once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

import httpx
import tenacity

from client.breaker import CircuitBreaker
from client.config import ExecutorClientConfig
from client.errors import (
    CircuitOpenError,
    ExecutorCancelledError,
    ExecutorClientError,
    ExecutorTimeoutError,
    counts_against_executor,
    is_retryable,
)
from client.events import EventBus, EventKind
from client.exchange import ApiResponse, check_health, send
from client.retry import Deadline, attempts_for, build_wait, stop_at_deadline

__all__ = ["ApiResponse", "CallEngine"]

logger = logging.getLogger(__name__)

_CANCEL_POLL_SEC = 0.05


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
        state = {"attempt": 0, "sent": 0}

        def attempt() -> ApiResponse:
            state["attempt"] += 1
            if cancel is not None and cancel.is_set():
                raise ExecutorCancelledError(f"{operation}: cancelled")
            deadline.check(operation)
            if gate:  # an open breaker refuses here: nothing is sent, so it is no attempt
                self._admit(operation, apply_key, attempt=state["attempt"], acquire=True)
            state["sent"] += 1
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
            if state["sent"] == 0 and isinstance(exc, CircuitOpenError):
                raise  # refused before anything was sent: the REJECTED event says so, not a failed call
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

    def reject_if_open(self, operation: str, *, apply_key: str | None = None) -> None:
        """Raise CircuitOpenError, after a REJECTED event, if the breaker would refuse a call now."""
        self._admit(operation, apply_key, attempt=None, acquire=False)

    def _admit(self, operation: str, apply_key: str | None, *, attempt: int | None, acquire: bool) -> None:
        try:
            self.breaker.acquire() if acquire else self.breaker.check()
        except CircuitOpenError as exc:
            self.bus.emit(
                EventKind.REJECTED,
                operation,
                attempt=attempt,
                error_class=type(exc).__name__,
                apply_key=apply_key,
                message=f"rejected by the open breaker; nothing sent ({exc})",
            )
            raise

    def check_health(self, path: str, *, timeout_sec: float) -> tuple[bool, float, str | None]:
        """Send one unguarded health request; return (healthy, latency_ms, error)."""
        return check_health(self.http, path, timeout_sec=timeout_sec)

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
        def exchange() -> ApiResponse:
            return send(
                self.http,
                self.config,
                operation,
                method,
                url,
                deadline=deadline,
                json_body=json_body,
                params=params,
                headers=headers,
                ok_statuses=ok_statuses,
                read_timeout_sec=read_timeout_sec,
            )

        if not gate:  # cleanup the breaker did not admit: its outcome neither trips nor resets the breaker
            return exchange()
        try:  # the permit was taken by _admit
            response = exchange()
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
