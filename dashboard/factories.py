"""Process-wide objects of the dashboard: one `ConsoleHolder` (services/holder.py), cached by Streamlit.

Configuration comes from `BOIFI_*` environment variables, so tests point the factories at a temporary
database and an in-process executor.
"""

from __future__ import annotations

import atexit
import logging

import streamlit as st

from dashboard.outage_log import ReadOutageLog
from services.console import Console
from services.holder import ConsoleHolder

logger = logging.getLogger(__name__)


def _release(holder: ConsoleHolder) -> None:
    atexit.unregister(holder.close)
    holder.close()


@st.cache_resource(show_spinner="Starting BOIFI Console…", on_release=_release)
def get_holder() -> ConsoleHolder:
    """Return the process-wide ConsoleHolder (created once per process), closed when the process exits.

    Streamlit stops its server on SIGTERM and SIGINT and lets the interpreter exit, but does not release
    cached resources on the way out. The runner's own `atexit` hook halts the runs still in flight (so none
    stays `running` with its fault injecting); this one then closes the rest in order: events are flushed
    and the embedded executor stops last.
    """
    holder = ConsoleHolder()
    atexit.register(holder.close)  # registered first: what start began is closed even if start fails
    return holder.start()


def get_console() -> Console:
    """Return the shared Console of this process."""
    return get_holder().console()


@st.cache_resource
def get_read_outage_log() -> ReadOutageLog:
    """Return the process-wide log of the pages' storage outages (each logged once, not at every retry)."""
    return ReadOutageLog()
