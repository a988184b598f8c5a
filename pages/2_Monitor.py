"""Live monitor: Executor health, client calls, breaker state as a strip, runs shaded, active faults."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, halting, monitor_data, page_style
from dashboard.components import executor_banner, require_console, storage_reads
from dashboard.monitor_charts import call_latency_figure, client_calls_figure, health_figure

page_style.set_page("Monitor · BOIFI Console", icon=":material/monitoring:")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title(":material/monitoring: Live monitor")
holder, console = require_console()

WINDOWS_SEC = {"5 minutes": 300, "15 minutes": 900, "1 hour": 3600, "6 hours": 21600}
c1, c2 = st.columns(2)
window_label = c1.selectbox("time window", list(WINDOWS_SEC), key="monitor_window")
refresh_sec = c2.selectbox("refresh every (s)", (2, 5, 10), index=0, key="monitor_refresh")
window_sec = WINDOWS_SEC[window_label]
bucket_sec = max(1, window_sec // 120)


@st.fragment(run_every=float(refresh_sec))
def live() -> None:
    """Redraw the banner, charts and breaker counters from storage."""
    current = holder.console()
    executor_banner(holder, current)
    with storage_reads():
        view = monitor_data.monitor_data(
            current.engine,
            current.executor_url,
            window_sec=window_sec,
            bucket_sec=bucket_sec,
            gap_sec=monitor_data.monitor_gap_sec(current, bucket_sec=bucket_sec),
        )
        state = data.executor_status(current, embedded=holder.config.embedded).breaker_state
        counters = view.counters
        window = (view.since, view.until)  # every chart shows the whole window, data or not
        # Two rows of four: eight to a row cut the values ("CLOS…") and the labels at 1400 px.
        first, second = st.columns(4), st.columns(4)
        first[0].metric("breaker state", state.value)
        first[1].metric("calls (attempts)", counters.get("attempt", 0))
        first[2].metric("successes", counters.get("success", 0))
        first[3].metric("failures", counters.get("failure", 0))
        second[0].metric("retries", counters.get("retry", 0))
        second[1].metric(
            "rejected (not sent)",
            counters.get("rejected", 0),
            help="Calls the open circuit breaker refused: nothing was sent to the Executor.",
        )
        second[2].metric("breaker opens", counters.get("breaker_opens", 0))
        second[3].metric("events dropped", monitor_data.events_dropped(current))
        st.caption(
            f"Last {window_label}, buckets of {bucket_sec} s. The grey strip under each chart is the circuit"
            " breaker's state; shaded spans are runs, darker where their fault was active. Background calls"
            " (faults poll, health probes) are counted per minute, in the minute's first bucket."
        )
        st.plotly_chart(
            health_figure(
                view.health, view.bands, gap_sec=view.health_gap_sec, runs=view.runs, window=window
            ),
            key="monitor_health",
        )
        st.plotly_chart(
            client_calls_figure(
                view.counts, view.bands, bucket_sec=bucket_sec, runs=view.runs, window=window
            ),
            key="monitor_calls",
        )
        st.plotly_chart(
            call_latency_figure(
                view.latency, view.bands, gap_sec=1.5 * bucket_sec, runs=view.runs, window=window
            ),
            key="monitor_latency",
        )


live()

st.subheader("Active faults on the Executor")


@st.fragment(run_every=float(refresh_sec))
def faults() -> None:
    """List active faults (as the console's poller last saw them) with a Halt button each and Halt all."""
    current = holder.console()
    snapshot = data.list_active_faults(current)
    age = data.snapshot_age(snapshot)
    if snapshot.error:
        st.warning(f"Could not list active faults ({age}): {snapshot.error}")
        return
    if snapshot.taken_at is None:
        st.caption("Listing the Executor's active faults…")
        return
    if not snapshot.faults:
        st.caption(f"No active faults. Listed {age.removeprefix('listed ')}.")
        return
    st.caption(f"{len(snapshot.faults)} active, {age}.")
    if st.button(f"Halt all ({len(snapshot.faults)})", type="primary", key="monitor_halt_all"):
        for fault in snapshot.faults:
            st.info(
                halting.halt_fault(
                    current,
                    fault.fault_id,
                    retiring=holder.retiring(),
                    api_mode=snapshot.api_mode_of(fault.fault_id),
                )
            )
    for fault in snapshot.faults:
        c1, c2 = st.columns([5, 1])
        pct = "" if fault.percentage is None else f" {fault.percentage}%"
        kind = fault.fault_type or ""  # None: a kind this console does not know
        c1.write(f"`{fault.fault_id}` · {kind}{pct} on {fault.service}{fault.api} · {fault.status}")
        if c2.button("Halt", key=f"monitor_halt_{fault.fault_id}"):
            st.info(
                halting.halt_fault(
                    current,
                    fault.fault_id,
                    retiring=holder.retiring(),
                    api_mode=snapshot.api_mode_of(fault.fault_id),
                )
            )


faults()
