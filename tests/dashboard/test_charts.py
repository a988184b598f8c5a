"""Chart builders: breaker bands, WebGL switch, downsampling and axis units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from client import BreakerState
from dashboard.charts import (
    fault_fraction_figure,
    latency_ecdf_figure,
    latency_overlay_figure,
    line_trace,
    run_colour,
    run_progress_figure,
)
from dashboard.compare import FractionRow
from dashboard.monitor_charts import (
    add_breaker_strip,
    call_latency_figure,
    client_calls_figure,
    health_figure,
)
from dashboard.monitor_data import LatencyBucket
from dashboard.theme import LIGHT
from dashboard.timeline import break_at_gaps, breaker_bands, clip_bands, downsample_minmax, observed_spans
from storage import EventCount, HealthSample, TimelinePoint

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _health(timestamp: datetime, *, healthy: bool) -> HealthSample:
    return HealthSample(
        timestamp=timestamp,
        executor_url="u",
        healthy=healthy,
        latency_ms=2.0,
        breaker_state=BreakerState.CLOSED,
    )


def test_bands_follow_transitions_and_cover_the_range() -> None:
    bands = breaker_bands(
        [(_at(10), BreakerState.OPEN), (_at(70), BreakerState.HALF_OPEN), (_at(71), BreakerState.CLOSED)],
        start=_at(0),
        end=_at(100),
    )
    assert [(b.state, b.start, b.end) for b in bands] == [
        (BreakerState.CLOSED, _at(0), _at(10)),
        (BreakerState.OPEN, _at(10), _at(70)),
        (BreakerState.HALF_OPEN, _at(70), _at(71)),
        (BreakerState.CLOSED, _at(71), _at(100)),
    ]


def test_transitions_before_the_range_set_the_initial_state() -> None:
    bands = breaker_bands(
        [(_at(-5), BreakerState.OPEN), (_at(200), BreakerState.CLOSED)], start=_at(0), end=_at(100)
    )
    assert [(b.state, b.start, b.end) for b in bands] == [(BreakerState.OPEN, _at(0), _at(100))]


def test_bands_are_rectangles_in_their_own_strip_coloured_per_state_with_legend() -> None:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True)
    bands = breaker_bands([(_at(5), BreakerState.OPEN)], start=_at(0), end=_at(10))
    add_breaker_strip(fig, bands, row=2, theme=LIGHT)
    shapes = fig.layout.shapes
    assert len(shapes) == 2
    assert all(s.xref == "x2" and s.yref == "y2 domain" and s.type == "rect" for s in shapes)  # not the data
    assert shapes[1].fillcolor == LIGHT.breaker[BreakerState.OPEN]
    assert {t.name for t in fig.data} == {"breaker CLOSED", "breaker OPEN", "breaker HALF_OPEN"}


def test_long_series_use_webgl_and_are_downsampled() -> None:
    x = np.arange(100_000)
    y = np.sin(x / 100.0)
    y[54_321] = 50.0
    trace = line_trace(x, y)
    assert isinstance(trace, go.Scattergl)
    assert len(trace.x) <= 4000
    assert 50.0 in list(trace.y)  # the spike survives
    short = line_trace(np.arange(10), np.arange(10))
    assert isinstance(short, go.Scatter) and not isinstance(short, go.Scattergl)


def test_downsample_keeps_short_series_untouched() -> None:
    x, _y = downsample_minmax(np.arange(5), np.arange(5))
    assert list(x) == [0, 1, 2, 3, 4]


def test_run_progress_has_units_on_axes() -> None:
    timeline = [
        TimelinePoint(t_s=i, request_count=10, error_count=i % 2, avg_latency_ms=5.0, p95_latency_ms=9.0)
        for i in range(5)
    ]
    fig = run_progress_figure(timeline)
    assert fig.layout.yaxis.title.text == "latency (ms)"
    assert fig.layout.yaxis2.title.text == "error rate (%)"
    assert list(fig.data[2].y) == [0.0, 10.0, 0.0, 10.0, 0.0]


def test_overlay_and_ecdf_give_one_colour_per_run() -> None:
    timeline = [TimelinePoint(t_s=0, p95_latency_ms=3.0), TimelinePoint(t_s=1, p95_latency_ms=4.0)]
    fig = latency_overlay_figure([("#1", timeline), ("#2", timeline)])
    assert [t.line.color for t in fig.data] == [run_colour(0), run_colour(1)]
    ecdf = latency_ecdf_figure([("#1", np.array([3.0, 1.0, 2.0])), ("#2", np.array([]))])
    assert len(ecdf.data) == 1
    assert list(ecdf.data[0].x) == [1.0, 2.0, 3.0]
    assert ecdf.layout.xaxis.title.text == "latency (ms)"


def test_fault_fraction_figure_draws_interval() -> None:
    fig = fault_fraction_figure(
        [
            FractionRow(
                label="#1",
                requests=1000,
                affected=490,
                achieved_pct=49.0,
                low_pct=46.0,
                high_pct=52.0,
                configured_pct=50.0,
                consistent=True,
            )
        ]
    )
    assert list(fig.data[0].error_y.array) == [3.0]
    assert list(fig.data[1].y) == [50.0]


def test_monitor_figures_render_with_and_without_data() -> None:
    bands = breaker_bands([], start=_at(0), end=_at(60))
    health = health_figure([_health(_at(1), healthy=False)], bands)
    assert health.data[1].name == "unhealthy"
    calls = client_calls_figure([EventCount(bucket_start=_at(0), kind="retry", count=3)], bands)
    assert calls.data[0].name == "retry"
    latency = call_latency_figure([], bands)
    assert latency.layout.yaxis.title.text == "latency (ms)"
    assert len(latency.layout.shapes) == 1


def test_observed_spans_split_at_silences_and_reach_the_end_only_while_live() -> None:
    times = [_at(0), _at(5), _at(10), _at(60), _at(65)]
    assert observed_spans(times, gap_sec=15, end=_at(70)) == [(_at(0), _at(10)), (_at(60), _at(70))]
    assert observed_spans(times, gap_sec=15, end=_at(90)) == [(_at(0), _at(10)), (_at(60), _at(65))]
    assert observed_spans([], gap_sec=15, end=_at(90)) == []


def test_clip_bands_keeps_only_observed_parts() -> None:
    bands = breaker_bands([(_at(20), BreakerState.OPEN)], start=_at(0), end=_at(100))
    clipped = clip_bands(bands, [(_at(10), _at(30)), (_at(80), _at(100))])
    assert [(b.state, b.start, b.end) for b in clipped] == [
        (BreakerState.CLOSED, _at(10), _at(20)),
        (BreakerState.OPEN, _at(20), _at(30)),
        (BreakerState.OPEN, _at(80), _at(100)),
    ]


def test_lines_break_across_a_gap_instead_of_running_straight() -> None:
    xs, ys = break_at_gaps([_at(0), _at(5), _at(60)], [1.0, 2.0, 3.0], gap_sec=15)
    assert ys == [1.0, 2.0, None, 3.0] and xs[2] == _at(32.5)
    fig = health_figure(
        [_health(x, healthy=True) for x in (_at(0), _at(5), _at(60))],
        gap_sec=15,
    )
    assert np.isnan(fig.data[0].y[2]) and len(fig.data[0].y) == 4
    latency = call_latency_figure(
        [LatencyBucket(bucket_start=_at(s), latency_ms=3.0, error_rate_pct=0.0, calls=1) for s in (0, 5, 60)],
        gap_sec=7.5,
    )
    assert [np.isnan(v) for v in latency.data[1].y] == [False, False, True, False]


def test_calls_rejected_by_the_breaker_have_their_own_colour() -> None:
    counts = [
        EventCount(bucket_start=_at(0), kind=kind, count=2) for kind in ("attempt", "failure", "rejected")
    ]
    calls = client_calls_figure(counts, breaker_bands([], start=_at(0), end=_at(60)))
    colours = {trace.name: trace.marker.color for trace in calls.data}
    assert {"attempts", "failure", "rejected"} <= set(colours)
    assert colours["rejected"] not in {colours["attempts"], colours["failure"]}


def test_the_time_series_geometry_draws_nothing() -> None:
    import ast
    from pathlib import Path

    import dashboard.timeline

    tree = ast.parse(Path(dashboard.timeline.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"plotly", "streamlit"}}
