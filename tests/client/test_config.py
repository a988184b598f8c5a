"""Configuration: the seed's defaults, environment loading, validation and secrecy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from client import ApiMode, ExecutorClientConfig, RetryStrategy
from client.config import cross_field_problems
from client.environment import SettingsError


def test_seed_defaults() -> None:
    config = ExecutorClientConfig()
    assert config.base_url == "http://localhost:8000"
    assert (config.max_retries, config.initial_retry_delay_sec, config.max_retry_delay_sec) == (3, 0.5, 10.0)
    assert (config.default_timeout_sec, config.connection_timeout_sec) == (30.0, 5.0)
    assert config.health_check_interval_sec == 60.0
    assert (config.circuit_breaker_failure_threshold, config.circuit_breaker_timeout_sec) == (5, 60.0)
    assert config.retry_strategy is RetryStrategy.EXPONENTIAL_BACKOFF
    assert config.api_mode is ApiMode.EXTENDED and config.half_open_max_calls == 1


def test_host_and_port_build_base_url() -> None:
    assert ExecutorClientConfig(executor_host="exec", executor_port=9000).base_url == "http://exec:9000"


def test_environment_is_read() -> None:
    environ = {
        "BOIFI_EXECUTOR_URL": "https://executor.example:8443/",
        "BOIFI_API_MODE": "policy",
        "BOIFI_AUTH_TOKEN": "s3cret",
        "BOIFI_MAX_RETRIES": "7",
        "BOIFI_PROBE_URL": "http://127.0.0.1:9000",
    }
    config = ExecutorClientConfig.from_env(environ)
    assert config.base_url == "https://executor.example:8443"
    assert config.api_mode is ApiMode.POLICY and config.max_retries == 7
    assert config.auth_token is not None and config.auth_token.get_secret_value() == "s3cret"
    assert config.probe_url == "http://127.0.0.1:9000"
    assert ExecutorClientConfig.from_env(environ, base_url="http://other:1").base_url == "http://other:1"


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "9")
    assert ExecutorClientConfig.from_env().max_retries == 9


def test_a_value_never_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "9")
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", "http://from-env:1")
    assert ExecutorClientConfig().max_retries == 3
    assert ExecutorClientConfig().base_url == "http://localhost:8000"
    config = ExecutorClientConfig(base_url="http://127.0.0.1:9", api_mode="policy")
    assert config.max_retries == 3 and config.api_mode is ApiMode.POLICY
    assert ExecutorClientConfig.model_validate(config.model_dump()).max_retries == 3


def test_base_url_alias_and_names_in_any_case() -> None:
    assert ExecutorClientConfig.from_env({"BOIFI_BASE_URL": "http://b:2"}).base_url == "http://b:2"
    both = {"BOIFI_EXECUTOR_URL": "http://first:1", "BOIFI_BASE_URL": "http://second:2"}
    assert ExecutorClientConfig.from_env(both).base_url == "http://first:1"
    assert ExecutorClientConfig.from_env({"boifi_max_retries": "5"}).max_retries == 5
    host = {"BOIFI_EXECUTOR_HOST": "exec", "BOIFI_EXECUTOR_PORT": "9000"}
    assert ExecutorClientConfig.from_env(host).base_url == "http://exec:9000"


def test_a_bad_variable_is_named_in_the_error() -> None:
    with pytest.raises(SettingsError, match=r"BOIFI_MAX_RETRIES: Input should be a valid integer.*got 'abc'"):
        ExecutorClientConfig.from_env({"BOIFI_MAX_RETRIES": "abc"})
    with pytest.raises(SettingsError, match="BOIFI_EXECUTOR_URL: base_url must be an http") as caught:
        ExecutorClientConfig.from_env({"BOIFI_EXECUTOR_URL": "not-a-url", "BOIFI_API_MODE": "nope"})
    assert len(caught.value.problems) == 2 and caught.value.problems[1].startswith("BOIFI_API_MODE: ")
    with pytest.raises(SettingsError, match="BOIFI_EXECUTOR_PORT: Input should be less than or equal"):
        ExecutorClientConfig.from_env({"BOIFI_EXECUTOR_PORT": "70000"})


def test_a_bad_override_is_named_by_its_field() -> None:
    with pytest.raises(SettingsError, match=r"^invalid settings: base_url: base_url must be an http"):
        ExecutorClientConfig.from_env({"BOIFI_EXECUTOR_URL": "http://ok:1"}, base_url="nope")


def test_unprefixed_base_url_variable_is_ignored() -> None:
    assert (
        ExecutorClientConfig.from_env({"BASE_URL": "http://elsewhere:1"}).base_url == "http://localhost:8000"
    )


@pytest.mark.parametrize("url", ["ftp://x", "executor:8000", "http://", "http:///path"])
def test_bad_base_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url must be an http"):
        ExecutorClientConfig(base_url=url)


def test_config_is_frozen_and_hides_the_token() -> None:
    config = ExecutorClientConfig(auth_token="s3cret")
    with pytest.raises(ValidationError):
        config.max_retries = 1  # type: ignore[misc]
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.model_dump())


def test_client_revalidates_a_model_copy() -> None:
    from client import HttpExecutorClient

    base = ExecutorClientConfig(base_url="http://127.0.0.1:9", auth_token="t")
    copied = base.model_copy(update={"api_mode": "policy", "max_retries": "2"})
    with HttpExecutorClient(copied) as client:
        assert client.api_mode is ApiMode.POLICY and client.config.max_retries == 2
        assert client.config.auth_token is not None and client.config.auth_token.get_secret_value() == "t"
        assert client.preview_request(
            __import__("client").FaultPlan(
                service="s", api="/a", fault_type="abort", abort_http_status=500, percentage=1
            )
        ).url.endswith("/v1/policies")
    with pytest.raises(ValidationError, match="base_url"):
        HttpExecutorClient(base.model_copy(update={"base_url": "nope"}))


def test_an_initial_retry_delay_over_the_maximum_is_refused_naming_both() -> None:
    with pytest.raises(
        ValidationError, match=r"initial_retry_delay_sec \(20 s\) must not be more than max_retry"
    ):
        ExecutorClientConfig(initial_retry_delay_sec=20, max_retry_delay_sec=10)
    assert ExecutorClientConfig(initial_retry_delay_sec=10, max_retry_delay_sec=10).max_retry_delay_sec == 10
    assert (
        cross_field_problems({"initial_retry_delay_sec": "20", "max_retry_delay_sec": 10}) == []
    )  # not numbers
