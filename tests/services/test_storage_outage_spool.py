"""The storage spool without threads: what storage refuses is kept, spilled, retried, stored exactly once."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

import storage
from client.hypothesis import ExperimentVerdict, Phase
from services.console_settings import ConsoleSettings
from services.pending_writes import (
    PendingWrite,
    WriteKind,
    fault_id_write,
    finish_write,
    progress_write,
    start_write,
)
from services.recovery import recover_orphaned_runs
from services.spool import DEFAULT_MEMORY_ITEMS, Spool
from services.spool_files import SpoolFile, database_key, spool_paths
from services.spool_replay import replay_spool_files
from storage import RunStatus

T0 = datetime(2026, 12, 1, tzinfo=UTC)
# A phased run (issue 16): 10 baseline samples (second 0), then the fault (seconds 1-3), guardrail-stopped.
SAMPLES = [
    (float(i * 100), 10.0 + i, 503 if i % 3 == 0 else 200, i % 2 == 0, "baseline" if i < 10 else "fault")
    for i in range(40)
]
POINTS = [
    {
        "t_s": float(second),
        "phase": "baseline" if second == 0 else "fault",
        "request_count": 10,
        "error_count": 3,
    }
    for second in range(4)
]
SUMMARY = {"request_count": 30, "error_rate": 10 / 30, "p99_latency_ms": 49.0}  # the fault phase's
PHASES = [
    {
        "phase": "baseline",
        "start_offset_ms": 0.0,
        "end_offset_ms": 1000.0,
        "sample_count": 10,
        "error_rate": 0.4,
    },
    {
        "phase": "fault",
        "start_offset_ms": 1000.0,
        "end_offset_ms": 4000.0,
        "sample_count": 30,
        "error_rate": 1 / 3,
    },
]
EXPERIMENT = {
    "verdict": "guardrail_stop",
    "severity_score": 12.5,
    "time_to_recovery_s": None,
    "phases": PHASES,
    "deviations": [{"phase": "fault", "measure": "error_rate_pct", "observed": 33.3, "limit": 5.0}],
    "target": {"service": "payment", "api": "/pay", "request_count": 30, "affected_count": 30},
}


class FlakyStore:
    """Store writes in `engine` unless `down`; record what each call was asked to store."""

    def __init__(self, engine: Engine, *, down: bool = True) -> None:
        self.engine = engine
        self.down = down
        self.calls: list[list[WriteKind]] = []

    def __call__(self, writes: Sequence[PendingWrite]) -> None:
        self.calls.append([write.kind for write in writes])
        if self.down:
            raise OperationalError(
                "UPDATE runs SET ...", {}, sqlite3.OperationalError("attempt to write a readonly database")
            )
        with Session(self.engine) as session:
            for write in writes:
                write.store(session)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = storage.make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    storage.init_db(made)
    yield made
    made.dispose()


def new_run(engine: Engine, *, at: datetime = T0) -> int:
    plan = {
        "service": "payment",
        "api": "/pay",
        "fault_type": "abort",
        "percentage": 100,
        "duration_seconds": 4,
    }
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=plan, executor_url="http://127.0.0.1:1", api_mode="extended", apply_key=f"k{at}",
            owner="host:1:gone", now=at,
        )  # fmt: skip
    assert run.id is not None
    return run.id


def life_of(run_id: int) -> list[PendingWrite]:
    """A run's writes as its worker submits them: start, fault id, two progress reports, its finish."""
    return [
        start_write(run_id, at=T0 + timedelta(seconds=1), fault_id=None),
        fault_id_write(run_id, "fault-1"),
        progress_write(run_id, summary={}, timeline=POINTS[:1], experiment={"phases": PHASES[:1]}),
        progress_write(
            run_id, summary={"request_count": 20}, timeline=POINTS[:3], experiment={"phases": PHASES}
        ),
        finish_write(
            run_id,
            status=RunStatus.GUARDRAIL_STOP,
            at=T0 + timedelta(seconds=5),
            summary=SUMMARY,
            timeline=POINTS,
            samples=SAMPLES,
            stop_reason="guardrail: error rate",
            fault_id="fault-1",
            experiment=EXPERIMENT,
        ),
    ]


def stored(engine: Engine, run_id: int) -> storage.RunDetail:
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    return detail


