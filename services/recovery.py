"""Crash recovery: interrupt runs whose owner stopped renewing their heartbeat, and remove their faults."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ExecutorClientError, HttpExecutorClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveredRun:
    """What recovery did for one orphaned run."""

    run_id: int
    fault_id: str | None
    fault_removed: bool
    detail: str


ClientFor = Callable[[str, str], HttpExecutorClient | None]


def _fault_id_for(run: storage.Run, client: HttpExecutorClient) -> str | None:
    """Return the id that removes a run's fault: recorded, derived (policy mode) or found by apply key.

    A process that died between its apply and the first progress report never recorded the Executor's apply
    id; the Executor lists each active fault with its idempotency key, which is the run's apply key.
    """
    if run.fault_id:
        return str(run.fault_id)
    if not run.apply_key:
        return None
    if run.api_mode == "policy":
        return client.policy_name_for(run.apply_key)
    try:
        active = client.list_active_faults()
    except ExecutorClientError as exc:
        logger.warning("recovery of run %s: cannot list the Executor's faults: %s", run.id, exc)
        return None
    return next(
        (fault.fault_id for fault in active if fault.raw.get("idempotency_key") == run.apply_key), None
    )


def recover_orphaned_runs(
    *,
    engine: Engine,
    client_for: ClientFor,
    lease_sec: float = 30.0,
    owner: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[RecoveredRun]:
    """Mark runs orphaned longer than `lease_sec` as interrupted and remove their faults from the Executor.

    A run is touched only through a compare-and-set on its heartbeat, so a run that another live process
    renewed in the meantime is left alone. `client_for(executor_url, api_mode)` gives the client that can
    remove a run's fault (None when there is none for that Executor: the run is still marked, and the note
    says so).
    """
    current = now()
    cutoff = current - timedelta(seconds=lease_sec)
    with Session(engine) as session:
        orphans = storage.orphaned_runs(session, lease_sec=lease_sec, now=current, exclude_owner=owner)
    results: list[RecoveredRun] = []
    for run in orphans:
        run_id = int(run.id)  # type: ignore[arg-type]
        reason = f"interrupted: owner {run.owner} stopped renewing its heartbeat"
        with Session(engine) as session:
            claimed = storage.mark_interrupted(
                session, run_id=run_id, reason=reason, now=current, only_if_heartbeat_before=cutoff
            )
        if not claimed:
            continue
        client = client_for(run.executor_url, run.api_mode)
        fault_id = _fault_id_for(run, client) if client is not None else run.fault_id
        removed, detail = False, "no fault id was recorded"
        if client is None:
            detail = f"no client for Executor {run.executor_url}; its fault expires by its duration"
        elif fault_id is not None:
            try:
                removed = client.halt(fault_id)
                detail = f"fault {fault_id} removed" if removed else f"fault {fault_id} was already gone"
            except ExecutorClientError as exc:
                detail = f"could not remove fault {fault_id}: {exc}"
                logger.warning("recovery of run %s: %s", run_id, detail)
        results.append(RecoveredRun(run_id=run_id, fault_id=fault_id, fault_removed=removed, detail=detail))
    return results
