"""Read results cached per process with `st.cache_data`, keyed by plain values (never by live objects)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from client import ServiceInfo
from dashboard import compare, data
from services.console import Console

SERVICES_TTL_SEC = 15
COMPARISON_TTL_SEC = 600
ComparisonKey = tuple[tuple[int | None, str | None], ...]


@st.cache_data(ttl=SERVICES_TTL_SEC, show_spinner=False)
def services(_console: Console, executor_url: str, generation: int) -> tuple[list[ServiceInfo], str | None]:
    """Return the Executor's services (or why not), asking it at most every SERVICES_TTL_SEC seconds."""
    return data.list_services(_console)


@st.cache_data(ttl=COMPARISON_TTL_SEC, max_entries=64, show_spinner="Comparing runs…")
def comparisons(_views: Sequence[data.RunView], key: ComparisonKey) -> list[compare.CandidateComparison]:
    """Compare the first view with the others; `key` names the runs and their finish times."""
    return compare.compare_all(_views[0], _views[1:])


def comparison_key(
    views: Sequence[data.RunView], database_url: str
) -> tuple[tuple[int | None, str | None], ...]:
    """Return a cache key that changes when the database, the selection or a run's finish time changes."""
    return ((None, database_url), *((v.run.id, str(v.run.finished_at)) for v in views))
