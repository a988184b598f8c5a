"""The dashboard glue without Streamlit: forms, comparison rows and monitor buckets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import storage
from client import ExecutorClientConfig, FaultPlan, FaultType
from dashboard.compare import (
    compare_all,
    comparison_rows,
    export_json,
    fraction_rows,
    fraction_table,
    parse_run_ids,
)
from dashboard.components import elapsed_and_remaining
from dashboard.data import RunView, error_count, runs_frame
from dashboard.forms import build_client_config, build_guardrail, build_plan, validate_database_url
from dashboard.launch import parse_labels
from dashboard.monitor_data import call_latency_buckets

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_build_plan_drops_fields_of_other_fault_types() -> None:
    result = build_plan(
        {
            "service": "payment",
            "api": "/pay",
            "fault_type": "abort",
            "percentage": 10,
            "abort_http_status": 503,
            "delay_seconds": 0.0,
            "error_message": "",
            "method": "",
        }
    )
    assert result.ok, result.errors
    assert result.value.fault_type is FaultType.ABORT and result.value.delay_seconds is None


def test_build_plan_puts_model_errors_on_the_named_field() -> None:
    result = build_plan({"service": "payment", "api": "/pay", "fault_type": "delay", "percentage": 10})
    assert result.errors == {"delay_seconds": "delay_seconds is required when fault_type is delay"}
    blank = build_plan(
        {"service": " ", "api": "/x", "fault_type": "delay", "percentage": 5, "delay_seconds": 1}
    )
    assert set(blank.errors) == {"service"}


def test_guardrail_form() -> None:
    assert build_guardrail(enabled=False, max_error_rate_pct=None, max_p99_latency_ms=None, min_requests=1).ok
    assert (
        "guardrail"
        in build_guardrail(
            enabled=True, max_error_rate_pct=None, max_p99_latency_ms=None, min_requests=20
        ).errors
    )
    ok = build_guardrail(enabled=True, max_error_rate_pct=25.0, max_p99_latency_ms=None, min_requests=20)
    assert ok.value.max_error_rate == pytest.approx(0.25)


def test_client_config_form_ignores_the_environment_and_keeps_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "7")
    result = build_client_config({"base_url": "http://127.0.0.1:9000", "auth_token": ""}, keep_token="tok")
    assert result.ok, result.errors
    assert result.value.max_retries == 3  # the form's default, not the environment's 7
    assert result.value.auth_token.get_secret_value() == "tok"
    assert type(result.value) is ExecutorClientConfig
    assert build_client_config({"base_url": ""}).errors == {"base_url": "the Executor URL is required"}
    bad = build_client_config({"base_url": "http://127.0.0.1:9000", "circuit_breaker_failure_threshold": 0})
    assert set(bad.errors) == {"circuit_breaker_failure_threshold"}


def test_database_url_validation() -> None:
    assert validate_database_url("") is None
    assert validate_database_url("sqlite:////tmp/x.db") is None
    assert validate_database_url("postgresql+psycopg://u@h/db") is None
    assert validate_database_url("boifi.db") is not None
    assert validate_database_url("redis://h") == "unsupported database scheme 'redis'"


def test_parse_labels_and_run_ids() -> None:
    assert parse_labels(" a, b,,a ,c") == ["a", "b", "c"]
    assert parse_run_ids("3, #7,x,3,12") == [3, 7, 12]
    assert parse_run_ids(["1,2", "5"]) == [1, 2, 5]
    assert parse_run_ids(None) == []


def test_settings_the_form_does_not_show_keep_their_value() -> None:
    current = ExecutorClientConfig(base_url="http://127.0.0.1:9000", probe_timeout_sec=9.0)
    form = {"base_url": "http://127.0.0.1:9000"}
    assert build_client_config(form).value.probe_timeout_sec == 5.0
    result = build_client_config(form, current=current)
    assert result.ok and result.value.probe_timeout_sec == 9.0
    assert result.value.model_dump() == current.model_dump()


def _view(run_id: int, latency_ms: np.ndarray, *, status: int = 200, affected_every: int = 2) -> RunView:
    samples = np.zeros(latency_ms.size, dtype=storage.SAMPLE_DTYPE)
    samples["latency_ms"] = latency_ms
    samples["status_code"] = status
    samples["affected"] = (np.arange(latency_ms.size) % affected_every) == 0
    run = storage.Run(
        id=run_id, created_at=T0, service="payment", api="/pay", fault_type="delay", percentage=50
    )
    return RunView(run=run, timeline=[], samples=samples)


def test_comparison_rows_name_the_candidate_and_metric() -> None:
    rng = np.random.default_rng(0)
    base = _view(1, rng.lognormal(2.0, 0.2, 500))
    cand = _view(2, rng.lognormal(3.4, 0.2, 500))
    rows = comparison_rows(base, [cand])
    assert [r["metric"] for r in rows][:4] == ["mean latency", "p50 latency", "p95 latency", "p99 latency"]
    assert rows[2]["candidate"] == "#2" and rows[2]["verdict"].endswith("× higher, significant")
    fractions = fraction_rows([base])
    assert fractions[0].achieved_pct == pytest.approx(50.0) and fractions[0].consistent is True
    assert fraction_table(fractions)[0]["achieved (%)"] == round(fractions[0].achieved_pct or 0.0, 1)
    exported = json.loads(export_json([base.run, cand.run], compare_all(base, [cand])))
    assert [record["id"] for record in exported["runs"]] == [1, 2]
    p95 = next(row for row in exported["comparison"] if row["metric"] == "p95_latency_ms")
    assert p95["baseline_run_id"] == 1 and p95["candidate_run_id"] == 2
    assert isinstance(p95["difference"], float) and p95["difference_ci_low"] < p95["difference_ci_high"]
    assert {row["metric"] for row in exported["comparison"]} == {
        "avg_latency_ms",
        "p50_latency_ms",
        "p95_latency_ms",
        "p99_latency_ms",
        "error_rate_pct",
    }


def test_error_count_counts_no_response_and_http_errors() -> None:
    view = _view(1, np.ones(4))
    view.samples["status_code"] = [200, 0, 503, 404]
    assert error_count(view.samples) == 3


def test_call_latency_buckets_average_finished_calls() -> None:
    events = [
        (T0, "attempt", None),
        (T0 + timedelta(seconds=1), "success", 10.0),
        (T0 + timedelta(seconds=2), "failure", 30.0),
        (T0 + timedelta(seconds=12), "success", 5.0),
    ]
    buckets = call_latency_buckets(events, bucket_sec=10)
    assert [(b.latency_ms, b.error_rate_pct, b.calls) for b in buckets] == [
        (20.0, 50.0, 2),
        (5.0, 0.0, 1),
    ]


def test_elapsed_and_remaining() -> None:
    run = storage.Run(created_at=T0, started_at=T0, duration_seconds=30)
    assert elapsed_and_remaining(run, now=T0 + timedelta(seconds=12)) == (12.0, 18.0)
    run.finished_at = T0 + timedelta(seconds=40)
    assert elapsed_and_remaining(run) == (40.0, 0.0)
    assert elapsed_and_remaining(storage.Run(created_at=T0, duration_seconds=5)) == (0.0, 5.0)
    phased = storage.Run(
        created_at=T0,
        started_at=T0,
        duration_seconds=30,
        plan={"baseline_seconds": 5, "recovery_seconds": 10},
    )
    assert elapsed_and_remaining(phased, now=T0 + timedelta(seconds=12)) == (12.0, 33.0)  # of 45 s planned


def test_fault_plan_from_form_is_a_real_fault_plan() -> None:
    plan = build_plan(
        {"service": "p", "api": "/x", "fault_type": "delay", "percentage": 1, "delay_seconds": 2}
    ).value
    assert isinstance(plan, FaultPlan)


def test_every_run_status_has_an_icon_and_a_text() -> None:
    from dashboard.components import STATUS_ICONS, status_text

    assert set(STATUS_ICONS) == {status.value for status in storage.RunStatus}
    run = storage.Run(created_at=T0, status=storage.RunStatus.GUARDRAIL_STOP)
    assert status_text(run) == ":material/shield: Guardrail stop"


def test_halting_a_fault_refreshes_the_faults_list() -> None:
    from dashboard.halting import halt_fault

    halted: list[tuple[str, str | None]] = []
    refreshes: list[bool] = []

    def halt(fault_id: str, api_mode: str | None = None) -> bool:
        halted.append((fault_id, api_mode))
        return True

    console = SimpleNamespace(
        executor_url="http://127.0.0.1:1",
        runner=SimpleNamespace(active_run_ids=lambda: []),
        client=SimpleNamespace(
            halt=lambda fault_id, api_mode=None: halted.append((fault_id, api_mode)) or True
        ),
        faults=SimpleNamespace(refresh=lambda: refreshes.append(True)),
    )
    assert halt_fault(console, "fault-9") == "halted fault-9"  # type: ignore[arg-type]
    assert halt_fault(console, "policy-1", api_mode="policy") == "halted policy-1"  # type: ignore[arg-type]
    assert halted == [("fault-9", None), ("policy-1", "policy")] and refreshes == [True, True]


def test_the_runs_table_shows_rates_in_percent_and_labels_as_text() -> None:
    run = storage.Run(id=3, created_at=T0, error_rate=0.125, labels=["nightly", "canary"])
    frame = runs_frame([run])
    assert "error_rate" not in frame.columns
    assert frame.loc[0, "error_rate_pct"] == 12.5 and frame.loc[0, "labels"] == "nightly, canary"


def _result_card_of(error: str | None, status: str) -> AppTest:
    def page(error: str | None, status: str) -> None:
        from datetime import UTC, datetime

        import storage
        from dashboard.components import result_card

        run = storage.Run(
            id=5, created_at=datetime(2026, 12, 1, tzinfo=UTC), status=storage.RunStatus(status), error=error,
            service="payment", api="/pay", fault_type="delay", percentage=50,
            request_count=40, affected_count=20,
        )  # fmt: skip
        result_card(run, link=False)  # a script from a function has no run page to link to

    # The script imports the dashboard on its first run: 3 s (the default) is too short on a loaded machine.
    return AppTest.from_function(page, kwargs={"error": error, "status": status}, default_timeout=30).run()


def test_a_completed_runs_warning_reads_as_a_warning_not_a_failure() -> None:
    at = _result_card_of("warning: the target answered errors for requests no fault touched", "completed")
    assert not at.exception, at.exception
    assert at.success and "Completed" in at.success[0].value
    assert not at.error
    assert [w.value for w in at.warning] == [
        "Warning: the target answered errors for requests no fault touched"
    ]
    plain = _result_card_of(None, "completed")
    assert not plain.warning and not plain.error and plain.success
