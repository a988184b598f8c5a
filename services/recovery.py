"""Crash recovery: interrupt runs whose owner stopped renewing their heartbeat, and remove their faults.

First it replays the spool files of processes that exited before storage took their runs' results
(services/spool_replay.py), so a run whose real outcome waited in a spool file gets that outcome, not
`interrupted`. It also removes faults that ended runs left behind: a direct-mode apply that timed out or lost
its connection never learnt its fault's id, and the client's own halt by idempotency key is best-effort (the
Executor may have been unreachable just then), so such a fault can inject until its duration runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ActiveFault, ApiMode, ExecutorClientError, HttpExecutorClient, redact_url
from services.spool_replay import replay_spool_files
from storage import RunStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveredRun:
    """What recovery did for one orphaned run."""

    run_id: int
    fault_id: str | None
    fault_removed: bool
    detail: str
    run_status: str = (
        RunStatus.INTERRUPTED.value
    )  # an ended run whose leftover fault was removed keeps its own


ClientFor = Callable[[str, ApiMode], HttpExecutorClient | None]
NO_CLIENT_DETAIL = "no client for Executor"  # how a run's detail starts when `client_for` gave none

# Ended runs that may have left a fault active (a completed run's fault ran its course).
LEFTOVER_STATUSES = (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.GUARDRAIL_STOP, RunStatus.INTERRUPTED)
_MAX_FAULT_DURATION_SEC = 3600  # FaultPlan.duration_seconds' upper bound


def _fault_id_for(run: storage.Run, client: HttpExecutorClient) -> str | None:
    """Return the id that removes a run's fault: recorded, derived (policy mode) or found by apply key.

    A process that died between its apply and the first progress report never recorded the Executor's apply
    id; the Executor lists each active fault with its idempotency key, which is the run's apply key.
    """
    if run.fault_id:
        return str(run.fault_id)
    if not run.apply_key:
        return None
    if run.api_mode is ApiMode.POLICY:
        return client.policy_name_for(run.apply_key)
    try:
        active = client.list_active_faults(api_mode=run.api_mode)
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
    spool_dir: Path | None = None,
) -> list[RecoveredRun]:
    """Replay spool files; mark runs orphaned longer than `lease_sec` interrupted and remove their faults.

    A run is touched only through a compare-and-set on its heartbeat, so a run that another live process
    renewed in the meantime is left alone, and so is a run whose results wait in a spool file (`spool_dir`,
    default `services.spool_files.default_spool_dir()`) that could not be replayed yet.
    `client_for(executor_url, api_mode)` gives the client that can remove a run's fault (None when there is
    none for that Executor: the run is still marked, and the note says so).
    """
    replay = replay_spool_files(engine=engine, directory=spool_dir)
    results = _replayed(engine, replay.stored)
    spooled = set(replay.kept) | set(replay.held)
    current = now()
    cutoff = current - timedelta(seconds=lease_sec)
    with Session(engine) as session:
        orphans = storage.orphaned_runs(session, lease_sec=lease_sec, now=current, exclude_owner=owner)
    for run in orphans:
        run_id = int(run.id)  # type: ignore[arg-type]
        if run_id in spooled:
            continue
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
            executor = redact_url(run.executor_url)
            detail = f"{NO_CLIENT_DETAIL} {executor}; its fault expires by its duration"
        elif fault_id is not None:
            try:
                removed = client.halt(fault_id, api_mode=run.api_mode)
                detail = f"fault {fault_id} removed" if removed else f"fault {fault_id} was already gone"
            except ExecutorClientError as exc:
                detail = f"could not remove fault {fault_id}: {exc}"
                logger.warning("recovery of run %s: %s", run_id, detail)
        results.append(RecoveredRun(run_id=run_id, fault_id=fault_id, fault_removed=removed, detail=detail))
    handled = {result.run_id for result in results} - set(replay.stored)
    results.extend(
        halt_leftover_faults(engine=engine, client_for=client_for, now=lambda: current, exclude=handled)
    )
    return results


def _replayed(engine: Engine, run_ids: Collection[int]) -> list[RecoveredRun]:
    """Say what replaying spool files stored: each run with the status it now has."""
    results = []
    for run_id in run_ids:
        with Session(engine) as session:
            run = session.get(storage.Run, run_id)
            status = RunStatus(run.status).value if run is not None else "deleted"
            fault_id = run.fault_id if run is not None else None
        logger.warning("recovery: stored the results of run %s kept in its spool file (%s)", run_id, status)
        results.append(
            RecoveredRun(
                run_id=run_id,
                fault_id=fault_id,
                fault_removed=False,
                detail="results stored from its spool file",
                run_status=status,
            )
        )
    return results


def _owns(run: storage.Run, fault: ActiveFault, client: HttpExecutorClient) -> bool:
    if run.fault_id and fault.fault_id == run.fault_id:
        return True
    if not run.apply_key:
        return False
    if run.api_mode is ApiMode.POLICY:
        return fault.fault_id == client.policy_name_for(run.apply_key)
    return fault.raw.get("idempotency_key") == run.apply_key


def halt_leftover_faults(
    *,
    engine: Engine,
    client_for: ClientFor,
    grace_sec: float = 300.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    exclude: Collection[int] = (),
) -> list[RecoveredRun]:
    """Remove faults still active on their Executor for runs that ended failed, cancelled or interrupted.

    Cheap and idempotent: one query for ended runs whose fault could still be active (created less than its
    duration plus `grace_sec` ago, which allows for a scheduled start), then, only for Executors with such
    runs, one listing of active faults each; a fault whose idempotency key (policy mode: name) or recorded
    id is a run's is halted. A halted fault is no longer listed, so running this again does nothing.
    Runs in `exclude` (those recovery just interrupted and cleaned up) are skipped.
    """
    current = now()
    since = current - timedelta(seconds=_MAX_FAULT_DURATION_SEC + grace_sec)
    with Session(engine) as session:
        ended = storage.list_runs(session, status=list(LEFTOVER_STATUSES), since=since, limit=1000)
    candidates: dict[tuple[str, ApiMode], list[storage.Run]] = {}
    for run in ended:
        if run.id in exclude:
            continue
        if run.created_at + timedelta(seconds=run.duration_seconds + grace_sec) >= current:
            candidates.setdefault((run.executor_url, run.api_mode), []).append(run)
    results: list[RecoveredRun] = []
    for (executor_url, api_mode), runs in candidates.items():
        client = client_for(executor_url, api_mode)
        if client is None:
            continue
        try:
            active = client.list_active_faults(api_mode=api_mode)
        except ExecutorClientError as exc:
            logger.warning("recovery: cannot list the faults of %s: %s", redact_url(executor_url), exc)
            continue
        for run in runs:
            for fault in (fault for fault in active if _owns(run, fault, client)):
                results.append(_halt_leftover(run, fault.fault_id, client))
    return results


def _halt_leftover(run: storage.Run, fault_id: str, client: HttpExecutorClient) -> RecoveredRun:
    status = RunStatus(run.status).value
    try:
        removed = client.halt(fault_id, api_mode=run.api_mode)
        detail = f"{status} run's fault {fault_id} was still active: " + ("removed" if removed else "gone")
    except ExecutorClientError as exc:
        removed, detail = (
            False,
            f"{status} run's fault {fault_id} is still active; could not remove it: {exc}",
        )
        logger.warning("recovery of run %s: %s", run.id, detail)
    return RecoveredRun(
        run_id=int(run.id),  # type: ignore[arg-type]
        fault_id=fault_id,
        fault_removed=removed,
        detail=detail,
        run_status=status,
    )
