"""Comparison of stored runs: tables of deltas with intervals, fault-fraction rows, and exports."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard.data import RunView, error_count
from dashboard.stats import (
    Comparison,
    Metric,
    compare_error_rate,
    compare_samples,
    fault_fraction,
)


def parse_run_ids(text: str | Sequence[str] | None) -> list[int]:
    """Parse run ids from a query parameter such as "3,7,12" (invalid parts are dropped, order kept)."""
    if text is None:
        return []
    parts = text.split(",") if isinstance(text, str) else [p for item in text for p in str(item).split(",")]
    ids: list[int] = []
    for part in parts:
        part = part.strip().lstrip("#")
        if part.isdigit() and int(part) not in ids:
            ids.append(int(part))
    return ids


def _latency(view: RunView) -> np.ndarray:
    if view.samples.size == 0:
        return np.empty(0)
    return np.asarray(view.samples["latency_ms"], dtype=float)


def _errors_and_requests(view: RunView) -> tuple[int, int]:
    if view.samples.size:
        return error_count(view.samples), int(view.samples.size)
    run = view.run
    return round((run.error_rate or 0.0) * run.request_count), int(run.request_count)


def compare_views(
    baseline: RunView, candidate: RunView, *, seed: int = 0, rounds: int = 1000
) -> list[Comparison]:
    """Compare a candidate run with the baseline on stored samples (error rate from counts if none)."""
    base_lat, cand_lat = _latency(baseline), _latency(candidate)
    if base_lat.size and cand_lat.size:
        return compare_samples(
            base_lat,
            error_count(baseline.samples),
            cand_lat,
            error_count(candidate.samples),
            seed=seed,
            rounds=rounds,
        )
    base_err, base_n = _errors_and_requests(baseline)
    cand_err, cand_n = _errors_and_requests(candidate)
    return [compare_error_rate(base_err, base_n, cand_err, cand_n)]


def _fmt(value: float | None, metric: Metric) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric is Metric.ERROR_RATE:
        return f"{value * 100:.2f} %"
    return f"{value:,.1f} ms"


def comparison_rows(
    baseline: RunView, candidates: Sequence[RunView], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Return one row per (candidate, metric): values, difference with 95 % CI, ratio, verdict."""
    rows: list[dict[str, Any]] = []
    for candidate in candidates:
        for result in compare_views(baseline, candidate, seed=seed):
            scale = 100.0 if result.metric is Metric.ERROR_RATE else 1.0
            unit = "pp" if result.metric is Metric.ERROR_RATE else "ms"
            ci = result.difference_ci
            rows.append(
                {
                    "candidate": f"#{candidate.run.id}",
                    "metric": result.metric.label,
                    "baseline": _fmt(result.baseline, result.metric),
                    "candidate value": _fmt(result.candidate, result.metric),
                    "difference": f"{result.difference * scale:+,.2f} {unit}",
                    "95 % CI": "–"
                    if ci is None
                    else f"[{ci.low * scale:+,.2f}, {ci.high * scale:+,.2f}] {unit}",
                    "ratio": "–" if result.ratio is None else f"{result.ratio:.2f}×",
                    "verdict": result.verdict,
                }
            )
    return rows


def fraction_rows(views: Sequence[RunView]) -> list[dict[str, Any]]:
    """Return achieved vs configured fault fraction per run, with the 95 % Wilson interval in percent."""
    rows = []
    for view in views:
        run = view.run
        if view.samples.size:
            affected, requests = int(np.count_nonzero(view.samples["affected"])), int(view.samples.size)
        else:
            affected, requests = int(run.affected_count), int(run.request_count)
        check = fault_fraction(affected, requests, run.percentage)
        rows.append(
            {
                "label": f"#{run.id}",
                "requests": requests,
                "affected": affected,
                "configured_pct": run.percentage,
                "achieved_pct": None if check.achieved is None else check.achieved * 100,
                "low_pct": None if check.interval is None else check.interval.low * 100,
                "high_pct": None if check.interval is None else check.interval.high * 100,
                "consistent": check.consistent,
            }
        )
    return rows


def export_json(frame: pd.DataFrame, comparison: Sequence[dict[str, Any]] = ()) -> str:
    """Return runs (and a comparison, if any) as pretty JSON."""
    payload: dict[str, Any] = {"runs": json.loads(frame.to_json(orient="records"))}
    if comparison:
        payload["comparison"] = list(comparison)
    return json.dumps(payload, indent=2, default=str)
