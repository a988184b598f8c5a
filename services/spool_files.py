"""Spool files: a run's pending writes in a local JSON-lines file, locked while the process keeping it lives.

A file is named after the database it belongs to and the run (`<database key>-run-<id>.jsonl`), so a spool
directory shared by several databases replays each file into its own. Every append is fsync'd. The writing
process holds an exclusive `flock` on the file for as long as it keeps it; recovery in any process replays
only files whose lock it can take, that is files whose process has exited or let them go.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import platformdirs
from sqlalchemy.engine import Engine

from services.pending_writes import PendingWrite

logger = logging.getLogger(__name__)

SPOOL_DIR_ENV = "BOIFI_SPOOL_DIR"
_SUFFIX = ".jsonl"


def default_spool_dir() -> Path:
    """Return `BOIFI_SPOOL_DIR`, or `spool` next to the default database in the user data directory."""
    configured = os.environ.get(SPOOL_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("boifi")) / "spool"


def database_key(engine: Engine) -> str:
    """Return a short stable name for the database behind `engine` (its URL without the password)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(url.database or "").expanduser().resolve()))
    text = url.render_as_string(hide_password=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def spool_paths(directory: Path, key: str) -> list[Path]:
    """Return the spool files of database `key` in `directory`, oldest run first."""
    if not directory.is_dir():
        return []
    paths = directory.glob(f"{key}-run-*{_SUFFIX}")
    return sorted(paths, key=lambda path: run_id_of(path) or 0)


def run_id_of(path: Path) -> int | None:
    """Return the run id in a spool file's name, or None for another file."""
    stem = path.name.removesuffix(_SUFFIX)
    _, _, number = stem.rpartition("-run-")
    return int(number) if number.isdigit() else None


class SpoolFile:
    """One run's spool file, open and locked; `append`, `read`, then `remove` it or `release` the lock.

    Example::

        spool_file = SpoolFile.create(directory, key, run_id=7)
        spool_file.append([write])
        spool_file.release()
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def create(cls, directory: Path, key: str, run_id: int) -> SpoolFile:
        """Open (creating it if needed) and lock the spool file of `run_id`; wait for its lock."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{key}-run-{run_id}{_SUFFIX}"
        while True:
            opened = cls._open_locked(path, create=True, blocking=True)
            if opened is not None:
                _fsync_directory(directory)
                return opened

    @classmethod
    def claim(cls, path: Path) -> SpoolFile | None:
        """Open and lock an existing spool file; None if it is gone or another process holds it."""
        return cls._open_locked(path, create=False, blocking=False)

    @classmethod
    def _open_locked(cls, path: Path, *, create: bool, blocking: bool) -> SpoolFile | None:
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        # The file may have been replayed and removed while we waited for its lock: then it is not ours.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return None
        return cls(path, fd)

    def append(self, writes: Iterable[PendingWrite]) -> None:
        """Add `writes` at the end of the file, one JSON line each, and fsync it."""
        data = "".join(write.to_json() + "\n" for write in writes).encode("utf-8")
        fd = self._require_fd()
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)

    def rewrite(self, writes: Iterable[PendingWrite]) -> None:
        """Replace the file's content with `writes` atomically (a new file, locked, renamed over it)."""
        staging = self.path.with_name(self.path.name + ".new")
        fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            replacement = SpoolFile(self.path, fd)
            replacement.append(writes)
            os.replace(staging, self.path)  # the new file is locked before its name is visible
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(staging)
            raise
        _fsync_directory(self.path.parent)
        self.release()
        self._fd = fd

    def read(self) -> list[PendingWrite]:
        """Return the writes in the file, oldest first; a torn last line (a crash mid-append) is skipped."""
        fd = self._require_fd()
        size = os.fstat(fd).st_size
        data = os.pread(fd, size, 0).decode("utf-8", errors="replace")
        writes = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                writes.append(PendingWrite.from_json(line))
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("spool file %s: line %d skipped: %s", self.path, number, exc)
        return writes

    def remove(self) -> None:
        """Delete the file (its writes are stored), then let the lock go."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.release()

    def release(self) -> None:
        """Close the file, which lets its lock go; recovery may replay it from now on."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _require_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"spool file {self.path} is released")
        return self._fd


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
