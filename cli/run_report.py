"""The run `boifi apply` reports on: read from storage, or as submitted while storage cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import storage
from client import ApiMode

if TYPE_CHECKING:
    from client import FaultPlan
    from services.console import Console


def read_run(
    console: Console, run_id: int, *, with_timeline: bool
) -> tuple[storage.Run, list[dict[str, Any]]]:
    """Read run `run_id` (and its timeline points); a storage failure raises one of `STORAGE_ERRORS`."""
    from sqlmodel import Session

    with Session(console.engine) as session:
        if not with_timeline:
            run = session.get(storage.Run, run_id)
            if run is None:
                raise LookupError(f"run {run_id} vanished from storage")
            session.expunge(run)
            return run, []
        detail = storage.get_run(session, run_id=run_id)
        if detail is None:
            raise LookupError(f"run {run_id} vanished from storage")
        timeline = [point.model_dump(exclude={"id", "run_id"}) for point in detail.timeline]
        return detail.run, timeline


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
