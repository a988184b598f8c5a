"""Read runs for the dashboard, the CLI and recovery: filtered lists, details, comparisons, orphans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import String, cast, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from client.hypothesis import ExperimentVerdict
from storage.models import ACTIVE_STATUSES, LatencySample, Run, RunDetail, RunStatus, TimelinePoint
from storage.samples import unpack_chunks
from storage.types import as_utc, detached, utc_now

Many = str | Sequence[str] | None
Verdicts = ExperimentVerdict | str | Sequence[ExperimentVerdict | str] | None


def _as_list(value: Any) -> list[Any] | None:
    # None and an empty selection (a cleared multiselect) both mean "any".
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value) or None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_conditions(
    *,
    service: Many,
    api: Many,
    fault_type: Many,
    status: RunStatus | Sequence[RunStatus] | None,
    since: datetime | None,
    until: datetime | None,
    search: str | None,
    verdict: Verdicts = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, wanted in ((Run.service, service), (Run.api, api), (Run.fault_type, fault_type)):
        values = _as_list(wanted)
        if values is not None:
            conditions.append(col(column).in_([str(getattr(v, "value", v)) for v in values]))
    statuses = _as_list(status)
    if statuses is not None:
        conditions.append(col(Run.status).in_([RunStatus(s) for s in statuses]))
    verdicts = _as_list(verdict)
    if verdicts is not None:
        conditions.append(col(Run.verdict).in_([_verdict(v) for v in verdicts]))
    if since is not None:
        conditions.append(col(Run.created_at) >= as_utc(since))
    if until is not None:
        conditions.append(col(Run.created_at) < as_utc(until))
    if search and search.strip():
        pattern = f"%{_escape_like(search.strip())}%"
        searchable = (
            col(Run.service),
            col(Run.api),
            col(Run.fault_type),
            col(Run.notes),
            col(Run.apply_key),
            col(Run.fault_id),
            col(Run.error),
            col(Run.verdict),
            cast(col(Run.labels), String),
        )
        matches: list[ColumnElement[bool]] = [column.ilike(pattern, escape="\\") for column in searchable]
        if search.strip().isdigit():
            matches.append(col(Run.id) == int(search.strip()))
        conditions.append(or_(*matches))
    return conditions


def _verdict(value: ExperimentVerdict | str) -> ExperimentVerdict:
    try:
        return ExperimentVerdict(value)
    except ValueError:
        known = ", ".join(v.value for v in ExperimentVerdict)
        raise ValueError(f"verdict: {value!r} is not one of {known}") from None


def list_runs(
    session: Session,
    *,
    service: Many = None,
    api: Many = None,
    fault_type: Many = None,
    status: RunStatus | Sequence[RunStatus] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    verdict: Verdicts = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Run]:
    """Return runs matching every given filter, newest first (`since` ≤ created_at < `until`).

    Each of service, api, fault_type, status and verdict takes one value or a list (any of them; None or an
    empty list means no filter; a verdict that is no `ExperimentVerdict` value raises a ValueError naming
    the field). `search` matches service, api, fault type, notes, labels, apply key, fault id, error,
    verdict, or the run id.
    """
    conditions = _run_conditions(
        service=service,
        api=api,
        fault_type=fault_type,
        status=status,
        since=since,
        until=until,
        search=search,
        verdict=verdict,
    )
    statement = (
        select(Run)
        .where(*conditions)
        .order_by(col(Run.created_at).desc(), col(Run.id).desc())
        .offset(offset)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return detached(session, session.exec(statement).all())


def count_runs(
    session: Session,
    *,
    service: Many = None,
    api: Many = None,
    fault_type: Many = None,
    status: RunStatus | Sequence[RunStatus] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    verdict: Verdicts = None,
) -> int:
    """Return how many runs match the filters of `list_runs`."""
    conditions = _run_conditions(
        service=service,
        api=api,
        fault_type=fault_type,
        status=status,
        since=since,
        until=until,
        search=search,
        verdict=verdict,
    )
    statement: SelectOfScalar[int] = select(func.count()).select_from(Run).where(*conditions)
    return int(session.exec(statement).one())


def _timeline(session: Session, run_id: int) -> list[TimelinePoint]:
    statement = (
        select(TimelinePoint)
        .where(col(TimelinePoint.run_id) == run_id)
        .order_by(col(TimelinePoint.t_s), col(TimelinePoint.id))
    )
    return list(session.exec(statement).all())


def _samples(session: Session, run_id: int) -> np.ndarray:
    statement = (
        select(LatencySample)
        .where(col(LatencySample.run_id) == run_id)
        .order_by(col(LatencySample.chunk_index))
    )
    return unpack_chunks(
        (
            chunk.sample_count,
            chunk.offset_ms,
            chunk.latency_ms,
            chunk.status_code,
            chunk.affected,
            chunk.phase,
        )
        for chunk in session.exec(statement).all()
    )


def get_run(session: Session, *, run_id: int) -> RunDetail | None:
    """Return a run with its timeline and samples (each with its phase), or None if there is no such run."""
    run = session.get(Run, run_id, populate_existing=True)
    if run is None:
        return None
    timeline = _timeline(session, run_id)
    samples = _samples(session, run_id)
    detached(session, [run, *timeline])
    return RunDetail(run=run, timeline=timeline, samples=samples)


def load_runs_for_comparison(session: Session, *, run_ids: Sequence[int]) -> list[RunDetail]:
    """Return the details of `run_ids` in the order given, skipping ids that do not exist."""
    details = []
    for run_id in dict.fromkeys(run_ids):
        detail = get_run(session, run_id=run_id)
        if detail is not None:
            details.append(detail)
    return details


def active_runs(session: Session) -> list[Run]:
    """Return queued and running runs, oldest first."""
    statement = (
        select(Run)
        .where(col(Run.status).in_(ACTIVE_STATUSES))
        .order_by(col(Run.created_at), col(Run.id))
        .execution_options(populate_existing=True)
    )
    return detached(session, session.exec(statement).all())


def orphaned_runs(
    session: Session,
    *,
    lease_sec: float = 30.0,
    now: datetime | None = None,
    exclude_owner: str | None = None,
) -> list[Run]:
    """Return active runs whose heartbeat (or creation, if none) is older than `now - lease_sec`."""
    cutoff = (as_utc(now) if now is not None else utc_now()) - timedelta(seconds=lease_sec)
    conditions: list[ColumnElement[bool]] = [
        col(Run.status).in_(ACTIVE_STATUSES),
        or_(
            col(Run.heartbeat_at) < cutoff,
            col(Run.heartbeat_at).is_(None) & (col(Run.created_at) < cutoff),
        ),
    ]
    if exclude_owner is not None:
        conditions.append(col(Run.owner) != exclude_owner)
    statement = (
        select(Run)
        .where(*conditions)
        .order_by(col(Run.created_at), col(Run.id))
        .execution_options(populate_existing=True)
    )
    return detached(session, session.exec(statement).all())


def distinct_values(session: Session) -> dict[str, list[str]]:
    """Return the services, apis, fault types, executor URLs and labels in use, sorted, for filter widgets."""
    result: dict[str, list[str]] = {}
    for key, column in (
        ("services", Run.service),
        ("apis", Run.api),
        ("fault_types", Run.fault_type),
        ("executor_urls", Run.executor_url),
    ):
        values = session.exec(select(column).distinct()).all()
        result[key] = sorted(str(value) for value in values if value)
    labels: set[str] = set()
    for run_labels in session.exec(select(Run.labels)).all():
        labels.update(str(label) for label in run_labels or [])
    result["labels"] = sorted(labels)
    return result
