"""Configuration: the seed's defaults, environment loading, validation and secrecy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from client import ApiMode, ExecutorClientConfig, RetryStrategy


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


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", "https://executor.example:8443/")
    monkeypatch.setenv("BOIFI_API_MODE", "policy")
    monkeypatch.setenv("BOIFI_AUTH_TOKEN", "s3cret")
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "7")
    monkeypatch.setenv("BOIFI_PROBE_URL", "http://127.0.0.1:9000")
    config = ExecutorClientConfig.from_env()
    assert config.base_url == "https://executor.example:8443"
    assert config.api_mode is ApiMode.POLICY and config.max_retries == 7
    assert config.auth_token is not None and config.auth_token.get_secret_value() == "s3cret"
    assert config.probe_url == "http://127.0.0.1:9000"
    assert ExecutorClientConfig(base_url="http://other:1").base_url == "http://other:1"


def test_unprefixed_base_url_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASE_URL", "http://elsewhere:1")
    assert ExecutorClientConfig().base_url == "http://localhost:8000"


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
