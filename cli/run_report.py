"""What `boifi apply` prints at the end: the run's true outcome as an export record, and what is not stored.

Storage is read once more after the console closed; where it has not taken the run's end yet (or cannot be
read), the outcome the runner kept in memory fills the record in, and ``unstored`` says what storage is still
missing (``{"samples": 812, "summary": true}``; empty when everything is stored)::

    report = final_report(console, run_id, last_known=snapshot.run)
    print_json(report.document())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import storage
from cli.signals import call_within
from client import ApiMode
from client.intervals import Comparison
from storage import fault_minus_baseline
from storage.runs import SUMMARY_COUNT_KEYS, SUMMARY_FLOAT_KEYS
from storage.types import optional_float

if TYPE_CHECKING:
    from client import FaultPlan
    from services.console import Console
    from services.run_recording import RunOutcome

NOT_STOPPED = "interrupted: the run did not stop before the command exited"


@dataclass
class RunReport:
    """A run as `storage.run_record` shapes it, its stored timeline, and what storage does not have yet."""

    run: storage.Run
    timeline: list[dict[str, Any]] = field(default_factory=list)
    unstored: dict[str, Any] = field(default_factory=dict)
    storage_error: str | None = None  # why the last read of storage failed, if it did
    differences: list[Comparison] = field(default_factory=list)  # fault minus baseline, from stored samples

    @property
    def record(self) -> dict[str, Any]:
        return storage.run_record(self.run)

    def document(self) -> dict[str, Any]:
        """Return what ``--json`` prints: ``{"run": ..., "timeline": [...], "unstored": {...}}``."""
        return {"run": self.record, "timeline": self.timeline, "unstored": self.unstored}


def read_run(
    console: Console, run_id: int, *, with_timeline: bool
) -> tuple[storage.Run, list[dict[str, Any]]]:
    """Read run `run_id` (and its timeline points); a storage failure raises one of `STORAGE_ERRORS`."""
    from sqlmodel import Session

    if with_timeline:
        detail = read_detail(console, run_id)
        return detail.run, timeline_records(detail)
    with Session(console.engine) as session:
        run = session.get(storage.Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} vanished from storage")
        session.expunge(run)
        return run, []


def read_detail(console: Console, run_id: int) -> storage.RunDetail:
    """Read run `run_id` with its timeline and samples; a storage failure raises one of `STORAGE_ERRORS`."""
    from sqlmodel import Session

    with Session(console.engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    if detail is None:
        raise LookupError(f"run {run_id} vanished from storage")
    return detail


def timeline_records(detail: storage.RunDetail) -> list[dict[str, Any]]:
    """Return a run's stored timeline points as ``--json`` prints them."""
    return [point.model_dump(exclude={"id", "run_id"}) for point in detail.timeline]


def planned_run(console: Console, run_id: int, plan: FaultPlan) -> storage.Run:
    """Return the run as submitted, for when storage could not be read even once after the submit."""
    return storage.Run(
        id=run_id,
        created_at=datetime.now(UTC),
        status=storage.RunStatus.QUEUED,
        service=plan.service,
        api=plan.api,
        fault_type=plan.fault_type,
        percentage=plan.percentage,
        duration_seconds=plan.duration_seconds,
        plan=plan.model_dump(mode="json"),
        executor_url=console.executor_url,
        api_mode=ApiMode(console.runner.api_mode),
        apply_key="",
    )


def final_report(
    console: Console, run_id: int, *, last_known: storage.Run, exit_by: float | None = None
) -> RunReport:
    """Return the run's true outcome: storage's record, completed from memory by what storage lacks.

    With `exit_by` storage gets until then to answer; after it the report is made from memory alone.
    """
    report = RunReport(run=last_known)
    read: list[storage.RunDetail] = []
    try:
        if call_within(lambda: read.append(read_detail(console, run_id)), exit_by):
            report.run, report.timeline = read[0].run, timeline_records(read[0])
            report.differences = fault_minus_baseline(read[0].samples)
        else:
            report.storage_error = "storage did not answer in time"
    except storage.STORAGE_ERRORS as exc:
        report.storage_error = storage.describe_failure(console.engine.url, exc)
    backlog = console.runner.storage_backlog(run_id)
    stored_end = report.storage_error is None and report.run.status not in storage.ACTIVE_STATUSES
    if not stored_end:
        outcome = console.runner.outcome(run_id)
        if outcome is not None:
            _apply_outcome(report.run, outcome)
            report.timeline = _timeline_record(run_id, outcome.timeline)
        else:  # the worker never ended (closing gave up on it): recovery will record it as interrupted
            _set(report.run, status=storage.RunStatus.INTERRUPTED, error=NOT_STOPPED)
    if backlog.samples:
        report.unstored["samples"] = backlog.samples
    if backlog.events:
        report.unstored["events"] = backlog.events
    if backlog.summaries or not stored_end:
        report.unstored["summary"] = True
    return report


def _apply_outcome(run: storage.Run, outcome: RunOutcome) -> None:
    values: dict[str, Any] = {
        "status": storage.RunStatus(outcome.status),
        "finished_at": outcome.finished_at,
        "error": outcome.error,
        "error_class": outcome.error_class,
        "stop_reason": outcome.stop_reason,
    }
    if outcome.fault_id is not None:
        values["fault_id"] = outcome.fault_id
    if run.started_at is None:  # storage took the start, but no read saw it before storage failed
        values["started_at"] = outcome.started_at
    for key in SUMMARY_COUNT_KEYS:
        if outcome.summary.get(key) is not None:
            values[key] = int(outcome.summary[key])
    for key in SUMMARY_FLOAT_KEYS:
        if key in outcome.summary:
            values[key] = optional_float(outcome.summary[key])
    values.update(outcome.experiment)  # verdict, score, phases, ... as storage will keep them
    if "verdict" in outcome.experiment:
        values["verdict"] = outcome.verdict
    _set(run, **values)


def _timeline_record(run_id: int, timeline: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return timeline points as `read_run` returns the stored ones: the fields storage keeps."""
    points = (storage.TimelinePoint.model_validate({**point, "run_id": run_id}) for point in timeline)
    return [point.model_dump(exclude={"id", "run_id"}) for point in points]


def _set(run: storage.Run, **values: Any) -> None:
    for name, value in values.items():
        setattr(run, name, value)
