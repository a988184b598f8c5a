"""BOIFI Console home: Executor health and breaker state, active runs, latest results.

The sidebar calls this page "Home": with a `pages/` folder, Streamlit names the entrypoint's page
after its file.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, home, page_style
from dashboard.components import executor_banner, require_console, storage_reads

page_style.set_page("BOIFI Console", icon=":material/science:")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title("BOIFI Console")
st.caption("Launch fault-injection experiments, watch the Executor and compare runs.")

holder, _console = require_console()


@st.fragment(run_every=2.0)
def overview() -> None:
    """Refresh the banner, active runs (with Halt) and latest results every two seconds."""
    console = holder.console()  # the current one: Settings may have rebuilt it since the page loaded
    executor_banner(holder, console)
    with storage_reads():
        home.overview(holder, console)


overview()
st.page_link("pages/1_Launch.py", label="Launch an experiment", icon=":material/rocket_launch:")
st.page_link("pages/2_Monitor.py", label="Monitor the Executor", icon=":material/monitoring:")
st.page_link("pages/3_History.py", label="History and comparison", icon=":material/history:")
