"""A run whose storage fails: it ends by its own rules, keeps its outcome in memory, and is stored later."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

import storage
from client import (
    ExecutorCancelledError,
    ExecutorClientConfig,
    ExecutorMetrics,
    FaultPlan,
    HttpExecutorClient,
    RawObservation,
    RequestSample,
)
from services.guardrail import Guardrail
from services.heartbeat import Heartbeat
from services.run_recording import ActiveRun, RunRecorder
from services.runner import Runner
from services.spool import Spool
from storage import RunStatus
from tests.plans import payment_abort
from tests.services.test_storage_outage_spool import FlakyStore
from tests.waiting import wait_until

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PLAN = payment_abort(duration_seconds=30)


def observation(requests: int, *, error_rate: float = 0.9) -> RawObservation:
    samples = [RequestSample(float(i), 5.0, 503 if i % 10 else 200, True) for i in range(requests)]
    metrics = ExecutorMetrics(request_count=requests, error_rate=error_rate, success_rate=1 - error_rate)
    return RawObservation(
        status_code=200, latency_ms=5.0, error_rate=error_rate, apply_id="fault-1", metrics=metrics,
        samples=samples,
    )  # fmt: skip


class ScriptedClient(HttpExecutorClient):
    """Reports `progress`, waits for `gate`, then ends as the run's cancel event says: halted, or `final`."""

    def __init__(self, progress: RawObservation, final: RawObservation) -> None:
        super().__init__(ExecutorClientConfig(base_url="http://127.0.0.1:9"))
        self.progress, self.final = progress, final
        self.gate = threading.Event()
        self.gate.set()

    def apply_and_observe(self, plan: FaultPlan, timeout_sec: float | None = None, **kwargs: Any) -> Any:
        kwargs["on_progress"](self.progress)
        self.gate.wait(10)
        if kwargs["cancel"].is_set():
            raise ExecutorCancelledError("apply cancelled", partial=self.progress)
        return self.final


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file whose writers give up after 50 ms when another connection holds the lock."""
    made = storage.make_engine(f"sqlite:///{tmp_path / 'runs.db'}")

    @event.listens_for(made, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 50")

    storage.init_db(made)
    yield made
    made.dispose()


def new_active(engine: Engine, guardrail: Guardrail | None = None) -> ActiveRun:
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=PLAN.model_dump(mode="json"), executor_url="http://127.0.0.1:9",
            api_mode="extended", apply_key="k1", owner="test:1:x", now=T0,
        )  # fmt: skip
    assert run.id is not None
    return ActiveRun(run_id=run.id, plan=PLAN, apply_key="k1", guardrail=guardrail)


def stored(engine: Engine, run_id: int) -> storage.RunDetail:
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    return detail


def test_a_guardrail_stops_the_run_while_storage_refuses_every_write(engine: Engine, tmp_path: Path) -> None:
    store = FlakyStore(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=store)
    client = ScriptedClient(observation(40), observation(40))
    recorder = RunRecorder(engine=engine, client=client, now=lambda: T0, spool=spool)
    active = new_active(engine, Guardrail(max_error_rate=0.5, min_requests=10))
    try:
        recorder.execute(active, None, None)  # nothing raises into the run
        assert active.cancel.is_set()  # the guardrail was checked and halted it, storage or not
        outcome = recorder.outcome(active.run_id)
        assert outcome is not None and outcome.status is RunStatus.GUARDRAIL_STOP
        assert outcome.stop_reason == "guardrail: error rate 90.0% exceeded 50.0% after 40 requests"
        assert (outcome.request_count, outcome.sample_count, outcome.fault_id) == (40, 40, "fault-1")
        backlog = spool.backlog(active.run_id)
        assert (backlog.summaries, backlog.samples) == (1, 40)
        assert stored(engine, active.run_id).run.status is RunStatus.QUEUED
        store.down = False
        assert spool.flush()
        detail = stored(engine, active.run_id)
        assert detail.run.status is RunStatus.GUARDRAIL_STOP and detail.run.started_at is not None
        assert len(detail.samples) == detail.run.request_count == 40
    finally:
        client.close()


def test_a_locked_database_costs_the_runner_no_run_and_no_result(engine: Engine, tmp_path: Path) -> None:
    client = ScriptedClient(observation(5), observation(60, error_rate=0.1))
    runner = Runner(engine=engine, client=client, recover_on_start=False, spool_dir=tmp_path / "spool")
    runner.start()
    locker = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    client.gate.clear()
    try:
        run_id = runner.submit(PLAN)
        locker.execute("BEGIN EXCLUSIVE")  # from now on, every write of the run is refused
        client.gate.set()
        assert runner.wait(run_id, timeout=10)
        outcome = runner.outcome(run_id)
        assert outcome is not None and (outcome.status, outcome.request_count) == (RunStatus.COMPLETED, 60)
        backlog = runner.storage_backlog()
        assert backlog.runs == (run_id,) and backlog.samples == 60 and backlog.summaries == 1
        assert backlog.last_error == "database is locked" and backlog.since is not None
        locker.execute("ROLLBACK")
        wait_until(lambda: runner.storage_backlog().empty, timeout=20, what="the spool to store the run")
        detail = stored(engine, run_id)
        assert detail.run.status is RunStatus.COMPLETED and len(detail.samples) == 60
        assert runner.outcome(run_id) == outcome and runner.outcome(run_id + 1) is None
    finally:
        locker.close()
        runner.shutdown()
        client.close()


def test_lease_renewal_failures_are_one_warning_and_never_raise(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    down = threading.Event()
    down.set()
    renew = storage.heartbeat

    def heartbeat(session: Session, **kwargs: Any) -> None:
        if down.is_set():
            raise OperationalError("UPDATE runs", {}, sqlite3.OperationalError("database is locked"))
        renew(session, **kwargs)

    monkeypatch.setattr(storage, "heartbeat", heartbeat)
    active = new_active(engine)
    beat = Heartbeat(
        engine=engine, owner="test:1:x", run_ids=lambda: [active.run_id], interval_sec=60, now=lambda: T0
    )
    caplog.set_level(logging.WARNING)
    beat.beat()
    beat.beat()
    down.clear()
    beat.beat()
    assert [record.getMessage() for record in caplog.records] == [
        f"cannot renew the leases of runs [{active.run_id}]: database is locked",
        f"the leases of runs [{active.run_id}] are renewed again",
    ]
