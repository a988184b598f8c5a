"""One definition of each measure: the client's rule, its vectorised form, the executor's mirror and the
demo data all agree."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from client.measures import error_mask, is_error_status, percentile
from client.models import RequestSample
from client.summaries import summarise, timeline
from executor.lifecycle.fault_stats import RequestSample as ExecutorSample
from executor.lifecycle.fault_stats import percentile as executor_percentile
from tests.demo_data import _timeline

STATUSES = range(600)


def test_every_status_is_an_error_or_not_alike_everywhere() -> None:
    codes = np.arange(600)
    vectorised = error_mask(codes)
    for code in STATUSES:
        mirror = ExecutorSample(offset_ms=0.0, latency_ms=1.0, status_code=code, affected=False).error
        assert is_error_status(code) is bool(vectorised[code]) is mirror, code
    assert not is_error_status(200) and not is_error_status(399)
    assert is_error_status(0) and is_error_status(404) and is_error_status(503)


def test_a_run_of_404s_has_the_error_rate_history_counts() -> None:
    # 20 of 40 samples answered 404 (a policy-mode probe of the wrong method): stored as 0.0 before.
    samples = [RequestSample(i * 10.0, 2.0, 404 if i % 2 else 200, False) for i in range(40)]
    assert summarise(samples).error_rate == 0.5
    assert sum(point.error_count for point in timeline(samples)) == 20


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=50))
def test_percentiles_agree_with_the_executor_and_numpy(values: list[float]) -> None:
    ordered = sorted(values)
    for fraction in (0.0, 0.5, 0.95, 0.99, 1.0):
        ours = percentile(ordered, fraction)
        assert ours == executor_percentile(ordered, fraction)
        assert np.isclose(ours, np.percentile(ordered, fraction * 100), rtol=1e-9, atol=1e-9)


def test_demo_data_timelines_use_the_same_rule_and_percentiles() -> None:
    rng = np.random.default_rng(3)
    count = 500
    samples = np.zeros(
        count, dtype=[("offset_ms", "<f8"), ("latency_ms", "<f8"), ("status_code", "<i4"), ("affected", "?")]
    )
    samples["offset_ms"] = np.sort(rng.uniform(0, 5000, count))
    samples["latency_ms"] = rng.exponential(20, count)
    samples["status_code"] = rng.choice([0, 200, 404, 429, 503], count)
    samples["affected"] = rng.random(count) < 0.3
    rows = _timeline(1, samples, 5)
    expected = timeline(
        [
            RequestSample(
                float(s["offset_ms"]), float(s["latency_ms"]), int(s["status_code"]), bool(s["affected"])
            )
            for s in samples
        ]
    )
    assert [row["error_count"] for row in rows] == [point.error_count for point in expected]
    for row, point in zip(rows, expected, strict=True):
        assert np.isclose(row["p95_latency_ms"], point.p95_latency_ms)
        assert np.isclose(row["p50_latency_ms"], point.p50_latency_ms)
