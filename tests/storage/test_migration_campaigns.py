"""Revision 0010 on SQLite and PostgreSQL: a database of 0009 keeps its runs, which belong to no campaign;
new runs link to a campaign by id and trial number, and the export record says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from storage.engine import alembic_config, current_revision, head_revision, upgrade
from tests.postgres_server import PostgresServer
from tests.storage.conftest import PLAN, T0


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at revision 0009 holding one finished run."""
    if request.param == "sqlite":
        engine = storage.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        engine = storage.make_engine(server.url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine, "0009")
    assert "campaigns" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                " duration_seconds, plan, executor_url, api_mode, apply_key, request_count,"
                " affected_count, labels, notes)"
                " VALUES (7, :at, 'old:1:x', 'completed', 'payment', '/pay', 'abort', 20, 10,"
                " '{\"service\": \"payment\"}', 'http://127.0.0.1:1', 'direct', 'k7', 3, 2, '[]', '')"
            ),
            {"at": datetime(2026, 1, 2, 3, 4, 5)},
        )
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('runs_id_seq', 7)"))
    yield engine
    engine.dispose()


def _campaign(session: Session) -> storage.Campaign:
    return storage.create_campaign(
        session,
        study_name="boifi-campaign-test",
        space={"targets": [{"service": "payment", "api": "/pay"}]},
        objective="severity_score",
        strategy="grid",
        budget={"trials": 4},
        executor_url="http://user:secret@127.0.0.1:1",
        owner="host:1:a",
        now=T0,
    )


@pytest.mark.slow
def test_an_upgraded_database_keeps_its_runs_outside_any_campaign_and_links_new_trials(
    old_engine: Engine,
) -> None:
    storage.init_db(old_engine)
    assert current_revision(old_engine) == head_revision() == "0010"
    with Session(old_engine) as session:
        old = session.get(storage.Run, 7)
        assert old is not None and old.campaign_id is None and old.trial_number is None
        record = storage.run_record(old)
        assert (record["campaign_id"], record["trial_number"]) == (None, None)
        campaign = _campaign(session)
        assert campaign.id is not None and campaign.status is storage.CampaignStatus.RUNNING
        assert campaign.executor_url == "http://user:***@127.0.0.1:1"
        for trial in (1, 0):
            storage.create_run(
                session, plan=PLAN, executor_url="http://127.0.0.1:1", api_mode="direct",
                apply_key=f"trial-{trial}", owner="host:1:a", campaign_id=campaign.id, trial_number=trial,
            )  # fmt: skip
        trials = storage.campaign_runs(session, campaign_id=campaign.id)
        assert [(run.campaign_id, run.trial_number) for run in trials] == [(campaign.id, 0), (campaign.id, 1)]
        assert storage.run_record(trials[1])["trial_number"] == 1
        storage.finish_campaign(
            session, campaign_id=campaign.id, status=storage.CampaignStatus.PAUSED, reason="baseline", now=T0
        )
        session.expire_all()
        stored = storage.get_campaign(session, campaign_id=campaign.id)
        assert stored is not None
        assert storage.campaign_record(stored)["status"] == "paused"
        assert storage.campaign_record(stored)["finished_at"] == T0.isoformat()
        assert [c.id for c in storage.list_campaigns(session)] == [campaign.id]


@pytest.mark.slow
def test_downgrading_to_0009_drops_the_campaigns_and_keeps_the_runs(old_engine: Engine) -> None:
    storage.init_db(old_engine)
    with Session(old_engine) as session:
        campaign_id = _campaign(session).id
        storage.create_run(
            session, plan=PLAN, executor_url="http://127.0.0.1:1", api_mode="direct", apply_key="t0",
            owner="host:1:a", campaign_id=campaign_id, trial_number=0,
        )  # fmt: skip
    config = alembic_config(old_engine)
    with old_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    assert current_revision(old_engine) == "0009"
    assert "campaigns" not in inspect(old_engine).get_table_names()
    assert "campaign_id" not in {column["name"] for column in inspect(old_engine).get_columns("runs")}
    with old_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM runs")).scalar_one() == 2
