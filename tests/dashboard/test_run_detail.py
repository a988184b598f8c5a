"""The run page's values and chart, without Streamlit: links, verdict words, phase rows, differences."""

from __future__ import annotations

import numpy as np
import pytest

import storage
from client import Deviation, ExperimentVerdict, Phase, PhaseSummary
from client.breaker import BreakerState
from dashboard import links, run_detail
from dashboard.phase_chart import phase_figure
from dashboard.run_detail import AxisBand

PHASES = [
    PhaseSummary(
        phase=Phase.BASELINE, start_offset_ms=0, end_offset_ms=2000, sample_count=40, error_rate=0.0
    ),
    PhaseSummary(
        phase=Phase.FAULT,
        start_offset_ms=2000,
        end_offset_ms=4000,
        sample_count=38,
        error_rate=0.125,
        p50_latency_ms=12.04,
        p95_latency_ms=210.0,
        p99_latency_ms=250.0,
    ),
    PhaseSummary(phase=Phase.RECOVERY, start_offset_ms=4000, end_offset_ms=6000, sample_count=41),
]


def test_run_page_url_is_the_shareable_path_with_the_run_id() -> None:
    assert links.run_page_url(7) == "/Run?run=7"
    assert links.run_page_url(7, base_url="http://127.0.0.1:8501/") == "http://127.0.0.1:8501/Run?run=7"
    assert links.run_page_link(7)["query_params"] == {"run": "7"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        (["12"], 12),
        (" 3 ", 3),
        (None, None),
        ("", None),
        ("0", None),
        ("-1", None),
        ("abc", None),
        ("1e3", None),
        ([], None),
    ],
)
def test_parse_run_id_takes_positive_integers_only(value: object, expected: int | None) -> None:
    assert links.parse_run_id(value) == expected


def test_every_verdict_has_a_display_name() -> None:
    names = {run_detail.verdict_name(v) for v in ExperimentVerdict}
    assert len(names) == len(ExperimentVerdict)
    words = [name.rsplit(":", 1)[-1] for name in names]  # after the Material icon
    assert not any("_" in word for word in words)  # no raw values such as baseline_failed
    assert run_detail.verdict_name("held") == ":material/check_circle: Hypothesis held"
    assert run_detail.verdict_name(None) == "No hypothesis"


def test_a_deviation_says_the_measure_the_limit_and_by_how_much() -> None:
    deviation = Deviation(phase=Phase.FAULT, measure="p99_latency_ms", observed=812.0, limit=300.0)
    assert run_detail.deviation_text(deviation) == "fault: p99 latency 812.0 ms > limit 300.0 ms (+512.0 ms)"


def test_phase_rows_are_in_seconds_milliseconds_and_percent() -> None:
    rows = run_detail.phase_rows(PHASES)
    assert [r["phase"] for r in rows] == ["baseline", "fault", "recovery"]
    assert rows[1] | {} == {
        "phase": "fault",
        "from (s)": 2.0,
        "to (s)": 4.0,
        "samples": 38,
        "p50 (ms)": 12.0,
        "p95 (ms)": 210.0,
        "p99 (ms)": 250.0,
        "error rate (%)": 12.5,
    }
    assert rows[2]["error rate (%)"] is None


def _phased_samples() -> np.ndarray:
    rng = np.random.default_rng(1)
    samples = np.zeros(400, dtype=storage.SAMPLE_DTYPE)  # phase code 0: fault
    samples["offset_ms"] = np.linspace(0, 4000, 400)
    samples["latency_ms"] = np.r_[rng.uniform(10, 20, 200), rng.uniform(200, 300, 200)]
    samples["status_code"] = 200
    samples["phase"][:200] = storage.PHASE_CODES[Phase.BASELINE]
    return samples


def test_fault_minus_baseline_uses_the_phases_of_the_samples() -> None:
    comparisons = storage.fault_minus_baseline(_phased_samples())
    rows = run_detail.difference_rows(comparisons)
    assert [r["measure"] for r in rows] == ["p50 latency", "p95 latency", "p99 latency", "error rate"]
    assert all(c.significant for c in comparisons[:3])
    assert rows[0]["fault − baseline"].startswith("+2")  # about +235 ms
    assert rows[3]["95 % interval"].endswith("pp")


def test_no_differences_without_a_baseline() -> None:
    samples = _phased_samples()
    assert storage.fault_minus_baseline(samples[200:]) == []
    assert storage.fault_minus_baseline(np.zeros(0, dtype=storage.SAMPLE_DTYPE)) == []


def test_the_chart_shades_each_phase_and_marks_the_fault() -> None:
    bands = [AxisBand(0, 3, BreakerState.CLOSED), AxisBand(3, 6, BreakerState.OPEN)]
    fig = phase_figure([], PHASES, bands)
    shaded = [s.name for s in fig.layout.shapes if s.type == "rect"]
    assert shaded == ["phase baseline"] * 2 + ["phase fault"] * 2 + ["phase recovery"] * 2
    lines = [(s.name, s.x0) for s in fig.layout.shapes if s.type == "line"]
    assert lines == [("fault start", 2.0), ("fault end", 4.0)]
    assert [a.text for a in fig.layout.annotations] == [
        "baseline",
        "fault",
        "recovery",
        "fault start",
        "fault end",
    ]
    breaker = {t.name: (list(t.base), list(t.x)) for t in fig.data if t.name.startswith("breaker")}
    assert breaker == {"breaker CLOSED": ([0], [3]), "breaker OPEN": ([3], [3])}


def test_a_run_without_phases_is_one_fault_phase_from_zero() -> None:
    run = storage.Run(duration_seconds=5)
    phases = run_detail.axis_phases(run, run_detail.experiment_of(run))
    assert [(p.phase, p.start_offset_ms, p.end_offset_ms) for p in phases] == [(Phase.FAULT, 0.0, 5000.0)]


def test_a_run_without_stored_phases_draws_the_phases_its_plan_asks_for() -> None:
    run = storage.Run(duration_seconds=4, plan={"baseline_seconds": 2, "recovery_seconds": 3})
    phases = run_detail.axis_phases(run, run_detail.experiment_of(run))
    assert [(p.phase, p.start_offset_ms, p.end_offset_ms) for p in phases] == [
        (Phase.BASELINE, 0.0, 2000.0),
        (Phase.FAULT, 2000.0, 6000.0),
        (Phase.RECOVERY, 6000.0, 9000.0),
    ]
