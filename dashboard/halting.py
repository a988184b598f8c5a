"""Halt faults and runs from the pages, through the runner that owns them wherever there is one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

import storage
from client import ExecutorClientError
from services.console import Console

# How long a Halt waits for the run's worker to remove its fault before the faults list is refreshed.
HALT_SETTLE_SEC = 2.0


def _fault_id_of(console: Console, run_id: int) -> str | None:
    with Session(console.engine) as session:
        run = session.get(storage.Run, run_id)
    return None if run is None else run.fault_id


def halt_fault(
    console: Console, fault_id: str, *, retiring: Sequence[Console] = (), api_mode: str | None = None
) -> str:
    """Halt one fault `console`'s poller listed, and say what happened.

    A fault of one of our runs is halted through that run's runner (so the run is recorded as cancelled,
    not failed): the current Console's, or a retired one still finishing runs on the same Executor.
    Otherwise the current client removes it in `api_mode` (None: its configured mode). The faults list is
    refreshed afterwards.
    """
    owners = [console, *(c for c in retiring if c.executor_url == console.executor_url)]
    try:
        for owner in owners:
            for run_id in owner.runner.active_run_ids():
                if _fault_id_of(owner, run_id) == fault_id:
                    owner.runner.cancel(run_id)
                    owner.runner.wait(run_id, timeout=HALT_SETTLE_SEC)
                    return f"halting run #{run_id} ({fault_id})"
        try:
            removed = console.client.halt(fault_id, api_mode=api_mode)
        except ExecutorClientError as exc:
            return f"could not halt {fault_id}: {exc}"
        return f"halted {fault_id}" if removed else f"{fault_id} was already gone"
    finally:
        console.faults.refresh()


def halt_run(console: Console, run: storage.Run) -> str:
    """Halt a run: cancel it in `console`, or stop its fault on the Executor if another process owns it."""
    if run.id is not None and console.runner.cancel(run.id):
        return f"halting run #{run.id}"
    if run.fault_id:
        return halt_fault(console, run.fault_id, api_mode=run.api_mode)
    return f"run #{run.id} is not running in this process and has no fault id yet"
