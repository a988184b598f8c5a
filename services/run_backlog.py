"""The writes of one run waiting for storage: in memory, or once spilled, in the run's spool file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.pending_writes import PendingWrite, WriteKind, fold, in_order
from services.spool_files import SpoolFile

# A spool file gets a line per write; each progress repeats the whole timeline, so past this many lines it is
# rewritten with only the writes that matter (the newest of each kind).
_COMPACT_AFTER_LINES = 2 * len(WriteKind) + 4


@dataclass
class RunBacklog:
    """One run's waiting writes; all of them in memory, or (`spilled`) all in its file, newest kept apart
    only if the file could not take it.

    Example::

        backlog = RunBacklog(run_id=7, directory=spool_dir, key=database_key(engine))
        backlog.add(write)
        backlog.spill()
        stored = backlog.writes()
    """

    run_id: int
    directory: Path
    key: str
    in_memory: dict[WriteKind, PendingWrite] = field(default_factory=dict)
    counts: dict[WriteKind, tuple[int, int]] = field(default_factory=dict)  # (samples, points) by kind
    spilled: bool = False
    generation: int = 0  # bumped by every `add`, so a pass can tell whether the run changed meanwhile
    _file: SpoolFile | None = None
    _file_lines: int = 0

    def memory_items(self) -> int:
        """Return how many items (writes, samples, timeline points) this run keeps in memory."""
        return sum(write.size for write in self.in_memory.values())

    def add(self, write: PendingWrite) -> None:
        """Keep `write` (replacing a waiting one of its kind); into the file once spilled. Raises OSError."""
        self.generation += 1
        self.counts[write.kind] = (write.sample_count, write.point_count)
        if not self.spilled:
            self.in_memory[write.kind] = write
            return
        try:
            self._append([write])
        except OSError:
            self.in_memory[write.kind] = write  # beside the file's writes: lost at a crash, not before
            raise

    def spill(self) -> None:
        """Move the writes kept in memory to the run's spool file, fsync'd; raise OSError if it fails."""
        if not self.in_memory:
            return
        self._append(in_order(self.in_memory))
        self.in_memory.clear()
        self.spilled = True

    def writes(self) -> list[PendingWrite]:
        """Return the writes to store, in order (reading the file of a spilled run)."""
        spooled = self._locked_file().read() if self.spilled else []
        return in_order(fold([*spooled, *in_order(self.in_memory)]))

    def forget(self, stored: Sequence[PendingWrite], generation: int) -> bool:
        """Drop what was just stored; return True if nothing waits any more (the file is deleted then)."""
        if generation == self.generation:
            if self._file is not None:
                self._file.remove()
                self._file = None
            return True
        for write in stored:
            if self.in_memory.get(write.kind) is write:
                del self.in_memory[write.kind]
                if not self.spilled:  # a spilled run's file still holds it
                    del self.counts[write.kind]
        return False

    def release(self) -> None:
        """Let the file's lock go: from now on recovery in any process may replay it."""
        if self._file is not None:
            self._file.release()
            self._file = None

    def _append(self, writes: Sequence[PendingWrite]) -> None:
        spool_file = self._locked_file()
        spool_file.append(writes)
        self._file_lines += len(writes)
        if self._file_lines > _COMPACT_AFTER_LINES:
            folded = in_order(fold(spool_file.read()))
            spool_file.rewrite(folded)
            self._file_lines = len(folded)

    def _locked_file(self) -> SpoolFile:
        if self._file is None:  # new, or released by the spool's close: lock it (again)
            self._file = SpoolFile.create(self.directory, self.key, self.run_id)
            self._file_lines = len(self._file.read())
        return self._file
