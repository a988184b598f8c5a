"""Launch an experiment: a validated fault plan, a preview of the request, live progress and the result."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from dashboard import auth, cached, data, launch, links, live_view, page_style
from dashboard.charts import run_progress_figure
from dashboard.components import (
    executor_banner,
    require_console,
    result_card,
    runs_table,
    storage_reads,
)
from dashboard.experiment_form import experiment_fields, experiment_summary
from dashboard.forms import build_guardrail, build_plan
from dashboard.header_form import header_match_fields

page_style.set_page("Launch · BOIFI Console", icon=":material/rocket_launch:")
user = auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title(":material/rocket_launch: Launch an experiment")
holder, console = require_console()
executor = executor_banner(holder, console)
live_slot = st.container()  # the launched run shows here, at the top: Halt and its chart in view at once

FAULT_TYPES = ("delay", "abort", "error_injection")
METHODS = ("", "GET", "POST", "PUT", "PATCH", "DELETE")

services, services_error = cached.services(console, console.executor_url, holder.generation)
if services_error:
    st.caption(f"Could not list the Executor's services ({services_error}); type the target.")

# Re-run from a run's page: /Launch?rerun=<id> prefills the form with that run's plan, once.
rerun_id = links.parse_run_id(st.query_params.get(links.RERUN_QUERY))
if rerun_id is not None and st.session_state.get("launch_prefilled") != rerun_id:
    with storage_reads():
        source = data.load_run(console.engine, rerun_id)
        if source is None:
            st.warning(f"Run #{rerun_id} is not in this database: nothing to re-run.")
        else:
            st.session_state.update(launch.prefill_from_run(source.run, services))
            st.session_state["launch_prefilled"] = rerun_id
if rerun_id is not None and st.session_state.get("launch_prefilled") == rerun_id:
    st.info(f"The form holds the plan of run #{rerun_id}: check it, then Launch.", icon=":material/replay:")

launch.keep_fault_fields(st.session_state)  # after the prefill: a re-run's values are kept too
values: dict[str, Any] = {}
slots: dict[str, Any] = {}
left, right = st.columns(2)
with left:
    st.subheader("Target")
    names = [s.name for s in services]
    if names:
        values["service"] = st.selectbox("service", names, key="launch_service")
    else:
        values["service"] = st.text_input("service", value="payment", key="launch_service_text")
    slots["service"] = st.empty()
    chosen = next((s for s in services if s.name == values["service"]), None)
    paths = [api.path for api in chosen.apis] if chosen else []
    if paths:
        values["api"] = st.selectbox("api (path)", paths, key="launch_api")
    else:
        values["api"] = st.text_input("api (path)", value="/api/v1/payment/process", key="launch_api_text")
    slots["api"] = st.empty()
    values["method"] = st.selectbox(
        "method (optional match)", METHODS, format_func=lambda m: m or "any", key="launch_method"
    )
    slots["method"] = st.empty()
    values.update(header_match_fields(slots))
    api_mode = st.radio(
        "api mode",
        launch.API_MODES,
        index=launch.API_MODES.index(launch.current_api_mode(holder)),
        horizontal=True,
        key="launch_api_mode",
    )
    slots["api_mode"] = st.empty()

with right:
    st.subheader("Fault")
    values["fault_type"] = st.selectbox("fault type", FAULT_TYPES, key="launch_fault_type")
    launch.showing_fault_type(st.session_state, values["fault_type"])
    slots["fault_type"] = st.empty()
    values["percentage"] = st.number_input(
        "percentage of requests (%)", value=50, step=5, key="launch_percentage"
    )
    slots["percentage"] = st.empty()
    if values["fault_type"] == "delay":
        values["delay_seconds"] = st.number_input("delay (s)", step=0.1, key="launch_delay_seconds")
        slots["delay_seconds"] = st.empty()
    elif values["fault_type"] == "abort":
        values["abort_http_status"] = st.number_input("abort HTTP status", step=1, key="launch_abort")
        slots["abort_http_status"] = st.empty()
    else:
        values["error_message"] = st.text_input("error message", key="launch_error_msg")
        slots["error_message"] = st.empty()
    values["duration_seconds"] = st.number_input("duration (s)", value=10, step=5, key="launch_duration")
    slots["duration_seconds"] = st.empty()
    values["start_delay_ms"] = st.number_input(
        "start delay (ms)", value=0, step=100, key="launch_start_delay"
    )
    slots["start_delay_ms"] = st.empty()

values.update(experiment_fields(services, slots))
with st.expander("Guardrail (optional): stop the fault when the target suffers too much"):
    guard_on = st.checkbox("enable guardrail", key="launch_guard_on")
    g1, g2, g3 = st.columns(3)
    max_error_pct = g1.number_input("max error rate (%)", value=50.0, key="launch_guard_err")
    max_p99_ms = g2.number_input(
        "max p99 latency (ms)", value=0.0, key="launch_guard_p99", help="0 = no bound"
    )
    min_requests = g3.number_input("min requests before checking", value=20, key="launch_guard_min")
    slots["guardrail"] = st.empty()
labels_text = st.text_input("labels (comma-separated)", key="launch_labels")
notes = st.text_area("notes", key="launch_notes", height=68)

plan_result = build_plan(values)
guard_result = build_guardrail(
    enabled=guard_on,
    max_error_rate_pct=max_error_pct,
    max_p99_latency_ms=max_p99_ms or None,
    min_requests=int(min_requests),
)
errors = {**plan_result.errors, **guard_result.errors}
mode_problem = launch.api_mode_problem(holder, api_mode)
if mode_problem:
    errors["api_mode"] = mode_problem
for name, message in errors.items():
    slot = slots.get(name)
    if slot is not None:
        slot.error(message, icon=":material/warning:")
    else:
        st.error(f"{name}: {message}", icon=":material/warning:")

if plan_result.ok:
    with st.expander("Preview of the exact request the client will send first"):
        summary = experiment_summary(plan_result.value)
        if summary:
            st.markdown(summary)
        try:
            st.code(json.dumps(data.preview(console, plan_result.value, api_mode=api_mode), indent=2), "json")
        except Exception as exc:  # preview is best effort; never break the form
            st.caption(f"No preview: {exc}")

blocked = launch.launch_blocked(executor)
if blocked:
    st.caption(f":material/block: Launch is off while {blocked}. Nothing is sent or stored.")
if st.button("Launch", type="primary", key="launch_submit", disabled=blocked is not None):
    if errors:
        st.error("Nothing was sent: fix the fields marked above.")
    else:
        outcome = launch.submit(
            holder,
            plan_result.value,
            api_mode=api_mode,
            guardrail=guard_result.value,
            labels=launch.parse_labels(labels_text),
            notes=notes,
            launched_by=user,
        )
        if outcome.error:
            st.error(f"Nothing was sent: {outcome.error}")
        else:
            st.session_state["launch_run_id"] = outcome.run_id
            st.session_state["launch_run_database"] = outcome.database


@st.fragment(run_every=1.0)
def live_panel() -> None:
    """Show the launched run growing each second, with Halt, then its result."""
    run_id = st.session_state.get("launch_run_id")
    current = holder.console()
    with storage_reads():
        if run_id is not None:
            # The Console that runs it: a retired one (Settings changed meanwhile) keeps its runs to the end.
            owner = holder.console_for_run(int(run_id), st.session_state.get("launch_run_database"))
            view = data.load_run(owner.engine, int(run_id)) if owner is not None else None
            if owner is None or view is None:
                st.warning(f"Run #{run_id} is not in the current database (it was changed in Settings).")
            elif view.run.finished_at is None:
                live_view.show_running(owner, view)
            else:
                result_card(view.run, samples=view.samples)
                if view.timeline:
                    st.plotly_chart(run_progress_figure(view.timeline, title=f"Run #{view.run.id}"))
        others = [r for r in data.active_runs(current.engine) if r.id != run_id]
        if others:
            st.subheader("Other active runs")
            runs_table(others, key="launch_others")


with live_slot:
    live_panel()
