"""Pure pieces of the services: guardrail decisions, timelines from samples, plan files."""

from __future__ import annotations

import pytest

from cli.plan_file import PlanFileError, parse_plan_text
from client import RawObservation
from client.models import RequestSample
from services.guardrail import Guardrail
from services.observations import timeline_of


def test_guardrail_waits_for_min_requests_then_names_the_crossed_bound() -> None:
    guard = Guardrail(max_error_rate=0.2, max_p99_latency_ms=500, min_requests=50)
    assert guard.violation(request_count=49, error_rate=0.9, p99_latency_ms=9000) is None
    assert guard.violation(request_count=50, error_rate=0.1, p99_latency_ms=100) is None
    reason = guard.violation(request_count=50, error_rate=0.25, p99_latency_ms=100)
    assert reason == "guardrail: error rate 25.0% exceeded 20.0% after 50 requests"
    reason = guard.violation(request_count=80, error_rate=0.0, p99_latency_ms=750)
    assert reason == "guardrail: p99 latency 750 ms exceeded 500 ms after 80 requests"


def test_guardrail_rejects_nonsense_bounds() -> None:
    with pytest.raises(ValueError, match="max_error_rate"):
        Guardrail(max_error_rate=1.5)
    with pytest.raises(ValueError, match="min_requests"):
        Guardrail(max_error_rate=0.5, min_requests=0)
    assert not Guardrail().enabled


def test_a_direct_mode_timeline_is_derived_from_its_samples_by_the_one_rule() -> None:
    samples = [
        RequestSample(10.0, 5.0, 200, False),
        RequestSample(900.0, 15.0, 503, True),
        RequestSample(950.0, 4.0, 404, False),  # an error: status 0 or >= 400, as the executor counts
        RequestSample(1_100.0, 7.0, 200, False),
        RequestSample(2_500.0, 9.0, 0, False),
    ]
    observation = RawObservation(status_code=200, latency_ms=8.0, error_rate=0.6, samples=samples)
    points = timeline_of(observation)
    assert [p["t_s"] for p in points] == [0, 1, 2]
    assert [p["request_count"] for p in points] == [3, 1, 1]
    assert [p["affected_count"] for p in points] == [1, 0, 0]
    assert [p["error_count"] for p in points] == [2, 0, 1]
    assert points[0]["avg_latency_ms"] == 8.0
    assert points[0]["p50_latency_ms"] == 5.0 and points[0]["p95_latency_ms"] == 14.0  # interpolated
    assert timeline_of(RawObservation(status_code=200, latency_ms=0.0, error_rate=0.0)) == []


def test_guardrail_takes_and_tells_the_error_rate_in_percent() -> None:
    guard = Guardrail.from_percent(max_error_rate_pct=0.5, max_p99_latency_ms=2000, min_requests=30)
    assert guard.max_error_rate == pytest.approx(0.005) and guard.max_error_rate_pct == pytest.approx(0.5)
    assert guard.describe() == (
        "halt when the error rate exceeds 0.5 % or the p99 latency exceeds 2000 ms, judged after 30 requests"
    )
    assert Guardrail.from_percent(max_error_rate_pct=100).max_error_rate == 1.0
    with pytest.raises(ValueError, match="from 0 to 100"):
        Guardrail.from_percent(max_error_rate_pct=150)
    with pytest.raises(ValueError, match="from 0 to 100"):
        Guardrail.from_percent(max_error_rate_pct=-1)


def test_plan_text_errors_name_the_field() -> None:
    with pytest.raises(PlanFileError, match="delay_seconds"):
        parse_plan_text('{"service": "a", "api": "/x", "fault_type": "delay", "percentage": 10}')
    with pytest.raises(PlanFileError, match="mapping"):
        parse_plan_text("- just\n- a list\n")
    plan = parse_plan_text("service: a\napi: /x\nfault_type: abort\nabort_http_status: 503\npercentage: 5\n")
    assert plan.abort_http_status == 503


def test_recovery_gets_the_one_client_for_every_api_mode_of_its_executor(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import storage
    from client import ExecutorClientConfig, HttpExecutorClient
    from services.runner import Runner

    engine = storage.make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    storage.init_db(engine)
    client = HttpExecutorClient(ExecutorClientConfig(base_url="http://127.0.0.1:9", api_mode="extended"))
    runner = Runner(engine=engine, client=client, recover_on_start=False)
    try:
        assert runner._client_for("http://127.0.0.1:9", "policy") is client
        assert runner._client_for("http://127.0.0.1:9/", "extended") is client
        assert runner._client_for("http://127.0.0.1:10", "extended") is None
    finally:
        runner.shutdown()
        client.close()
        engine.dispose()


def test_console_that_fails_to_start_closes_what_it_built(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import storage
    from client import ExecutorClientConfig
    from services import console as console_module

    closed: list[str] = []
    real_client = console_module.HttpExecutorClient

    class RecordingClient(real_client):  # type: ignore[misc, valid-type]
        def close(self) -> None:
            closed.append("client")
            super().close()

    def broken_runner(**kwargs: object) -> None:
        raise RuntimeError("runner cannot start")

    monkeypatch.setattr(console_module, "HttpExecutorClient", RecordingClient)
    monkeypatch.setattr(console_module, "Runner", broken_runner)
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with pytest.raises(RuntimeError, match="runner cannot start"):
        console_module.Console(
            client_config=ExecutorClientConfig(base_url="http://127.0.0.1:9"), engine=engine
        )
    assert closed == ["client"]
    engine.dispose()


@pytest.mark.slow
def test_the_console_polls_active_faults_with_its_monitor_and_stops_on_close(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import storage
    from client import ExecutorClientConfig
    from services.console import Console
    from services.console_settings import ConsoleSettings

    with pytest.raises(ValueError, match="active_faults_interval_sec"):
        ConsoleSettings(active_faults_interval_sec=0)
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    settings = ConsoleSettings(health_interval_sec=60, active_faults_interval_sec=60)
    config = ExecutorClientConfig(base_url="http://127.0.0.1:9", max_retries=1)
    quiet = Console(client_config=config, engine=engine, settings=settings, start_monitor=False).start()
    assert not quiet.faults.worker.running  # the CLI's console lists nothing in the background
    quiet.close()
    console = Console(client_config=config, engine=engine, settings=settings, recover_on_start=False)
    console.start()
    try:
        assert console.faults.worker.running
    finally:
        console.close()
    assert not console.faults.worker.running
    engine.dispose()
