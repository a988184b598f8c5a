"""`boifi runs recover` asks no Executor that was temporary (`boifi apply --embedded`'s, gone by design)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

import storage
from cli.main import app
from cli.temporary import TEMPORARY_DETAIL, TEMPORARY_OWNER_SUFFIX
from tests.cli.plan_files import write_plan
from tests.plans import PLAN_FILE_BODY
from tests.ports import free_port

ABORT_PLAN = {**PLAN_FILE_BODY, "fault_type": "abort", "abort_http_status": 500, "percentage": 100}
ABORT_PLAN.pop("delay_seconds")


def _recovery_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "services.recovery" and r.levelno >= logging.WARNING
    ]


def _store(engine: object, *, url: str, owner: str, status: storage.RunStatus, ago_s: float) -> int:
    moment = datetime.now(UTC) - timedelta(seconds=ago_s)
    with Session(engine) as session:  # type: ignore[call-overload]
        run = storage.create_run(
            session, plan=ABORT_PLAN, executor_url=url, api_mode="extended", apply_key=f"k-{owner}-{ago_s}",
            owner=owner, now=moment,
        )  # fmt: skip
        assert run.id is not None
        storage.mark_running(session, run_id=run.id, now=moment, fault_id="fault-1")
        if status is not storage.RunStatus.RUNNING:
            storage.finish_run(session, run_id=run.id, status=status, error="refused", now=moment)
        return run.id


def test_recover_asks_no_temporary_executor_and_says_its_fault_ended_with_it(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "1")
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    storage.init_db(engine)
    temporary_url, real_url = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    temporary_owner = f"host:1:abc{TEMPORARY_OWNER_SUFFIX}"
    orphan = _store(
        engine, url=temporary_url, owner=temporary_owner, status=storage.RunStatus.RUNNING, ago_s=120
    )
    _store(engine, url=temporary_url, owner=temporary_owner, status=storage.RunStatus.FAILED, ago_s=60)
    _store(engine, url=real_url, owner="host:2:def", status=storage.RunStatus.FAILED, ago_s=60)
    engine.dispose()

    with caplog.at_level(logging.WARNING):
        result = cli.invoke(app, ["runs", "recover", "--json"])
    assert result.exit_code == 0, result.output
    recovered = json.loads(result.stdout)
    assert [(r["run_id"], r["run_status"], r["detail"]) for r in recovered] == [
        (orphan, "interrupted", TEMPORARY_DETAIL)
    ]
    warnings = _recovery_warnings(caplog)
    assert not [w for w in warnings if temporary_url in w], warnings
    assert [w for w in warnings if real_url in w], warnings  # a real Executor that is down is still said


def test_an_executor_url_a_real_run_used_too_is_not_temporary(cli: CliRunner, tmp_path: Path) -> None:
    from cli.temporary import temporary_executor_urls

    engine = storage.make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    storage.init_db(engine)
    shared, alone = "http://127.0.0.1:1", "http://127.0.0.1:2"
    _store(
        engine, url=shared, owner=f"a:1:x{TEMPORARY_OWNER_SUFFIX}", status=storage.RunStatus.FAILED, ago_s=9
    )
    _store(engine, url=shared, owner="a:2:y", status=storage.RunStatus.FAILED, ago_s=8)
    _store(
        engine, url=alone, owner=f"a:3:z{TEMPORARY_OWNER_SUFFIX}", status=storage.RunStatus.FAILED, ago_s=7
    )
    assert temporary_executor_urls(engine) == {alone}
    engine.dispose()


@pytest.mark.slow
def test_recover_is_quiet_after_an_embedded_run_left_its_fault_behind(
    cli: CliRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plan = write_plan(tmp_path, {**ABORT_PLAN, "duration_seconds": 5})
    applied = cli.invoke(app, ["apply", str(plan), "--embedded", "--json", "--max-error-rate", "10",
                               "--min-requests", "3"])  # fmt: skip
    assert applied.exit_code == 4, applied.output  # a guardrail stop: recovery checks for its fault
    run = json.loads(applied.stdout)["run"]
    assert run["status"] == "guardrail_stop"
    with caplog.at_level(logging.WARNING):
        recovered = cli.invoke(app, ["runs", "recover"])
    assert recovered.exit_code == 0, recovered.output
    assert recovered.stdout.strip() == "no orphaned runs and no faults left behind"
    assert _recovery_warnings(caplog) == []
