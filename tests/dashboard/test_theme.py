"""Chart theme: disjoint call and breaker colours, AA text contrast, every figure themed, whole call counts,
run charts from 0 s."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import plotly.graph_objects as go
import pytest

from client import BreakerState, Phase, PhaseSummary
from dashboard.charts import (
    fault_fraction_figure,
    latency_ecdf_figure,
    latency_overlay_figure,
    run_progress_figure,
)
from dashboard.compare import FractionRow
from dashboard.monitor_charts import (
    RunSpan,
    call_latency_figure,
    client_calls_figure,
    count_tick_step,
    health_figure,
)
from dashboard.monitor_data import LatencyBucket
from dashboard.phase_chart import phase_figure
from dashboard.theme import DARK, LIGHT, ChartTheme, contrast_ratio, current_theme, relative_luminance, style
from dashboard.timeline import breaker_bands, run_axis_range
from storage import EventCount, HealthSample, TimelinePoint

T0 = datetime(2026, 1, 1, tzinfo=UTC)
THEMES = [LIGHT, DARK]


def _chroma(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    return max(channels) - min(channels)


def _point(t_s: float) -> TimelinePoint:
    return TimelinePoint(
        t_s=t_s, request_count=10, error_count=1, avg_latency_ms=5.0, p50_latency_ms=4.0,
        p95_latency_ms=9.0, p99_latency_ms=12.0,
    )  # fmt: skip


def _every_figure() -> dict[str, go.Figure]:
    bands = breaker_bands([(T0 + timedelta(seconds=20), BreakerState.OPEN)], start=T0, end=T0 + timedelta(60))
    health = [
        HealthSample(timestamp=T0, executor_url="u", healthy=True, latency_ms=2.0, breaker_state="CLOSED")
    ]
    timeline = [_point(float(t)) for t in range(5)]
    phases = [PhaseSummary(phase=Phase.FAULT, start_offset_ms=0.0, end_offset_ms=4000.0)]
    row = FractionRow(
        label="#1", requests=100, affected=48, achieved_pct=48.0, low_pct=45.0, high_pct=51.0,
        configured_pct=50.0, consistent=True,
    )  # fmt: skip
    return {
        "run progress": run_progress_figure(timeline),
        "overlay": latency_overlay_figure([("#1", timeline)]),
        "ecdf": latency_ecdf_figure([("#1", np.array([1.0, 2.0, 3.0]))]),
        "fraction": fault_fraction_figure([row]),
        "health": health_figure(health, bands),
        "calls": client_calls_figure([EventCount(bucket_start=T0, kind="success", count=1)], bands),
        "latency": call_latency_figure(
            [LatencyBucket(bucket_start=T0, latency_ms=3.0, error_rate_pct=0.0, calls=1)], bands
        ),
        "phases": phase_figure(timeline, phases),
    }


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.name)
def test_call_kinds_and_breaker_states_never_share_a_colour(theme: ChartTheme) -> None:
    calls, breaker = list(theme.calls.values()), list(theme.breaker.values())
    assert len(set(calls)) == len(calls) and len(set(breaker)) == len(breaker)
    assert not set(calls) & set(breaker)
    # Not merely different strings: call kinds are hues, breaker states greys, so none can look alike.
    assert min(_chroma(c) for c in calls) > 0.3
    assert max(_chroma(c) for c in breaker) == 0
    greys = sorted(relative_luminance(c) for c in breaker)
    assert all(contrast_ratio(a, b) > 1.5 for a, b in itertools.combinations(breaker, 2)), greys


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.name)
def test_chart_text_contrast_is_at_least_aa_in_both_themes(theme: ChartTheme) -> None:
    assert contrast_ratio(theme.text, theme.background) >= 4.5
    assert contrast_ratio(theme.error, theme.background) >= 3.0  # a line, not text: WCAG's 3:1 for graphics


def test_contrast_ratio_follows_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#808495", "#ffffff") == pytest.approx(
        3.72, abs=0.01
    )  # the 3.7:1 of Streamlit's grey
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_the_theme_is_light_outside_a_streamlit_session() -> None:
    assert current_theme() is LIGHT


def test_every_figure_takes_its_colours_and_fonts_from_the_theme() -> None:
    for name, fig in _every_figure().items():
        layout = fig.layout
        assert (layout.paper_bgcolor, layout.plot_bgcolor) == (LIGHT.background, LIGHT.background), name
        assert layout.font.color == LIGHT.text and layout.font.size >= 12, name
        axes = [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]
        assert axes, name
        for axis in axes:
            assert layout[axis].tickfont.color == LIGHT.text, (name, axis)  # never Streamlit's 3.8:1 grey


def test_style_paints_a_figure_in_the_dark_theme() -> None:
    fig = style(go.Figure(go.Scatter(x=[1], y=[1])), title="t", theme=DARK)
    assert fig.layout.paper_bgcolor == DARK.background and fig.layout.font.color == DARK.text
    assert fig.layout.xaxis.tickfont.color == DARK.text and fig.layout.title.font.color == DARK.text


@pytest.mark.parametrize("highest", [*range(0, 40), 99, 100, 101, 999, 12_345])
def test_call_count_ticks_are_whole_numbers_and_few(highest: int) -> None:
    step = count_tick_step(highest)
    assert isinstance(step, int) and step >= 1
    assert highest / step <= 6


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_calls_axis_never_labels_half_a_call(count: int) -> None:
    fig = client_calls_figure([EventCount(bucket_start=T0, kind="failure", count=count)])
    axis = fig.layout.yaxis
    assert axis.tickmode == "linear" and axis.tick0 == 0 and axis.tickformat == "d"
    assert axis.dtick == int(axis.dtick) and axis.dtick >= 1  # ticks 0, 1, 2 ...: never "1.5 calls"


def test_call_bars_fill_their_bucket() -> None:
    fig = client_calls_figure([EventCount(bucket_start=T0, kind="success", count=4)], bucket_sec=5)
    bar = fig.data[0]
    assert bar.width == 5000 and bar.offset == 0  # ms on a date axis: no barcode of thin bars


def test_run_charts_start_at_zero_with_and_without_points() -> None:
    assert run_axis_range([]) == [0.0, 1.0]
    assert run_axis_range([0.0, 2.5, None, float("nan")]) == [0.0, 2.5]
    empty = run_progress_figure([])
    assert list(empty.layout.xaxis.range) == [0.0, 1.0] == list(empty.layout.xaxis2.range)  # not -1..6
    timeline = [_point(float(t)) for t in range(7)]
    assert list(run_progress_figure(timeline).layout.xaxis.range) == [0.0, 6.0]
    assert latency_overlay_figure([("#1", timeline)]).layout.xaxis.range[0] == 0.0
    phases = [PhaseSummary(phase=Phase.BASELINE, start_offset_ms=0.0, end_offset_ms=8000.0)]
    assert list(phase_figure(timeline, phases).layout.xaxis.range) == [0.0, 8.0]


def test_runs_and_their_faults_are_shaded_behind_the_data_and_named() -> None:
    run = RunSpan(
        run_id=7,
        start=T0,
        end=T0 + timedelta(seconds=30),
        fault_start=T0 + timedelta(seconds=10),
        fault_end=T0 + timedelta(seconds=20),
    )
    fig = call_latency_figure([], runs=[run])
    shaded = [s for s in fig.layout.shapes if s.name and "run #7" in s.name]
    assert {(s.name, s.yref) for s in shaded} == {
        ("run #7", "y domain"), ("fault of run #7", "y domain"),
        ("run #7", "y2 domain"), ("fault of run #7", "y2 domain"),
    }  # fmt: skip
    assert all(s.layer == "below" for s in shaded)
    fault = next(s for s in shaded if s.name == "fault of run #7")
    assert (fault.x0, fault.x1) == (run.fault_start, run.fault_end)
    assert [a.text for a in fig.layout.annotations] == ["run #7"]


def test_monitor_charts_keep_a_wall_clock_axis_on_every_row_even_when_empty() -> None:
    for fig in (health_figure([]), client_calls_figure([]), call_latency_figure([])):
        axes = [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]
        assert len(axes) >= 2 and all(fig.layout[axis].type == "date" for axis in axes)
        strip = fig.layout[f"yaxis{len(axes)}"]
        assert list(strip.ticktext) == ["breaker"]


def test_monitor_charts_show_the_whole_window_asked_for() -> None:
    window = (T0, T0 + timedelta(minutes=5))
    at = T0 + timedelta(minutes=4)
    samples = [HealthSample(timestamp=at, executor_url="u", healthy=True, latency_ms=2, breaker_state="OPEN")]
    for fig in (
        health_figure(samples, window=window),
        client_calls_figure([], window=window),
        call_latency_figure([], window=window),
    ):
        assert tuple(fig.layout.xaxis.range) == window  # not only the minute that has data
