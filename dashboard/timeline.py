"""Time-series geometry of the charts: breaker bands, observed spans, gaps, downsampling, run axis ranges.

Pure functions over datetimes and numpy arrays, no plotly: `dashboard.charts` draws what these compute.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from client.breaker import BreakerState

MAX_POINTS = 4000


@dataclass(frozen=True)
class Band:
    """The breaker held `state` from `start` to `end`."""

    start: datetime
    end: datetime
    state: BreakerState


def downsample_minmax(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first, min and max point of each bucket so spikes survive a long range."""
    x, y = np.asarray(x), np.asarray(y, dtype=float)
    if x.size <= max_points:
        return x, y
    buckets = max(1, max_points // 3)
    edges = np.linspace(0, x.size, buckets + 1, dtype=int)
    keep: list[int] = []
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        segment = y[lo:hi]
        finite = np.isfinite(segment)
        picks = {lo}
        if finite.any():
            idx = np.flatnonzero(finite)
            picks.add(lo + int(idx[np.argmin(segment[idx])]))
            picks.add(lo + int(idx[np.argmax(segment[idx])]))
        keep.extend(sorted(picks))
    index = np.asarray(keep, dtype=int)
    return x[index], y[index]


def breaker_bands(
    transitions: Sequence[tuple[datetime, BreakerState]],
    *,
    start: datetime,
    end: datetime,
    initial: BreakerState = BreakerState.CLOSED,
) -> list[Band]:
    """Turn (timestamp, new_state) transitions into bands covering [start, end]."""
    bands: list[Band] = []
    state = initial
    cursor = start
    for timestamp, new_state in sorted(transitions, key=lambda item: item[0]):
        if timestamp <= start:
            state = new_state
            continue
        if timestamp >= end:
            break
        bands.append(Band(cursor, timestamp, state))
        cursor, state = timestamp, new_state
    if cursor < end:
        bands.append(Band(cursor, end, state))
    return bands


def observed_spans(
    timestamps: Sequence[datetime], *, gap_sec: float, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Group observation times into the spans they vouch for; a silence longer than `gap_sec` is a gap.

    A span runs from its first to its last observation. The latest span reaches `end` only while its last
    observation is at most `gap_sec` old, i.e. while the observer is still alive. Nothing is claimed before
    the first observation.
    """
    spans: list[list[datetime]] = []
    for moment in sorted(timestamps):
        if spans and (moment - spans[-1][1]).total_seconds() <= gap_sec:
            spans[-1][1] = moment
        else:
            spans.append([moment, moment])
    if spans and 0 <= (end - spans[-1][1]).total_seconds() <= gap_sec:
        spans[-1][1] = end
    return [(first, last) for first, last in spans]


def clip_bands(bands: Sequence[Band], spans: Sequence[tuple[datetime, datetime]]) -> list[Band]:
    """Keep the parts of `bands` inside the observed `spans` (a state is shown only where it was seen)."""
    clipped = []
    for band in bands:
        for first, last in spans:
            start, end = max(band.start, first), min(band.end, last)
            if start < end:
                clipped.append(Band(start, end, band.state))
    return clipped


def break_at_gaps(
    x: Sequence[datetime], y: Sequence[Any], *, gap_sec: float
) -> tuple[list[datetime], list[Any]]:
    """Insert a blank point wherever consecutive `x` are more than `gap_sec` apart, so lines break there."""
    xs: list[datetime] = []
    ys: list[Any] = []
    for index, (moment, value) in enumerate(zip(x, y, strict=True)):
        if index and (moment - xs[-1]).total_seconds() > gap_sec:
            xs.append(xs[-1] + (moment - xs[-1]) / 2)
            ys.append(None)
        xs.append(moment)
        ys.append(value)
    return xs, ys


def run_axis_range(t_s: Sequence[float | None], *, at_least_s: float = 1.0) -> list[float]:
    """Return the time range of a run's chart: from 0, where the run's axis starts, to its last point.

    Never below 0 (a chart's own padding would start it at -1 s) and at least `at_least_s` long, so a run
    with no point yet gets a real axis.
    """
    finite = [float(t) for t in t_s if t is not None and math.isfinite(float(t))]
    return [0.0, max([at_least_s, *finite])]
