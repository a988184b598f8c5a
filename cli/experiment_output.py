"""The experiment part of a run's human report: verdict, severity, phases, recovery, target hits, differences.

Every function reads an export record (`storage.run_record`: ``verdict``, ``severity_score``, ``phases`` keyed
by phase name, ``deviations``, ``target``, ``time_to_recovery_s``) and returns lines indented like the rest
of `cli.output.describe_run`; a run without a hypothesis or phases gets no lines it did not get before::

    verdict    deviated: fault p99 812.3 ms over its limit of 300.0 ms (+512.3 ms)
    severity   42.1 of 100 (the fault phase against the baseline)
    phase      samples   errors        p50        p95        p99   from-to (s)
    baseline        40    0.0 %    11.8 ms    14.0 ms    15.1 ms     0.0-2.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `boifi --help` must not load numpy
    from client.intervals import Comparison

__all__ = ["PHASE_ORDER", "difference_lines", "experiment_lines", "format_deviation", "verdict_lines"]

PHASE_ORDER = ("baseline", "fault", "recovery")  # `client.Phase`'s values, in time order

# A deviation's measure (`client.Deviation.measure`) as the report names it, with its unit.
_MEASURES = {"p99_latency_ms": ("p99", "ms"), "error_rate_pct": ("error rate", "%")}
_NOT_APPLIED = "; the fault was not applied"


def _number(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    number = float(value)
    if 0 < abs(number) < 0.05:  # a tiny limit (max_p99_ms: 0.001) must not read as 0.0
        return f"{number:.2g} {unit}"
    return f"{number:.1f} {unit}"


def format_deviation(deviation: Mapping[str, Any]) -> str:
    """Return one broken tolerance as words: ``fault p99 812.3 ms over its limit of 300.0 ms (+512.3 ms)``."""
    measure = str(deviation.get("measure", ""))
    name, unit = _MEASURES.get(measure, (measure, ""))
    observed, limit = deviation.get("observed"), deviation.get("limit")
    excess = "" if observed is None or limit is None else f" (+{_number(observed - limit, unit)})"
    return (
        f"{deviation.get('phase', '')} {name} {_number(observed, unit)} over its limit of "
        f"{_number(limit, unit)}{excess}"
    )


def _verdict_line(row: Mapping[str, Any]) -> list[str]:
    verdict = row.get("verdict")
    if not verdict:
        return []
    deviations = [format_deviation(d) for d in row.get("deviations") or []]
    said = f"{verdict}: {'; '.join(deviations)}" if deviations else str(verdict)
    if verdict == "baseline_failed":
        said += _NOT_APPLIED
    return [f"  verdict    {said}"]


def _severity_line(row: Mapping[str, Any]) -> list[str]:
    score = row.get("severity_score")
    if score is None:
        return []
    return [f"  severity   {float(score):.1f} of 100 (the fault phase against the baseline)"]


def _observed_line(row: Mapping[str, Any]) -> list[str]:
    observe = (row.get("plan") or {}).get("observe")
    if not observe:
        return []
    method = f"{observe['method']} " if observe.get("method") else ""
    return [f"  observed   {observe.get('service')} {method}{observe.get('api')}"]


def _phase_lines(phases: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [
        f"  {'phase':<9}  {'samples':>7}  {'errors':>7}  {'p50':>9}  {'p95':>9}  {'p99':>9}   from-to (s)"
    ]
    for name in PHASE_ORDER:
        phase = phases.get(name)
        if phase is None:
            continue
        start, end = phase.get("start_offset_ms"), phase.get("end_offset_ms")
        span = "-" if start is None or end is None else f"{start / 1000:.1f}-{end / 1000:.1f}"
        latencies = "  ".join(
            f"{_number(phase.get(f'{p}_latency_ms'), 'ms'):>9}" for p in ("p50", "p95", "p99")
        )
        errors = _number(phase.get("error_rate_pct"), "%")
        lines.append(f"  {name:<9}  {phase.get('sample_count') or 0:>7}  {errors:>7}  {latencies}   {span}")
    return lines


def _recovery_line(row: Mapping[str, Any], phases: Mapping[str, Any]) -> list[str]:
    plan = row.get("plan") or {}
    if "recovery" not in phases or not plan.get("hypothesis"):
        return []
    seconds = row.get("time_to_recovery_s")
    if seconds is None:
        return [f"  recovery   not back within the hypothesis in {plan.get('recovery_seconds')} s"]
    return [f"  recovery   back within the hypothesis {float(seconds):.1f} s after the fault ended"]


def _target_line(row: Mapping[str, Any]) -> list[str]:
    target = row.get("target")
    if not target:
        return []
    return [
        f"  target     {target.get('service')} {target.get('api')}: {target.get('request_count')} requests, "
        f"{target.get('affected_count')} hit by the fault"
    ]


def verdict_lines(row: Mapping[str, Any]) -> list[str]:
    """Return the verdict (with what deviated) and the severity score; none without hypothesis or baseline."""
    return [*_verdict_line(row), *_severity_line(row)]


def experiment_lines(row: Mapping[str, Any]) -> list[str]:
    """Return the observed entry point, the phases, recovery and target hits; none for a plain fault run."""
    phases: Mapping[str, Mapping[str, Any]] = row.get("phases") or {}
    lines = _observed_line(row)
    if set(phases) - {"fault"}:  # a fault phase alone is what the requests and latency lines say already
        lines += _phase_lines(phases)
    return [*lines, *_recovery_line(row, phases), *_target_line(row)]


def _signed(value: float | None, scale: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value * scale:+.1f}"


def difference_lines(comparisons: Sequence[Comparison]) -> list[str]:
    """Return the fault-minus-baseline differences (`client.verdicts.phase_differences`), one measure a line.

    Each line has the difference with its 95 % interval and History's words for it; none without a baseline.
    """
    if not comparisons:
        return []
    lines = ["  fault minus baseline, with 95 % intervals:"]
    for result in comparisons:
        error_rate = result.metric.value == "error_rate"
        scale, unit = (100.0, "pp") if error_rate else (1.0, "ms")
        ci = result.difference_ci
        bounds = "" if ci is None else f" [{_signed(ci.low, scale)}, {_signed(ci.high, scale)}]"
        words = result.verdict.removeprefix(result.metric.label).lstrip(": ")  # History's words, unlabelled
        lines.append(
            f"    {result.metric.label:<12} {_signed(result.difference, scale):>8} {unit}{bounds}  ({words})"
        )
    return lines
