"""The run page's chart: latency percentiles and error rate on the run's one time axis, with the phases
shaded, the fault's start and end marked, and the client's breaker state as a strip of bands below."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from client import Phase, PhaseSummary
from client.breaker import BreakerState
from dashboard.charts import _layout, _num, _rate, line_trace
from dashboard.theme import current_theme
from dashboard.timeline import run_axis_range

if TYPE_CHECKING:
    from dashboard.run_detail import AxisBand
    from storage import TimelinePoint

PERCENTILES = (
    ("p50_latency_ms", "p50", "dot"),
    ("p95_latency_ms", "p95", "solid"),
    ("p99_latency_ms", "p99", "dash"),
)
BREAKER_ROW = 3


def phase_figure(
    timeline: Sequence[TimelinePoint],
    phases: Sequence[PhaseSummary],
    bands: Sequence[AxisBand] = (),
    *,
    title: str = "Phases on one time axis",
) -> go.Figure:
    """Latency percentiles (ms), error rate (%) and breaker state over seconds since the first phase began."""
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.55, 0.33, 0.12]
    )
    t = [p.t_s for p in timeline]
    for key, name, dash in PERCENTILES:
        y = [_num(getattr(p, key)) for p in timeline]
        fig.add_trace(line_trace(t, y, name=f"{name} latency", line={"dash": dash}), row=1, col=1)
    errors = [_rate(p.error_count, p.request_count) for p in timeline]
    fig.add_trace(
        line_trace(t, errors, name="error rate", line={"color": current_theme().error}), row=2, col=1
    )
    add_phase_shading(fig, phases)
    add_breaker_strip(fig, bands)
    fig.update_yaxes(title_text="latency (ms)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="error rate (%)", row=2, col=1, rangemode="tozero")
    fig.update_yaxes(showticklabels=False, row=BREAKER_ROW, col=1)
    fig.update_xaxes(
        title_text="time since the first phase began (s)", row=BREAKER_ROW, col=1, rangemode="tozero"
    )
    ends = [p.end_offset_ms / 1000.0 for p in phases]
    fig.update_xaxes(range=run_axis_range([*t, *ends]))  # from 0: the axis starts with the first phase
    return _layout(fig, title=title, height=560)


def add_phase_shading(fig: go.Figure, phases: Sequence[PhaseSummary]) -> go.Figure:
    """Shade each phase behind the latency and error-rate rows, named on top; mark where the fault ran."""
    for summary in phases:
        x0, x1 = summary.start_offset_ms / 1000.0, summary.end_offset_ms / 1000.0
        for row in (1, 2):
            fig.add_vrect(
                x0=x0,
                x1=x1,
                fillcolor=current_theme().phases[summary.phase],
                line_width=0,
                layer="below",
                row=row,
                col=1,
                name=f"phase {summary.phase.value}",
            )
        fig.add_annotation(
            x=(x0 + x1) / 2,
            y=1.0,
            xref="x",
            yref="y domain",
            text=summary.phase.value,
            showarrow=False,
            yanchor="bottom",
            font={"size": 12},
        )
    fault = next((p for p in phases if p.phase is Phase.FAULT), None)
    if fault is not None:
        for offset_ms, text in ((fault.start_offset_ms, "fault start"), (fault.end_offset_ms, "fault end")):
            fig.add_vline(
                x=offset_ms / 1000.0,
                line={"color": current_theme().error, "width": 1.5, "dash": "dash"},
                row=2,
                col=1,
                name=text,
            )
            fig.add_annotation(
                x=offset_ms / 1000.0,
                y=1.0,
                xref="x2",
                yref="y2 domain",
                text=text,
                showarrow=False,
                yanchor="bottom",
                font={"size": 10, "color": current_theme().error},
            )
    return fig


def add_breaker_strip(fig: go.Figure, bands: Sequence[AxisBand]) -> go.Figure:
    """Draw the breaker's states as horizontal bars in the bottom row, one legend entry per state seen."""
    for state in BreakerState:
        mine = [band for band in bands if band.state is state and band.end > band.start]
        if not mine:
            continue
        fig.add_trace(
            go.Bar(
                y=["breaker"] * len(mine),
                x=[band.end - band.start for band in mine],
                base=[band.start for band in mine],
                orientation="h",
                marker_color=current_theme().breaker[state],
                opacity=0.6,
                name=f"breaker {state.value.upper()}",
                legendgroup="breaker",
                hovertemplate=f"breaker {state.value.upper()}<extra></extra>",
            ),
            row=BREAKER_ROW,
            col=1,
        )
    fig.update_layout(barmode="overlay")
    return fig
