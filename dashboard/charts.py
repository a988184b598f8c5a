"""Plotly figures of runs and comparisons: units on axes, one colour per run, run time from 0.

Colours, fonts and backgrounds come from `dashboard.theme` (light or dark, as the page); the Monitor's
figures are in `dashboard.monitor_charts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.theme import RUN_COLOURS, current_theme, style
from dashboard.timeline import downsample_minmax, run_axis_range

if TYPE_CHECKING:
    from dashboard.compare import FractionRow
    from storage import TimelinePoint

WEBGL_THRESHOLD_POINTS = 2000


def run_colour(index: int) -> str:
    """Return the colour of the run at `index` in a comparison (stable across charts)."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def line_trace(x: Sequence[Any] | np.ndarray, y: Sequence[Any] | np.ndarray, **kwargs: Any) -> go.Scatter:
    """Return a line trace, downsampled for long series and WebGL above the threshold."""
    xs, ys = downsample_minmax(np.asarray(x), np.asarray(y, dtype=float))
    cls = go.Scattergl if xs.size > WEBGL_THRESHOLD_POINTS else go.Scatter
    kwargs.setdefault("mode", "lines+markers" if xs.size <= 60 else "lines")
    return cls(x=xs, y=ys, **kwargs)


def _layout(fig: go.Figure, *, title: str, height: int = 320) -> go.Figure:
    """Give `fig` its title and height in the page's theme (see `dashboard.theme.style`)."""
    return style(fig, title=title, height=height)


def run_progress_figure(timeline: Sequence[TimelinePoint], *, title: str = "Run progress") -> go.Figure:
    """Latency (ms) and error rate (%) per second of one run, on two stacked axes."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    t = [p.t_s for p in timeline]
    for key, name, dash in (("p95_latency_ms", "p95", "solid"), ("avg_latency_ms", "mean", "dot")):
        y = [_num(getattr(p, key)) for p in timeline]
        fig.add_trace(line_trace(t, y, name=f"{name} latency", line={"dash": dash}), row=1, col=1)
    errors = [_rate(p.error_count, p.request_count) for p in timeline]
    fig.add_trace(
        line_trace(t, errors, name="error rate", line={"color": current_theme().error}), row=2, col=1
    )
    fig.update_yaxes(title_text="latency (ms)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="error rate (%)", row=2, col=1, rangemode="tozero")
    fig.update_xaxes(range=run_axis_range(t))  # from 0, never negative, even with no point yet
    fig.update_xaxes(title_text="time since start (s)", row=2, col=1)
    return _layout(fig, title=title, height=460)


def latency_overlay_figure(runs: Sequence[tuple[str, Sequence[TimelinePoint]]]) -> go.Figure:
    """Overlay the p95 latency timelines of several runs, one colour each."""
    fig = go.Figure()
    times: list[float] = []
    for index, (label, timeline) in enumerate(runs):
        t = [p.t_s for p in timeline]
        times.extend(t)
        y = [_num(p.p95_latency_ms) for p in timeline]
        fig.add_trace(line_trace(t, y, name=label, line={"color": run_colour(index)}))
    fig.update_xaxes(title_text="time since start (s)", range=run_axis_range(times))
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
                marker={"size": 14, "symbol": "line-ew-open", "color": current_theme().text},
                name="configured",
                showlegend=index == 0,
            )
        )
    fig.update_xaxes(type="category", title_text="run")  # run labels, never an axis of numbers (1,990.5)
    fig.update_yaxes(title_text="requests with a fault (%)", rangemode="tozero")
    return _layout(fig, title="Achieved vs configured fault fraction (95 % interval)")


def _num(value: Any) -> float:
    """Return `value` as a float, None as NaN (a gap in a line)."""
    return float("nan") if value is None else float(value)


def _rate(errors: Any, requests: Any) -> float:
    """Return errors as a percentage of requests, NaN without requests."""
    if not requests:
        return float("nan")
    return 100.0 * float(errors or 0) / float(requests)
