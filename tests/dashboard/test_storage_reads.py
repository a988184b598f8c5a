"""A storage outage shows on every page as one line, not a traceback, and the pages recover by themselves."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import storage
from dashboard import data
from dashboard.components import storage_unavailable_text
from dashboard.factories import get_console
from tests.dashboard.conftest import populate
from tests.postgres_server import PostgresServer

APP = "../../Home.py"
TIMEOUT_SEC = 60
LIVE_PAGES = ("Home.py", "pages/1_Launch.py", "pages/2_Monitor.py", "pages/3_History.py")  # they read storage


def _outage_lines(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error if str(e.value).startswith("Storage unavailable: ")]


def test_the_line_names_the_failing_database_and_says_the_page_retries() -> None:
    line = storage_unavailable_text("PostgreSQL at 127.0.0.1:5432 unreachable: connection refused")
    assert line.startswith(
        "Storage unavailable: PostgreSQL at 127.0.0.1:5432 unreachable: connection refused"
    )
    assert "kept in memory" in line and "retries by itself" in line


def test_a_failed_read_raises_one_storage_error_naming_the_database(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path}/runs.db")
    try:
        storage.init_db(engine)
        (tmp_path / "runs.db").unlink()
        (tmp_path / "runs.db").mkdir()  # a directory where the file was
        engine.dispose()
        with pytest.raises(storage.StorageUnavailableError, match=r"runs\.db"):
            data.recent_runs(engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_every_page_shows_one_line_while_postgresql_is_stopped_and_data_once_it_is_back(
    unreachable_executor: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOIFI_DATABASE_URL", postgres_server.url)
    populate(postgres_server.url, count=2, samples_per_run=5)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SEC).run()
    assert not at.exception, at.exception
    at.switch_page("pages/3_History.py").run()
    assert not at.exception and _outage_lines(at) == []
    assert at.dataframe, "History lists the runs"
    postgres_server.stop()
    try:
        for page in (*LIVE_PAGES, "pages/4_Settings.py"):
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
            lines = _outage_lines(at)
            if page in LIVE_PAGES:
                assert len(lines) == 1, (page, lines)
                assert f"PostgreSQL at 127.0.0.1:{postgres_server.port} unreachable" in lines[0], lines
            else:
                assert lines == [], page  # Settings reads no storage: it still works for fixing the URL
        at.switch_page("Home.py").run()
        assert any("circuit breaker" in str(w.value) for w in [*at.warning, *at.error, *at.info]), (
            "the Executor's health still shows"
        )
    finally:
        postgres_server.start()
    at.switch_page("pages/3_History.py").run()  # the next run after storage answers shows data again
    assert not at.exception, at.exception
    assert _outage_lines(at) == []
    assert at.dataframe, "History lists the runs again"


def test_an_outage_is_logged_once_not_at_every_retry_and_its_end_once(
    unreachable_executor: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = Path(database_url.removeprefix("sqlite:///"))
    populate(database_url, count=1, samples_per_run=5)
    at = AppTest.from_file("../../pages/3_History.py", default_timeout=TIMEOUT_SEC).run()
    assert not at.exception and _outage_lines(at) == [], at.exception
    engine = get_console().engine

    def outage_logs() -> list[str]:
        messages = [r.getMessage() for r in caplog.records if r.name.startswith("dashboard.")]
        return [message for message in messages if message.startswith("storage ")]

    def cut_off(broken: bool) -> None:  # a directory where the database file was: it cannot be opened
        if broken:
            path.rename(path.with_name("aside.db"))
            path.mkdir()
        else:
            path.rmdir()
            path.with_name("aside.db").rename(path)
        engine.dispose()  # pooled connections would still reach the file

    with caplog.at_level(logging.WARNING, logger="dashboard"):
        for outage in (1, 2):
            cut_off(True)
            for _retry in range(3):  # the page's retries, every 2 s in the browser
                at.run()
                assert not at.exception and len(_outage_lines(at)) == 1, at.exception
            assert len(outage_logs()) == 2 * outage - 1, outage_logs()
            cut_off(False)
            at.run()
            at.run()
            assert not at.exception and _outage_lines(at) == [], at.exception
            assert len(outage_logs()) == 2 * outage, outage_logs()
    first, back = outage_logs()[:2]
    assert first.startswith("storage unavailable for the pages: cannot open database") and "aside" not in back
