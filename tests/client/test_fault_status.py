"""Fault status, fault type and observation status are the client's enums, parsed from the wire's strings."""

from __future__ import annotations

import httpx

from client import FaultPlan, FaultType, RawObservation
from client.models import FaultStatus
from tests.client.conftest import FakeClock, Script, make_client, metrics_body

PLAN = FaultPlan(service="payment", api="/pay", fault_type="delay", delay_seconds=1, percentage=50)


def test_listed_faults_carry_enums_and_unknown_kinds_or_statuses_are_not_strings(
    script: Script, clock: FakeClock
) -> None:
    faults = [
        {"apply_id": "a", "status": "running", "service": "s", "api": "/a", "fault_type": "abort"},
        {"apply_id": "b", "status": "pending", "service": "s", "api": "/b", "fault_type": "teleport"},
        {"apply_id": "c", "status": "sleeping", "service": "s", "api": "/c", "fault_type": "delay"},
    ]
    script.on("GET", "/v1/faults", httpx.Response(200, json={"faults": faults}))
    active = make_client(script, clock).list_active_faults()
    assert [(f.fault_id, f.status, f.fault_type) for f in active] == [
        ("a", FaultStatus.RUNNING, FaultType.ABORT),
        ("b", FaultStatus.PENDING, None),
    ]
    assert type(active[0].status) is FaultStatus and type(active[0].fault_type) is FaultType


def test_policies_are_listed_as_active_faults_of_their_type(script: Script, clock: FakeClock) -> None:
    policy = {
        "metadata": {"name": "p"},
        "spec": {"rules": [{"match": {"path": {"exact": "/x"}}, "fault": {"percentage": 5, "abort": {}}}]},
    }
    script.on("GET", "/v1/policies", httpx.Response(200, json={"policies": [policy]}))
    (fault,) = make_client(script, clock, api_mode="policy").list_active_faults()
    assert (fault.status, fault.fault_type) == (FaultStatus.ACTIVE, FaultType.ABORT)
    assert type(fault.status) is FaultStatus


def test_observation_status_takes_the_wire_strings_and_none_for_an_unknown_one() -> None:
    base = {"status_code": 200, "latency_ms": 1.0, "error_rate": 0.0}
    assert RawObservation.model_validate({**base, "status": "completed"}).status is FaultStatus.COMPLETED
    assert RawObservation.model_validate({**base, "status": "weird"}).status is None
    assert RawObservation.model_validate(base).status is None


def test_a_completed_extended_apply_reports_the_completed_status(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", httpx.Response(200, json={"apply_id": "f", "status": "applied"}))
    script.on(
        "GET", "/v1/faults/f/status", httpx.Response(200, json={"apply_id": "f", "status": "completed"})
    )
    script.on("GET", "/v1/faults/f/metrics", httpx.Response(200, json=metrics_body()))
    observation = make_client(script, clock).apply_and_observe(PLAN)
    assert observation.status is FaultStatus.COMPLETED
