"""Acceptance: real faults, real databases that fail mid-run; the run ends on time and loses nothing.

For each way a database fails (a read-only file, a full disk, a lock held past the busy timeout, PostgreSQL
stopped): the fault is halted on time whatever the database does, the outcome is known in memory at once,
and once the database answers the run is stored terminal with every sample (stored count = the sum of its
phases' sample counts, the request count of a fault phase alone), its verdict and its phases, with warnings
of one line and no traceback in the logs. Some of the runs are experiments with three phases.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ExperimentVerdict, FaultPlan
from executor import EmbeddedExecutor
from services.console import Console
from services.console_settings import ConsoleSettings
from services.guardrail import Guardrail
from services.run_recording import RunOutcome
from services.spool_replay import replay_spool_files
from storage import RunStatus
from tests.cli.processes import ROOT, active_faults, clean_env, read_until
from tests.plans import payment_abort, payment_delay
from tests.postgres_server import PostgresServer
from tests.services.conftest import fast_config
from tests.services.test_runner_phases import PHASED
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def sqlite_engine(path: Path, *, busy_timeout_ms: int | None = None) -> Engine:
    engine = storage.make_engine(f"sqlite:///{path}")
    if busy_timeout_ms is not None:

        @event.listens_for(engine, "connect")
        def _busy_timeout(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")

    storage.init_db(engine)
    return engine


@contextlib.contextmanager
def console_on(
    executor: EmbeddedExecutor, engine: Engine, spool_dir: Path, **settings: Any
) -> Iterator[Console]:
    console = Console(
        client_config=fast_config(executor.base_url),
        engine=engine,
        settings=ConsoleSettings(
            spool_dir=spool_dir, health_interval_sec=60, active_faults_interval_sec=60, **settings
        ),
        start_monitor=False,
    ).start()
    try:
        yield console
    finally:
        console.close()


def stored(engine: Engine, run_id: int) -> storage.RunDetail:
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    return detail


def is_running(engine: Engine, run_id: int) -> bool:
    return stored(engine, run_id).run.status is RunStatus.RUNNING


def survive(
    executor: EmbeddedExecutor,
    console: Console,
    plan: FaultPlan,
    *,
    fail: Callable[[], object],
    recover: Callable[[], object],
    expected: RunStatus,
    guardrail: Guardrail | None = None,
    fail_at_once: bool = False,
    halt: bool = False,
) -> RunOutcome:
    """Run `plan`, make storage `fail` mid-run, check the run ends on time, `recover`, check it is stored."""
    runner, engine = console.runner, console.engine
    run_id = runner.submit(plan, guardrail=guardrail)
    key = stored(engine, run_id).run.apply_key
    if not fail_at_once:
        wait_until(lambda: is_running(engine, run_id), timeout=10, what=f"run {run_id} to be stored running")
        wait_until(lambda: active_faults(executor.base_url, [key]), timeout=10, what="the fault to be active")
    fail()
    if halt:
        runner.cancel(run_id)
    assert runner.wait(run_id, timeout=40)
    assert active_faults(executor.base_url, [key]) == []  # halted on time, storage or not
    outcome = runner.outcome(run_id)
    assert outcome is not None and outcome.status is expected, outcome
    assert outcome.request_count and outcome.sample_count == phase_sample_count(outcome)
    backlog = runner.storage_backlog(run_id)
    assert (backlog.summaries, backlog.samples, backlog.runs) == (1, outcome.sample_count, (run_id,))
    assert backlog.last_error and backlog.since is not None
    recover()
    wait_until(lambda: runner.storage_backlog().empty, timeout=30, what="the kept results to be stored")
    detail = stored(engine, run_id)
    assert detail.run.status is expected and detail.run.finished_at is not None
    assert_stored_as_kept(detail, outcome)
    return outcome


def phase_sample_count(outcome: RunOutcome) -> int | None:
    """Return how many samples a run's phases counted; the request count of a run with a fault phase alone."""
    phases = outcome.experiment.get("phases") or []
    if [summary["phase"] for summary in phases] in ([], ["fault"]):
        return outcome.request_count
    return sum(summary["sample_count"] for summary in phases)


