"""The runner against the real embedded executor, in all three api modes."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import FaultPlan
from executor import EmbeddedExecutor
from services.guardrail import Guardrail
from services.runner import HALTED_BY_USER
from storage import RunStatus
from tests.plans import payment_abort, payment_delay


def delay_plan(
    duration_seconds: int = 1, service: str = "payment", api: str = "/api/v1/payment/process"
) -> FaultPlan:
    return payment_delay(service=service, api=api, delay_seconds=0.02, duration_seconds=duration_seconds)


def finished(engine: Engine, run_id: int) -> storage.RunDetail:
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    return detail


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["extended", "direct", "policy"])
def test_run_completes_and_stores_observation_in_every_mode(
    executor: EmbeddedExecutor, engine: Engine, console_factory, api_mode: str
) -> None:
    console = console_factory(executor.base_url, api_mode=api_mode, probe_url=executor.proxy_url("payment"))
    run_id = console.runner.submit(delay_plan(), labels=["mode-test"])
    assert console.runner.wait(run_id, timeout=30)
    detail = finished(engine, run_id)
    run = detail.run
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.api_mode == api_mode
    assert run.request_count and run.request_count > 10
    assert run.fault_id
    assert run.started_at is not None and run.finished_at is not None
    assert len(detail.timeline) >= 1
    assert len(detail.samples["latency_ms"]) == run.request_count
    assert 0 < (run.affected_count or 0) < run.request_count
    assert run.labels == ["mode-test"]


@pytest.mark.slow
def test_one_runner_runs_plans_in_other_modes_than_its_clients(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url, api_mode="extended", probe_url=executor.proxy_url("payment"))
    direct = console.runner.submit(
        delay_plan(service="inventory", api="/api/v1/inventory/check"), api_mode="direct"
    )
    policy = console.runner.submit(delay_plan(), api_mode="policy")
    default = console.runner.submit(delay_plan(service="orders", api="/api/v1/order/status"))
    for run_id in (direct, policy, default):
        assert console.runner.wait(run_id, timeout=30)
    modes = {}
    for run_id in (direct, policy, default):
        run = finished(engine, run_id).run
        assert run.status == RunStatus.COMPLETED, run.error
        modes[run_id] = run.api_mode
    assert modes == {direct: "direct", policy: "policy", default: "extended"}
    assert str(console.client.config.api_mode.value) == "extended"
    assert not hasattr(console.runner, "_siblings")


@pytest.mark.slow
def test_cancel_halts_the_fault_on_the_executor(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url)
    run_id = console.runner.submit(
        delay_plan(duration_seconds=30, service="inventory", api="/api/v1/inventory/check")
    )
    # wait until the fault is known to the Executor, then halt it
    for _ in range(100):
        if any(f.service == "inventory" for f in console.client.list_active_faults()):
            break
        console.runner.wait(run_id, timeout=0.05)
    assert console.runner.cancel(run_id)
    assert console.runner.wait(run_id, timeout=15)
    run = finished(engine, run_id).run
    assert run.status == RunStatus.CANCELLED
    assert run.stop_reason == HALTED_BY_USER
    assert not [f for f in console.client.list_active_faults() if f.service == "inventory"]


@pytest.mark.slow
def test_guardrail_stops_a_run_whose_error_rate_crosses_the_bound(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url)
    plan = payment_abort(duration_seconds=20)
    run_id = console.runner.submit(plan, guardrail=Guardrail(max_error_rate=0.5, min_requests=10))
    assert console.runner.wait(run_id, timeout=20)
    run = finished(engine, run_id).run
    assert run.status == RunStatus.GUARDRAIL_STOP  # its own status: not a person's halt
    assert run.stop_reason is not None and run.stop_reason.startswith("guardrail: error rate")
    assert run.request_count is not None and run.request_count >= 10
    assert run.guardrail == {"max_error_rate": 0.5, "max_p99_latency_ms": None, "min_requests": 10}


@pytest.mark.slow
def test_ten_concurrent_runs_lose_nothing(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url)
    targets = [
        ("payment", "/api/v1/payment/process"),
        ("inventory", "/api/v1/inventory/check"),
        ("orders", "/api/v1/order/create"),
    ]
    run_ids = [
        console.runner.submit(delay_plan(service=targets[i % 3][0], api=targets[i % 3][1]), notes=f"run {i}")
        for i in range(10)
    ]
    assert len(set(run_ids)) == 10
    for run_id in run_ids:
        assert console.runner.wait(run_id, timeout=60)
    for index, run_id in enumerate(run_ids):
        detail = finished(engine, run_id)
        assert detail.run.status == RunStatus.COMPLETED, detail.run.error
        assert detail.run.notes == f"run {index}"
        assert len(detail.samples["latency_ms"]) == detail.run.request_count


@pytest.mark.slow
def test_unreachable_executor_fails_the_run_with_a_connection_error(engine: Engine, console_factory) -> None:
    console = console_factory("http://127.0.0.1:9", max_retries=1)
    run_id = console.runner.submit(delay_plan())
    assert console.runner.wait(run_id, timeout=20)
    run = finished(engine, run_id).run
    assert run.status == RunStatus.FAILED
    assert run.error_class in {"ExecutorConnectionError", "CircuitOpenError"}
    assert run.error


@pytest.mark.slow
def test_client_events_are_recorded_with_their_run(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url)
    run_id = console.runner.submit(delay_plan())
    assert console.runner.wait(run_id, timeout=30)
    console.recorder.flush()
    with Session(engine) as session:
        run = storage.get_run(session, run_id=run_id)
        assert run is not None
        events = storage.client_event_series(session, since=run.run.created_at)
    kinds = {event.kind for event in events}
    assert {"attempt", "success"} <= kinds
    assert any(event.run_id == run_id for event in events)
