"""Error kinds come from the class hierarchy, in one mapping, never from substrings of a class name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from client import (
    BadRequestError,
    CircuitOpenError,
    ClientEvent,
    EventKind,
    ExecutorClientMetrics,
    ExecutorConnectionError,
    ExecutorServerError,
    ExecutorTimeoutError,
    NotFoundError,
    UnprocessableEntityError,
)
from client.errors import ErrorKind, error_kind, error_kind_named


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ExecutorTimeoutError("t"), ErrorKind.TIMEOUT),
        (TimeoutError(), ErrorKind.TIMEOUT),
        (ExecutorConnectionError("c"), ErrorKind.CONNECTION),
        (ConnectionResetError(), ErrorKind.CONNECTION),
        (CircuitOpenError("open"), ErrorKind.CIRCUIT_OPEN),
        (BadRequestError("b", status_code=400), ErrorKind.BAD_REQUEST),
        (UnprocessableEntityError("u", status_code=422), ErrorKind.BAD_REQUEST),
        (NotFoundError("n", status_code=404), ErrorKind.HTTP),
        (ExecutorServerError("s", status_code=503), ErrorKind.SERVER),
        (ValueError("v"), ErrorKind.OTHER),
    ],
)
def test_error_kind_follows_the_class_hierarchy(error: BaseException, kind: ErrorKind) -> None:
    assert error_kind(error) is kind
    assert error_kind(type(error)) is kind
    assert error_kind_named(type(error).__name__) is kind


def test_a_class_name_outside_the_hierarchy_is_other_even_if_it_looks_like_one() -> None:
    assert error_kind_named("MyTimeoutLookalike") is ErrorKind.OTHER
    assert error_kind_named("NotAConnection") is ErrorKind.OTHER
    assert error_kind_named(None) is None and error_kind_named("") is None


def test_metrics_count_failures_by_kind() -> None:
    metrics = ExecutorClientMetrics()
    stamp = datetime(2026, 11, 27, tzinfo=UTC)
    for name in (
        "ExecutorTimeoutError",
        "TimeoutError",
        "CircuitOpenError",
        "ExecutorConnectionError",
        "UnprocessableEntityError",
        "MyTimeoutLookalike",
    ):
        event = ClientEvent(EventKind.FAILURE, stamp, "apply", error_class=name)
        assert event.error_kind is error_kind_named(name)
        metrics(event)
    assert (metrics.timeout_errors, metrics.connection_errors, metrics.bad_request_errors) == (2, 2, 1)
    assert metrics.failed_requests == 6
