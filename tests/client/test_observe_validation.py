"""Observe is validated as strictly as the fault's own target, with errors that name the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cli.plan_file import describe_validation_error
from client import FaultPlan, Observe

PLAN = {
    "service": "payment",
    "api": "/api/v1/payment/process",
    "fault_type": "delay",
    "delay_seconds": 0.5,
    "percentage": 50,
}


def _error(observe: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        FaultPlan.model_validate(PLAN | {"observe": observe})
    return describe_validation_error(caught.value)


def test_observe_method_is_upper_cased_and_empty_means_any() -> None:
    assert Observe(service="gateway", api="/api/v1/orders", method="post").method == "POST"
    assert Observe(service="gateway", api="/api/v1/orders", method="").method is None


@pytest.mark.parametrize(
    ("observe", "field", "words"),
    [
        ({"service": "gateway", "api": "api/v1/orders"}, "observe.api", "must start with '/'"),
        ({"service": "gateway", "api": "/orders\r\nX: 1"}, "observe.api", "control characters"),
        ({"service": "  ", "api": "/orders"}, "observe.service", "must not be blank"),
        ({"service": "gate\x00way", "api": "/orders"}, "observe.service", "control characters"),
        ({"service": "gateway", "api": "/orders", "method": "PO ST"}, "observe.method", "HTTP method"),
        ({"service": "gateway", "api": "/orders", "method": "GET\n"}, "observe.method", "control characters"),
        ({"service": "gateway", "api": "/orders", "verb": "GET"}, "observe.verb", "not a field of observe"),
    ],
)
def test_a_bad_observe_names_its_field(observe: dict[str, object], field: str, words: str) -> None:
    message = _error(observe)
    assert message.startswith(f"{field}: ")
    assert words in message


def test_observe_goes_on_the_wire_without_an_absent_method() -> None:
    assert Observe(service="gateway", api="/o").to_wire() == {"service": "gateway", "api": "/o"}
    assert Observe(service="gateway", api="/o", method="get").to_wire() == {
        "service": "gateway",
        "api": "/o",
        "method": "GET",
    }


def test_a_hypothesis_without_phases_is_a_valid_plan() -> None:
    plan = FaultPlan.model_validate(PLAN | {"hypothesis": {"max_error_rate_pct": 1}})
    assert plan.baseline_seconds == 0 and plan.recovery_seconds == 0
    assert plan.hypothesis is not None and plan.hypothesis.max_p99_ms is None
