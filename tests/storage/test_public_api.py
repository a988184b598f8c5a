"""The public surface of `storage` is exactly what `__all__` lists, and it all exists."""

from __future__ import annotations

import storage

EXPECTED = {
    "make_engine",
    "init_db",
    "default_database_url",
    "RunStatus",
    "RunWithEvents",
    "Run",
    "TimelinePoint",
    "LatencySample",
    "ClientEventRow",
    "EventCount",
    "BreakerTransition",
    "Campaign",
    "CampaignStatus",
    "campaign_record",
    "campaign_runs",
    "create_campaign",
    "finish_campaign",
    "get_campaign",
    "list_campaigns",
    "HealthSample",
    "RunDetail",
    "PHASE_CODES",
    "PHASE_FIELDS",
    "SAMPLE_DTYPE",
    "STORAGE_ERRORS",
    "DatabaseUrlError",
    "StorageUnavailableError",
    "describe_error",
    "describe_failure",
    "ensure_writable",
    "ACTIVE_STATUSES",
    "create_run",
    "mark_running",
    "set_fault_id",
    "heartbeat",
    "update_progress",
    "finish_run",
    "record_samples",
    "list_runs",
    "count_runs",
    "get_run",
    "get_run_with_events",
    "load_runs_for_comparison",
    "active_runs",
    "orphaned_runs",
    "mark_interrupted",
    "delete_run",
    "update_run_meta",
    "record_client_events",
    "record_breaker_transition",
    "record_health_sample",
    "client_event_series",
    "event_counts_per_bucket",
    "breaker_series",
    "health_series",
    "last_breaker_state",
    "runs_to_rows",
    "sample_phases",
    "samples_in_phase",
    "fault_minus_baseline",
    "runs_to_records",
    "run_record",
    "runs_to_csv",
    "RECORD_FIELDS",
    "distinct_values",
    "prune_telemetry",
    "redact_database_url",
}


def test_all_lists_the_public_api() -> None:
    assert set(storage.__all__) == EXPECTED
    assert all(hasattr(storage, name) for name in storage.__all__)


def test_run_status_values_are_lower_case() -> None:
    assert [status.value for status in storage.RunStatus] == [
        "queued",
        "running",
        "completed",
        "failed",
        "cancelled",
        "interrupted",
        "guardrail_stop",
    ]
    assert storage.RunStatus("running") is storage.RunStatus.RUNNING


def test_every_run_status_fits_the_status_column() -> None:
    length = storage.Run.__table__.c.status.type.length
    assert all(len(status.value) <= length for status in storage.RunStatus), length


def test_a_guardrail_stop_is_finished_not_active() -> None:
    assert storage.RunStatus.GUARDRAIL_STOP not in storage.ACTIVE_STATUSES
    assert storage.RunStatus.GUARDRAIL_STOP is not storage.RunStatus.CANCELLED
