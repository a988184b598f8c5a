"""Write the lifecycle of a run: create, start, heartbeat, progress, finish, interrupt, annotate, delete.

Every function commits its own write. Updating a run that no longer exists (deleted meanwhile) logs a warning
and does nothing, so a worker thread finishing a run the user deleted does not crash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, update
from sqlmodel import Session, col, select

from client.hypothesis import ExperimentVerdict, Phase
from client.models import ApiMode, FaultType, enum_or_none
from client.redaction import redact_url
from storage.models import ACTIVE_STATUSES, ClientEventRow, LatencySample, Run, RunStatus, TimelinePoint
from storage.samples import pack_chunks, to_sample_array
from storage.types import as_utc, json_safe, optional_float, optional_int, plain_str, utc_now

logger = logging.getLogger(__name__)

SUMMARY_FLOAT_KEYS = (
    "error_rate",
    "success_rate",
    "avg_latency_ms",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "max_latency_ms",
)
SUMMARY_COUNT_KEYS = ("request_count", "affected_count")
TIMELINE_INT_KEYS = ("request_count", "affected_count", "error_count")
TIMELINE_FLOAT_KEYS = ("avg_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms")
# What an experiment adds to a run (client.hypothesis): the columns of revision 0009, by name.
EXPERIMENT_KEYS = ("verdict", "severity_score", "time_to_recovery_s", "phases", "deviations", "target")


def create_run(
    session: Session,
    *,
    plan: Mapping[str, Any],
    executor_url: str,
    api_mode: ApiMode | str,
    apply_key: str,
    owner: str,
    labels: Sequence[str] = (),
    notes: str = "",
    guardrail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    launched_by: str | None = None,
    campaign_id: int | None = None,
    trial_number: int | None = None,
) -> Run:
    """Record a queued run for `plan` (written before the apply starts) and return it with its id.

    A campaign's trial gives its `campaign_id` and Optuna `trial_number`.
    """
    created_at = as_utc(now) if now is not None else utc_now()
    stored_plan = json_safe(dict(plan))
    run = Run(
        created_at=created_at,
        heartbeat_at=created_at,
        owner=owner,
        status=RunStatus.QUEUED,
        service=str(stored_plan.get("service") or ""),
        api=str(stored_plan.get("api") or ""),
        fault_type=enum_or_none(FaultType, plain_str(stored_plan.get("fault_type"))),
        percentage=int(stored_plan.get("percentage") or 0),
        duration_seconds=int(stored_plan.get("duration_seconds") or 0),
        plan=stored_plan,
        executor_url=redact_url(executor_url),  # a password in the URL is never stored
        api_mode=ApiMode(plain_str(api_mode) or ""),
        apply_key=apply_key,
        labels=[str(label) for label in labels],
        notes=notes,
        guardrail=json_safe(dict(guardrail)) if guardrail is not None else None,
        launched_by=launched_by[:255] if launched_by else None,
        campaign_id=campaign_id,
        trial_number=trial_number,
    )
    session.add(run)
    session.commit()
    session.refresh(run)
    session.expunge(run)  # a snapshot: later commits in this session must not expire it
    return run


def _update_run(session: Session, run_id: int, values: Mapping[str, Any], *, action: str) -> bool:
    result = session.exec(update(Run).where(col(Run.id) == run_id).values(**values))
    session.commit()
    if result.rowcount == 0:
        logger.warning("cannot %s run %s: it does not exist", action, run_id)
        return False
    return True


def mark_running(
    session: Session, *, run_id: int, now: datetime | None = None, fault_id: str | None = None
) -> None:
    """Mark a queued run as running (a run already cancelled or finished is left alone)."""
    moment = as_utc(now) if now is not None else utc_now()
    values: dict[str, Any] = {"status": RunStatus.RUNNING, "started_at": moment, "heartbeat_at": moment}
    if fault_id is not None:
        values["fault_id"] = fault_id
    statement = (
        update(Run).where(col(Run.id) == run_id, col(Run.status).in_(ACTIVE_STATUSES)).values(**values)
    )
    result = session.exec(statement)
    session.commit()
    if result.rowcount == 0:
        logger.warning("run %s was not marked running: it is missing or no longer active", run_id)


def set_fault_id(session: Session, *, run_id: int, fault_id: str) -> None:
    """Record a run's Executor apply id (or policy name), so that it can be halted or cleaned up."""
    _update_run(session, run_id, {"fault_id": fault_id}, action="set the fault id of")


