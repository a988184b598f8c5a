"""Fault plans against the demo shop's payment API, for tests to vary by the fields they care about."""

from __future__ import annotations

from typing import Any

from client import FaultPlan, FaultType

PAYMENT = {"service": "payment", "api": "/api/v1/payment/process"}

# A short payment delay as a plan file holds it (JSON or YAML): only the fields a user writes.
PLAN_FILE_BODY: dict[str, Any] = {
    **PAYMENT,
    "fault_type": "delay",
    "delay_seconds": 0.01,
    "percentage": 50,
    "duration_seconds": 1,
}


def payment_delay(**overrides: Any) -> FaultPlan:
    """Delay half of the payment API's calls by 50 ms for a second; `overrides` set any other field.

    Example::

        PLAN = payment_delay(duration_seconds=60)
    """
    return _payment({"fault_type": FaultType.DELAY, "delay_seconds": 0.05, "percentage": 50}, overrides)


def payment_abort(**overrides: Any) -> FaultPlan:
    """Abort every payment API call with a 503 for a second; `overrides` set any other field."""
    return _payment({"fault_type": FaultType.ABORT, "abort_http_status": 503, "percentage": 100}, overrides)


def _payment(fault: dict[str, Any], overrides: dict[str, Any]) -> FaultPlan:
    return FaultPlan(**{**PAYMENT, "duration_seconds": 1, **fault, **overrides})
