"""The Monitor's figures: Executor health, client calls and call latency over wall-clock time.

Each has the client's breaker state as its own strip of neutral greys under the data (call kinds keep the
chromatic colours), and the runs and faults of the window shaded behind the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from client.breaker import BreakerState
from client.events import EventKind
from dashboard.charts import _num, line_trace
from dashboard.theme import ChartTheme, current_theme, style
from dashboard.timeline import Band, break_at_gaps

if TYPE_CHECKING:
    from dashboard.monitor_data import LatencyBucket
    from storage import EventCount, HealthSample

STRIP_HEIGHT = 0.08  # share of a figure's height the breaker strip takes
STACKED_KINDS = (EventKind.SUCCESS, EventKind.FAILURE, EventKind.RETRY, EventKind.REJECTED)
COUNT_STEPS = (1, 2, 5)


@dataclass(frozen=True)
class RunSpan:
    """Run #`run_id` was live from `start` to `end`; its fault from `fault_start` to `fault_end`."""

    run_id: int
    start: datetime
    end: datetime
    fault_start: datetime
    fault_end: datetime


def count_tick_step(max_count: float, *, max_ticks: int = 6) -> int:
    """Return a whole tick step (1, 2, 5, 10, 20 ...) that labels 0..`max_count` with at most `max_ticks`."""
    scale = 1
    while True:
        for step in COUNT_STEPS:
            if max_count / (step * scale) <= max_ticks:
                return step * scale
        scale *= 10


def _show_window(fig: go.Figure, window: tuple[datetime, datetime] | None) -> None:
    """Show the whole time window asked for, not only the part that has data."""
    if window is not None:
        fig.update_xaxes(range=list(window))


def _ref(letter: str, row: int) -> str:
    return letter if row == 1 else f"{letter}{row}"


def with_breaker_strip(data_rows: int, heights: Sequence[float]) -> go.Figure:
    """Return a figure of `data_rows` rows sharing their time axis, and one more, thin, for the breaker."""
    rest = 1.0 - STRIP_HEIGHT
    fig = make_subplots(
        rows=data_rows + 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[h * rest for h in heights] + [STRIP_HEIGHT],
    )
    # Wall-clock time on every row: the strip has no trace, and alone it would read as numbers (-1 to 6).
    return fig.update_xaxes(type="date")


def add_breaker_strip(
    fig: go.Figure, bands: Sequence[Band], *, row: int, theme: ChartTheme, legend: bool = True
) -> go.Figure:
    """Draw the breaker's states as grey rectangles in `row` (its own strip), one legend entry per state."""
    x, y = _ref("x", row), _ref("y", row)
    for band in bands:
        fig.add_shape(
            type="rect",
            xref=x,
            yref=f"{y} domain",
            x0=band.start,
            x1=band.end,
            y0=0,
            y1=1,
            fillcolor=theme.breaker[band.state],
            line={"width": 0},
            name=f"breaker {band.state.value.upper()}",
        )
    fig.update_yaxes(  # the strip is named by its one tick label, level with it
        range=[0, 1], tickmode="array", tickvals=[0.5], ticktext=["breaker"], showgrid=False, zeroline=False,
        fixedrange=True, row=row,
    )  # fmt: skip
    if legend:
        for state in BreakerState:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker={
                        "size": 12,
                        "symbol": "square",
                        "color": theme.breaker[state],
                        "line": {"color": theme.axis_line, "width": 1},
                    },
                    name=f"breaker {state.value.upper()}",
                    legendgroup="breaker",
                )
            )
    return fig


def shade_runs(
    fig: go.Figure, runs: Sequence[RunSpan], *, rows: Sequence[int], theme: ChartTheme
) -> go.Figure:
    """Shade each run's span behind the data rows, its fault's span darker, and name the run on top."""
    for run in runs:
        for row in rows:
            x, y = _ref("x", row), f"{_ref('y', row)} domain"
            for x0, x1, tint, name in (
                (run.start, run.end, theme.run_tint, f"run #{run.run_id}"),
                (run.fault_start, run.fault_end, theme.fault_tint, f"fault of run #{run.run_id}"),
            ):
                if x1 > x0:
                    fig.add_shape(
                        type="rect", xref=x, yref=y, x0=x0, x1=x1, y0=0, y1=1,
                        fillcolor=tint, line={"width": 0}, layer="below", name=name,
                    )  # fmt: skip
        fig.add_annotation(
            x=run.start,
            xref="x",
            y=1,
            yref="y domain",
            text=f"run #{run.run_id}",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 11, "color": theme.text},
        )
    return fig


