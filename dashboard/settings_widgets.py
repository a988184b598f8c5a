"""Draw the Settings form: each field with its label and unit, and a slot right under it for its messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from client import ExecutorClientConfig, RetryStrategy
from dashboard import launch
from dashboard.forms import shown_url
from dashboard.settings_form import FIELDS, OTHER

API_MODES = launch.API_MODES
RETRY_STRATEGIES = tuple(
    s.value for s in (RetryStrategy.EXPONENTIAL_BACKOFF, RetryStrategy.LINEAR_BACKOFF, RetryStrategy.NONE)
)
# Widget keys (session state and tests find the widgets by them).
KEYS = {
    "base_url": "settings_base_url",
    "api_mode": "settings_api_mode",
    "auth_token": "settings_auth_token",
    "max_retries": "settings_max_retries",
    "retry_strategy": "settings_retry_strategy",
    "initial_retry_delay_sec": "settings_initial_delay",
    "max_retry_delay_sec": "settings_max_delay",
    "default_timeout_sec": "settings_timeout",
    "connection_timeout_sec": "settings_connect_timeout",
    "health_check_interval_sec": "settings_health_interval",
    "poll_interval_sec": "settings_poll_interval",
    "circuit_breaker_enabled": "settings_breaker_enabled",
    "circuit_breaker_failure_threshold": "settings_breaker_threshold",
    "circuit_breaker_timeout_sec": "settings_breaker_timeout",
    "half_open_max_calls": "settings_half_open",
    "probe_url": "settings_probe_url",
    "collector_url": "settings_collector_url",
    "probe_rate_rps": "settings_probe_rate",
    "policy_propagation_sec": "settings_propagation",
    "database_url": "settings_database_url",
}
CLEAR_TOKEN_KEY = "settings_clear_token"
NUMBER_ROWS = (
    (
        "Retries and timeouts",
        ("max_retries", "retry_strategy", "initial_retry_delay_sec", "max_retry_delay_sec"),
    ),
    (
        None,
        ("default_timeout_sec", "connection_timeout_sec", "health_check_interval_sec", "poll_interval_sec"),
    ),
    (
        "Circuit breaker",
        (
            "circuit_breaker_enabled",
            "circuit_breaker_failure_threshold",
            "circuit_breaker_timeout_sec",
            "half_open_max_calls",
        ),
    ),
    ("Policy mode", ("probe_url", "collector_url", "probe_rate_rps", "policy_propagation_sec")),
)


@dataclass
class SettingsInput:
    """What the form holds after a run: the values, the database URL text, and a message slot per field."""

    values: dict[str, Any] = field(default_factory=dict)
    database_url: str = ""
    clear_token: bool = False
    slots: dict[str, Any] = field(default_factory=dict)
    submitted: bool = False

    def show_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Show each field's problems in the slot right under it."""
        for name, messages in errors.items():
            slot = self.slots.get(name) or self.slots[OTHER]
            slot.error("\n\n".join(messages))


def _mode(value: Any) -> str:
    return str(getattr(value, "value", value))


def _widget(container: Any, name: str, current: ExecutorClientConfig) -> Any:
    label, key = FIELDS[name].widget_label, KEYS[name]
    value = getattr(current, name)
    if name == "retry_strategy":
        return container.selectbox(
            label, RETRY_STRATEGIES, index=RETRY_STRATEGIES.index(_mode(value)), key=key
        )
    if name == "circuit_breaker_enabled":
        return container.checkbox(label, value=value, key=key)
    if name in ("probe_url", "collector_url"):
        return container.text_input(label, value=shown_url(value), key=key)
    return container.number_input(label, value=value, key=key)


def clear_widgets() -> None:
    """Forget what was typed, so the form shows the settings in use on its next run."""
    for key in (*KEYS.values(), CLEAR_TOKEN_KEY):
        st.session_state.pop(key, None)


def settings_form(current: ExecutorClientConfig, *, shown_database_url: str) -> SettingsInput:
    """Draw the Settings form for `current`; every field has its own message slot right under it."""
    form = SettingsInput()
    values, slots = form.values, form.slots
    with st.form("settings_form"):
        st.subheader("Executor")
        values["base_url"] = st.text_input(
            FIELDS["base_url"].widget_label, value=shown_url(current.base_url), key=KEYS["base_url"]
        )
        slots["base_url"] = st.empty()
        values["api_mode"] = st.selectbox(
            FIELDS["api_mode"].widget_label,
            API_MODES,
            index=API_MODES.index(_mode(current.api_mode)),
            key=KEYS["api_mode"],
        )
        slots["api_mode"] = st.empty()
        has_token = current.auth_token is not None
        values["auth_token"] = st.text_input(
            FIELDS["auth_token"].widget_label,
            type="password",
            placeholder="•••• (unchanged)" if has_token else "none",
            key=KEYS["auth_token"],
        )
        form.clear_token = st.checkbox("remove the saved token", key=CLEAR_TOKEN_KEY) if has_token else False
        slots["auth_token"] = st.empty()
        for title, names in NUMBER_ROWS:
            if title:
                st.subheader(title)
            for column, name in zip(st.columns(len(names)), names, strict=True):
                values[name] = _widget(column, name, current)
                slots[name] = column.empty()
        st.subheader("Database")
        form.database_url = st.text_input(
            f"{FIELDS['database_url'].widget_label} (empty = BOIFI_DATABASE_URL or the default SQLite file)",
            value=shown_database_url,
            key=KEYS["database_url"],
        )
        slots["database_url"] = st.empty()
        slots[OTHER] = st.empty()
        form.submitted = st.form_submit_button("Apply", type="primary")
    return form
