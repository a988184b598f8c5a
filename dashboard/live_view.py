"""The live view of a running run on Launch: what it can honestly show in each API mode.

- Extended and policy mode stream samples each second: the numbers and the chart grow as they come.
- Direct mode's Executor answers once, when the fault has run its course: until then the view shows the
  elapsed time and the progress to the end of the plan, and says plainly that the fault's numbers come at the
  end. (A baseline observed before the fault streams as in the other modes.)
- Nothing is drawn before there is something to draw: no row of zeros and dashes, no empty chart with a
  made-up axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

import storage
from client import ApiMode
from dashboard import halting, links
from dashboard.charts import run_progress_figure
from dashboard.components import elapsed_and_remaining, planned_seconds, run_metrics
from dashboard.data import RunView
from services.console import Console

__all__ = ["LiveState", "live_state", "show_running"]


@dataclass(frozen=True)
class LiveState:
    """What the live view shows of a running run."""

    progress: float  # 0..1 of the plan's phases
    caption: str  # the phase, elapsed and remaining time
    notice: str | None  # what the numbers do not show yet, and when they come
    show_numbers: bool  # the metrics row and the chart: only once samples were recorded


def live_state(run: storage.Run, timeline: Sequence[storage.TimelinePoint], *, elapsed_s: float) -> LiveState:
    """Return what to show of ``run`` ``elapsed_s`` after it started, given its timeline so far."""
    planned_s = planned_seconds(run)
    remaining_s = max(0.0, planned_s - elapsed_s)
    phase = f"{timeline[-1].phase.value} phase · " if timeline else ""
    caption = f"{phase}elapsed {elapsed_s:.0f} s of {planned_s:.0f} s · remaining {remaining_s:.0f} s"
    has_samples = bool(timeline) or bool(run.request_count)
    plan = run.plan or {}
    baseline_s = float(plan.get("baseline_seconds") or 0)
    fault_end_s = baseline_s + run.duration_seconds
    notice: str | None = None
    if ApiMode(run.api_mode) is ApiMode.DIRECT and elapsed_s < fault_end_s + 1.0:
        wait_s = max(0.0, fault_end_s - elapsed_s)
        notice = (
            "Direct mode: the Executor answers once the fault has run its course, so the fault's numbers "
            f"come at its end (in about {wait_s:.0f} s); until then this shows the time elapsed."
        )
        if baseline_s and elapsed_s < baseline_s:
            notice = "Baseline: observed without a fault, live. " + notice
    elif not has_samples:
        notice = "No samples yet: the first come about a second after the traffic starts."
    return LiveState(
        progress=min(1.0, elapsed_s / max(1.0, planned_s)),
        caption=caption,
        notice=notice,
        show_numbers=has_samples,
    )


def show_running(owner: Console, view: RunView) -> None:
    """Draw a running run: headline, progress to the plan's end, Halt, and its numbers once there are any."""
    run, timeline = view.run, view.timeline
    elapsed_s, _ = elapsed_and_remaining(run)
    state = live_state(run, timeline, elapsed_s=elapsed_s)
    fault = run.fault_type or ""  # None: a plan without a fault type
    st.subheader(f"Run #{run.id} {run.status.value} — {fault} on {run.service}{run.api}")
    st.progress(state.progress)
    st.caption(state.caption)
    st.page_link(**links.run_page_link(int(run.id or 0), label=f"Open run #{run.id}'s page"))
    if st.button("Halt", key=f"launch_halt_{run.id}", type="secondary"):
        st.info(halting.halt_run(owner, run))
    if state.notice:
        st.info(state.notice, icon=":material/schedule:")
    if state.show_numbers:
        run_metrics(run)
    if timeline:
        st.plotly_chart(run_progress_figure(timeline, title="Live latency and error rate"))
