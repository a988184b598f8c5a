"""Runs remember who launched them: older databases gain `launched_by`, and the export carries it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session

import storage
from storage.engine import alembic_config, current_revision, head_revision, upgrade


def _columns(engine: object) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("runs")}  # type: ignore[arg-type]


@pytest.mark.slow
def test_an_older_database_gains_the_column_and_keeps_its_runs(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    upgrade(engine, "0006")
    assert "launched_by" not in _columns(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                " duration_seconds, plan, executor_url, api_mode, apply_key, request_count,"
                " affected_count, labels, notes)"
                " VALUES (1, '2026-01-02 03:04:05.000000', 'old:1:x', 'completed', 'payment', '/pay',"
                " 'abort', 100, 10, '{}', 'http://127.0.0.1:1', 'direct', 'k1', 40, 40, '[]', '')"
            )
        )
    storage.init_db(engine)
    assert current_revision(engine) == head_revision()
    assert "launched_by" in _columns(engine)
    with Session(engine) as session:
        new_id = storage.create_run(
            session,
            plan={"service": "orders"},
            executor_url="u",
            api_mode="extended",
            apply_key="k2",
            owner="new:1:y",
            launched_by="ada@example.com",
        ).id
        runs = sorted(storage.list_runs(session), key=lambda run: run.id or 0)
    assert [(run.id, run.launched_by) for run in runs] == [(1, None), (new_id, "ada@example.com")]
    assert [record["launched_by"] for record in storage.runs_to_records(runs)] == [None, "ada@example.com"]
    assert "launched_by" in storage.runs_to_csv(runs).splitlines()[0].split(",")

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert "launched_by" not in _columns(engine)
    engine.dispose()
