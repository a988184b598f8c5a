"""The settings page refuses invalid values with the reason and rebuilds the shared client on apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


ALERTS = ("Error", "Success", "Warning", "Info")


def _blocks(node: Any) -> Iterator[list[Any]]:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        ordered = [children[index] for index in sorted(children)]
        yield ordered
        for child in ordered:
            yield from _blocks(child)


def _messages_under(at: AppTest, key: str) -> list[str]:
    """Return the messages shown right under the widget `key`, in its own block (its column or the form)."""
    for block in _blocks(at.main):
        keys = [getattr(node, "key", None) for node in block]
        if key in keys:
            messages = []
            for node in block[keys.index(key) + 1 :]:
                kind = type(node).__name__
                if kind not in (*ALERTS, "UnknownElement"):  # the next widget: what follows is not its
                    break
                if kind in ALERTS:
                    messages.append(node.value)
            return messages
    raise AssertionError(f"no widget with key {key}")


def test_invalid_executor_url_is_refused_with_the_reason(unreachable_executor: str) -> None:
    at = _settings_page()
    generation = get_holder().generation
    at.text_input(key="settings_base_url").set_value("ftp://example")
    _apply(at)
    assert any("must be an http:// or https:// URL" in text for text in _errors(at)), _errors(at)
    assert any("Settings not applied" in text for text in _errors(at))
    assert get_holder().generation == generation


def test_four_bad_fields_give_four_messages_each_under_its_field(unreachable_executor: str) -> None:
    at = _settings_page()
    before = get_holder().config
    at.number_input(key="settings_max_retries").set_value(0)
    at.number_input(key="settings_timeout").set_value(-1.0)
    at.number_input(key="settings_probe_rate").set_value(0.0)
    at.number_input(key="settings_half_open").set_value(0)
    _apply(at)
    assert not at.exception, at.exception
    assert _messages_under(at, "settings_max_retries") == ["Max attempts must be at least 1."]
    assert _messages_under(at, "settings_timeout") == ["Call timeout must be more than 0 s."]
    assert _messages_under(at, "settings_probe_rate") == ["Probe rate must be more than 0 req/s."]
    assert _messages_under(at, "settings_half_open") == ["Half-open trial calls must be at least 1."]
    assert _messages_under(at, "settings_initial_delay") == []  # a good field says nothing
    assert "Settings not applied: fix the 4 fields marked above." in _errors(at)
    assert not any("_sec" in text or "_rps" in text for text in _errors(at)), _errors(at)
    holder = get_holder()
    assert holder.generation == 0 and holder.config == before  # nothing applied


def test_an_initial_retry_delay_over_the_maximum_is_refused_naming_both(unreachable_executor: str) -> None:
    at = _settings_page()
    before = get_holder().config
    at.number_input(key="settings_initial_delay").set_value(20.0)
    at.number_input(key="settings_max_delay").set_value(10.0)
    at.number_input(key="settings_timeout").set_value(0.0)  # reported at the same time
    _apply(at)
    both = "Initial retry delay (20 s) must not be more than max retry delay (10 s)."
    assert _messages_under(at, "settings_initial_delay") == [both]
    assert _messages_under(at, "settings_max_delay") == [both]
    assert _messages_under(at, "settings_timeout") == ["Call timeout must be more than 0 s."]
    assert get_holder().generation == 0 and get_holder().config == before


def test_policy_mode_without_a_probe_or_collector_is_refused_under_both(unreachable_executor: str) -> None:
    at = _settings_page()
    at.selectbox(key="settings_api_mode").set_value("policy")
    _apply(at)
    needs = "Policy mode needs a probe URL or a collector URL to observe the target."
    assert _messages_under(at, "settings_api_mode") == [needs]
    assert _messages_under(at, "settings_probe_url") == [needs]
    assert get_holder().generation == 0


def test_an_unreachable_new_url_is_applied_and_said_so_next_to_it(unreachable_executor: str) -> None:
    at = _settings_page()
    elsewhere = f"http://127.0.0.1:{closed_port()}"
    at.text_input(key="settings_base_url").set_value(elsewhere)
    _apply(at)
    assert not at.exception, at.exception
    assert _messages_under(at, "settings_base_url") == [f"`{elsewhere}`: not reachable: connection refused"]
    assert not at.success, [s.value for s in at.success]  # never "Settings applied" alone
    warnings = [w.value for w in at.warning]
    assert any(f"Settings applied, but the Executor at {elsewhere} is not reachable" in w for w in warnings)
    assert any("unreachable" in w and elsewhere in w for w in warnings), warnings  # the banner agrees
    assert get_holder().console().executor_url == elsewhere


def test_use_the_embedded_executor_is_disabled_without_one(unreachable_executor: str) -> None:
    at = _settings_page()
    button = at.button(key="settings_use_embedded")
    assert button.disabled
    assert "BOIFI_EXECUTOR_URL" in (button.help or "")


@pytest.mark.slow
def test_use_the_embedded_executor_restores_its_url_mode_and_token(
    database_url: str, embedded_executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", embedded_executor)  # as `boifi up` starts the dashboard
    monkeypatch.setenv("BOIFI_EMBEDDED_EXECUTOR", "1")
    at = _settings_page()
    started = get_holder().config.client_config
    assert at.button(key="settings_use_embedded").disabled  # already in use
    at.selectbox(key="settings_api_mode").set_value("direct")
    _apply(at)  # the same executor in another mode: its own mode can be restored
    assert not at.button(key="settings_use_embedded").disabled
    elsewhere = f"http://127.0.0.1:{closed_port()}"
    at.text_input(key="settings_base_url").set_value(elsewhere)
    at.selectbox(key="settings_api_mode").set_value("direct")
    at.text_input(key="settings_auth_token").set_value("another-token")
    at.number_input(key="settings_max_retries").set_value(2)
    _apply(at)
    assert get_holder().config.client_config.base_url == elsewhere
    at.button(key="settings_use_embedded").click().run()
    assert not at.exception, at.exception
    restored = get_holder().config.client_config
    assert (restored.base_url, restored.api_mode) == (embedded_executor, started.api_mode)
    assert restored.auth_token == started.auth_token and restored.collector_url == started.collector_url
    assert restored.max_retries == 2  # the other settings stay as applied
    assert get_holder().config.embedded
    assert at.text_input(key="settings_base_url").value == embedded_executor  # the form shows it again
    assert _messages_under(at, "settings_base_url") == [f"`{embedded_executor}`: reachable, healthy"]
    assert any("Settings applied" in s.value for s in at.success)


def test_negative_timeout_and_bad_database_url_are_refused(unreachable_executor: str) -> None:
    at = _settings_page()
    at.number_input(key="settings_timeout").set_value(-1.0)
    at.text_input(key="settings_database_url").set_value("not a url")
    _apply(at)
    errors = _errors(at)
    assert "Call timeout must be more than 0 s." in errors, errors
    assert any(text.startswith("Database URL is not usable:") for text in errors), errors


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
    assert _messages_under(at, "settings_base_url") == [f"`{embedded_executor}`: reachable, healthy"]
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
    assert any("Settings applied, but the Executor" in w.value for w in at.warning), _errors(at)
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
