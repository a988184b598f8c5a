"""Telemetry retention against real SQLite, on an injected clock: old telemetry goes, runs keep theirs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import storage
from client import ExecutorClientConfig
from services.console import Console
from services.console_settings import ConsoleSettings
from services.retention import PRUNE_INTERVAL_SEC, TelemetryRetention

NOW = datetime(2026, 12, 1, tzinfo=UTC)
URL = "http://127.0.0.1:9"
OLD, RECENT = NOW - timedelta(days=31), NOW - timedelta(days=29)


def _store_telemetry_and_an_old_run(engine: Engine) -> int:
    with Session(engine) as session:
        storage.record_client_events(
            session,
            events=[
                {"timestamp": when, "kind": "attempt", "executor_url": URL, "message": label}
                for when, label in ((OLD, "old"), (RECENT, "recent"))
            ],
        )
        for when in (OLD, RECENT):
            storage.record_health_sample(
                session,
                timestamp=when,
                healthy=True,
                latency_ms=1.0,
                breaker_state="closed",
                executor_url=URL,
            )
        storage.record_breaker_transition(
            session, timestamp=OLD, old_state="closed", new_state="open", executor_url=URL
        )
        run = storage.create_run(
            session,
            plan={"service": "payment", "api": "/x", "fault_type": "delay", "percentage": 10},
            executor_url=URL,
            api_mode="extended",
            apply_key="old-run",
            owner="test:1:x",
            now=OLD - timedelta(days=300),
        )
        assert run.id is not None
        storage.finish_run(
            session,
            run_id=run.id,
            status=storage.RunStatus.COMPLETED,
            timeline=[{"t_s": 0, "request_count": 2}],
            samples=[(0.0, 5.0, 200, True), (10.0, 6.0, 503, False)],
            now=OLD - timedelta(days=300),
        )
        return run.id


def test_pruning_deletes_telemetry_older_than_the_retention_and_keeps_the_rest(engine: Engine) -> None:
    run_id = _store_telemetry_and_an_old_run(engine)
    retention = TelemetryRetention(engine=engine, retention_days=30, now=lambda: NOW)
    assert retention.prune() == 3  # the old event, the old health sample, the old breaker transition
    since = OLD - timedelta(days=1)
    with Session(engine) as session:
        assert [e.message for e in storage.client_event_series(session, since=since)] == ["recent"]
        assert [s.timestamp for s in storage.health_series(session, since=since)] == [RECENT]
        assert storage.breaker_series(session, since=since) == []
        detail = storage.get_run(session, run_id=run_id)
        assert session.exec(select(storage.Run)).all()  # runs are not telemetry
    assert detail is not None and len(detail.samples) == 2 and len(detail.timeline) == 1
    assert retention.prune() == 0


def test_the_worker_prunes_at_start_then_every_hour(engine: Engine) -> None:
    clock = {"now": NOW}
    timeouts: list[float] = []
    retention: TelemetryRetention

    def wait(event: threading.Event, timeout: float) -> bool:
        timeouts.append(timeout)
        if len(timeouts) == 1:  # an hour later, the recent sample has become old too
            clock["now"] = NOW + timedelta(days=2)
        else:
            retention.worker.stop()
        return False

    _store_telemetry_and_an_old_run(engine)
    retention = TelemetryRetention(
        engine=engine, retention_days=30, now=lambda: clock["now"], clock=lambda: 0.0, wait=wait
    )
    retention.worker.run()
    assert retention.worker.steps == 2 and retention.worker.last_error is None
    assert timeouts == [PRUNE_INTERVAL_SEC, PRUNE_INTERVAL_SEC]
    with Session(engine) as session:
        assert storage.health_series(session, since=OLD - timedelta(days=1)) == []


def test_a_failed_prune_is_reported_and_the_next_one_runs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_prune = storage.prune_telemetry
    answers: list[Exception | None] = [OSError("database is locked"), None]

    def flaky_prune(session: Session, *, before: datetime) -> int:
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return real_prune(session, before=before)

    errors: list[str | None] = []

    def wait(event: threading.Event, timeout: float) -> bool:
        errors.append(retention.worker.last_error)
        if len(errors) == 2:
            retention.worker.stop()
        return False

    monkeypatch.setattr(storage, "prune_telemetry", flaky_prune)
    retention = TelemetryRetention(engine=engine, retention_days=30, now=lambda: NOW, wait=wait)
    retention.worker.run()
    assert errors == ["OSError: database is locked", None]
    assert retention.worker.failures == 1 and answers == []  # the second prune ran


def test_retention_days_must_be_positive(engine: Engine) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        TelemetryRetention(engine=engine, retention_days=0)


def test_the_console_starts_retention_with_its_setting_and_stops_it_on_close(engine: Engine) -> None:
    settings = ConsoleSettings(
        health_interval_sec=60, active_faults_interval_sec=60, telemetry_retention_days=7
    )
    console = Console(
        client_config=ExecutorClientConfig(base_url=URL, max_retries=1),
        engine=engine,
        settings=settings,
        start_monitor=False,
        recover_on_start=False,
    )
    assert not console.retention.worker.running  # building a Console starts nothing
    assert console.retention.retention_days == 7.0
    with console:
        assert console.retention.worker.running
    assert not console.retention.worker.running
