"""The settings page refuses invalid values with the reason and rebuilds the shared client on apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

import storage
from client import FaultPlan, FaultType
from dashboard.factories import get_holder
from services.console import Console
from tests.dashboard.conftest import closed_port
from tests.waiting import wait_until

APP = "../../Home.py"
PAGE = "pages/4_Settings.py"


def _settings_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _apply(at: AppTest) -> AppTest:
    button = next(b for b in at.button if b.label == "Apply")
    return button.click().run()


def _errors(at: AppTest) -> list[str]:
    return [element.value for element in at.error]


def test_invalid_executor_url_is_refused_with_the_reason(unreachable_executor: str) -> None:
    at = _settings_page()
    generation = get_holder().generation
    at.text_input(key="settings_base_url").set_value("ftp://example")
    _apply(at)
    assert any("must be an http:// or https:// URL" in text for text in _errors(at)), _errors(at)
    assert any("Settings not applied" in text for text in _errors(at))
    assert get_holder().generation == generation


def test_negative_timeout_and_bad_database_url_are_refused(unreachable_executor: str) -> None:
    at = _settings_page()
    at.number_input(key="settings_timeout").set_value(-1.0)
    at.text_input(key="settings_database_url").set_value("not a url")
    _apply(at)
    errors = _errors(at)
    assert any(text.startswith("default_timeout_sec:") for text in errors), errors
    assert any(text.startswith("database_url:") for text in errors), errors


@pytest.mark.slow
def test_apply_rebuilds_the_shared_client(unreachable_executor: str, embedded_executor: str) -> None:
    at = _settings_page()
    old_console = get_holder().console()
    at.text_input(key="settings_base_url").set_value(embedded_executor)
    at.number_input(key="settings_max_retries").set_value(2)
    at.text_input(key="settings_auth_token").set_value("s3cret-token")
    _apply(at)
    assert not at.exception, at.exception
    assert any("Settings applied" in s.value for s in at.success), [s.value for s in at.success]
    holder = get_holder()
    assert holder.generation == 1
    new_console = holder.console()
    assert new_console is not old_console
    assert new_console.client.config.base_url == embedded_executor
    assert new_console.client.config.max_retries == 2
    # The token is sent but never shown: the request preview masks it.
    at.switch_page("pages/1_Launch.py").run()
    preview = "\n".join(code.value for code in at.code)
    assert "Bearer ***" in preview and "s3cret-token" not in preview


def test_bad_database_in_the_environment_is_explained_and_fixed_in_settings(
    unreachable_executor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database directory should be")
    monkeypatch.setenv("BOIFI_DATABASE_URL", f"sqlite:///{blocker / 'boifi.db'}")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("could not connect its database" in text for text in _errors(at)), _errors(at)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    at.text_input(key="settings_database_url").set_value(f"sqlite:///{tmp_path / 'good.db'}")
    _apply(at)
    assert any("Settings applied" in s.value for s in at.success), _errors(at)
    at.switch_page("pages/3_History.py").run()
    assert not at.exception and not _errors(at)


def test_invalid_executor_url_in_the_environment_shows_the_reason(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", "not-a-url")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("base_url must be an http:// or https:// URL" in text for text in _errors(at)), _errors(at)


def _status(database_url: str, run_id: int) -> str:
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            run = session.get(storage.Run, run_id)
            assert run is not None
            return run.status.value
    finally:
        engine.dispose()


def _start_run(console: Console, database_url: str, *, duration_seconds: int) -> int:
    plan = FaultPlan(
        service="payment", api="/api/v1/payment/process", fault_type=FaultType.DELAY, delay_seconds=0.01,
        percentage=10, duration_seconds=duration_seconds,
    )  # fmt: skip
    run_id = console.runner.submit(plan)
    wait_until(lambda: _status(database_url, run_id) == "running", what=f"run {run_id} to be running")
    return run_id


@pytest.mark.slow
def test_applying_unchanged_settings_keeps_the_client_and_the_active_run(
    live_executor: str, database_url: str
) -> None:
    at = _settings_page()
    holder = get_holder()
    console = holder.console()
    run_id = _start_run(console, database_url, duration_seconds=60)
    _apply(at)
    assert not at.exception, at.exception
    assert _status(database_url, run_id) == "running"
    assert console.runner.active_run_ids() == [run_id]
    assert holder.generation == 0 and holder.console() is console
    assert any("Nothing changed" in i.value for i in at.info), [i.value for i in at.info]


@pytest.mark.slow
def test_a_new_database_lets_the_active_run_finish_on_the_previous_console(
    live_executor: str, database_url: str, tmp_path: Path
) -> None:
    at = _settings_page()
    holder = get_holder()
    old = holder.console()
    run_id = _start_run(old, database_url, duration_seconds=3)
    at.text_input(key="settings_database_url").set_value(f"sqlite:///{tmp_path / 'new.db'}")
    _apply(at)
    assert not at.exception, at.exception
    assert _status(database_url, run_id) == "running"
    assert any("Settings applied" in s.value for s in at.success), _errors(at)
    assert any(f"#{run_id} keep running" in i.value for i in at.info), [i.value for i in at.info]
    assert holder.console() is not old and holder.retiring() == [old]
    at.run()
    assert any("Still finishing" in i.value and f"#{run_id}" in i.value for i in at.info)
    assert old.runner.wait(run_id, timeout=60)
    assert _status(database_url, run_id) == "completed"
    wait_until(lambda: holder.retiring() == [], what="the previous console to close after its run")


@pytest.mark.slow
def test_a_new_executor_url_keeps_the_run_on_launch_where_halt_still_reaches_it(
    live_executor: str, database_url: str
) -> None:
    unreachable_executor = f"http://127.0.0.1:{closed_port()}"
    at = _settings_page()
    holder = get_holder()
    old = holder.console()
    run_id = _start_run(old, database_url, duration_seconds=60)
    at.text_input(key="settings_base_url").set_value(unreachable_executor)
    _apply(at)
    assert not at.exception, at.exception
    assert holder.console().executor_url == unreachable_executor and holder.retiring() == [old]
    at.session_state["launch_run_id"] = run_id
    at.session_state["launch_run_database"] = str(old.engine.url)
    at.switch_page("pages/1_Launch.py").run()
    assert not at.exception, at.exception
    at.button(key=f"launch_halt_{run_id}").click().run()
    assert old.runner.wait(run_id, timeout=30)
    assert _status(database_url, run_id) == "cancelled"  # halted through the previous console's runner
    wait_until(lambda: holder.retiring() == [], what="the previous console to close")
