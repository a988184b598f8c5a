"""`boifi` never prints a password of the Executor URL: not in `apply`, not in `runs list/show/export`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

import storage
from cli.main import app
from tests.client.servers import refused_url
from tests.plans import PLAN_FILE_BODY

PASSWORD = "s3cret-pw"
PLAN = PLAN_FILE_BODY


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("BOIFI_DATABASE_URL", url)
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "1")
    monkeypatch.delenv("BOIFI_EXECUTOR_URL", raising=False)
    return url


def _everything(runner: CliRunner) -> str:
    """Return all that `boifi runs` prints about the stored runs, in every format."""
    outputs = []
    for args in (["list"], ["list", "--json"], ["show", "1"], ["show", "1", "--json"], ["export"],
                 ["export", "--format", "json"]):  # fmt: skip
        result = runner.invoke(app, ["runs", *args])
        assert result.exit_code == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    return "\n".join(outputs)


@pytest.mark.slow
def test_apply_and_runs_show_the_executor_url_without_its_password(database: str, tmp_path: Path) -> None:
    url = refused_url().replace("http://", f"http://alice:{PASSWORD}@")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["apply", str(plan), "--executor-url", url])
    assert result.exit_code == 3, result.stdout + result.stderr
    assert f"submitted to {url.replace(PASSWORD, '***')}" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    shown = _everything(runner)
    assert "alice:***@" in shown and PASSWORD not in shown


def test_runs_never_show_the_password_of_a_row_stored_before_redaction(database: str, tmp_path: Path) -> None:
    engine = storage.make_engine(database)
    try:
        storage.init_db(engine)
        with Session(engine) as session:
            storage.create_run(
                session, plan=PLAN, executor_url="http://exec.test", api_mode="extended", apply_key="k",
                owner="me",
            )  # fmt: skip
        with engine.begin() as connection:
            connection.execute(text("UPDATE runs SET executor_url = :url"),
                               {"url": f"http://alice:{PASSWORD}@exec.test:8000"})  # fmt: skip
    finally:
        engine.dispose()
    shown = _everything(CliRunner())
    assert "http://alice:***@exec.test:8000" in shown and PASSWORD not in shown
