"""The storage writes of a run that may have to wait: what each holds, how it is stored, how it reads as JSON.

A run's writes are its start, its fault id, its progress (summary, timeline and phases so far) and its finish
(status, final summary, timeline, samples with their phase, and the experiment's verdict, score and phases).
Each is idempotent: storing it twice stores the run once, so a write that is retried, or replayed from a
spool file after a crash, is stored exactly once in effect. A later write of a kind replaces the earlier one
waiting (only the newest progress matters), and they are stored in `WRITE_ORDER`, the order of a run's life,
the finish last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

import storage
from storage import RunStatus
from storage.types import json_safe


class WriteKind(StrEnum):
    """What a pending write stores."""

    START = "start"
    FAULT_ID = "fault_id"
    PROGRESS = "progress"
    FINISH = "finish"


WRITE_ORDER = (WriteKind.START, WriteKind.FAULT_ID, WriteKind.PROGRESS, WriteKind.FINISH)


@dataclass(frozen=True)
class PendingWrite:
    """One write of one run, held as JSON-safe values (datetimes as ISO 8601 text)."""

    kind: WriteKind
    run_id: int
    values: Mapping[str, Any]

    @property
    def sample_count(self) -> int:
        return len(self.values.get("samples") or ())

    @property
    def point_count(self) -> int:
        return len(self.values.get("timeline") or ())

    @property
    def size(self) -> int:
        """How many items this write keeps in memory: one, plus its samples and timeline points."""
        return 1 + self.sample_count + self.point_count

    def to_json(self) -> str:
        """Return this write as one line of JSON."""
        return json.dumps({"kind": self.kind.value, "run_id": self.run_id, "values": dict(self.values)})

    @classmethod
    def from_json(cls, line: str) -> PendingWrite:
        """Read a write from a line `to_json` wrote."""
        data = json.loads(line)
        return cls(kind=WriteKind(data["kind"]), run_id=int(data["run_id"]), values=data["values"])

    def store(self, session: Session) -> None:
        """Write this to storage through `session` (each storage function commits its own write)."""
        values = self.values
        if self.kind is WriteKind.START:
            storage.mark_running(
                session, run_id=self.run_id, now=_moment(values["at"]), fault_id=values.get("fault_id")
            )
        elif self.kind is WriteKind.FAULT_ID:
            storage.set_fault_id(session, run_id=self.run_id, fault_id=values["fault_id"])
        elif self.kind is WriteKind.PROGRESS:
            storage.update_progress(
                session,
                run_id=self.run_id,
                summary=values["summary"],
                timeline=values["timeline"],
                experiment=values.get("experiment"),
            )
        else:
            storage.finish_run(
                session,
                run_id=self.run_id,
                status=RunStatus(values["status"]),
                summary=values.get("summary"),
                timeline=values.get("timeline") or (),
                samples=values.get("samples") or (),
                error=values.get("error"),
                error_class=values.get("error_class"),
                stop_reason=values.get("stop_reason"),
                fault_id=values.get("fault_id"),
                now=_moment(values["at"]),
                experiment=values.get("experiment"),  # None in a spool file of an older version
            )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def start_write(run_id: int, *, at: datetime, fault_id: str | None) -> PendingWrite:
    """Return the write that marks a run running."""
    return PendingWrite(WriteKind.START, run_id, {"at": at.isoformat(), "fault_id": fault_id})


def fault_id_write(run_id: int, fault_id: str) -> PendingWrite:
    """Return the write that records a run's Executor apply id (or policy name)."""
    return PendingWrite(WriteKind.FAULT_ID, run_id, {"fault_id": fault_id})


def progress_write(
    run_id: int,
    *,
    summary: Mapping[str, Any],
    timeline: Sequence[Mapping[str, Any]],
    experiment: Mapping[str, Any] | None = None,
) -> PendingWrite:
    """Return the write that stores a running run's summary, timeline and (in `experiment`) phases so far."""
    return PendingWrite(
        WriteKind.PROGRESS,
        run_id,
        {
            "summary": dict(summary),
            "timeline": [dict(p) for p in timeline],
            "experiment": json_safe(dict(experiment)) if experiment is not None else None,
        },
    )


def finish_write(
    run_id: int,
    *,
    status: RunStatus,
    at: datetime,
    summary: Mapping[str, Any] | None = None,
    timeline: Sequence[Mapping[str, Any]] = (),
    samples: Iterable[Sequence[Any]] = (),
    error: str | None = None,
    error_class: str | None = None,
    stop_reason: str | None = None,
    fault_id: str | None = None,
    experiment: Mapping[str, Any] | None = None,
) -> PendingWrite:
    """Return the write that finalises a run: status, end time, measures, timeline, samples, error, and the
    experiment's columns (`storage.runs.EXPERIMENT_KEYS`)."""
    return PendingWrite(
        WriteKind.FINISH,
        run_id,
        {
            "status": RunStatus(status).value,
            "at": at.isoformat(),
            "summary": dict(summary) if summary is not None else None,
            "timeline": [dict(point) for point in timeline],
            "samples": list(samples),
            "error": error,
            "error_class": error_class,
            "stop_reason": stop_reason,
            "fault_id": fault_id,
            "experiment": json_safe(dict(experiment)) if experiment is not None else None,
        },
    )


def fold(writes: Iterable[PendingWrite]) -> dict[WriteKind, PendingWrite]:
    """Return the writes that matter, by kind: the newest of each (one run's writes, oldest first)."""
    folded: dict[WriteKind, PendingWrite] = {}
    for write in writes:
        folded[write.kind] = write
    return folded


def in_order(folded: Mapping[WriteKind, PendingWrite]) -> list[PendingWrite]:
    """Return folded writes in the order they are stored: start, fault id, progress, finish."""
    return [folded[kind] for kind in WRITE_ORDER if kind in folded]
