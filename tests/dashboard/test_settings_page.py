"""The settings page refuses invalid values with the reason and rebuilds the shared client on apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.factories import get_holder

APP = "../../app.py"
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
