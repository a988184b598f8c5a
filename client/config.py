"""Client configuration: an immutable value; ``from_env`` loads one from ``BOIFI_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from client.environment import load_settings
from client.models import ApiMode
from client.redaction import redact_url

# The documented name first; BOIFI_BASE_URL is the field's own name and works too.
ENV_ALIASES = {"base_url": ("BOIFI_EXECUTOR_URL", "BOIFI_BASE_URL")}


class RetryStrategy(StrEnum):
    """How to space retries (the seed's names and values)."""

    NONE = "none"
    EXPONENTIAL_BACKOFF = "exp"
    LINEAR_BACKOFF = "linear"


def _validate_url(value: str | None, field_name: str) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = redact_url(value)
        raise ValueError(f"{field_name} must be an http:// or https:// URL with a host, got {shown!r}")
    return value.strip().rstrip("/")


def cross_field_problems(values: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Return the pairs of settings in `values` that disagree: (the fields named, the message).

    Only pairs whose values are both numbers are checked, so a form can report them next to the
    errors of other fields. `ExecutorClientConfig` refuses a config with any of them.

    >>> cross_field_problems({"initial_retry_delay_sec": 20, "max_retry_delay_sec": 10})[0][0]
    ('initial_retry_delay_sec', 'max_retry_delay_sec')
    """
    problems: list[tuple[tuple[str, ...], str]] = []
    initial, maximum = values.get("initial_retry_delay_sec"), values.get("max_retry_delay_sec")
    if isinstance(initial, int | float) and isinstance(maximum, int | float) and initial > maximum:
        problems.append(
            (
                ("initial_retry_delay_sec", "max_retry_delay_sec"),
                f"initial_retry_delay_sec ({initial:g} s) must not be more than "
                f"max_retry_delay_sec ({maximum:g} s)",
            )
        )
    return problems


class ExecutorClientConfig(BaseModel):
    """Settings of one Executor client; the seed's fields and defaults plus api mode, auth and probe.

    Constructing one never reads the environment; `from_env` does.

    >>> ExecutorClientConfig(base_url="http://127.0.0.1:8080", api_mode="policy", probe_url="http://127.0.0.1:9000")
    >>> ExecutorClientConfig.from_env(api_mode="policy")  # BOIFI_EXECUTOR_URL, ..., then the keywords
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    executor_host: str = "localhost"
    executor_port: int = Field(default=8000, ge=1, le=65535)
    base_url: str = ""
    api_mode: ApiMode = ApiMode.EXTENDED
    auth_token: SecretStr | None = None

    max_retries: int = Field(default=3, ge=1, description="attempts per call, as in the seed")
    retry_strategy: RetryStrategy = RetryStrategy.EXPONENTIAL_BACKOFF
    initial_retry_delay_sec: float = Field(default=0.5, ge=0)
    max_retry_delay_sec: float = Field(default=10.0, ge=0)

    default_timeout_sec: float = Field(default=30.0, gt=0)
    connection_timeout_sec: float = Field(default=5.0, gt=0)
    poll_interval_sec: float = Field(default=0.5, gt=0)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    health_check_interval_sec: float = Field(default=60.0, ge=0)

    circuit_breaker_enabled: bool = True
    circuit_breaker_failure_threshold: int = Field(default=5, ge=1)
    circuit_breaker_timeout_sec: float = Field(default=60.0, ge=0)
    half_open_max_calls: int = Field(default=1, ge=1)

    probe_url: str | None = None
    probe_rate_rps: float = Field(default=20.0, gt=0, le=1000)
    probe_concurrency: int = Field(default=8, ge=1, le=256)
    probe_timeout_sec: float = Field(default=5.0, gt=0)
    policy_propagation_sec: float = Field(default=2.0, ge=0)
    collector_url: str | None = None
    collector_token: SecretStr | None = Field(
        default=None, description="bearer token sent to collector_url's origin only (not the Executor's)"
    )

    @model_validator(mode="before")
    @classmethod
    def _default_base_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("base_url"):
            host = data.get("executor_host", "localhost")
            port = data.get("executor_port", 8000)
            data = {**data, "base_url": f"http://{host}:{port}"}
        return data

    @model_validator(mode="after")
    def _check_pairs(self) -> ExecutorClientConfig:
        problems = cross_field_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(message for _fields, message in problems))
        return self

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        checked = _validate_url(value, "base_url")
        if checked is None:
            raise ValueError("base_url must not be empty")
        return checked

    @field_validator("probe_url", "collector_url")
    @classmethod
    def _check_optional_url(cls, value: str | None, info: Any) -> str | None:
        return _validate_url(value, info.field_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ExecutorClientConfig:
        """Load a config from ``BOIFI_*`` variables of `environ` (default: the process's), then `overrides`.

        ``BOIFI_EXECUTOR_URL`` (or ``BOIFI_BASE_URL``) is base_url; every other field is ``BOIFI_<FIELD>``.
        Raises `client.environment.SettingsError` naming the variable of a bad value.
        """
        return load_settings(cls, environ=environ, aliases=ENV_ALIASES, overrides=overrides)