def assert_stored_as_kept(detail: storage.RunDetail, outcome: RunOutcome) -> None:
    """Check storage has the outcome kept in memory: request count, every sample with its phase, verdict."""
    assert detail.run.request_count == outcome.request_count
    assert len(detail.samples) == outcome.sample_count == phase_sample_count(outcome)
    assert {key: getattr(detail.run, key) for key in outcome.experiment} == dict(outcome.experiment)
    for summary in detail.run.phases:
        assert len(storage.samples_in_phase(detail.samples, summary["phase"])) == summary["sample_count"]


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    records = caplog.records
    loud = [f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or r.levelno >= logging.ERROR]
    assert loud == []
    assert all("\n" not in record.getMessage() for record in records)  # one line each


def _root_may(*command: str) -> str | None:
    """Return why `command` cannot run here (the reason to skip), or None when it succeeds."""
    if shutil.which(command[0]) is None:
        return f"{command[0]} is not installed"
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else f"{' '.join(command)}: {done.stderr.strip() or done.returncode}"


def test_a_database_file_made_read_only_mid_run(
    executor: EmbeddedExecutor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # As root, file modes do not stop writes; the immutable attribute does, on open files too.
    probe = tmp_path / "probe"
    probe.touch()
    reason = _root_may("chattr", "+i", str(probe))
    if reason is not None:
        pytest.skip(f"cannot make a file immutable here: {reason}")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    database = tmp_path / "runs.db"
    engine = sqlite_engine(database)
    files = [str(path) for path in (database, Path(f"{database}-wal")) if path.exists()]
    caplog.set_level(logging.WARNING)
    try:
        with console_on(executor, engine, tmp_path / "spool") as console:
            survive(
                executor, console, payment_delay(delay_seconds=0.01, duration_seconds=3),
                fail=lambda: subprocess.run(["chattr", "+i", *files], check=True),
                recover=lambda: subprocess.run(["chattr", "-i", *files], check=True),
                expected=RunStatus.COMPLETED,
            )  # fmt: skip
    finally:
        subprocess.run(["chattr", "-i", *files], check=False)
        engine.dispose()
    assert_no_traceback(caplog)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs of its own; skipped where mounting is not allowed."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    reason = _root_may("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point))
    if reason is not None:
        pytest.skip(f"cannot mount a small tmpfs here: {reason}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Write a file into `directory` until its file system is full; return it."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_disk_that_fills_up_mid_run_while_the_run_is_halted(
    executor: EmbeddedExecutor, tmp_path: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = small_disk / "runs.db"
    engine = sqlite_engine(database)
    filler: list[Path] = []

    def fill_the_disk() -> None:
        with sqlite3.connect(database) as connection:  # the log reuses its space: empty it first
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler.append(fill(small_disk))

    caplog.set_level(logging.WARNING)
    try:
        with console_on(executor, engine, tmp_path / "spool") as console:
            survive(
                executor, console, payment_delay(delay_seconds=0.01, duration_seconds=30),
                fail=fill_the_disk, recover=lambda: filler[0].unlink(), expected=RunStatus.CANCELLED,
                halt=True,
            )  # fmt: skip
    finally:
        engine.dispose()
    assert_no_traceback(caplog)


def test_a_lock_held_past_the_busy_timeout_while_the_guardrail_stops_the_run(
    executor: EmbeddedExecutor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "runs.db"
    engine = sqlite_engine(database, busy_timeout_ms=200)
    locker = sqlite3.connect(database, isolation_level=None, timeout=30)
    caplog.set_level(logging.WARNING)
    try:
        with console_on(executor, engine, tmp_path / "spool") as console:
            outcome = survive(
                executor, console, payment_abort(duration_seconds=30),
                guardrail=Guardrail(max_error_rate=0.5, min_requests=10),
                fail=lambda: locker.execute("BEGIN EXCLUSIVE"), recover=lambda: locker.execute("ROLLBACK"),
                expected=RunStatus.GUARDRAIL_STOP, fail_at_once=True,
            )  # fmt: skip
        assert outcome.stop_reason is not None and outcome.stop_reason.startswith("guardrail: error rate")
        assert outcome.verdict is ExperimentVerdict.GUARDRAIL_STOP  # stored so, as survive checked
    finally:
        locker.close()
        engine.dispose()
    assert_no_traceback(caplog)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may stop and start."""
    reason = PostgresServer.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with PostgresServer() as server:
        yield server


def test_postgresql_stopped_and_started_mid_run(
    executor: EmbeddedExecutor, tmp_path: Path, own_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    engine = storage.make_engine(own_postgres.url)
    storage.init_db(engine)
    caplog.set_level(logging.WARNING)
    try:
        with console_on(executor, engine, tmp_path / "spool") as console:
            outcome = survive(
                executor, console, PHASED.model_copy(update={"duration_seconds": 3}),
                fail=own_postgres.stop, recover=own_postgres.start, expected=RunStatus.COMPLETED,
            )  # fmt: skip
        assert [summary["phase"] for summary in outcome.experiment["phases"]] == [
            "baseline",
            "fault",
            "recovery",
        ]
        assert outcome.verdict is not None
    finally:
        engine.dispose()
    assert_no_traceback(caplog)


def test_a_console_that_exits_during_an_outage_leaves_its_results_to_the_next_start(
    executor: EmbeddedExecutor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "runs.db"
    engine = sqlite_engine(database, busy_timeout_ms=100)
    locker = sqlite3.connect(database, isolation_level=None, timeout=30)
    caplog.set_level(logging.WARNING)
    try:
        with console_on(executor, engine, tmp_path / "spool") as console:
            run_id = console.runner.submit(PHASED)
            locker.execute("BEGIN EXCLUSIVE")
            assert console.runner.wait(run_id, timeout=30)
            outcome = console.runner.outcome(run_id)
            assert outcome is not None and outcome.status is RunStatus.COMPLETED and outcome.request_count
            assert outcome.verdict is not None and len(outcome.experiment["phases"]) == 3
        assert console.runner.storage_backlog().spooled_runs == (
            run_id,
        )  # closed: its results went to a file
        assert len(list((tmp_path / "spool").glob("*.jsonl"))) == 1
        locker.execute("ROLLBACK")
        assert stored(engine, run_id).run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
        # The next start's recovery would interrupt the run at once (a tiny lease) but for its spool file.
        with console_on(executor, engine, tmp_path / "spool", lease_sec=0.01):
            detail = stored(engine, run_id)
        assert detail.run.status is RunStatus.COMPLETED and detail.run.started_at is not None
        assert_stored_as_kept(detail, outcome)  # replayed from its spool file: phases and verdict too
        assert list((tmp_path / "spool").glob("*.jsonl")) == []
    finally:
        locker.close()
        engine.dispose()
    assert_no_traceback(caplog)


# Spools one run's finish to a file (storage refuses everything), says so, and lives until killed.
HOLDER_SCRIPT = """
import sys, threading
from datetime import UTC, datetime
from pathlib import Path
from sqlalchemy.exc import OperationalError
import storage
from services.pending_writes import finish_write
from services.spool import Spool

def refuse(writes):
    raise OperationalError("UPDATE runs", {}, Exception("database is locked"))

engine = storage.make_engine(sys.argv[1])
spool = Spool(engine=engine, directory=Path(sys.argv[2]), memory_items=1, store=refuse)
spool.submit(finish_write(int(sys.argv[3]), status="completed", at=datetime.now(UTC),
                          summary={"request_count": 1}, samples=[(0.0, 1.0, 200, False)]))
print("spooled", flush=True)
threading.Event().wait(120)
"""


def test_only_the_spool_files_of_exited_processes_are_replayed(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    engine = sqlite_engine(database)
    plan = payment_delay().model_dump(mode="json")
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=plan, executor_url="http://127.0.0.1:9", api_mode="extended", apply_key="k",
            owner="other:1:x",
        )  # fmt: skip
    assert run.id is not None
    spool_dir = tmp_path / "spool"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, f"sqlite:///{database}", str(spool_dir), str(run.id)],
        cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        read_until(holder, lambda line: line == "spooled")
        assert replay_spool_files(engine=engine, directory=spool_dir).held == (run.id,)
        assert stored(engine, run.id).run.status is RunStatus.QUEUED
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert replay_spool_files(engine=engine, directory=spool_dir).stored == (run.id,)
    detail = stored(engine, run.id)
    assert detail.run.status is RunStatus.COMPLETED and len(detail.samples) == 1
    engine.dispose()
