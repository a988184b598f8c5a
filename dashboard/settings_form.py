"""Check the Settings form: every problem at once, each under its own field, in the field's words and units.

No Streamlit here: `dashboard/settings_widgets.py` draws the form, `pages/4_Settings.py` applies it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from client import ApiMode, ExecutorClientConfig
from client.config import cross_field_problems
from dashboard.forms import client_config_data, database_url_from_form, validate_database_url


@dataclass(frozen=True)
class SettingField:
    """One field of the form: its setting, the words the form shows for it and its unit."""

    name: str
    label: str
    unit: str = ""

    @property
    def widget_label(self) -> str:
        """Return the label the widget shows: the words, then the unit in brackets."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def in_sentence(self) -> str:
        """Return the label as it reads inside a sentence ("max retry delay", "Executor URL")."""
        proper = self.label.split()[0] in ("Executor", "API")
        return self.label if proper else self.label[:1].lower() + self.label[1:]


FIELDS: dict[str, SettingField] = {
    f.name: f
    for f in (
        SettingField("base_url", "Executor URL"),
        SettingField("api_mode", "API mode"),
        SettingField("auth_token", "Auth token (bearer)"),
        SettingField("max_retries", "Max attempts"),
        SettingField("retry_strategy", "Retry strategy"),
        SettingField("initial_retry_delay_sec", "Initial retry delay", "s"),
        SettingField("max_retry_delay_sec", "Max retry delay", "s"),
        SettingField("default_timeout_sec", "Call timeout", "s"),
        SettingField("connection_timeout_sec", "Connect timeout", "s"),
        SettingField("health_check_interval_sec", "Health cache", "s"),
        SettingField("poll_interval_sec", "Poll interval", "s"),
        SettingField("circuit_breaker_enabled", "Breaker enabled"),
        SettingField("circuit_breaker_failure_threshold", "Failures to open"),
        SettingField("circuit_breaker_timeout_sec", "Open for", "s"),
        SettingField("half_open_max_calls", "Half-open trial calls"),
        SettingField("probe_url", "Probe URL"),
        SettingField("collector_url", "Collector URL"),
        SettingField("probe_rate_rps", "Probe rate", "req/s"),
        SettingField("policy_propagation_sec", "Policy propagation", "s"),
        SettingField("database_url", "Database URL"),
    )
}
OTHER = "__all__"  # a problem no field of the form owns (a setting the form does not show)

# pydantic error type -> how the bound reads, with the bound's ctx key
_BOUNDS = {
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}
_KINDS = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
}


@dataclass
class SettingsCheck:
    """The config and database URL a form means, or the problems of each field (nothing to apply then)."""

    config: ExecutorClientConfig | None = None
    database_url: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, name: str, message: str) -> None:
        """Record one problem under field `name` (once)."""
        messages = self.errors.setdefault(name if name in FIELDS else OTHER, [])
        if message not in messages:
            messages.append(message)


def in_words(message: str) -> str:
    """Return `message` with every setting name in it replaced by the form's words for it."""
    for name in sorted(FIELDS, key=len, reverse=True):
        message = re.sub(rf"\b{name}\b", FIELDS[name].in_sentence, message)
    return message[:1].upper() + message[1:]


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def describe_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """Return (field, message in the field's words and unit) for one pydantic error of the client config."""
    loc = [str(part) for part in error.get("loc", ())]
    name = next((part for part in loc if part in FIELDS), OTHER)
    spec = FIELDS.get(name)
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if spec is not None and kind in _BOUNDS and _BOUNDS[kind][1] in ctx:
        words, key = _BOUNDS[kind]
        unit = f" {spec.unit}" if spec.unit else ""
        return name, f"{spec.label} must be {words} {_number(ctx[key])}{unit}."
    if spec is not None and kind in _KINDS:
        return name, f"{spec.label} must be {_KINDS[kind]}."
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if spec is not None and not any(re.search(rf"\b{n}\b", message) for n in FIELDS):
        message = f"{spec.label}: {message}"
    return name, in_words(message).rstrip(".") + "."


def check_settings(
    values: Mapping[str, Any],
    *,
    database_url: str,
    current: ExecutorClientConfig,
    current_database_url: str | None,
    keep_token: str | None,
) -> SettingsCheck:
    """Check every field of the Settings form at once; the config and database URL only when all are good."""
    check = SettingsCheck()
    data = client_config_data(values, keep_token=keep_token, current=current)
    if data.get("base_url") is None:
        check.add("base_url", "Executor URL is required.")
    for names, message in cross_field_problems(data):  # reported with the other fields' problems
        for name in names:
            check.add(name, in_words(message) + ".")
    mode = str(getattr(data.get("api_mode"), "value", data.get("api_mode")))
    if mode == ApiMode.POLICY.value and not data.get("probe_url") and not data.get("collector_url"):
        for name in ("api_mode", "probe_url"):
            check.add(name, "Policy mode needs a probe URL or a collector URL to observe the target.")
    problem = validate_database_url(database_url)
    if problem:
        check.add("database_url", f"Database URL is not usable: {problem}.")
    config: ExecutorClientConfig | None = None
    if data.get("base_url") is not None:
        try:
            config = ExecutorClientConfig(**data)
        except ValidationError as exc:
            for error in exc.errors():
                if error.get("loc"):  # model-level problems are the cross-field ones reported above
                    check.add(*describe_error(error))
                elif not check.errors:
                    check.add(OTHER, in_words(str(error.get("msg", "invalid settings"))))
    if check.ok and config is not None:
        check.config = config
        check.database_url = database_url_from_form(database_url, current_database_url)
    return check