def assert_true_outcome(engine: Engine, run_id: int) -> None:
    detail = stored(engine, run_id)
    run = detail.run
    assert (run.status, run.stop_reason, run.fault_id) == (
        RunStatus.GUARDRAIL_STOP,
        "guardrail: error rate",
        "fault-1",
    )
    assert run.started_at == T0 + timedelta(seconds=1) and run.finished_at == T0 + timedelta(seconds=5)
    assert run.request_count == 30 and len(detail.samples) == sum(p["sample_count"] for p in PHASES) == 40
    assert detail.samples["latency_ms"].tolist() == [sample[1] for sample in SAMPLES]
    assert storage.sample_phases(detail.samples) == [Phase(sample[4]) for sample in SAMPLES]
    assert [(point.t_s, point.phase) for point in detail.timeline] == [
        (0.0, Phase.BASELINE), (1.0, Phase.FAULT), (2.0, Phase.FAULT), (3.0, Phase.FAULT),
    ]  # fmt: skip
    assert (run.verdict, run.severity_score, run.time_to_recovery_s) == (
        ExperimentVerdict.GUARDRAIL_STOP,
        12.5,
        None,
    )
    assert (run.phases, run.deviations, run.target) == (
        PHASES,
        EXPERIMENT["deviations"],
        EXPERIMENT["target"],
    )


def test_writes_storage_refuses_are_kept_and_stored_in_order_once_it_answers(
    engine: Engine, tmp_path: Path
) -> None:
    run_id = new_run(engine)
    store = FlakyStore(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=store, now=lambda: T0)
    for write in life_of(run_id):
        spool.submit(write)  # never raises, though every attempt fails
    backlog = spool.backlog()
    assert (backlog.samples, backlog.summaries, backlog.runs) == (40, 1, (run_id,))
    assert backlog.events == 3 + len(POINTS[:3]) + len(POINTS)  # start, fault id, progress, and their points
    assert backlog.since == T0 and backlog.last_error == "attempt to write a readonly database"
    assert stored(engine, run_id).run.status is RunStatus.QUEUED
    store.down = False
    assert spool.flush()
    order = [WriteKind.START, WriteKind.FAULT_ID, WriteKind.PROGRESS, WriteKind.FINISH]
    assert store.calls[-1] == order  # the newest progress only, the finish last
    assert_true_outcome(engine, run_id)
    assert spool.backlog().empty and spool.backlog().last_error is None
    assert not list((tmp_path / "spool").glob("*"))  # memory was enough: no file


def test_storing_the_same_writes_twice_stores_the_run_once(engine: Engine) -> None:
    run_id = new_run(engine)
    writes = life_of(run_id)
    for _ in range(2):  # a retry after a write whose answer was lost, or a replay after a crash
        with Session(engine) as session:
            for write in writes:
                write.store(session)
    assert_true_outcome(engine, run_id)


def test_past_the_memory_bound_a_run_goes_to_a_locked_fsynced_spool_file(
    engine: Engine, tmp_path: Path
) -> None:
    run_id = new_run(engine)
    store = FlakyStore(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=store, memory_items=20)
    for write in life_of(run_id):
        spool.submit(write)
    (path,) = spool_paths(tmp_path / "spool", database_key(engine))
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds[-1] == "finish" and len(kinds) <= len(life_of(run_id))
    assert spool.backlog().spooled_runs == (run_id,) and spool.backlog().samples == 40
    assert SpoolFile.claim(path) is None  # this process keeps it: recovery elsewhere leaves it alone
    assert replay_spool_files(engine=engine, directory=tmp_path / "spool").held == (run_id,)
    store.down = False
    assert spool.flush()
    assert_true_outcome(engine, run_id)
    assert not path.exists() and spool.backlog().empty


def test_many_progress_reports_of_a_spooled_run_keep_its_file_small(engine: Engine, tmp_path: Path) -> None:
    run_id = new_run(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=FlakyStore(engine), memory_items=1)
    for second in range(40):
        spool.submit(progress_write(run_id, summary={"request_count": second}, timeline=POINTS))
    (path,) = spool_paths(tmp_path / "spool", database_key(engine))
    assert len(path.read_text().splitlines()) <= 12
    assert json.loads(path.read_text().splitlines()[-1])["values"]["summary"] == {"request_count": 39}


