"""Engine factory, SQLite connection settings, and schema setup."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import storage
from storage.engine import _enable_wal, current_revision, head_revision


def test_default_url_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOIFI_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/boifi")
    assert storage.default_database_url() == "postgresql+psycopg://u@127.0.0.1/boifi"


def test_default_url_is_a_file_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BOIFI_DATABASE_URL", raising=False)
    data_dir = tmp_path / "data" / "boifi"
    monkeypatch.setattr("storage.engine.platformdirs.user_data_dir", lambda name: str(data_dir))
    url = storage.default_database_url()
    assert url == f"sqlite:///{data_dir / 'boifi.db'}"
    assert data_dir.is_dir()


def test_make_engine_without_url_uses_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOIFI_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    engine = storage.make_engine()
    storage.init_db(engine)
    engine.dispose()
    assert (tmp_path / "env.db").exists()


def test_sqlite_file_gets_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'nested' / 'b.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_memory_database_is_shared_across_threads(memory_engine: Engine) -> None:
    created: list[int] = []

    def create() -> None:
        with Session(memory_engine) as session:
            created.append(
                storage.create_run(
                    session,
                    plan={"service": "s"},
                    executor_url="u",
                    api_mode="direct",
                    apply_key="k",
                    owner="o",
                ).id
                or 0
            )

    worker = threading.Thread(target=create)
    worker.start()
    worker.join()
    with Session(memory_engine) as session:
        assert [run.id for run in storage.list_runs(session)] == created


def test_init_db_is_idempotent_and_reaches_head(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert current_revision(engine) is None
    storage.init_db(engine)
    storage.init_db(engine)
    assert current_revision(engine) == head_revision() == "0010"
    assert {
        "runs",
        "timeline_points",
        "latency_samples",
        "client_events",
        "breaker_transitions",
        "health_samples",
    } <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrations_match_the_models(memory_engine: Engine) -> None:
    with memory_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_runs_have_the_documented_indexes(memory_engine: Engine) -> None:
    indexes = {tuple(index["column_names"]) for index in inspect(memory_engine).get_indexes("runs")}
    for columns in [("status",), ("created_at",), ("service",), ("service", "api"), ("fault_type",)]:
        assert columns in indexes
    for table in ("timeline_points", "latency_samples", "client_events"):
        firsts = {index["column_names"][0] for index in inspect(memory_engine).get_indexes(table)}
        assert "run_id" in firsts


def test_processes_opening_a_new_file_at_once_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    engines = [storage.make_engine(url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def open_db(engine: Engine) -> None:
        try:
            start.wait(timeout=10)
            storage.init_db(engine)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_db, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert all(current_revision(engine) == head_revision() for engine in engines)
    for engine in engines:
        engine.dispose()


class _LockedCursor:
    """A cursor whose journal-mode switch fails with ``error`` the first ``failures`` times."""

    def __init__(self, failures: int, error: str) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def execute(self, sql: str) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise sqlite3.OperationalError(self.error)
        return None


def test_switching_to_wal_retries_while_another_connection_holds_the_new_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("storage.engine.time.sleep", lambda seconds: None)
    cursor = _LockedCursor(failures=3, error="database is locked")
    _enable_wal(cursor)
    assert cursor.calls == 4


def test_switching_to_wal_gives_up_at_the_busy_timeout_and_on_other_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    monkeypatch.setattr("storage.engine.time.monotonic", lambda: now[0])
    monkeypatch.setattr("storage.engine.time.sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    forever = _LockedCursor(failures=10**6, error="database is locked")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _enable_wal(forever)
    assert 1 < forever.calls < 200
    assert now[0] <= storage.engine.SQLITE_BUSY_TIMEOUT_MS / 1000
    broken = _LockedCursor(failures=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk"):
        _enable_wal(broken)
    assert broken.calls == 1


def test_foreign_keys_are_back_on_after_init_db(memory_engine: Engine) -> None:
    with memory_engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
