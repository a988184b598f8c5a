"""One HTTP exchange with the Executor: wire deadline, response size limit, status and JSON decoding.

No retries, breaker or events here (calls.py owns those); this is what one attempt does on the wire.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from client.config import ExecutorClientConfig
from client.errors import (
    ExecutorClientError,
    ExecutorResponseError,
    ExecutorTimeoutError,
    decode_error_body,
    error_for_status,
    translate_transport_errors,
)
from client.retry import Deadline
from client.transport import request_deadline


@dataclass(frozen=True)
class ApiResponse:
    """A decoded answer: status, parsed JSON body (None when empty) and headers."""

    status_code: int
    data: Any
    headers: httpx.Headers


def send(
    http: httpx.Client,
    config: ExecutorClientConfig,
    operation: str,
    method: str,
    url: str,
    *,
    deadline: Deadline,
    json_body: dict[str, Any] | None,
    params: dict[str, Any] | None,
    headers: dict[str, str] | None,
    ok_statuses: Collection[int],
    read_timeout_sec: float | None,
) -> ApiResponse:
    """Send one request, ended by what is left of ``deadline``; raise our errors for unwanted answers."""
    remaining = max(deadline.remaining_sec(), 0.001)  # httpx rejects a zero or negative timeout
    read = min(read_timeout_sec or config.default_timeout_sec, remaining)
    timeout = httpx.Timeout(read, connect=min(config.connection_timeout_sec, remaining))
    limit = config.max_response_bytes
    with (
        translate_transport_errors(operation),
        request_deadline(remaining),  # httpx's timeouts are per read: this bounds the whole request
        http.stream(method, url, json=json_body, params=params, headers=headers, timeout=timeout) as r,
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
    return ApiResponse(r.status_code, decode_json(content, operation), r.headers)


def check_health(http: httpx.Client, path: str, *, timeout_sec: float) -> tuple[bool, float, str | None]:
    """Send one unguarded health request; return (healthy, latency_ms, error)."""
    started = time.perf_counter()
    try:
        with translate_transport_errors("health"), request_deadline(timeout_sec):
            response = http.get(path, timeout=timeout_sec)
        healthy = response.status_code == 200
        error = None if healthy else f"health answered {response.status_code}"
    except ExecutorClientError as exc:
        healthy, error = False, str(exc)
    return healthy, (time.perf_counter() - started) * 1000.0, error


def decode_json(content: bytes, operation: str) -> Any:
    """Return the parsed JSON of a body (None when empty); raise ExecutorResponseError if it is not JSON."""
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError as exc:
        preview = content[:80].decode("utf-8", errors="replace")
        raise ExecutorResponseError(
            f"{operation}: Executor answered with non-JSON body: {preview!r}"
        ) from exc
