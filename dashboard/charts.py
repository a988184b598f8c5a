"""Plotly figures for the dashboard: units on axes, one colour per run and per breaker state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from client.breaker import BreakerState
from client.events import EventKind
from dashboard.timeline import Band, break_at_gaps, downsample_minmax

if TYPE_CHECKING:
    from dashboard.compare import FractionRow
    from dashboard.monitor_data import LatencyBucket
    from storage import EventCount, HealthSample, TimelinePoint

WEBGL_THRESHOLD_POINTS = 2000
RUN_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
BREAKER_COLOURS = {
    BreakerState.CLOSED: "rgba(44, 160, 44, 0.15)",
    BreakerState.OPEN: "rgba(214, 39, 40, 0.22)",
    BreakerState.HALF_OPEN: "rgba(255, 165, 0, 0.25)",
}
BREAKER_LINE_COLOURS = {
    BreakerState.CLOSED: "#2ca02c",
    BreakerState.OPEN: "#d62728",
    BreakerState.HALF_OPEN: "#ffa500",
}


def run_colour(index: int) -> str:
    """Return the colour of the run at `index` in a comparison (stable across charts)."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def line_trace(x: Sequence[Any] | np.ndarray, y: Sequence[Any] | np.ndarray, **kwargs: Any) -> go.Scatter:
    """Return a line trace, downsampled for long series and WebGL above the threshold."""
    xs, ys = downsample_minmax(np.asarray(x), np.asarray(y, dtype=float))
    cls = go.Scattergl if xs.size > WEBGL_THRESHOLD_POINTS else go.Scatter
    kwargs.setdefault("mode", "lines+markers" if xs.size <= 60 else "lines")
    return cls(x=xs, y=ys, **kwargs)


def add_breaker_bands(fig: go.Figure, bands: Sequence[Band]) -> go.Figure:
    """Draw bands as background rectangles (x data, y paper) with one legend entry per state."""
    for band in bands:
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=band.start,
            x1=band.end,
            y0=0,
            y1=1,
            fillcolor=BREAKER_COLOURS[band.state],
            line={"width": 0},
            layer="below",
        )
    for state in BreakerState:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 12, "symbol": "square", "color": BREAKER_LINE_COLOURS[state]},
                name=f"breaker {state.value.upper()}",
                legendgroup="breaker",
                showlegend=True,
            )
        )
    return fig


def _layout(fig: go.Figure, *, title: str, height: int = 320) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0},
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        hovermode="x unified",
    )
    return fig


