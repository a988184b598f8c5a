"""Revision 0009 on SQLite and PostgreSQL: a database of 0008 keeps its runs, timelines and sample blobs,
which read back as the fault phase's; new runs store their phases, verdict and score beside them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client.hypothesis import ExperimentVerdict, Phase
from storage.engine import alembic_config, current_revision, head_revision, upgrade
from tests.postgres_server import PostgresServer
from tests.storage.conftest import new_run

OLD_OFFSETS = np.array([0.0, 500.0, 1500.0])
OLD_LATENCIES = np.array([10.0, 20.0, 30.0])
OLD_STATUSES = np.array([200, 503, 200], dtype="<i4")
OLD_AFFECTED = np.array([False, True, True])


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at revision 0008 holding one finished run with two timeline points and a sample chunk."""
    if request.param == "sqlite":
        engine = storage.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        engine = storage.make_engine(server.url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine, "0008")
    assert "verdict" not in {column["name"] for column in inspect(engine).get_columns("runs")}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                " duration_seconds, plan, executor_url, api_mode, apply_key, request_count,"
                " affected_count, p99_latency_ms, labels, notes)"
                " VALUES (7, :at, 'old:1:x', 'completed', 'payment', '/pay', 'abort', 20, 10,"
                " '{\"service\": \"payment\"}', 'http://127.0.0.1:1', 'direct', 'k7', 3, 2, 30.0, '[]', '')"
            ),
            {"at": datetime(2026, 1, 2, 3, 4, 5)},
        )
        connection.execute(
            text("INSERT INTO timeline_points (run_id, t_s, request_count) VALUES (7, 0, 2), (7, 1, 1)")
        )
        connection.execute(
            text(
                "INSERT INTO latency_samples (run_id, chunk_index, sample_count, offset_ms, latency_ms,"
                " status_code, affected) VALUES (7, 0, 3, :o, :l, :s, :a)"
            ),
            {
                "o": OLD_OFFSETS.astype("<f8").tobytes(),
                "l": OLD_LATENCIES.astype("<f8").tobytes(),
                "s": OLD_STATUSES.tobytes(),
                "a": OLD_AFFECTED.tobytes(),
            },
        )
        if engine.dialect.name == "postgresql":  # the explicit id 7 left the sequence behind
            connection.execute(text("SELECT setval('runs_id_seq', 7)"))
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_an_upgraded_database_reads_its_old_runs_as_fault_phase_runs_without_a_verdict(
    old_engine: Engine,
) -> None:
    storage.init_db(old_engine)
    assert current_revision(old_engine) == head_revision() == "0010"
    with Session(old_engine) as session:
        detail = storage.get_run(session, run_id=7)
        assert detail is not None
        run = detail.run
        assert (run.verdict, run.severity_score, run.time_to_recovery_s) == (None, None, None)
        assert (run.phases, run.deviations, run.target) == ([], [], None)
        assert [(point.t_s, point.phase) for point in detail.timeline] == [
            (0.0, Phase.FAULT),
            (1.0, Phase.FAULT),
        ]
        assert detail.samples["latency_ms"].tolist() == OLD_LATENCIES.tolist()
        assert detail.samples["status_code"].tolist() == OLD_STATUSES.tolist()
        assert storage.sample_phases(detail.samples) == [Phase.FAULT] * 3
        assert storage.list_runs(session, verdict=[ExperimentVerdict.HELD]) == []
        (record,) = storage.runs_to_records([run])
        assert (record["verdict"], record["phases"], record["p99_latency_ms"]) == (None, {}, 30.0)

        new_id = new_run(session)
        storage.finish_run(
            session,
            run_id=new_id,
            status=storage.RunStatus.COMPLETED,
            timeline=[{"t_s": 0.0, "phase": "baseline"}, {"t_s": 1.0, "phase": Phase.FAULT}],
            samples=[(0.0, 5.0, 200, False, Phase.BASELINE), (1000.0, 6.0, 200, True, "fault")],
            experiment={"verdict": "held", "severity_score": 0.0, "phases": [{"phase": "baseline"}]},
        )
    with Session(old_engine) as session:
        stored = storage.get_run(session, run_id=new_id)
        assert stored is not None
        assert (stored.run.verdict, stored.run.severity_score) == (ExperimentVerdict.HELD, 0.0)
        assert type(stored.run.verdict) is ExperimentVerdict
        assert [point.phase for point in stored.timeline] == [Phase.BASELINE, Phase.FAULT]
        assert storage.sample_phases(stored.samples) == [Phase.BASELINE, Phase.FAULT]
        assert [r.id for r in storage.list_runs(session, verdict="held")] == [new_id]


def test_downgrading_to_0008_drops_the_experiment_columns_and_keeps_the_runs(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    storage.init_db(engine)
    with Session(engine) as session:
        run_id = new_run(session)
        storage.finish_run(
            session,
            run_id=run_id,
            status=storage.RunStatus.COMPLETED,
            samples=[(0.0, 5.0, 200, False, "recovery")],
            experiment={"verdict": "not_recovered"},
        )
    config = alembic_config(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql(
            "PRAGMA foreign_keys = OFF"
        )  # as init_db upgrades: a rebuild keeps children
        connection.commit()
        with connection.begin():
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
    assert current_revision(engine) == "0008"
    assert "verdict" not in {column["name"] for column in inspect(engine).get_columns("runs")}
    assert "phase" not in {column["name"] for column in inspect(engine).get_columns("latency_samples")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM latency_samples")).scalar() == 1
        assert connection.execute(text("SELECT status FROM runs")).scalar() == "completed"
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///older.db", "postgresql://boifi@127.0.0.1/boifi"])
def test_the_upgrade_adds_columns_in_place_without_rewriting_a_table(url: str) -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    buffer = io.StringIO()
    config.output_buffer = buffer
    command.upgrade(config, "0008:0009", sql=True)
    sql = buffer.getvalue()
    assert sql.count("ADD COLUMN") == 8 and "CREATE INDEX ix_runs_verdict ON runs (verdict)" in sql
    assert "_alembic_tmp" not in sql and "INSERT INTO" not in sql and "UPDATE runs" not in sql
    assert "ADD COLUMN phase VARCHAR(16) DEFAULT 'fault' NOT NULL" in sql


def test_the_upgrade_adds_the_verdict_index() -> None:
    engine = storage.make_engine("sqlite://")
    storage.init_db(engine)
    indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("runs")}
    assert indexes["ix_runs_verdict"] == ["verdict"]
    engine.dispose()


def test_a_verdict_the_client_does_not_know_is_refused_naming_the_field() -> None:
    engine = storage.make_engine("sqlite://")
    storage.init_db(engine)
    with Session(engine) as session:
        run_id = new_run(session)
        with pytest.raises(ValueError, match="verdict: 'fine'"):
            storage.finish_run(
                session, run_id=run_id, status=storage.RunStatus.COMPLETED, experiment={"verdict": "fine"}
            )
        with pytest.raises(ValueError, match="verdict: 'fine'"):
            storage.list_runs(session, verdict=["held", "fine"])
        assert storage.get_run(session, run_id=run_id).run.status is storage.RunStatus.QUEUED  # type: ignore[union-attr]
    engine.dispose()
