"""One run's own page at /Run?run=<id>: plan, verdict and score, phases on one time axis, events, actions."""

from __future__ import annotations

import json

import streamlit as st

import storage
from dashboard import auth, links, page_style, run_detail
from dashboard.components import format_ms, format_pct, require_console, status_text, storage_reads
from dashboard.phase_chart import phase_figure

page_style.set_page("Run · BOIFI Console", icon=":material/query_stats:")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
holder, console = require_console()
LIVE_REFRESH_SEC = 2.0

run_id = links.parse_run_id(st.query_params.get(links.RUN_QUERY))
if run_id is None:
    st.title(":material/query_stats: Run")
    st.error("No run chosen: open a run from History, or give its id in the URL, e.g. /Run?run=1.")
    st.page_link(links.HISTORY_PAGE, label="History", icon=":material/history:")
    st.stop()


def show(page: run_detail.RunPage) -> None:
    """Render one run."""
    run, experiment = page.run, page.experiment
    fault = run.fault_type or ""
    st.title(f":material/query_stats: Run #{run.id} — {fault} on {run.service}{run.api} at {run.percentage}%")
    c1, c2, c3, c4 = st.columns([2, 4, 2, 2])  # the verdict in words needs the room
    c1.metric("status", status_text(run))
    c2.metric("verdict", run_detail.verdict_name(experiment.verdict))
    c3.metric("severity score (0–100)", run_detail.score_text(experiment.severity_score))
    c4.metric("duration", run_detail.duration_text(run))
    for deviation in experiment.deviations:
        st.warning(f"Deviation — {run_detail.deviation_text(deviation)}", icon=":material/bolt:")
    recovery = run_detail.recovery_text(
        experiment, recovery_seconds=int(run.plan.get("recovery_seconds") or 0)
    )
    if recovery:
        st.caption(f"Recovery: {recovery}.")
    if run.error:
        st.error(f"Error: {run.error}")
    elif run.stop_reason:
        st.warning(f"Stopped: {run.stop_reason}")
    st.caption(run_detail.who_and_when(run))

    a1, a2, a3, a4 = st.columns(4)
    a1.download_button(
        "Export JSON",
        json.dumps(storage.runs_to_records([run]), indent=2),
        file_name=f"boifi-run-{run.id}.json",
        mime="application/json",
        key="run_export_json",
    )
    a2.download_button(
        "Export CSV",
        storage.runs_to_csv([run]),
        file_name=f"boifi-run-{run.id}.csv",
        mime="text/csv",
        key="run_export_csv",
    )
    a3.page_link(**links.rerun_link(int(run.id or 0)))
    a4.page_link(**links.compare_link(int(run.id or 0)))

    phases = run_detail.axis_phases(run, experiment)
    st.plotly_chart(phase_figure(page.timeline, phases, page.bands), key="run_phase_chart")

    st.subheader("Phases")
    if experiment.phases:
        st.dataframe(run_detail.phase_rows(experiment.phases), hide_index=True, key="run_phases")
    else:
        st.caption("This run has one fault phase; its measures are the totals below.")
    totals = st.columns(5)
    totals[0].metric("requests", f"{run.request_count:,}")
    totals[1].metric("error rate", format_pct(run.error_rate))
    totals[2].metric("p50 latency", format_ms(run.p50_latency_ms))
    totals[3].metric("p95 latency", format_ms(run.p95_latency_ms))
    totals[4].metric("p99 latency", format_ms(run.p99_latency_ms))
    differences = run_detail.difference_rows(storage.fault_minus_baseline(page.samples))
    if differences:
        st.subheader("Fault minus baseline (95 % intervals)")
        st.dataframe(differences, hide_index=True, key="run_differences")
    if experiment.target is not None:
        hits = experiment.target
        st.caption(
            f"The fault's own target {hits.service}{hits.api}: {hits.affected_count:,} of "
            f"{hits.request_count:,} requests hit."
        )

    st.subheader("Events")
    rows = run_detail.event_rows(page)
    st.caption(f"{page.attempt_count} calls to the Executor; retries, failures, breaker changes and halts:")
    if rows:
        st.dataframe(rows, hide_index=True, key="run_events")
    else:
        st.caption("None: every call succeeded at once.")
    with st.expander("Plan"):
        st.json(run.plan)
        if run.guardrail:
            st.json({"guardrail": run.guardrail})
        if run.notes:
            st.markdown(run.notes)


with storage_reads(stop=True):  # on an outage the page stops here and reruns by itself
    first = run_detail.load_run_page(console.engine, run_id)
if first is None:
    st.title(f":material/query_stats: Run #{run_id}")
    st.error(f"There is no run #{run_id} in this database.")
    st.page_link(links.HISTORY_PAGE, label="History", icon=":material/history:")
    st.stop()
elif first.run.finished_at is not None:
    show(first)
else:

    @st.fragment(run_every=LIVE_REFRESH_SEC)
    def live() -> None:
        """Redraw the run while it is going; once it has finished, draw the page once more as it ends."""
        with storage_reads():
            page = run_detail.load_run_page(console.engine, int(run_id))
            if page is not None and page.run.finished_at is not None:
                st.rerun()
            if page is not None:
                show(page)

    live()
