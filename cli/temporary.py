"""Temporary Executors: the ones `boifi apply --embedded` starts inside its own process, for one run.

Such an Executor lives in the process that owns the run and ends with it, and its faults end with it (they
are held in its memory). So once that process is gone there is nothing to recover on it, and trying only
waits for a connection that is refused by design. `boifi apply --embedded` marks its runs' owner (the id of
the process, which storage keeps with each run) with `TEMPORARY_OWNER_SUFFIX`; `boifi runs recover` asks
no Executor that only such runs used.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `boifi --help` must not load storage
    from sqlalchemy.engine import Engine

__all__ = [
    "TEMPORARY_DETAIL",
    "TEMPORARY_OWNER_SUFFIX",
    "temporary_executor_urls",
    "temporary_owner",
    "temporary_runs",
]

TEMPORARY_OWNER_SUFFIX = ":embedded"  # a run owner's id ends with it when its Executor ran in-process
TEMPORARY_DETAIL = "its Executor was temporary (boifi apply --embedded) and ended with it, fault and all"


def temporary_owner() -> str:
    """Return this process's owner id for runs on the Executor it runs itself (`--embedded`)."""
    from services.runner import make_owner_id

    return make_owner_id() + TEMPORARY_OWNER_SUFFIX


def temporary_executor_urls(engine: Engine) -> frozenset[str]:
    """Return the Executor URLs that only temporary Executors had, as the runs on them store it.

    A URL that any other run used too (a later real Executor on the same port) is not temporary. One row
    per process and Executor is read, not one per run.
    """
    from sqlmodel import Session, select

    import storage

    with Session(engine) as session:
        pairs = session.exec(select(storage.Run.executor_url, storage.Run.owner).distinct()).all()
    temporary = {url for url, owner in pairs if owner.endswith(TEMPORARY_OWNER_SUFFIX)}
    return frozenset(temporary - {url for url, owner in pairs if not owner.endswith(TEMPORARY_OWNER_SUFFIX)})


def temporary_runs(engine: Engine, run_ids: Collection[int]) -> frozenset[int]:
    """Return those of `run_ids` whose Executor was temporary (it ended with the process that owned them)."""
    from sqlmodel import Session, col, select

    import storage

    if not run_ids:
        return frozenset()
    with Session(engine) as session:
        found = session.exec(
            select(storage.Run.id).where(
                col(storage.Run.id).in_(list(run_ids)),
                col(storage.Run.owner).endswith(TEMPORARY_OWNER_SUFFIX),
            )
        ).all()
    return frozenset(int(run_id) for run_id in found if run_id is not None)
