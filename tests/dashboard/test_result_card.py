"""The result card reads on its own: display names, times and duration, labels, the natural error rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from streamlit.testing.v1 import AppTest

import storage
from cli.output import describe_run
from client import ExperimentVerdict
from client.models import RequestSample
from client.summaries import baseline_warning
from dashboard import names
from dashboard.result_text import natural_errors_text, times_text

T0 = datetime(2026, 12, 4, 20, 0, 0, tzinfo=UTC)


def _run(**fields: object) -> storage.Run:
    values: dict[str, object] = {
        "id": 7, "created_at": T0, "started_at": T0 + timedelta(seconds=1),
        "finished_at": T0 + timedelta(seconds=13.5), "status": storage.RunStatus.GUARDRAIL_STOP,
        "service": "payment", "api": "/pay", "fault_type": "abort", "percentage": 50,
        "labels": ["nightly", "canary"], "request_count": 363, "affected_count": 180,
    }  # fmt: skip
    values.update(fields)
    return storage.Run(**values)


def _samples(untouched: int, failed: int, touched: int = 0) -> np.ndarray:
    samples = np.zeros(untouched + touched, dtype=storage.SAMPLE_DTYPE)
    samples["status_code"] = 200
    samples["status_code"][:failed] = 500
    samples["affected"][untouched:] = True
    samples["status_code"][untouched:] = 503  # the fault's own errors are not natural
    return samples


def test_times_say_start_end_duration_and_labels_in_the_browsers_zone() -> None:
    text = times_text(_run(), timezone="Asia/Tokyo")
    assert text == (
        "started 2026-12-05 05:00:01 · ended 2026-12-05 05:00:13 · took 12.5 s (Asia/Tokyo) · "
        "labels: nightly, canary"
    )
    assert times_text(_run(labels=[], finished_at=None, started_at=None)).endswith("(UTC) · no labels")


def test_natural_errors_are_a_rate_with_their_reason_never_the_faults_errors() -> None:
    one = natural_errors_text(_samples(untouched=363, failed=1, touched=100))
    assert one is not None and one.startswith("Natural errors: 1 of the 363 requests the fault did not touch")
    assert "(0.3 %)" in one and "2 %" in one  # the chart's 2 % second is explained
    assert natural_errors_text(_samples(untouched=50, failed=0)) == (
        "Natural errors: none of the 50 requests the fault did not touch failed."
    )
    assert natural_errors_text(np.empty(0, dtype=storage.SAMPLE_DTYPE)) is None


def test_one_natural_error_in_363_is_no_warning_but_a_wrong_target_is() -> None:
    def sample(status: int) -> RequestSample:
        return RequestSample(offset_ms=0.0, latency_ms=5.0, status_code=status, affected=False)

    assert baseline_warning([sample(500)] + [sample(200)] * 362) is None
    warning = baseline_warning([sample(404)] * 30 + [sample(200)] * 70)
    assert warning is not None and "30 of 100" in warning


def test_the_cli_says_a_warning_once_whatever_the_status() -> None:
    record = storage.runs_to_records([_run(error="warning: the fault hit none of its requests")])[0]
    text = describe_run(record)
    assert "  warning    the fault hit none of its requests" in text and "error:" not in text
    failed = storage.runs_to_records([_run(status=storage.RunStatus.FAILED, error="boom", error_class=None)])[
        0
    ]
    assert "  error      boom" in describe_run(failed)


def test_the_card_shows_display_names_times_labels_and_natural_errors() -> None:
    def page() -> None:
        from datetime import UTC, datetime, timedelta

        import numpy as np

        import storage
        from dashboard.components import result_card

        t0 = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
        run = storage.Run(
            id=7, created_at=t0, started_at=t0, finished_at=t0 + timedelta(seconds=10),
            status=storage.RunStatus.GUARDRAIL_STOP, stop_reason="guardrail: error rate 60 % exceeded 50 %",
            service="payment", api="/pay", fault_type="abort", percentage=50, labels=["nightly"],
            request_count=363, affected_count=0,
        )  # fmt: skip
        samples = np.zeros(363, dtype=storage.SAMPLE_DTYPE)
        samples["status_code"] = 200
        samples["status_code"][0] = 500
        result_card(run, link=False, samples=samples)

    at = AppTest.from_function(page, default_timeout=30)
    at.context = {"timezone": "UTC"}
    at.run()
    assert not at.exception, at.exception
    headline = at.warning[0].value
    assert "Guardrail stop" in headline and "guardrail_stop" not in headline
    captions = [c.value for c in at.caption]
    assert (
        "started 2026-12-04 20:00:00 · ended 2026-12-04 20:00:10 · took 10.0 s (UTC) · labels: nightly"
        in captions
    )
    assert any(c.startswith("Natural errors: 1 of the 363 requests") for c in captions), captions


def test_every_status_and_verdict_has_its_display_names() -> None:
    assert set(names.STATUS_NAMES) == set(storage.RunStatus)
    for mapping in (names.VERDICT_NAMES, names.VERDICT_SENTENCES, names.VERDICT_ICONS):
        assert set(mapping) == set(ExperimentVerdict)
    assert all("_" not in name for name in [*names.STATUS_NAMES.values(), *names.VERDICT_NAMES.values()])
