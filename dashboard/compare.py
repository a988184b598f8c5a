"""Comparison of stored runs: tables of deltas with intervals, fault-fraction rows, and exports."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import storage
from client.intervals import (
    Comparison,
    Difference,
    Metric,
    compare_error_rate,
    compare_samples,
    fault_fraction,
)
from dashboard.data import RunView, error_count


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


@dataclass(frozen=True)
class CandidateComparison:
    """One metric of one candidate run against the baseline run."""

    baseline_id: int | None
    candidate_id: int | None
    result: Comparison


def compare_all(
    baseline: RunView, candidates: Sequence[RunView], *, seed: int = 0
) -> list[CandidateComparison]:
    """Compare every candidate with the baseline, metric by metric."""
    return [
        CandidateComparison(baseline.run.id, candidate.run.id, result)
        for candidate in candidates
        for result in compare_views(baseline, candidate, seed=seed)
    ]


# The metric's name in exports: the run record's field it compares, unit included.
EXPORT_METRIC = {
    Metric.MEAN: "avg_latency_ms",
    Metric.P50: "p50_latency_ms",
    Metric.P95: "p95_latency_ms",
    Metric.P99: "p99_latency_ms",
    Metric.ERROR_RATE: "error_rate_pct",
}


def _fmt(value: float | None, metric: Metric) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric is Metric.ERROR_RATE:
        return f"{value * 100:.2f} %"
    return f"{value:,.1f} ms"


def display_rows(comparisons: Sequence[CandidateComparison]) -> list[dict[str, Any]]:
    """Return one row of text per (candidate, metric): values, difference with 95 % CI, ratio, verdict."""
    rows: list[dict[str, Any]] = []
    for item in comparisons:
        result = item.result
        scale = 100.0 if result.metric is Metric.ERROR_RATE else 1.0
        unit = "pp" if result.metric is Metric.ERROR_RATE else "ms"
        ci = result.difference_ci
        rows.append(
            {
                "candidate": f"#{item.candidate_id}",
                "metric": result.metric.label,
                "baseline": _fmt(result.baseline, result.metric),
                "candidate value": _fmt(result.candidate, result.metric),
                "difference": f"{result.difference * scale:+,.2f} {unit}",
                "95 % CI": "–" if ci is None else f"[{ci.low * scale:+,.2f}, {ci.high * scale:+,.2f}] {unit}",
                "ratio": "–" if result.ratio is None else f"{result.ratio:.2f}×",
                "verdict": result.verdict,
            }
        )
    return rows


def comparison_rows(
    baseline: RunView, candidates: Sequence[RunView], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Return the display rows comparing each candidate with the baseline."""
    return display_rows(compare_all(baseline, candidates, seed=seed))


def _number(value: float | None, scale: float = 1.0) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value * scale, 6) if scale != 1.0 else float(value)


def comparison_records(comparisons: Sequence[CandidateComparison]) -> list[dict[str, Any]]:
    """Return comparisons as numbers: `metric` names the unit (latencies in ms, error rate in percent)."""
    records = []
    for item in comparisons:
        result = item.result
        scale = 100.0 if result.metric is Metric.ERROR_RATE else 1.0
        ci, ratio_ci = result.difference_ci, result.ratio_ci
        records.append(
            {
                "baseline_run_id": item.baseline_id,
                "candidate_run_id": item.candidate_id,
                "metric": EXPORT_METRIC[result.metric],
                "baseline": _number(result.baseline, scale),
                "candidate": _number(result.candidate, scale),
                "difference": _number(result.difference, scale),
                "difference_ci_low": None if ci is None else _number(ci.low, scale),
                "difference_ci_high": None if ci is None else _number(ci.high, scale),
                "ratio": _number(result.ratio),
                "ratio_ci_low": None if ratio_ci is None else _number(ratio_ci.low),
                "ratio_ci_high": None if ratio_ci is None else _number(ratio_ci.high),
                "significant": result.significant,
                "verdict": result.verdict,
            }
        )
    return records


@dataclass(frozen=True)
class FractionRow:
    """Achieved vs configured fault fraction of one run, with the 95 % Wilson interval, in percent."""

    label: str
    requests: int
    affected: int
    configured_pct: float
    achieved_pct: float | None
    low_pct: float | None
    high_pct: float | None
    consistent: bool | None


def fraction_rows(views: Sequence[RunView]) -> list[FractionRow]:
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
            FractionRow(
                label=f"#{run.id}",
                requests=requests,
                affected=affected,
                configured_pct=run.percentage,
                achieved_pct=None if check.achieved is None else check.achieved * 100,
                low_pct=None if check.interval is None else check.interval.low * 100,
                high_pct=None if check.interval is None else check.interval.high * 100,
                consistent=check.consistent,
            )
        )
    return rows


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def fraction_table(rows: Sequence[FractionRow]) -> list[dict[str, Any]]:
    """Return fraction rows for display: headers in words, percentages to one decimal."""
    consistent = {True: "yes", False: "no", None: "–"}
    return [
        {
            "run": row.label,
            "requests": row.requests,
            "affected": row.affected,
            "configured (%)": _pct(row.configured_pct),
            "achieved (%)": _pct(row.achieved_pct),
            "95 % interval (%)": "–"
            if row.low_pct is None or row.high_pct is None
            else f"{row.low_pct:.1f} – {row.high_pct:.1f}",
            "as configured": consistent[row.consistent],
        }
        for row in rows
    ]


def verdict_summary(comparisons: Sequence[CandidateComparison]) -> list[str]:
    """Return one line per candidate naming the metrics that differ from the baseline (the table has numbers).

    Example: "#2 against #1: higher p95 latency, p99 latency; lower error rate; no significant difference
    in mean latency, p50 latency".
    """
    by_candidate: dict[int | None, list[CandidateComparison]] = {}
    for item in comparisons:
        by_candidate.setdefault(item.candidate_id, []).append(item)
    lines = []
    for candidate_id, items in by_candidate.items():
        groups: dict[Difference, list[str]] = {kind: [] for kind in Difference}
        for item in items:
            groups[item.result.outcome].append(item.result.metric.label)
        parts = [
            f"{kind.value} {', '.join(groups[kind])}"
            for kind in (Difference.HIGHER, Difference.LOWER)
            if groups[kind]
        ]
        same, unknown = groups[Difference.NO_SIGNIFICANT_DIFFERENCE], groups[Difference.NOT_ENOUGH_DATA]
        if same:
            everything = not parts and not unknown
            parts.append(
                "no significant difference"
                if everything
                else f"no significant difference in {', '.join(same)}"
            )
        if unknown:
            parts.append(f"not enough data for {', '.join(unknown)}")
        lines.append(f"**#{candidate_id}** against #{items[0].baseline_id}: {'; '.join(parts)}")
    return lines


def export_json(runs: Sequence[storage.Run], comparisons: Sequence[CandidateComparison] = ()) -> str:
    """Return runs as `storage.runs_to_records` records (and a comparison, if any) as pretty JSON."""
    payload: dict[str, Any] = {"runs": storage.runs_to_records(runs)}
    if comparisons:
        payload["comparison"] = comparison_records(comparisons)
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False)


def export_csv(runs: Sequence[storage.Run]) -> str:
    """Return runs as CSV, exactly as `boifi runs export --format csv` writes them."""
    return storage.runs_to_csv(runs)
