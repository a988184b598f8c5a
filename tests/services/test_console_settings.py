"""Settings: values that ignore the environment, and the one loader that reads every documented variable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr

from client import ApiMode, ExecutorClientConfig, RetryStrategy
from client.environment import SettingsError, load_settings
from services.console_settings import ConsoleSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")

# Each README variable: (field, a value other than the default as set in the environment, what it loads as).
SAMPLES: dict[str, tuple[str, str, Any]] = {
    "BOIFI_EXECUTOR_URL": ("base_url", "http://exec.test:9/", "http://exec.test:9"),
    "BOIFI_API_MODE": ("api_mode", "policy", ApiMode.POLICY),
    "BOIFI_AUTH_TOKEN": ("auth_token", "s3cret", "s3cret"),
    "BOIFI_EXECUTOR_HOST": ("executor_host", "exec", "exec"),
    "BOIFI_EXECUTOR_PORT": ("executor_port", "9001", 9001),
    "BOIFI_MAX_RETRIES": ("max_retries", "7", 7),
    "BOIFI_RETRY_STRATEGY": ("retry_strategy", "linear", RetryStrategy.LINEAR_BACKOFF),
    "BOIFI_INITIAL_RETRY_DELAY_SEC": ("initial_retry_delay_sec", "0.25", 0.25),
    "BOIFI_MAX_RETRY_DELAY_SEC": ("max_retry_delay_sec", "4", 4.0),
    "BOIFI_DEFAULT_TIMEOUT_SEC": ("default_timeout_sec", "12", 12.0),
    "BOIFI_CONNECTION_TIMEOUT_SEC": ("connection_timeout_sec", "2", 2.0),
    "BOIFI_HEALTH_CHECK_INTERVAL_SEC": ("health_check_interval_sec", "0", 0.0),
    "BOIFI_CIRCUIT_BREAKER_ENABLED": ("circuit_breaker_enabled", "false", False),
    "BOIFI_CIRCUIT_BREAKER_FAILURE_THRESHOLD": ("circuit_breaker_failure_threshold", "9", 9),
    "BOIFI_CIRCUIT_BREAKER_TIMEOUT_SEC": ("circuit_breaker_timeout_sec", "15", 15.0),
    "BOIFI_HALF_OPEN_MAX_CALLS": ("half_open_max_calls", "2", 2),
    "BOIFI_POLL_INTERVAL_SEC": ("poll_interval_sec", "0.1", 0.1),
    "BOIFI_MAX_RESPONSE_BYTES": ("max_response_bytes", "2048", 2048),
    "BOIFI_PROBE_URL": ("probe_url", "http://probe.test:80", "http://probe.test:80"),
    "BOIFI_PROBE_RATE_RPS": ("probe_rate_rps", "50", 50.0),
    "BOIFI_PROBE_CONCURRENCY": ("probe_concurrency", "3", 3),
    "BOIFI_PROBE_TIMEOUT_SEC": ("probe_timeout_sec", "1.5", 1.5),
    "BOIFI_POLICY_PROPAGATION_SEC": ("policy_propagation_sec", "35", 35.0),
    "BOIFI_COLLECTOR_URL": ("collector_url", "http://collector.test", "http://collector.test"),
    "BOIFI_COLLECTOR_TOKEN": ("collector_token", "c0llect", "c0llect"),
    "BOIFI_DATABASE_URL": ("database_url", "sqlite://", "sqlite://"),
    "BOIFI_LEASE_SEC": ("lease_sec", "12", 12.0),
    "BOIFI_MAX_CONCURRENT_RUNS": ("max_concurrent_runs", "2", 2),
    "BOIFI_HEALTH_INTERVAL_SEC": ("health_interval_sec", "0.5", 0.5),
    "BOIFI_ACTIVE_FAULTS_INTERVAL_SEC": ("active_faults_interval_sec", "600", 600.0),
    "BOIFI_TELEMETRY_RETENTION_DAYS": ("telemetry_retention_days", "7", 7.0),
    "BOIFI_SPOOL_DIR": ("spool_dir", "/var/spool/boifi", Path("/var/spool/boifi")),
    "BOIFI_SPOOL_MEMORY_ITEMS": ("spool_memory_items", "5000", 5000),
    "BOIFI_DASHBOARD_URL": ("dashboard_url", "http://console.test:9", "http://console.test:9"),
}
# Not settings: a flag `boifi up` passes to the dashboard (tests/dashboard/test_glue.py covers it), and the
# dashboard's login password, which only dashboard/auth.py reads (tests/dashboard/test_auth.py covers it),
# `boifi executor`'s token, which only cli/executor_cmd.py reads (tests/cli/test_executor_cmd_security.py),
# and the commands' log level, which only cli/problems.py reads (tests/cli/test_storage_errors.py).
FLAGS = {"BOIFI_EMBEDDED_EXECUTOR", "BOIFI_DASHBOARD_PASSWORD", "BOIFI_EXECUTOR_TOKEN", "BOIFI_LOG_LEVEL"}


def _readme_variables() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `BOIFI_")]
    return {name for cell in rows for name in re.findall(r"`(BOIFI_[A-Z_]+)`", cell)}


def test_the_samples_cover_the_readme_table() -> None:
    assert _readme_variables() == set(SAMPLES) | FLAGS


@pytest.mark.parametrize("variable", sorted(SAMPLES))
def test_the_loader_reads_each_documented_variable(variable: str) -> None:
    field, raw, expected = SAMPLES[variable]
    client_field = field in ExecutorClientConfig.model_fields
    load = ExecutorClientConfig.from_env if client_field else ConsoleSettings.from_env
    default = getattr(load({}), field)
    value = getattr(load({variable: raw}), field)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    assert value == expected and value != default


def test_console_settings_ignore_the_environment_unless_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOIFI_MAX_CONCURRENT_RUNS", "9")
    monkeypatch.setenv("BOIFI_TELEMETRY_RETENTION_DAYS", "3")
    assert ConsoleSettings().max_concurrent_runs == 4
    assert ConsoleSettings(lease_sec=5).telemetry_retention_days == 30.0
    loaded = ConsoleSettings.from_env(lease_sec=5)
    assert (loaded.max_concurrent_runs, loaded.telemetry_retention_days, loaded.lease_sec) == (9, 3.0, 5)


def test_console_settings_name_a_bad_variable() -> None:
    with pytest.raises(SettingsError, match="BOIFI_TELEMETRY_RETENTION_DAYS: Input should be greater than 0"):
        ConsoleSettings.from_env({"BOIFI_TELEMETRY_RETENTION_DAYS": "0"})
    with pytest.raises(SettingsError, match=r"BOIFI_LEASE_SEC: Input should be a valid number.*got 'soon'"):
        ConsoleSettings.from_env({"BOIFI_LEASE_SEC": "soon", "BOIFI_OTHER_THING": "ignored"})


class _Secretive(BaseModel):
    token: SecretStr = Field(default=SecretStr("long-enough"), min_length=5)


def test_a_bad_secret_is_named_but_never_echoed() -> None:
    with pytest.raises(SettingsError, match="BOIFI_TOKEN: ") as caught:
        load_settings(_Secretive, environ={"BOIFI_TOKEN": "abc"})
    assert "abc" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("BOIFI_LEASE_SEC", "0"), ("BOIFI_MAX_CONCURRENT_RUNS", "0"), ("BOIFI_HEALTH_INTERVAL_SEC", "0")],
)
def test_a_console_setting_out_of_range_is_refused_naming_its_variable(variable: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=rf"{variable}: Input should be greater than"):
        ConsoleSettings.from_env({variable: raw})
