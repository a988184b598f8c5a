"""`boifi runs show`'s run page lines and the dashboard URL they come from."""

from __future__ import annotations

import pytest

from cli.run_page import run_page_lines, run_page_url
from client.environment import SettingsError
from services.console_settings import ConsoleSettings

CREATED = "2026-12-04T12:00:00+00:00"


def test_the_run_page_url_comes_from_the_dashboard_setting() -> None:
    assert run_page_url("http://127.0.0.1:8501", 12) == "http://127.0.0.1:8501/Run?run=12"
    assert (
        run_page_url("https://user:pw@console.example/boifi/", 3)
        == "https://user:***@console.example/boifi/Run?run=3"
    )
    row = {"id": 3, "labels": ["nightly", "a"], "created_at": CREATED, "started_at": None}
    lines = run_page_lines(row, dashboard_url="http://h:1")
    assert lines == [
        "  labels     nightly, a",
        "  created    2026-12-04 12:00:00 UTC, started -, finished -",
        "  page       http://h:1/Run?run=3",
    ]


def test_the_dashboard_url_setting_defaults_to_loopback_and_names_its_variable() -> None:
    assert ConsoleSettings.from_env({}).dashboard_url == "http://127.0.0.1:8501"
    assert ConsoleSettings.from_env({"BOIFI_DASHBOARD_URL": "http://h:9"}).dashboard_url == "http://h:9"
    with pytest.raises(SettingsError) as caught:
        ConsoleSettings.from_env({"BOIFI_DASHBOARD_URL": "console:8501"})
    assert caught.value.problems[0].startswith(
        "BOIFI_DASHBOARD_URL: give the dashboard's http:// or https://"
    )