def health_figure(
    samples: Sequence[HealthSample],
    bands: Sequence[Band] = (),
    *,
    gap_sec: float = float("inf"),
    runs: Sequence[RunSpan] = (),
    window: tuple[datetime, datetime] | None = None,
) -> go.Figure:
    """Health-check latency over time, broken where no sample came for `gap_sec`, breaker strip below."""
    theme = current_theme()
    fig = with_breaker_strip(1, [1.0])
    ts, latency = break_at_gaps(
        [s.timestamp for s in samples], [s.latency_ms for s in samples], gap_sec=gap_sec
    )
    fig.add_trace(line_trace(ts, [_num(v) for v in latency], name="health check latency"), row=1, col=1)
    bad = [s for s in samples if not s.healthy]
    if bad:
        fig.add_trace(
            go.Scatter(
                x=[s.timestamp for s in bad],
                y=[_num(s.latency_ms) for s in bad],
                mode="markers",
                marker={"color": theme.error, "size": 9, "symbol": "x"},
                name="unhealthy",
            ),
            row=1,
            col=1,
        )
    shade_runs(fig, runs, rows=[1], theme=theme)
    add_breaker_strip(fig, bands, row=2, theme=theme)
    fig.update_xaxes(title_text="time (UTC)", row=2, col=1)
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero", row=1, col=1)
    _show_window(fig, window)
    return style(fig, title="Executor health", height=360, theme=theme)


def client_calls_figure(
    counts: Sequence[EventCount],
    bands: Sequence[Band] = (),
    *,
    bucket_sec: int = 1,
    runs: Sequence[RunSpan] = (),
    window: tuple[datetime, datetime] | None = None,
) -> go.Figure:
    """Calls per bucket: outcomes stacked (rejected = refused by the open breaker), attempts as a line."""
    theme = current_theme()
    fig = with_breaker_strip(1, [1.0])
    stacked: dict[datetime, int] = {}
    for kind in STACKED_KINDS:
        rows = [c for c in counts if c.kind == kind]
        for r in rows:
            stacked[r.bucket_start] = stacked.get(r.bucket_start, 0) + r.count
        if rows:
            fig.add_trace(
                go.Bar(
                    x=[r.bucket_start for r in rows],
                    y=[r.count for r in rows],
                    width=bucket_sec * 1000.0,  # ms on a date axis: each bar fills its bucket
                    offset=0,
                    name=kind.value,
                    marker={"color": theme.calls[kind], "line": {"width": 0}},
                ),
                row=1,
                col=1,
            )
    attempts = [c for c in counts if c.kind == EventKind.ATTEMPT]
    if attempts:
        fig.add_trace(
            go.Scatter(
                x=[c.bucket_start for c in attempts],
                y=[c.count for c in attempts],
                mode="markers",
                marker={"color": theme.calls[EventKind.ATTEMPT], "symbol": "line-ew-open", "size": 14},
                name="attempts",
            ),
            row=1,
            col=1,
        )
    highest = max([*stacked.values(), *(c.count for c in attempts), 1])
    shade_runs(fig, runs, rows=[1], theme=theme)
    add_breaker_strip(fig, bands, row=2, theme=theme)
    fig.update_layout(barmode="stack", bargap=0)
    fig.update_xaxes(title_text="time (UTC)", row=2, col=1)
    fig.update_yaxes(
        title_text="calls per bucket",
        tickmode="linear",
        tick0=0,
        dtick=count_tick_step(highest),
        tickformat="d",
        range=[0, highest * 1.1],
        row=1,
        col=1,
    )
    _show_window(fig, window)
    return style(fig, title="Client calls, retries and failures", height=360, theme=theme)


def call_latency_figure(
    points: Sequence[LatencyBucket],
    bands: Sequence[Band] = (),
    *,
    title: str = "Client call latency",
    gap_sec: float = float("inf"),
    runs: Sequence[RunSpan] = (),
    window: tuple[datetime, datetime] | None = None,
) -> go.Figure:
    """Latency (ms) and error rate (%) per bucket, broken where no call came, breaker strip below."""
    theme = current_theme()
    fig = with_breaker_strip(2, [0.6, 0.4])
    starts = [p.bucket_start for p in points]
    ts, latency = break_at_gaps(starts, [p.latency_ms for p in points], gap_sec=gap_sec)
    _, errors = break_at_gaps(starts, [p.error_rate_pct for p in points], gap_sec=gap_sec)
    fig.add_trace(line_trace(ts, [_num(v) for v in latency], name="latency"), row=1, col=1)
    fig.add_trace(
        line_trace(ts, [_num(v) for v in errors], name="error rate", line={"color": theme.error}),
        row=2,
        col=1,
    )
    shade_runs(fig, runs, rows=[1, 2], theme=theme)
    add_breaker_strip(fig, bands, row=3, theme=theme)
    fig.update_yaxes(title_text="latency (ms)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="error rate (%)", row=2, col=1, range=[0, 100])
    fig.update_xaxes(title_text="time (UTC)", row=3, col=1)
    _show_window(fig, window)
    return style(fig, title=title, height=480, theme=theme)