def heartbeat(session: Session, *, run_ids: Sequence[int], owner: str, now: datetime | None = None) -> None:
    """Renew the lease of the active runs in `run_ids` that `owner` owns."""
    if not run_ids:
        return
    moment = as_utc(now) if now is not None else utc_now()
    session.exec(
        update(Run)
        .where(col(Run.id).in_(list(run_ids)), col(Run.owner) == owner, col(Run.status).in_(ACTIVE_STATUSES))
        .values(heartbeat_at=moment)
    )
    session.commit()


def _summary_values(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in SUMMARY_COUNT_KEYS:
        if summary and summary.get(key) is not None:
            values[key] = int(summary[key])
    for key in SUMMARY_FLOAT_KEYS:
        if summary and key in summary:
            values[key] = optional_float(summary[key])
    return values


def _experiment_values(experiment: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the run columns of the `EXPERIMENT_KEYS` in `experiment` (absent ones stay as stored)."""
    if not experiment:
        return {}
    values: dict[str, Any] = {}
    if "verdict" in experiment:
        values["verdict"] = enum_or_none(ExperimentVerdict, plain_str(experiment["verdict"]))
        if experiment["verdict"] is not None and values["verdict"] is None:
            raise ValueError(
                f"verdict: {experiment['verdict']!r} is not one of {[v.value for v in ExperimentVerdict]}"
            )
    for key in ("severity_score", "time_to_recovery_s"):
        if key in experiment:
            values[key] = optional_float(experiment[key])
    for key in ("phases", "deviations"):
        if key in experiment:
            values[key] = json_safe(list(experiment[key] or []))
    if "target" in experiment:
        values["target"] = json_safe(dict(experiment["target"])) if experiment["target"] else None
    return values


def _timeline_rows(run_id: int, timeline: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for point in timeline:
        row: dict[str, Any] = {
            "run_id": run_id,
            "t_s": float(point["t_s"]),
            "phase": Phase(plain_str(point.get("phase")) or Phase.FAULT),
        }
        row.update({key: optional_int(point.get(key)) for key in TIMELINE_INT_KEYS})
        row.update({key: optional_float(point.get(key)) for key in TIMELINE_FLOAT_KEYS})
        rows.append(row)
    return rows


def _replace_timeline(session: Session, run_id: int, timeline: Sequence[Mapping[str, Any]]) -> None:
    session.exec(delete(TimelinePoint).where(col(TimelinePoint.run_id) == run_id))
    rows = _timeline_rows(run_id, timeline)
    if rows:
        session.exec(insert(TimelinePoint), params=rows)


def _run_exists(session: Session, run_id: int) -> bool:
    return session.exec(select(Run.id).where(col(Run.id) == run_id)).first() is not None


def update_progress(
    session: Session,
    *,
    run_id: int,
    summary: Mapping[str, Any],
    timeline: Sequence[Mapping[str, Any]],
    experiment: Mapping[str, Any] | None = None,
) -> None:
    """Store a running run's summary so far and replace its timeline with `timeline` (points with a phase).

    `experiment` holds any of `EXPERIMENT_KEYS` known so far (the phases so far, typically); only the keys
    given are written.
    """
    if not _run_exists(session, run_id):
        logger.warning("cannot update progress of run %s: it does not exist", run_id)
        return
    values = _summary_values(summary) | _experiment_values(experiment)
    if values:
        session.exec(update(Run).where(col(Run.id) == run_id).values(**values))
    _replace_timeline(session, run_id, timeline)
    session.commit()


def finish_run(
    session: Session,
    *,
    run_id: int,
    status: RunStatus,
    summary: Mapping[str, Any] | None = None,
    timeline: Sequence[Mapping[str, Any]] = (),
    samples: Any = (),
    error: str | None = None,
    error_class: str | None = None,
    stop_reason: str | None = None,
    fault_id: str | None = None,
    now: datetime | None = None,
    experiment: Mapping[str, Any] | None = None,
) -> None:
    """Finalise a run in one transaction: status, end time, summary, timeline and samples (if given), error.

    `summary` holds the fault phase's measures; `experiment` the `EXPERIMENT_KEYS` (verdict, severity score,
    recovery time, `PhaseSummary` dumps, `Deviation` dumps, `TargetHits` dump), of which only those given
    are written. Samples may carry their phase (see `storage.samples.to_sample_array`). Given samples replace
    the run's stored ones, as a given timeline replaces its timeline, so finishing a run twice with the same
    values (a replayed write) stores the same run once.
    """
    if not _run_exists(session, run_id):
        logger.warning("cannot finish run %s: it does not exist", run_id)
        return
    values = _summary_values(summary) | _experiment_values(experiment)
    values.update(
        status=RunStatus(status),
        finished_at=as_utc(now) if now is not None else utc_now(),
        error=error,
        error_class=error_class,
        stop_reason=stop_reason,
    )
    if fault_id is not None:
        values["fault_id"] = fault_id
    session.exec(update(Run).where(col(Run.id) == run_id).values(**values))
    if timeline:
        _replace_timeline(session, run_id, timeline)
    array = to_sample_array(samples)
    if array.shape[0]:
        session.exec(delete(LatencySample).where(col(LatencySample.run_id) == run_id))
        _insert_samples(session, run_id, array)
    session.commit()


def _insert_samples(session: Session, run_id: int, samples: Any) -> int:
    array = to_sample_array(samples)
    if array.shape[0] == 0:
        return 0
    last = session.exec(
        select(func.max(LatencySample.chunk_index)).where(col(LatencySample.run_id) == run_id)
    ).one()
    first_chunk_index = 0 if last is None else int(last) + 1
    session.exec(
        insert(LatencySample), params=pack_chunks(run_id, array, first_chunk_index=first_chunk_index)
    )
    return int(array.shape[0])


def record_samples(session: Session, *, run_id: int, samples: Any) -> int:
    """Append ``(offset_ms, latency_ms, status_code, affected[, phase])`` rows to a run; return how many."""
    if not _run_exists(session, run_id):
        logger.warning("cannot record samples of run %s: it does not exist", run_id)
        return 0
    count = _insert_samples(session, run_id, samples)
    session.commit()
    return count


def mark_interrupted(
    session: Session,
    *,
    run_id: int,
    reason: str,
    now: datetime | None = None,
    only_if_heartbeat_before: datetime | None = None,
) -> bool:
    """Mark an active run interrupted; with `only_if_heartbeat_before`, only if its lease is still that old.

    The check and the update are one statement (compare-and-set), so a run whose owner renewed its heartbeat
    in the meantime is never touched. Return True if the run was updated.
    """
    conditions = [col(Run.id) == run_id, col(Run.status).in_(ACTIVE_STATUSES)]
    if only_if_heartbeat_before is not None:
        cutoff = as_utc(only_if_heartbeat_before)
        conditions.append(
            or_(
                col(Run.heartbeat_at) < cutoff,
                col(Run.heartbeat_at).is_(None) & (col(Run.created_at) < cutoff),
            )
        )
    result = session.exec(
        update(Run)
        .where(*conditions)
        .values(
            status=RunStatus.INTERRUPTED,
            finished_at=as_utc(now) if now is not None else utc_now(),
            error=reason,
            error_class="Interrupted",
        )
    )
    session.commit()
    return result.rowcount == 1


def update_run_meta(
    session: Session, *, run_id: int, labels: Sequence[str] | None = None, notes: str | None = None
) -> None:
    """Replace a run's labels and/or notes (None leaves that field as it is)."""
    values: dict[str, Any] = {}
    if labels is not None:
        values["labels"] = [str(label) for label in labels]
    if notes is not None:
        values["notes"] = notes
    if values:
        _update_run(session, run_id, values, action="annotate")


def delete_run(session: Session, *, run_id: int) -> bool:
    """Delete a run with its timeline and samples (its client events stay, unlinked); True if it existed."""
    session.exec(delete(TimelinePoint).where(col(TimelinePoint.run_id) == run_id))
    session.exec(delete(LatencySample).where(col(LatencySample.run_id) == run_id))
    session.exec(update(ClientEventRow).where(col(ClientEventRow.run_id) == run_id).values(run_id=None))
    result = session.exec(delete(Run).where(col(Run.id) == run_id))
    session.commit()
    return result.rowcount == 1