def test_close_spools_what_storage_refused_and_the_next_start_stores_it_without_interrupting(
    engine: Engine, tmp_path: Path
) -> None:
    run_id = new_run(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=FlakyStore(engine))
    for write in life_of(run_id):
        spool.submit(write)
    spool.close(timeout_sec=0)
    assert spool.backlog().spooled_runs == (run_id,)  # still reported: the CLI prints it after closing
    late = T0 + timedelta(hours=1)  # the owner is long gone: its lease has run out
    results = recover_orphaned_runs(
        engine=engine,
        client_for=lambda url, mode: None,
        lease_sec=30,
        now=lambda: late,
        spool_dir=tmp_path / "spool",
    )
    assert [(result.run_id, result.run_status, result.detail) for result in results] == [
        (run_id, "guardrail_stop", "results stored from its spool file")  # not an orphan to interrupt
    ]
    assert_true_outcome(engine, run_id)
    assert spool_paths(tmp_path / "spool", database_key(engine)) == []


def test_recovery_leaves_a_run_alone_while_its_spool_file_cannot_be_replayed(
    engine: Engine, tmp_path: Path
) -> None:
    run_id = new_run(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=FlakyStore(engine), memory_items=1)
    spool.submit(progress_write(run_id, summary={}, timeline=POINTS))  # spilled, held by this live spool
    results = recover_orphaned_runs(
        engine=engine, client_for=lambda url, mode: None, lease_sec=30, now=lambda: T0 + timedelta(hours=1),
        spool_dir=tmp_path / "spool",
    )  # fmt: skip
    assert results == [] and stored(engine, run_id).run.status is RunStatus.QUEUED
    spool.close(timeout_sec=0)


def test_a_spool_file_is_only_replayed_into_its_own_database(engine: Engine, tmp_path: Path) -> None:
    run_id = new_run(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=FlakyStore(engine))
    spool.submit(life_of(run_id)[-1])
    spool.close(timeout_sec=0)
    other = storage.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert replay_spool_files(engine=other, directory=tmp_path / "spool").stored == ()
    finally:
        other.dispose()
    assert replay_spool_files(engine=engine, directory=tmp_path / "spool").stored == (run_id,)


def test_a_torn_last_line_is_skipped_and_the_rest_replayed(engine: Engine, tmp_path: Path) -> None:
    run_id = new_run(engine)
    spool_file = SpoolFile.create(tmp_path / "spool", database_key(engine), run_id)
    spool_file.append(life_of(run_id))
    spool_file.release()
    with spool_file.path.open("a") as handle:
        handle.write('{"kind": "progress", "run_id": ')  # the process died mid-append
    assert replay_spool_files(engine=engine, directory=tmp_path / "spool").stored == (run_id,)
    assert_true_outcome(engine, run_id)


def test_storage_back_off_grows_between_attempts_until_storage_answers(
    engine: Engine, tmp_path: Path
) -> None:
    run_id = new_run(engine)
    store = FlakyStore(engine)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        store.down = len(waits) < 4

    spool = Spool(
        engine=engine, directory=tmp_path / "spool", store=store, sleep=sleep, initial_backoff_sec=0.25
    )
    for write in life_of(run_id):
        spool.submit(write)
    assert spool.drain()
    assert waits == [0.25, 0.5, 1.0, 2.0]
    assert_true_outcome(engine, run_id)


def test_an_outage_is_one_warning_line_and_its_end_another(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore(engine)
    spool = Spool(engine=engine, directory=tmp_path / "spool", store=store)
    caplog.set_level(logging.WARNING)
    for run_id in (new_run(engine), new_run(engine, at=T0 + timedelta(seconds=1))):
        for write in life_of(run_id):
            spool.submit(write)
    store.down = False
    assert spool.flush()
    messages = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert len(messages) == 2 and all(level == logging.WARNING for level, _ in messages)
    assert messages[0][1].startswith(f"storage unavailable: database is read-only: {tmp_path / 'runs.db'};")
    assert not any(record.exc_info for record in caplog.records)


def test_a_run_whose_write_is_a_bug_does_not_hold_up_the_others(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad, good = new_run(engine), new_run(engine, at=T0 + timedelta(seconds=1))

    def store(writes: Sequence[PendingWrite]) -> None:
        if writes[0].run_id == bad:
            raise ValueError("not a storable value")
        FlakyStore(engine, down=False)(writes)

    spool = Spool(engine=engine, directory=tmp_path / "spool", store=store)
    spool.submit(life_of(bad)[-1])
    spool.submit(life_of(good)[-1])
    assert stored(engine, good).run.status is RunStatus.GUARDRAIL_STOP
    assert spool.backlog().runs == (bad,)  # kept, not dropped
    assert [record.levelno for record in caplog.records if record.exc_info] == [logging.ERROR]


def test_the_memory_bound_setting_defaults_to_the_spools_own() -> None:
    assert ConsoleSettings().spool_memory_items == DEFAULT_MEMORY_ITEMS
