"""Error hierarchy of the Executor client, and the one place where transport errors are translated.

::

    ExecutorClientError
    ├── ExecutorTimeoutError          (also builtin TimeoutError)
    ├── ExecutorConnectionError       (also builtin ConnectionError)
    │   └── CircuitOpenError          (nothing was sent)
    ├── ExecutorHTTPError             (.status_code, .body)
    │   ├── BadRequestError           400
    │   ├── UnauthorizedError         401
    │   ├── ForbiddenError            403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── UnprocessableEntityError  422
    │   ├── RateLimitedError          429 (.retry_after_sec)
    │   └── ExecutorServerError       5xx
    ├── ExecutorResponseError         (a body that is not JSON, lacks fields or is too large)
    ├── FaultExecutionError           (the Executor reports the fault as failed)
    └── ExecutorCancelledError        (.partial: the last partial observation, or None)

The seed declared its own ``TimeoutError``/``ConnectionError`` that shadowed the builtins; ours subclass
the builtins instead, so ``except TimeoutError`` catches both ours and the standard library's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from client.models import RawObservation


class ExecutorClientError(Exception):
    """Base of every error the client raises."""


class ExecutorTimeoutError(ExecutorClientError, TimeoutError):
    """The Executor did not answer in time, or the overall deadline passed."""


class ExecutorConnectionError(ExecutorClientError, ConnectionError):
    """The Executor could not be reached (refused, reset, DNS) or reports itself unhealthy."""


class CircuitOpenError(ExecutorConnectionError):
    """The circuit breaker is open; the call was rejected without sending anything."""


class ExecutorHTTPError(ExecutorClientError):
    """The Executor answered with an error status."""

    def __init__(self, message: str, *, status_code: int, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class BadRequestError(ExecutorHTTPError):
    """400: the request was malformed or the plan was rejected."""


class UnauthorizedError(ExecutorHTTPError):
    """401: missing or wrong bearer token."""


class ForbiddenError(ExecutorHTTPError):
    """403: the token may not do this."""


class NotFoundError(ExecutorHTTPError):
    """404: unknown endpoint, service, fault or policy."""


class ConflictError(ExecutorHTTPError):
    """409: for example an idempotency key reused with a different body."""


class UnprocessableEntityError(ExecutorHTTPError):
    """422: the body was understood but rejected."""


class RateLimitedError(ExecutorHTTPError):
    """429: too many requests; ``retry_after_sec`` holds the server's hint when it sent one."""

    def __init__(
        self, message: str, *, status_code: int, body: Any = None, retry_after_sec: float | None = None
    ):
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after_sec = retry_after_sec


class ExecutorServerError(ExecutorHTTPError):
    """5xx: the Executor failed."""


class ExecutorResponseError(ExecutorClientError):
    """The Executor's answer could not be used (not JSON, missing fields, too large)."""


class FaultExecutionError(ExecutorClientError):
    """The Executor reports that the fault failed."""


