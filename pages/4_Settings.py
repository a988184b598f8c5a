"""Settings: Executor URL, api mode, token, retries, timeouts, breaker, database; applied process-wide."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, page_style
from dashboard.components import executor_banner, require_holder, try_console
from dashboard.forms import shown_database_url
from dashboard.settings_apply import NO_EMBEDDED, ApplyReport, apply_settings, embedded_config
from dashboard.settings_form import check_settings
from dashboard.settings_widgets import SettingsInput, clear_widgets, settings_form

EMBEDDED_HELP = (
    "Talk to this process's embedded executor and its demo services again (its URL, mode and token)."
)
IN_USE = "The embedded executor is in use, with the URL, mode and token it started with."
NOTICE_KEY = "settings_notice"  # what the "Use the embedded executor" button did, shown on the next run

page_style.set_page("Settings · BOIFI Console", icon=":material/settings:")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title(":material/settings: Settings")
holder = require_holder()
banner = st.container()  # drawn last: it shows the Executor the settings in use name, after any apply
st.caption(
    "Settings apply to the whole dashboard process: applying a change rebuilds the shared client (and its "
    "circuit breaker) for new runs; runs in flight finish on the settings they started with."
)


def _use_embedded() -> None:
    """Apply the embedded executor's URL and mode (keeping the other settings) and reset the form."""
    config = embedded_config(holder, holder.config.client_config)
    if config is not None:
        st.session_state[NOTICE_KEY] = apply_settings(holder, config, database_url=holder.config.database_url)
        clear_widgets()


def _show(report: ApplyReport, form: SettingsInput) -> None:
    """Say what applying did; the Executor's health goes right under its URL."""
    if report.error is not None:
        st.error(f"Settings not applied: {report.error}")
        return
    if not report.changed:
        st.info("Nothing changed: the shared client (and its circuit breaker) is kept as it is.")
    elif report.reachability is not None and report.reachability.healthy:
        form.slots["base_url"].success(f"`{report.executor_url}`: {report.reachability.text}")
        st.success(
            f"Settings applied: the shared client now talks to {report.executor_url} (reachable, healthy)."
        )
    else:
        text = report.reachability.text if report.reachability is not None else "not checked"
        form.slots["base_url"].error(f"`{report.executor_url}`: {text}")
        st.warning(
            f"Settings applied, but the Executor at {report.executor_url} is {text}. New runs fail until it "
            "answers: fix the URL or use the embedded executor."
        )
    if report.finishing:
        runs = ", ".join(f"#{run_id}" for run_id in report.finishing)
        st.info(
            f"Runs {runs} keep running on the previous settings until they finish; new runs use the new ones."
        )


current = holder.config.client_config
embedded_slot = st.container()  # drawn after any apply: whether it is in use changes with it
form = settings_form(current, shown_database_url=shown_database_url(holder.config.database_url))
notice = st.session_state.pop(NOTICE_KEY, None)
if isinstance(notice, ApplyReport):
    _show(notice, form)
if form.submitted:
    keep = None if form.clear_token or current.auth_token is None else current.auth_token.get_secret_value()
    check = check_settings(
        form.values,
        database_url=form.database_url,
        current=current,
        current_database_url=holder.config.database_url,
        keep_token=keep,
    )
    if check.config is None:
        form.show_errors(check.errors)
        fields = len(check.errors)
        st.error(
            f"Settings not applied: fix the {fields} {'field' if fields == 1 else 'fields'} marked above."
        )
    else:
        _show(apply_settings(holder, check.config, database_url=check.database_url), form)

with embedded_slot:
    restorable = embedded_config(holder, holder.config.client_config)
    in_use = restorable is not None and restorable.model_dump() == holder.config.client_config.model_dump()
    st.button(
        "Use the embedded executor",
        on_click=_use_embedded,
        disabled=restorable is None or in_use,
        help=NO_EMBEDDED if restorable is None else IN_USE if in_use else EMBEDDED_HELP,
        key="settings_use_embedded",
    )
with banner:
    console = try_console(holder)
    if console is not None:
        executor_banner(holder, console)
    for previous in holder.retiring():
        still = ", ".join(f"#{run_id}" for run_id in previous.runner.active_run_ids())
        if still:
            st.info(
                f"Still finishing on the previous settings (Executor `{previous.executor_url}`): "
                f"runs {still}. That client closes when they end."
            )
