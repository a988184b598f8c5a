"""BOIFI Console home: Executor health and breaker state, active runs, latest results.

The sidebar calls this page "Home": with a `pages/` folder, Streamlit names the entrypoint's page
after its file.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data
from dashboard.components import executor_banner, require_console, result_card, runs_table, storage_reads

st.set_page_config(page_title="BOIFI Console", page_icon="🧪", layout="wide")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title("BOIFI Console")
st.caption("Launch fault-injection experiments, watch the Executor and compare runs.")

holder, _console = require_console()


@st.fragment(run_every=2.0)
def overview() -> None:
    """Refresh the banner, active runs and latest results every two seconds."""
    console = holder.console()  # the current one: Settings may have rebuilt it since the page loaded
    executor_banner(holder, console)
    with storage_reads():
        active = data.active_runs(console.engine)
        st.subheader(f"Active runs ({len(active)})")
        runs_table(active, key="home_active")
        recent = data.recent_runs(console.engine, limit=10)
        st.subheader("Latest results")
        finished = [run for run in recent if run.finished_at is not None]
        if finished:
            result_card(finished[0])
        runs_table(recent, key="home_recent")


overview()
st.page_link("pages/1_Launch.py", label="Launch an experiment", icon="🚀")
st.page_link("pages/2_Monitor.py", label="Monitor the Executor", icon="📈")
st.page_link("pages/3_History.py", label="History and comparison", icon="🗂️")
