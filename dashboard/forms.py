"""Turn form values into validated objects, with one message per field and nothing sent on error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

import storage
from client import ExecutorClientConfig, FaultPlan, redact_url
from services.guardrail import Guardrail

PLAN_FIELDS = tuple(FaultPlan.model_fields)
SETTINGS_FIELDS = (
    "base_url",
    "api_mode",
    "auth_token",
    "max_retries",
    "retry_strategy",
    "initial_retry_delay_sec",
    "max_retry_delay_sec",
    "default_timeout_sec",
    "connection_timeout_sec",
    "health_check_interval_sec",
    "circuit_breaker_enabled",
    "circuit_breaker_failure_threshold",
    "circuit_breaker_timeout_sec",
    "half_open_max_calls",
    "poll_interval_sec",
    "probe_url",
    "probe_rate_rps",
    "policy_propagation_sec",
    "collector_url",
)
# URL fields the form shows with their password masked; sent back unchanged, they keep the real one.
URL_FIELDS = ("base_url", "probe_url", "collector_url")


@dataclass
class FormResult:
    """A validated object, or the messages to show next to each field."""

    value: Any = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _clean_message(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def field_errors(exc: ValidationError, fields: tuple[str, ...]) -> dict[str, str]:
    """Map pydantic errors to field names; model-level errors go to the field their message names."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        message = _clean_message(str(error.get("msg", "invalid value")))
        name = next((part for part in loc if part in fields), None)
        if name is None:
            named = sorted((message.find(f), f) for f in fields if f in message)
            name = named[0][1] if named else "__all__"
        errors.setdefault(name, message)
    return errors


def _none_if_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def build_plan(values: Mapping[str, Any]) -> FormResult:
    """Validate launch-form values as a FaultPlan; fields that do not apply to the fault type are dropped."""
    data = {key: _none_if_blank(value) for key, value in values.items() if key in PLAN_FIELDS}
    fault_type = str(getattr(data.get("fault_type"), "value", data.get("fault_type")) or "")
    if fault_type != "delay":
        data.pop("delay_seconds", None)
    if fault_type != "abort":
        data.pop("abort_http_status", None)
    if fault_type != "error_injection":
        data.pop("error_message", None)
    data = {key: value for key, value in data.items() if value is not None}
    return _validate(FaultPlan, data, PLAN_FIELDS)


def build_guardrail(
    *, enabled: bool, max_error_rate_pct: float | None, max_p99_latency_ms: float | None, min_requests: int
) -> FormResult:
    """Validate the optional guardrail; None when disabled."""
    if not enabled:
        return FormResult(value=None)
    if max_error_rate_pct is None and max_p99_latency_ms is None:
        return FormResult(errors={"guardrail": "give a maximum error rate or a maximum p99 latency"})
    try:
        guardrail = Guardrail.from_percent(
            max_error_rate_pct=max_error_rate_pct,
            max_p99_latency_ms=max_p99_latency_ms,
            min_requests=int(min_requests),
        )
    except ValueError as exc:
        return FormResult(errors={"guardrail": str(exc)})
    return FormResult(value=guardrail)


def build_client_config(
    values: Mapping[str, Any],
    *,
    keep_token: str | None = None,
    current: ExecutorClientConfig | None = None,
) -> FormResult:
    """Validate settings-form values as an ExecutorClientConfig (a value: the environment is not read).

    Settings the form does not show (e.g. `probe_timeout_sec`) keep their `current` value, so applying an
    unchanged form gives a config equal to `current`.
    """
    data = client_config_data(values, keep_token=keep_token, current=current)
    if data.get("base_url") is None:
        return FormResult(errors={"base_url": "the Executor URL is required"})
    return _validate(ExecutorClientConfig, data, SETTINGS_FIELDS)


def client_config_data(
    values: Mapping[str, Any],
    *,
    keep_token: str | None = None,
    current: ExecutorClientConfig | None = None,
) -> dict[str, Any]:
    """Return the keywords an ExecutorClientConfig is built from for settings-form `values` (not validated).

    Blank fields are left out, masked URLs sent back unchanged keep the real ones, an empty token keeps
    `keep_token`, and settings the form does not show keep their `current` value.
    """
    data = {key: _none_if_blank(value) for key, value in values.items() if key in SETTINGS_FIELDS}
    for name in URL_FIELDS if current is not None else ():
        data[name] = unmasked_url(data.get(name), getattr(current, name), redact_url)
    if data.get("auth_token") is None and keep_token:
        data["auth_token"] = keep_token
    data = {key: value for key, value in data.items() if value is not None}
    if current is not None:
        hidden = {key: value for key, value in current.model_dump().items() if key not in SETTINGS_FIELDS}
        data = {**hidden, **data}
    return data


def _validate(model: type[BaseModel], data: dict[str, Any], fields: tuple[str, ...]) -> FormResult:
    try:
        return FormResult(value=model(**data))
    except ValidationError as exc:
        return FormResult(errors=field_errors(exc, fields))


def validate_database_url(url: str) -> str | None:
    """Return why a database URL is unusable, or None when it looks like a SQLAlchemy URL."""
    text = url.strip()
    if not text:
        return None
    scheme, sep, _rest = text.partition("://")
    if not sep or not scheme:
        return "a database URL looks like sqlite:///path/to/boifi.db or postgresql://user@host/db"
    if scheme.split("+")[0] not in ("sqlite", "postgresql", "mysql", "mariadb", "oracle", "mssql"):
        return f"unsupported database scheme {scheme!r}"
    return None


def shown_url(url: str | None) -> str:
    """Return an http URL as a form shows it: its password masked (empty for None)."""
    return redact_url(url) if url else ""


def shown_database_url(url: str | None) -> str:
    """Return a database URL as a form shows it: its password masked (empty for None)."""
    return storage.redact_database_url(url) if url else ""


def unmasked_url(submitted: Any, current: str | None, redact: Callable[[str], str]) -> Any:
    """Return `current` when a form sent back the masked URL it was shown, else what was submitted."""
    if current and isinstance(submitted, str) and submitted.strip() == redact(current) != current:
        return current
    return submitted


def database_url_from_form(submitted: str, current: str | None) -> str | None:
    """Return the database URL a settings form means: the current one if sent back masked; None if empty."""
    value = unmasked_url(submitted.strip(), current, storage.redact_database_url)
    return value or None
