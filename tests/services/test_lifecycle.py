"""Building the services does no I/O; `start` does it, and a failing step of a worker is reported."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ClientEvent, EventKind, ExecutorClientConfig, HttpExecutorClient
from services import runner as runner_module
from services.active_faults import ActiveFaultsPoller
from services.console import Console
from services.console_settings import ConsoleSettings
from services.recorder import EventRecorder
from services.runner import Runner
from storage import RunStatus

NOW = datetime(2026, 12, 1, tzinfo=UTC)
URL = "http://127.0.0.1:9"
PLAN = {"service": "payment", "api": "/x", "fault_type": "delay", "percentage": 10}


def _boifi_threads() -> set[str]:
    return {thread.name for thread in threading.enumerate() if thread.name.startswith("boifi-")}


def _stop_after(worker_of: object, waits: int) -> object:
    """A wait that returns at once and stops `worker_of().worker` after `waits` waits."""
    count = {"n": 0}

    def wait(event: threading.Event, timeout: float) -> bool:
        count["n"] += 1
        if count["n"] >= waits:
            worker_of().worker.stop()  # type: ignore[operator]
        return False

    return wait


@pytest.fixture
def atexit_hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    registered: list[object] = []
    monkeypatch.setattr(runner_module.atexit, "register", registered.append)
    monkeypatch.setattr(runner_module.atexit, "unregister", lambda hook: None)
    yield registered


def _orphan(engine: Engine) -> int:
    with Session(engine) as session:
        run = storage.create_run(
            session,
            plan=PLAN,
            executor_url="http://elsewhere:1",
            api_mode="extended",
            apply_key="orphan",
            owner="dead:1:x",
            now=NOW - timedelta(hours=1),
        )
        assert run.id is not None
        storage.mark_running(session, run_id=run.id, now=NOW - timedelta(hours=1))
        return run.id


def _status(engine: Engine, run_id: int) -> RunStatus:
    with Session(engine) as session:
        run = session.get(storage.Run, run_id)
    assert run is not None
    return RunStatus(run.status)


def test_a_runner_recovers_and_registers_its_exit_hook_in_start_not_when_built(
    engine: Engine, atexit_hooks: list[object]
) -> None:
    orphan = _orphan(engine)
    with HttpExecutorClient(ExecutorClientConfig(base_url=URL)) as client:
        runner = Runner(engine=engine, client=client, now=lambda: NOW)
        assert _status(engine, orphan) is RunStatus.RUNNING and atexit_hooks == []
        assert "boifi-heartbeat" not in _boifi_threads()
        with pytest.raises(RuntimeError, match="not started"):
            runner.submit(storage_plan())
        runner.start()
        try:
            assert _status(engine, orphan) is RunStatus.INTERRUPTED
            assert atexit_hooks == [runner._shutdown_at_exit]
            assert "boifi-heartbeat" in _boifi_threads()
        finally:
            runner.shutdown()


def storage_plan():  # type: ignore[no-untyped-def]
    from client import FaultPlan

    return FaultPlan.model_validate({**PLAN, "delay_seconds": 0.01, "duration_seconds": 1})


def test_building_a_console_touches_neither_the_database_nor_a_thread(tmp_path, atexit_hooks) -> None:  # type: ignore[no-untyped-def]
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    before = _boifi_threads()
    console = Console(
        client_config=ExecutorClientConfig(base_url=URL, max_retries=1),
        engine=engine,
        settings=ConsoleSettings(health_interval_sec=60, active_faults_interval_sec=60),
    )
    try:
        assert inspect(engine).get_table_names() == []
        assert _boifi_threads() == before and atexit_hooks == []
        assert console.start() is console and console.start() is console  # twice: once
        assert "runs" in inspect(engine).get_table_names()
        assert {"boifi-event-recorder", "boifi-heartbeat", "boifi-health-monitor", "boifi-active-faults"} <= (
            _boifi_threads()
        )
        assert len(atexit_hooks) == 1
    finally:
        console.close()
        engine.dispose()


def test_a_console_whose_start_fails_closes_what_it_started(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    console = Console(
        client_config=ExecutorClientConfig(base_url=URL, max_retries=1),
        engine=engine,
        start_monitor=False,
        recover_on_start=False,
    )

    def broken_start() -> None:
        raise RuntimeError("recovery cannot run")

    monkeypatch.setattr(console.runner, "start", broken_start)
    with pytest.raises(RuntimeError, match="recovery cannot run"):
        console.start()
    assert not console.recorder.worker.running and not console.retention.worker.running
    assert console.recorder not in console.client._bus._listeners  # unsubscribed
    with pytest.raises(RuntimeError, match="shut down"):
        console.runner.submit(storage_plan())


def _event(second: int) -> ClientEvent:
    return ClientEvent(kind=EventKind.ATTEMPT, timestamp=NOW + timedelta(seconds=second), operation="apply")


def test_the_recorder_starts_no_thread_when_built_and_drains_its_whole_queue_on_close(engine: Engine) -> None:
    before = _boifi_threads()
    recorder = EventRecorder(engine=engine, executor_url=URL, batch_size=1)  # batches of at most 10
    assert _boifi_threads() == before
    for second in range(25):
        recorder(_event(second))
    recorder.close()
    with Session(engine) as session:
        assert len(storage.client_event_series(session, since=NOW)) == 25


def test_a_batch_the_recorder_cannot_write_is_reported_and_retried_and_recording_goes_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'late.db'}")  # no tables yet
    recorder: EventRecorder
    waits: list[str | None] = []
    clock = iter(float(second) for second in range(1000))  # each look at the clock: a second later

    def wait(event: threading.Event, timeout: float) -> bool:
        waits.append(recorder.last_error)
        if len(waits) == 1:
            storage.init_db(engine)
            recorder(_event(1))
        else:
            recorder.worker.stop()
        return False

    recorder = EventRecorder(engine=engine, executor_url=URL, wait=wait, clock=lambda: next(clock))
    recorder(_event(0))
    recorder.worker.run()
    assert waits[0] is not None and "client_events" in waits[0] and waits[1] is None
    with Session(engine) as session:
        assert [e.timestamp for e in storage.client_event_series(session, since=NOW)] == [
            NOW,
            NOW + timedelta(seconds=1),
        ]
    assert recorder.dropped == 0
    engine.dispose()


class _BrokenLister:
    config = ExecutorClientConfig(base_url=URL)

    def list_active_faults(self, **_: object) -> list[object]:
        raise RuntimeError("parser bug")


def test_an_unexpected_listing_error_is_the_snapshots_reason_and_the_workers_report() -> None:
    poller: ActiveFaultsPoller
    poller = ActiveFaultsPoller(
        client=_BrokenLister(),  # type: ignore[arg-type]
        interval_sec=60,
        wait=_stop_after(lambda: poller, 2),  # type: ignore[arg-type]
    )
    poller.worker.run()
    assert poller.snapshot.error == "RuntimeError: parser bug" and poller.snapshot.polls == 2
    assert poller.worker.failures == 2 and poller.worker.last_error == "RuntimeError: parser bug"
