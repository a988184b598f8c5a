"""`boifi runs list`'s table: start and end times and labels, each under its header."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

import storage
from cli.main import app
from cli.runs_table import runs_table_lines, table_time
from tests.plans import PLAN_FILE_BODY

STARTED = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)
ENDED = datetime(2026, 3, 1, 12, 0, 36, tzinfo=UTC)


def _row(**fields: Any) -> dict[str, Any]:
    return {
        "id": 7, "status": "completed", "verdict": "held", "started_at": STARTED, "finished_at": ENDED,
        "fault_type": "delay", "percentage": 50, "service": "payment", "api": "/api/v1/payment/process",
        "labels": ["nightly", "canary"], **fields,
    }  # fmt: skip


def _column(header: str, line: str, title: str) -> str:
    """Return what `line` holds from where `title` starts in `header` up to the next two spaces."""
    return line[header.index(title) :].split("  ")[0]


def test_each_run_shows_its_start_end_and_labels_under_their_headers() -> None:
    header, line = runs_table_lines([_row()])
    assert _column(header, line, "started (UTC)") == "2026-03-01 12:00:05"
    assert _column(header, line, "ended (UTC)") == "2026-03-01 12:00:36"
    assert _column(header, line, "labels") == "nightly,canary"
    assert line.split()[:3] == ["7", "completed", "held"]


def test_a_run_not_started_or_unlabelled_shows_dashes() -> None:
    header, line = runs_table_lines([_row(status="queued", verdict=None, started_at=None, finished_at=None,
                                          labels=[])])  # fmt: skip
    for title in ("verdict", "started (UTC)", "ended (UTC)", "labels"):
        assert _column(header, line, title).strip() == "-", title


def test_times_stored_as_iso_text_read_the_same() -> None:
    assert table_time("2026-03-01T12:00:05.123456+00:00") == table_time(STARTED) == "2026-03-01 12:00:05"
    assert table_time(None) == table_time("") == "-"


def test_runs_list_prints_a_stored_runs_labels_and_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    engine = storage.make_engine(url)
    storage.init_db(engine)
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=PLAN_FILE_BODY, executor_url="http://127.0.0.1:1", api_mode="extended",
            apply_key="k-1", owner="test:1:x", labels=["nightly", "team-a"],
        )  # fmt: skip
        assert run.id is not None
        storage.finish_run(session, run_id=run.id, status=storage.RunStatus.FAILED, error="boom")
        detail = storage.get_run(session, run_id=run.id)
        assert detail is not None and detail.run.finished_at is not None
        ended = table_time(detail.run.finished_at)
    engine.dispose()
    listed = CliRunner().invoke(app, ["runs", "list", "--database-url", url])
    assert listed.exit_code == 0, listed.stderr
    header, line = listed.stdout.splitlines()
    assert _column(header, line, "ended (UTC)") == ended
    assert _column(header, line, "labels") == "nightly,team-a"
