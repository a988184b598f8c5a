"""A password in the Executor URL reaches no log, no stored row and no error message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import HttpExecutorClient
from services.console import Console
from services.console_settings import ConsoleSettings
from services.recovery import halt_leftover_faults
from tests.client.servers import refused_url
from tests.plans import payment_delay
from tests.services.conftest import fast_config

PASSWORD = "s3cret-pw"


def _with_password(url: str) -> str:
    return url.replace("http://", f"http://alice:{PASSWORD}@")


def _stored_text(engine: Engine) -> str:
    with engine.connect() as connection:
        rows = [
            *connection.execute(text("SELECT executor_url, error FROM runs")),
            *connection.execute(text("SELECT executor_url, message FROM client_events")),
            *connection.execute(text("SELECT executor_url, error FROM health_samples")),
        ]
    return repr(rows)


def test_a_failed_run_logs_and_stores_the_url_without_its_password(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = _with_password(refused_url())
    config = fast_config(url, max_retries=1, health_check_interval_sec=0)
    settings = ConsoleSettings(health_interval_sec=0.05)
    with Console(client_config=config, settings=settings, engine=engine) as console:
        assert console.executor_url == url.replace(PASSWORD, "***")
        run_id = console.runner.submit(payment_delay())
        assert console.runner.wait(run_id, timeout=10)
        console.monitor.sample()
    with Session(engine) as session:
        run = session.get(storage.Run, run_id)
        assert run is not None and run.status is storage.RunStatus.FAILED
        assert run.executor_url == url.replace(PASSWORD, "***")
        assert run.error and "alice:***@" in run.error
    assert "alice:***@" in _stored_text(engine) and PASSWORD not in _stored_text(engine)
    assert caplog.records and PASSWORD not in caplog.text


def test_recovery_logs_a_legacy_rows_url_without_its_password(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    url = _with_password(refused_url())
    now = datetime.now(UTC)
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=payment_delay().model_dump(mode="json"), executor_url=url, api_mode="extended",
            apply_key="run-legacy", owner="gone", now=now,
        )  # fmt: skip
        storage.finish_run(session, run_id=int(run.id or 0), status=storage.RunStatus.FAILED, now=now)
    with engine.begin() as connection:  # a row stored before URLs were redacted
        connection.execute(text("UPDATE runs SET executor_url = :url"), {"url": url})
    client = HttpExecutorClient(fast_config(url, max_retries=1))
    try:
        halt_leftover_faults(engine=engine, client_for=lambda *_: client, now=lambda: now + timedelta(1e-3))
    finally:
        client.close()
    assert "cannot list the faults of http://alice:***@" in caplog.text
    assert PASSWORD not in caplog.text


def test_a_new_run_stores_its_executor_url_redacted(engine: Engine) -> None:
    url = "http://alice:s3cret@exec.test:8000"
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=payment_delay().model_dump(mode="json"), executor_url=url, api_mode="extended",
            apply_key="run-1", owner="me",
        )  # fmt: skip
    assert run.executor_url == "http://alice:***@exec.test:8000"
    with engine.connect() as connection:
        assert "s3cret" not in repr(list(connection.execute(text("SELECT * FROM runs"))))
