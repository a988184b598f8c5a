"""`boifi apply` on a service or API the Executor does not list: exit 2 naming the known ones, no run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

import storage
from cli.known_services import unknown_targets
from cli.main import app
from client import FaultPlan, Observe, ServiceApi, ServiceInfo
from executor import EmbeddedExecutor
from tests.cli.plan_files import write_plan
from tests.plans import PLAN_FILE_BODY

PAYMENT = ServiceInfo("payment", None, None, (ServiceApi("POST", "/api/v1/payment/process"),))
GATEWAY = ServiceInfo("gateway", None, None)  # lists no APIs: any API is accepted


def _stored_runs(tmp_path: Path) -> int:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with Session(engine) as session:
            return len(session.exec(select(storage.Run)).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"service": "pay"}, "plan: unknown service 'pay'; the Executor lists: gateway, orders, payment"),
        ({"api": "/nope"}, "plan: service 'payment' has no API '/nope'; it lists: POST /api/v1/payment/"),
        (
            {"observe": {"service": "front", "api": "/api/v1/checkout"}},
            "observe: unknown service 'front'; the Executor lists: gateway, orders, payment",
        ),
    ],
)
def test_apply_refuses_a_target_the_executor_does_not_list(
    cli: CliRunner, tmp_path: Path, executor: EmbeddedExecutor, overrides: dict[str, Any], expected: str
) -> None:
    path = write_plan(tmp_path, {**PLAN_FILE_BODY, **overrides})
    result = cli.invoke(app, ["apply", str(path), "--executor-url", executor.base_url])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _stored_runs(tmp_path) == 0


def test_a_known_target_and_observe_pass() -> None:
    plan = FaultPlan.model_validate(
        {**PLAN_FILE_BODY, "observe": Observe(service="gateway", api="/api/v1/checkout")}
    )
    assert unknown_targets(plan, [PAYMENT, GATEWAY]) == []


def test_an_executor_that_lists_nothing_refuses_nothing() -> None:
    assert unknown_targets(FaultPlan.model_validate({**PLAN_FILE_BODY, "service": "x"}), []) == []


def test_both_targets_are_named_when_both_are_unknown() -> None:
    plan = FaultPlan.model_validate(
        {**PLAN_FILE_BODY, "api": "/nope", "observe": {"service": "front", "api": "/"}}
    )
    assert unknown_targets(plan, [PAYMENT]) == [
        "plan: service 'payment' has no API '/nope'; it lists: POST /api/v1/payment/process",
        "observe: unknown service 'front'; the Executor lists: payment",
    ]
