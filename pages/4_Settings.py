"""Settings: Executor URL, api mode, token, retries, timeouts, breaker, database; applied process-wide."""

from __future__ import annotations

from typing import Any

import streamlit as st

from client import RetryStrategy
from dashboard import auth, launch
from dashboard.components import executor_banner, require_holder, try_console
from dashboard.forms import (
    build_client_config,
    database_url_from_form,
    shown_database_url,
    shown_url,
    validate_database_url,
)

st.set_page_config(page_title="Settings · BOIFI Console", page_icon="⚙️", layout="wide")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title("⚙️ Settings")
holder = require_holder()
console = try_console(holder)
if console is not None:
    executor_banner(holder, console)
current = holder.config.client_config
st.caption(
    "Settings apply to the whole dashboard process: applying a change rebuilds the shared client (and its "
    "circuit breaker) for new runs; runs in flight finish on the settings they started with."
)
for previous in holder.retiring():
    still = ", ".join(f"#{run_id}" for run_id in previous.runner.active_run_ids())
    if still:
        st.info(
            f"Still finishing on the previous settings (Executor `{previous.executor_url}`): runs {still}. "
            "That client closes when they end."
        )

API_MODES = launch.API_MODES
RETRY_STRATEGIES = tuple(
    s.value for s in (RetryStrategy.EXPONENTIAL_BACKOFF, RetryStrategy.LINEAR_BACKOFF, RetryStrategy.NONE)
)


def _mode(value: Any) -> str:
    return str(getattr(value, "value", value))


values: dict[str, Any] = {}
slots: dict[str, Any] = {}
with st.form("settings_form"):
    st.subheader("Executor")
    values["base_url"] = st.text_input(
        "Executor URL", value=shown_url(current.base_url), key="settings_base_url"
    )
    slots["base_url"] = st.empty()
    values["api_mode"] = st.selectbox(
        "api mode", API_MODES, index=API_MODES.index(_mode(current.api_mode)), key="settings_api_mode"
    )
    slots["api_mode"] = st.empty()
    has_token = current.auth_token is not None
    values["auth_token"] = st.text_input(
        "auth token (bearer)",
        type="password",
        placeholder="•••• (unchanged)" if has_token else "none",
        key="settings_auth_token",
    )
    clear_token = st.checkbox("remove the saved token", key="settings_clear_token") if has_token else False
    slots["auth_token"] = st.empty()

    st.subheader("Retries and timeouts")
    c1, c2, c3, c4 = st.columns(4)
    values["max_retries"] = c1.number_input(
        "max attempts", value=current.max_retries, key="settings_max_retries"
    )
    values["retry_strategy"] = c2.selectbox(
        "retry strategy",
        RETRY_STRATEGIES,
        index=RETRY_STRATEGIES.index(_mode(current.retry_strategy)),
        key="settings_retry_strategy",
    )
    values["initial_retry_delay_sec"] = c3.number_input(
        "initial retry delay (s)", value=current.initial_retry_delay_sec, key="settings_initial_delay"
    )
    values["max_retry_delay_sec"] = c4.number_input(
        "max retry delay (s)", value=current.max_retry_delay_sec, key="settings_max_delay"
    )
    c5, c6, c7, c8 = st.columns(4)
    values["default_timeout_sec"] = c5.number_input(
        "call timeout (s)", value=current.default_timeout_sec, key="settings_timeout"
    )
    values["connection_timeout_sec"] = c6.number_input(
        "connect timeout (s)", value=current.connection_timeout_sec, key="settings_connect_timeout"
    )
    values["health_check_interval_sec"] = c7.number_input(
        "health cache (s)", value=current.health_check_interval_sec, key="settings_health_interval"
    )
    values["poll_interval_sec"] = c8.number_input(
        "poll interval (s)", value=current.poll_interval_sec, key="settings_poll_interval"
    )

    st.subheader("Circuit breaker")
    b1, b2, b3, b4 = st.columns(4)
    values["circuit_breaker_enabled"] = b1.checkbox(
        "enabled", value=current.circuit_breaker_enabled, key="settings_breaker_enabled"
    )
    values["circuit_breaker_failure_threshold"] = b2.number_input(
        "failures to open", value=current.circuit_breaker_failure_threshold, key="settings_breaker_threshold"
    )
    values["circuit_breaker_timeout_sec"] = b3.number_input(
        "open for (s)", value=current.circuit_breaker_timeout_sec, key="settings_breaker_timeout"
    )
    values["half_open_max_calls"] = b4.number_input(
        "half-open trial calls", value=current.half_open_max_calls, key="settings_half_open"
    )

    st.subheader("Policy mode")
    p1, p2, p3, p4 = st.columns(4)
    values["probe_url"] = p1.text_input(
        "probe URL", value=shown_url(current.probe_url), key="settings_probe_url"
    )
    values["collector_url"] = p2.text_input(
        "collector URL", value=shown_url(current.collector_url), key="settings_collector_url"
    )
    values["probe_rate_rps"] = p3.number_input(
        "probe rate (req/s)", value=current.probe_rate_rps, key="settings_probe_rate"
    )
    values["policy_propagation_sec"] = p4.number_input(
        "policy propagation (s)", value=current.policy_propagation_sec, key="settings_propagation"
    )

    st.subheader("Database")
    database_url = st.text_input(
        "database URL (empty = BOIFI_DATABASE_URL or the default SQLite file)",
        value=shown_database_url(holder.config.database_url),
        key="settings_database_url",
    )
    slots["database_url"] = st.empty()
    slots["__all__"] = st.empty()
    applied = st.form_submit_button("Apply", type="primary")

if applied:
    keep = None if clear_token or current.auth_token is None else current.auth_token.get_secret_value()
    result = build_client_config(values, keep_token=keep, current=current)
    errors = dict(result.errors)
    db_problem = validate_database_url(database_url)
    if db_problem:
        errors["database_url"] = db_problem
    for name, message in errors.items():
        (slots.get(name) or slots["__all__"]).error(f"{name}: {message}", icon="⚠️")
    if errors:
        st.error("Settings not applied: fix the fields marked above.")
    else:
        try:
            outcome = holder.apply(
                result.value, database_url=database_url_from_form(database_url, holder.config.database_url)
            )
        except Exception as exc:  # a bad database or URL must be refused with its reason, not a traceback
            st.error(f"Settings not applied: {exc}")
        else:
            if not outcome.changed:
                st.info("Nothing changed: the shared client (and its circuit breaker) is kept as it is.")
            else:
                talks_to = shown_url(result.value.base_url)
                st.success(f"Settings applied: the shared client now talks to {talks_to}.")
            if outcome.finishing:
                runs = ", ".join(f"#{run_id}" for run_id in outcome.finishing)
                st.info(
                    f"Runs {runs} keep running on the previous settings until they finish; "
                    "new runs use the new ones."
                )
