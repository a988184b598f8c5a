"""Home's overview: what is running (with Halt), the latest results, and words that match the data."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy.engine import Engine

import storage
from dashboard import data, halting, links
from dashboard.components import elapsed_and_remaining, result_card, runs_table, status_text
from services.console import Console
from services.holder import ConsoleHolder

RECENT_LIMIT = 10


@dataclass(frozen=True)
class HomeView:
    """What Home shows: the active runs, the latest runs and how many runs the database holds."""

    active: list[storage.Run]
    recent: list[storage.Run]
    total: int


def load_home(engine: Engine, *, limit: int = RECENT_LIMIT) -> HomeView:
    """Read the active runs, the latest `limit` runs and the count of all runs."""
    recent, total = data.find_runs(engine, limit=limit)
    return HomeView(active=data.active_runs(engine), recent=recent, total=total)


def _runs(count: int) -> str:
    return f"{count:,} run" if count == 1 else f"{count:,} runs"


def active_summary(view: HomeView) -> str | None:
    """Return the line under "Active runs" when none is active (None when some are: they are listed)."""
    if view.active:
        return None
    if view.total == 0:
        return "No runs yet: launch an experiment and it shows here while it runs."
    return f"None active right now; {_runs(view.total)} in all, the latest below."


def recent_summary(view: HomeView) -> str:
    """Return the line under "Latest results": how many of all the runs the table shows."""
    if view.total == 0:
        return "No runs yet."
    if len(view.recent) == view.total:
        return f"All {_runs(view.total)}, newest first."
    return f"The latest {len(view.recent)} of {_runs(view.total)}, newest first; History has them all."


def active_run_line(run: storage.Run) -> str:
    """Return one active run as a line: id, status, fault, target and time left."""
    elapsed, remaining = elapsed_and_remaining(run)
    fault = run.fault_type or "no fault"
    timing = f"elapsed {elapsed:.0f} s, {remaining:.0f} s left" if run.started_at else "waiting to start"
    return f"**#{run.id}** {status_text(run)} · {fault} on `{run.service}{run.api}` · {timing}"


def active_runs_panel(holder: ConsoleHolder, console: Console, runs: list[storage.Run]) -> None:
    """List the active runs, each with a link to its page and a Halt button."""
    database = str(console.engine.url)
    for run in runs:
        if run.id is None:
            continue
        line, link, halt = st.columns([6, 2, 1], vertical_alignment="center")
        line.markdown(active_run_line(run))
        link.page_link(**links.run_page_link(run.id))
        if halt.button("Halt", key=f"home_halt_{run.id}", type="secondary"):
            owner = holder.console_for_run(run.id, database) or console
            st.info(halting.halt_run(owner, run))


def overview(holder: ConsoleHolder, console: Console) -> None:
    """Show the active runs (with Halt) and the latest results of `console`'s database."""
    view = load_home(console.engine)
    st.subheader(f"Active runs ({len(view.active)})")
    summary = active_summary(view)
    if summary:
        st.caption(summary)
    active_runs_panel(holder, console, view.active)
    st.subheader("Latest results")
    finished = [run for run in view.recent if run.finished_at is not None]
    if finished:
        result_card(finished[0])
    st.caption(recent_summary(view))
    if view.recent:
        runs_table(view.recent, key="home_recent")
