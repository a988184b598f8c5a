"""Persistence of BOIFI Console: SQLModel tables, engine factory, migrations and the queries the UI needs.

Example::

    engine = make_engine()          # BOIFI_DATABASE_URL, or a SQLite file in the user's data directory
    init_db(engine)                 # create or upgrade the schema (Alembic, programmatic)
    with Session(engine) as session:
        runs = list_runs(session, service="payment", status=RunStatus.COMPLETED, limit=50)

Functions take a `sqlmodel.Session` first and keyword-only arguments, commit their own writes, and speak
timezone-aware UTC datetimes. The SQL is portable (SQLite by default, PostgreSQL through its URL).
"""

from __future__ import annotations

from storage.campaigns import (
    Campaign,
    CampaignStatus,
    campaign_record,
    campaign_runs,
    create_campaign,
    finish_campaign,
    get_campaign,
    list_campaigns,
)
from storage.engine import default_database_url, ensure_writable, init_db, make_engine
from storage.events import (
    breaker_series,
    client_event_series,
    event_counts_per_bucket,
    health_series,
    last_breaker_state,
    prune_telemetry,
    record_breaker_transition,
    record_client_events,
    record_health_sample,
)
from storage.exports import (
    PHASE_FIELDS,
    RECORD_FIELDS,
    run_record,
    runs_to_csv,
    runs_to_records,
    runs_to_rows,
)
from storage.failures import (
    STORAGE_ERRORS,
    DatabaseUrlError,
    StorageUnavailableError,
    describe_error,
    describe_failure,
)
from storage.models import (
    ACTIVE_STATUSES,
    PHASE_CODES,
    SAMPLE_DTYPE,
    BreakerTransition,
    ClientEventRow,
    EventCount,
    HealthSample,
    LatencySample,
    Run,
    RunDetail,
    RunStatus,
    TimelinePoint,
)
from storage.queries import (
    active_runs,
    count_runs,
    distinct_values,
    get_run,
    list_runs,
    load_runs_for_comparison,
    orphaned_runs,
)
from storage.redacted import redact_database_url
from storage.run_events import RunWithEvents, get_run_with_events
from storage.runs import (
    create_run,
    delete_run,
    finish_run,
    heartbeat,
    mark_interrupted,
    mark_running,
    record_samples,
    set_fault_id,
    update_progress,
    update_run_meta,
)
from storage.samples import fault_minus_baseline, sample_phases, samples_in_phase

__all__ = [
    "ACTIVE_STATUSES",
    "PHASE_CODES",
    "PHASE_FIELDS",
    "RECORD_FIELDS",
    "SAMPLE_DTYPE",
    "STORAGE_ERRORS",
    "BreakerTransition",
    "Campaign",
    "CampaignStatus",
    "ClientEventRow",
    "DatabaseUrlError",
    "EventCount",
    "HealthSample",
    "LatencySample",
    "Run",
    "RunDetail",
    "RunStatus",
    "RunWithEvents",
    "StorageUnavailableError",
    "TimelinePoint",
    "active_runs",
    "breaker_series",
    "campaign_record",
    "campaign_runs",
    "client_event_series",
    "count_runs",
    "create_campaign",
    "create_run",
    "default_database_url",
    "delete_run",
    "describe_error",
    "describe_failure",
    "distinct_values",
    "ensure_writable",
    "event_counts_per_bucket",
    "fault_minus_baseline",
    "finish_campaign",
    "finish_run",
    "get_campaign",
    "get_run",
    "get_run_with_events",
    "health_series",
    "heartbeat",
    "init_db",
    "last_breaker_state",
    "list_campaigns",
    "list_runs",
    "load_runs_for_comparison",
    "make_engine",
    "mark_interrupted",
    "mark_running",
    "orphaned_runs",
    "prune_telemetry",
    "record_breaker_transition",
    "record_client_events",
    "record_health_sample",
    "record_samples",
    "redact_database_url",
    "run_record",
    "runs_to_csv",
    "runs_to_records",
    "runs_to_rows",
    "sample_phases",
    "samples_in_phase",
    "set_fault_id",
    "update_progress",
    "update_run_meta",
]