def run_progress_figure(timeline: Sequence[TimelinePoint], *, title: str = "Run progress") -> go.Figure:
    """Latency (ms) and error rate (%) per second of one run, on two stacked axes."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    t = [p.t_s for p in timeline]
    for key, name, dash in (("p95_latency_ms", "p95", "solid"), ("avg_latency_ms", "mean", "dot")):
        y = [_num(getattr(p, key)) for p in timeline]
        fig.add_trace(line_trace(t, y, name=f"{name} latency", line={"dash": dash}), row=1, col=1)
    errors = [_rate(p.error_count, p.request_count) for p in timeline]
    fig.add_trace(line_trace(t, errors, name="error rate", line={"color": "#d62728"}), row=2, col=1)
    fig.update_yaxes(title_text="latency (ms)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="error rate (%)", row=2, col=1, rangemode="tozero")
    fig.update_xaxes(title_text="time since start (s)", row=2, col=1)
    return _layout(fig, title=title, height=460)


def latency_overlay_figure(runs: Sequence[tuple[str, Sequence[TimelinePoint]]]) -> go.Figure:
    """Overlay the p95 latency timelines of several runs, one colour each."""
    fig = go.Figure()
    for index, (label, timeline) in enumerate(runs):
        t = [p.t_s for p in timeline]
        y = [_num(p.p95_latency_ms) for p in timeline]
        fig.add_trace(line_trace(t, y, name=label, line={"color": run_colour(index)}))
    fig.update_xaxes(title_text="time since start (s)")
    fig.update_yaxes(title_text="p95 latency (ms)", rangemode="tozero")
    return _layout(fig, title="p95 latency over time")


def latency_ecdf_figure(runs: Sequence[tuple[str, np.ndarray]]) -> go.Figure:
    """Empirical CDF of per-request latency for several runs (log x axis)."""
    fig = go.Figure()
    for index, (label, latency_ms) in enumerate(runs):
        values = np.sort(np.asarray(latency_ms, dtype=float))
        if values.size == 0:
            continue
        fraction = np.arange(1, values.size + 1) / values.size
        fig.add_trace(line_trace(values, fraction * 100, name=label, line={"color": run_colour(index)}))
    fig.update_xaxes(title_text="latency (ms)", type="log")
    fig.update_yaxes(title_text="requests at or below (%)", range=[0, 100])
    return _layout(fig, title="Latency distribution (ECDF)")


def fault_fraction_figure(rows: Sequence[FractionRow]) -> go.Figure:
    """Achieved fault fraction with its 95 % interval against the configured percentage, per run."""
    fig = go.Figure()
    for index, row in enumerate(rows):
        achieved, low, high = row.achieved_pct, row.low_pct, row.high_pct
        if achieved is None or low is None or high is None:  # no requests: nothing achieved
            continue
        fig.add_trace(
            go.Scatter(
                x=[row.label],
                y=[achieved],
                mode="markers",
                marker={"size": 12, "color": run_colour(index)},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [high - achieved],
                    "arrayminus": [achieved - low],
                },
                name=f"{row.label} achieved",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[row.label],
                y=[row.configured_pct],
                mode="markers",
                marker={"size": 14, "symbol": "line-ew-open", "color": "#333"},
                name="configured",
                showlegend=index == 0,
            )
        )
    fig.update_yaxes(title_text="requests with a fault (%)", rangemode="tozero")
    return _layout(fig, title="Achieved vs configured fault fraction (95 % interval)")


def health_figure(
    samples: Sequence[HealthSample], bands: Sequence[Band] = (), *, gap_sec: float = float("inf")
) -> go.Figure:
    """Health-check latency over time, broken where no sample came for `gap_sec`, breaker bands behind."""
    fig = go.Figure()
    ts, latency = break_at_gaps(
        [s.timestamp for s in samples], [s.latency_ms for s in samples], gap_sec=gap_sec
    )
    fig.add_trace(line_trace(ts, [_num(v) for v in latency], name="health check latency"))
    bad = [s for s in samples if not s.healthy]
    if bad:
        fig.add_trace(
            go.Scatter(
                x=[s.timestamp for s in bad],
                y=[_num(s.latency_ms) for s in bad],
                mode="markers",
                marker={"color": "#d62728", "size": 9, "symbol": "x"},
                name="unhealthy",
            )
        )
    add_breaker_bands(fig, bands)
    fig.update_xaxes(title_text="time (UTC)")
    fig.update_yaxes(title_text="health check latency (ms)", rangemode="tozero")
    return _layout(fig, title="Executor health")


# One colour per client event kind; "rejected" (refused by the open breaker, nothing sent) is not a failure.
CALL_KIND_COLOURS = {
    EventKind.ATTEMPT: "#1f77b4",
    EventKind.RETRY: "#ff7f0e",
    EventKind.FAILURE: "#d62728",
    EventKind.SUCCESS: "#2ca02c",
    EventKind.REJECTED: "#7f7f7f",
}


def client_calls_figure(counts: Sequence[EventCount], bands: Sequence[Band] = ()) -> go.Figure:
    """Client attempts, retries, failures and calls the open breaker rejected, per bucket, bands behind."""
    fig = go.Figure()
    for kind, colour in CALL_KIND_COLOURS.items():
        rows = [c for c in counts if c.kind == kind]
        if not rows:
            continue
        fig.add_trace(
            go.Bar(
                x=[r.bucket_start for r in rows],
                y=[r.count for r in rows],
                name=kind.value,
                marker_color=colour,
            )
        )
    add_breaker_bands(fig, bands)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="time (UTC)")
    fig.update_yaxes(title_text="calls per bucket", rangemode="tozero")
    return _layout(fig, title="Client calls, retries and failures")


def call_latency_figure(
    points: Sequence[LatencyBucket],
    bands: Sequence[Band] = (),
    *,
    title: str = "Client call latency",
    gap_sec: float = float("inf"),
) -> go.Figure:
    """Latency (ms) and error rate (%) per bucket, broken across buckets without calls, bands behind both."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    starts = [p.bucket_start for p in points]
    ts, latency = break_at_gaps(starts, [p.latency_ms for p in points], gap_sec=gap_sec)
    _, errors = break_at_gaps(starts, [p.error_rate_pct for p in points], gap_sec=gap_sec)
    fig.add_trace(line_trace(ts, [_num(v) for v in latency], name="latency"), row=1, col=1)
    fig.add_trace(
        line_trace(ts, [_num(v) for v in errors], name="error rate", line={"color": "#d62728"}),
        row=2,
        col=1,
    )
    add_breaker_bands(fig, bands)
    fig.update_yaxes(title_text="latency (ms)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="error rate (%)", row=2, col=1, range=[0, 100])
    fig.update_xaxes(title_text="time (UTC)", row=2, col=1)
    return _layout(fig, title=title, height=460)


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _rate(errors: Any, requests: Any) -> float:
    if not requests:
        return float("nan")
    return 100.0 * float(errors or 0) / float(requests)
