"""Replay spool files left by a process that exited before storage took its runs' writes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from services.pending_writes import fold, in_order
from services.spool_files import SpoolFile, database_key, default_spool_dir, run_id_of, spool_paths

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpoolReplay:
    """What replaying spool files did: the runs stored, kept (storage refused) and held by a live process."""

    stored: tuple[int, ...] = ()
    kept: tuple[int, ...] = ()
    held: tuple[int, ...] = ()


def replay_spool_files(*, engine: Engine, directory: Path | None = None) -> SpoolReplay:
    """Store the spool files of `engine`'s database that no live process holds, and delete them."""
    stored: list[int] = []
    kept: list[int] = []
    held: list[int] = []
    spool_dir = directory if directory is not None else default_spool_dir()
    for path in spool_paths(spool_dir, database_key(engine)):
        run_id = run_id_of(path)
        if run_id is None:
            continue
        spool_file = SpoolFile.claim(path)
        if spool_file is None:
            held.append(run_id)
            continue
        try:
            with Session(engine) as session:
                for write in in_order(fold(spool_file.read())):
                    write.store(session)
        except Exception as exc:
            logger.warning("spool file %s not replayed yet: %s", path, storage.describe_error(exc))
            kept.append(run_id)
            spool_file.release()
        else:
            stored.append(run_id)
            spool_file.remove()
    return SpoolReplay(stored=tuple(stored), kept=tuple(kept), held=tuple(held))
