"""What `boifi apply` and `boifi runs show` print about an experiment, and the progress lines' phases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.experiment_output import difference_lines
from cli.output import describe_run
from cli.plan_file import PlanFileError, parse_plan_text
from cli.progress import phase_at, progress_line
from client import RequestSample
from client.hypothesis import Phase
from client.verdicts import phase_differences
from tests.plans import PLAN_FILE_BODY

STARTED = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
PLAIN: dict[str, Any] = {
    "id": 3, "status": "completed", "fault_type": "delay", "percentage": 50, "service": "payment",
    "api": "/api/v1/payment/process", "duration_seconds": 2, "api_mode": "extended", "fault_id": "f-1",
    "request_count": 120, "affected_count": 60, "error_rate_pct": 2.5, "avg_latency_ms": 10.0,
    "p50_latency_ms": 9.0, "p95_latency_ms": 20.0, "p99_latency_ms": 30.0, "max_latency_ms": 40.0,
    "plan": {**PLAN_FILE_BODY, "duration_seconds": 2}, "phases": {"fault": {"sample_count": 120}},
}  # fmt: skip


def _phase(count: int, p99: float, start_s: float, end_s: float, errors_pct: float = 0.0) -> dict[str, Any]:
    return {
        "sample_count": count, "error_rate_pct": errors_pct, "avg_latency_ms": p99 / 2,
        "p50_latency_ms": p99 / 2, "p95_latency_ms": p99 * 0.9, "p99_latency_ms": p99,
        "max_latency_ms": p99, "start_offset_ms": start_s * 1000, "end_offset_ms": end_s * 1000,
    }  # fmt: skip


EXPERIMENT: dict[str, Any] = {
    **PLAIN,
    "plan": {
        **PLAIN["plan"], "baseline_seconds": 2, "recovery_seconds": 3,
        "observe": {"service": "gateway", "api": "/api/v1/orders", "method": "POST"},
        "hypothesis": {"max_p99_ms": 300.0},
    },
    "verdict": "deviated",
    "severity_score": 42.125,
    "deviations": [{"phase": "fault", "measure": "p99_latency_ms", "observed": 812.5, "limit": 300.0}],
    "phases": {
        "baseline": _phase(40, 15.0, 0, 2), "fault": _phase(41, 812.5, 2, 4, 2.5),
        "recovery": _phase(61, 16.0, 4, 7),
    },
    "time_to_recovery_s": 1.0,
    "target": {"service": "payment", "api": "/api/v1/payment/process", "request_count": 90,
               "affected_count": 44},
}  # fmt: skip


def test_a_run_without_an_experiment_is_reported_as_before() -> None:
    assert describe_run(PLAIN).splitlines() == [
        "run 3: completed  delay 50% on payment /api/v1/payment/process for 2 s (extended mode)",
        "  fault id   f-1",
        "  requests   120, affected 60, error rate 2.5 %",
        "  latency    avg 10.0 ms, p50 9.0 ms, p95 20.0 ms, p99 30.0 ms, max 40.0 ms",
    ]


def test_the_report_gives_verdict_deviation_score_phases_recovery_and_target() -> None:
    lines = describe_run(EXPERIMENT).splitlines()
    assert lines[1] == "  verdict    deviated: fault p99 812.5 ms over its limit of 300.0 ms (+512.5 ms)"
    assert lines[2] == "  severity   42.1 of 100 (the fault phase against the baseline)"
    assert "  observed   gateway POST /api/v1/orders" in lines
    table = lines.index("  phase      samples   errors        p50        p95        p99   from-to (s)")
    assert lines[table + 1 : table + 4] == [
        "  baseline        40    0.0 %     7.5 ms    13.5 ms    15.0 ms   0.0-2.0",
        "  fault           41    2.5 %   406.2 ms   731.2 ms   812.5 ms   2.0-4.0",
        "  recovery        61    0.0 %     8.0 ms    14.4 ms    16.0 ms   4.0-7.0",
    ]
    assert "  recovery   back within the hypothesis 1.0 s after the fault ended" in lines
    assert lines[-1] == "  target     payment /api/v1/payment/process: 90 requests, 44 hit by the fault"


def test_a_failed_baseline_says_the_fault_was_not_applied_and_shows_no_fault_numbers() -> None:
    row = {
        **EXPERIMENT, "verdict": "baseline_failed", "severity_score": None, "fault_id": None,
        "request_count": None, "target": None, "phases": {"baseline": _phase(40, 15.0, 0, 2)},
        "deviations": [{"phase": "baseline", "measure": "p99_latency_ms", "observed": 15.0, "limit": 0.001}],
    }  # fmt: skip
    text = describe_run(row)
    assert "  verdict    baseline_failed: baseline p99 15.0 ms over its limit of 0.001 ms (+15.0 ms); " \
        "the fault was not applied" in text  # fmt: skip
    assert "severity" not in text and "fault id" not in text and "requests" not in text
    assert "  baseline        40" in text and "  fault " not in text


def test_an_error_rate_deviation_and_a_recovery_that_never_came() -> None:
    row = {
        **EXPERIMENT, "verdict": "not_recovered", "time_to_recovery_s": None,
        "deviations": [{"phase": "recovery", "measure": "error_rate_pct", "observed": 12.5, "limit": 1.0}],
    }  # fmt: skip
    text = describe_run(row)
    assert "not_recovered: recovery error rate 12.5 % over its limit of 1.0 % (+11.5 %)" in text
    assert "  recovery   not back within the hypothesis in 3 s" in text


def test_a_run_without_a_hypothesis_has_no_verdict_or_recovery_line() -> None:
    plan = {key: value for key, value in EXPERIMENT["plan"].items() if key != "hypothesis"}
    row = {**EXPERIMENT, "plan": plan, "verdict": None, "deviations": [], "time_to_recovery_s": None}
    text = describe_run(row)
    assert "verdict" not in text and "back within" not in text
    assert "severity   42.1" in text and "  baseline        40" in text


@pytest.mark.parametrize(
    ("elapsed_s", "expected"),
    [
        (0.0, ("baseline", 0.0, 2)),
        (1.5, ("baseline", 1.5, 2)),
        (2.0, ("fault", 0.0, 2)),
        (4.5, ("recovery", 0.5, 3)),
        (60.0, ("recovery", 3.0, 3)),  # past the end: the last phase, at its end
    ],
)
def test_phase_at_follows_the_plans_phases(elapsed_s: float, expected: tuple[str, float, int]) -> None:
    assert phase_at(elapsed_s, EXPERIMENT["plan"]) == expected


def test_phase_at_trusts_the_phase_the_run_reported() -> None:
    reported = {"baseline": EXPERIMENT["phases"]["baseline"]}
    assert phase_at(2.5, EXPERIMENT["plan"], reported) == ("baseline", 2.0, 2)  # its fault has not begun
    reported = {**reported, "fault": EXPERIMENT["phases"]["fault"]}  # from 2 s on the run's axis
    assert phase_at(2.5, EXPERIMENT["plan"], reported) == ("fault", 0.5, 2)
    assert phase_at(1.0, EXPERIMENT["plan"], reported) == ("fault", 0.0, 2)


def test_phase_at_without_phases_is_the_fault_alone() -> None:
    assert phase_at(0.5, PLAIN["plan"]) == ("fault", 0.5, 2)
    assert phase_at(9.0, PLAIN["plan"]) == ("fault", 2.0, 2)


def _row(**values: Any) -> dict[str, Any]:
    return {**EXPERIMENT, "phases": {}, "status": "running", "started_at": STARTED.isoformat(), **values}


def test_the_progress_line_names_the_phase_and_hides_measures_of_nothing() -> None:
    at = STARTED + timedelta(seconds=1.2)
    line = progress_line(_row(request_count=0, error_rate_pct=0.0, p95_latency_ms=0.0), now=lambda: at)
    assert line == "run 3 running   baseline 1/2 s    requests 0"
    later = STARTED + timedelta(seconds=4.6)
    line = progress_line(_row(request_count=58, error_rate_pct=1.0, p95_latency_ms=12.25), now=lambda: later)
    assert line == "run 3 running   recovery 1/3 s    requests 58  errors 1.0 %  p95 12.2 ms"


def test_the_progress_line_of_a_queued_run_without_a_plan_uses_the_given_duration() -> None:
    row = {"id": 7, "status": "queued", "plan": None, "request_count": None}
    assert progress_line(row, duration_s=5).startswith("run 7 queued")
    started = {**row, "status": "running", "started_at": STARTED.isoformat()}
    line = progress_line(started, duration_s=5, now=lambda: STARTED + timedelta(seconds=3))
    assert line == "run 7 running   fault 3/5 s  "


def test_plan_file_errors_name_the_nested_field() -> None:
    body = "\n".join(f"{key}: {value}" for key, value in PLAN_FILE_BODY.items())
    for extra, expected in [
        ("observe: {service: gateway}", "observe.api: required, but missing"),
        ("hypothesis: {}", "hypothesis: give max_p99_ms, max_error_rate_pct or both"),
        ("hypothesis: {max_error_rate_pct: 150}", "hypothesis.max_error_rate_pct: should be at most 100"),
        ("recovery_seconds: -1", "recovery_seconds: should be at least 0, got -1"),
    ]:
        with pytest.raises(PlanFileError) as caught:
            parse_plan_text(f"{body}\n{extra}")
        assert str(caught.value).splitlines()[-1].startswith(expected), str(caught.value)


def test_a_plan_file_with_phases_observe_and_hypothesis_loads() -> None:
    body = "\n".join(f"{key}: {value}" for key, value in PLAN_FILE_BODY.items())
    plan = parse_plan_text(
        f"{body}\nbaseline_seconds: 2\nrecovery_seconds: 3\n"
        "observe: {service: gateway, api: /api/v1/orders, method: POST}\nhypothesis: {max_p99_ms: 300}"
    )
    assert (plan.baseline_seconds, plan.recovery_seconds) == (2, 3)
    assert plan.observe is not None and plan.observe.service == "gateway"
    assert plan.hypothesis is not None and plan.hypothesis.max_p99_ms == 300


def test_the_differences_are_fault_minus_baseline_with_their_intervals() -> None:
    baseline = [RequestSample(i * 10.0, 10.0, 200, False, Phase.BASELINE) for i in range(100)]
    fault = [
        RequestSample(1000 + i * 10.0, 110.0, 500 if i < 10 else 200, True, Phase.FAULT) for i in range(100)
    ]
    lines = difference_lines(phase_differences([*baseline, *fault]))
    assert lines[0] == "  fault minus baseline, with 95 % intervals:"
    assert lines[1] == "    p50 latency    +100.0 ms [+100.0, +100.0]  (11.0× higher, significant)"
    assert [line.split()[:2] for line in lines[2:4]] == [["p95", "latency"], ["p99", "latency"]]
    assert lines[4].startswith("    error rate      +10.0 pp [+")
    assert lines[4].endswith("(10.0 pp higher, significant)")


def test_no_differences_without_a_baseline() -> None:
    fault = [RequestSample(i * 10.0, 110.0, 200, True, Phase.FAULT) for i in range(10)]
    assert difference_lines(phase_differences(fault)) == []


def test_the_readmes_whole_plan_files_load() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
    whole = [block for block in blocks if "fault_type:" in block]  # others are fragments of a plan
    plans = [parse_plan_text(block, source="README") for block in whole]
    assert len(plans) >= 2
    experiment = next(plan for plan in plans if plan.hypothesis is not None)
    assert experiment.observe is not None and (experiment.observe.service, experiment.observe.api) == (
        "gateway", "/api/v1/checkout",  # the demo shop's entry point: the example runs with --embedded
    )  # fmt: skip