class ExecutorCancelledError(ExecutorClientError):
    """The apply was cancelled; ``partial`` holds the last partial observation (may be None)."""

    def __init__(self, message: str, *, partial: RawObservation | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class ErrorKind(StrEnum):
    """What went wrong, by the error's place in the hierarchy above (see `error_kind`)."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    CIRCUIT_OPEN = "circuit_open"  # nothing was sent
    BAD_REQUEST = "bad_request"  # 400 or 422: the request or the plan was rejected
    HTTP = "http"  # any other 4xx
    SERVER = "server"  # 5xx
    RESPONSE = "response"
    FAULT_FAILED = "fault_failed"
    CANCELLED = "cancelled"
    OTHER = "other"


# Most specific first: the first class an error is an instance of gives its kind.
_KIND_OF_CLASS: tuple[tuple[type[BaseException], ErrorKind], ...] = (
    (CircuitOpenError, ErrorKind.CIRCUIT_OPEN),
    (TimeoutError, ErrorKind.TIMEOUT),
    (ConnectionError, ErrorKind.CONNECTION),
    (BadRequestError, ErrorKind.BAD_REQUEST),
    (UnprocessableEntityError, ErrorKind.BAD_REQUEST),
    (ExecutorServerError, ErrorKind.SERVER),
    (ExecutorHTTPError, ErrorKind.HTTP),
    (ExecutorResponseError, ErrorKind.RESPONSE),
    (FaultExecutionError, ErrorKind.FAULT_FAILED),
    (ExecutorCancelledError, ErrorKind.CANCELLED),
)


def error_kind(error: BaseException | type[BaseException]) -> ErrorKind:
    """Return the kind of an error (an instance or a class), by the class mapping above."""
    cls = error if isinstance(error, type) else type(error)
    for base, kind in _KIND_OF_CLASS:
        if issubclass(cls, base):
            return kind
    return ErrorKind.OTHER


def _named_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    pending: list[type[BaseException]] = [ExecutorClientError, TimeoutError, ConnectionError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found


# Events and stored rows name the error's class; this maps every name the hierarchy knows to its kind.
ERROR_KINDS_BY_NAME: dict[str, ErrorKind] = {name: error_kind(cls) for name, cls in _named_classes().items()}


def error_kind_named(class_name: str | None) -> ErrorKind | None:
    """Return the kind of the error class called `class_name` (OTHER if unknown), None for no error."""
    if not class_name:
        return None
    return ERROR_KINDS_BY_NAME.get(class_name, ErrorKind.OTHER)


_STATUS_ERRORS: dict[int, type[ExecutorHTTPError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitedError,
}

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None) -> float | None:
    """Return the delay in seconds of a ``Retry-After`` header given in seconds, or None."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: too rare from an Executor to be worth a clock dependency
    return max(0.0, seconds)


def decode_error_body(content: bytes) -> Any:
    """Return the JSON of an error body, or its text when it is not JSON."""
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")[:2000]


def error_for_status(
    status_code: int, body: Any, *, operation: str, retry_after: str | None = None
) -> ExecutorHTTPError:
    """Build the error for a non-success HTTP status."""
    detail = body if isinstance(body, str) else json.dumps(body)[:500]
    message = f"Executor answered {status_code} to {operation}: {detail}"
    if status_code >= 500:
        return ExecutorServerError(message, status_code=status_code, body=body)
    cls = _STATUS_ERRORS.get(status_code, ExecutorHTTPError)
    if cls is RateLimitedError:
        return RateLimitedError(
            message, status_code=status_code, body=body, retry_after_sec=parse_retry_after(retry_after)
        )
    return cls(message, status_code=status_code, body=body)


def is_retryable(exc: BaseException) -> bool:
    """Tell whether an attempt that raised ``exc`` may be repeated."""
    if isinstance(exc, CircuitOpenError):
        return False
    if isinstance(exc, ExecutorTimeoutError | ExecutorConnectionError):
        return True
    return isinstance(exc, ExecutorHTTPError) and exc.status_code in RETRYABLE_STATUSES


def counts_against_executor(exc: BaseException) -> bool:
    """Tell whether an error is the Executor's fault (trips the breaker) rather than the caller's."""
    if isinstance(exc, CircuitOpenError | ExecutorCancelledError):
        return False
    if isinstance(exc, ExecutorTimeoutError | ExecutorConnectionError | ExecutorResponseError):
        return True
    if isinstance(exc, ExecutorHTTPError):
        return exc.status_code >= 500 or exc.status_code in (408, 429)
    return False


@contextlib.contextmanager
def translate_transport_errors(operation: str) -> Iterator[None]:
    """Translate httpx errors raised inside the block into the client's own errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ExecutorTimeoutError(f"{operation}: Executor timed out ({type(exc).__name__})") from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        raise ExecutorConnectionError(f"{operation}: cannot reach the Executor: {exc}") from exc
    except httpx.UnsupportedProtocol as exc:
        raise ExecutorClientError(f"{operation}: unsupported URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ExecutorConnectionError(f"{operation}: transport error: {exc}") from exc
