"""Bad settings and unusable storage: one line on stderr naming the setting or resource, a documented code.

Each case runs `boifi` for real in a subprocess: the line is all of stderr, stdout stays empty, and no
traceback is shown unless `--verbose` or `BOIFI_LOG_LEVEL=DEBUG` asks for it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from cli.apply_cmd import Progress, _open_console
from cli.common import load_run
from cli.exit_codes import ExitCode
from executor import EmbeddedExecutor
from storage import RunStatus
from tests.cli.processes import ROOT, active_faults, clean_env, runs_in
from tests.plans import PLAN_FILE_BODY, payment_delay
from tests.ports import free_port
from tests.postgres_server import PostgresServer
from tests.waiting import wait_until

PLAN = PLAN_FILE_BODY


def run_boifi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `python -m cli ARGS` to its end, standard output and standard error apart."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, line: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [line], done.stderr
    assert done.stdout == ""
    assert done.returncode == code, done.stderr


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.mark.slow
def test_a_database_url_that_is_not_a_url() -> None:
    done = run_boifi("runs", "list", env=clean_env(BOIFI_DATABASE_URL="not a url"))
    assert_one_line(done, ExitCode.BAD_SETTINGS, "BOIFI_DATABASE_URL: not a valid URL: 'not a url'")


@pytest.mark.slow
def test_the_option_is_named_when_the_url_came_from_it() -> None:
    done = run_boifi("runs", "list", "--database-url", "not a url", env=clean_env())
    assert_one_line(done, ExitCode.BAD_SETTINGS, "--database-url: not a valid URL: 'not a url'")


@pytest.mark.slow
def test_a_directory_that_does_not_exist_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "sub"
    done = run_boifi("runs", "list", env=clean_env(BOIFI_DATABASE_URL=_sqlite(missing / "x.db")))
    assert_one_line(done, ExitCode.BAD_SETTINGS, f"BOIFI_DATABASE_URL: directory {missing} does not exist")
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.slow
def test_a_path_under_a_regular_file(tmp_path: Path) -> None:
    regular = tmp_path / "notes.txt"
    regular.write_text("not a directory", encoding="utf-8")
    done = run_boifi("runs", "list", env=clean_env(BOIFI_DATABASE_URL=_sqlite(regular / "sub" / "x.db")))
    assert_one_line(done, ExitCode.BAD_SETTINGS, f"BOIFI_DATABASE_URL: {regular} is not a directory")


@pytest.mark.slow
def test_an_unreachable_postgresql_names_host_and_port() -> None:
    port = free_port()
    url = f"postgresql+psycopg://boifi:s3cret@127.0.0.1:{port}/boifi"
    done = run_boifi("runs", "list", env=clean_env(BOIFI_DATABASE_URL=url))
    line = f"PostgreSQL at 127.0.0.1:{port} unreachable: connection refused"
    assert_one_line(done, ExitCode.STORAGE_UNAVAILABLE, line)
    assert "s3cret" not in done.stderr


@contextlib.contextmanager
def _immutable(path: Path) -> Iterator[None]:
    """Make `path` unwritable even for root (chattr +i), or by its mode for anyone else; undo afterwards."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.slow
def test_a_read_only_database_file(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    engine = storage.make_engine(_sqlite(path))
    storage.init_db(engine)
    engine.dispose()
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN), encoding="utf-8")
    with _immutable(path):
        listed = run_boifi("runs", "list", env=clean_env(BOIFI_DATABASE_URL=_sqlite(path)))
        executor_url = f"http://127.0.0.1:{free_port()}"
        done = run_boifi(
            "apply",
            str(plan),
            "--executor-url",
            executor_url,
            env=clean_env(BOIFI_DATABASE_URL=_sqlite(path)),
        )
    assert (listed.returncode, listed.stdout) == (0, "no runs\n"), listed.stderr  # reading needs no write
    assert_one_line(done, ExitCode.STORAGE_UNAVAILABLE, f"database is read-only: {path}")


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[None]:
    """Mount a tmpfs of `size` at the directory `path` (as root); skip the test, saying why, if refused."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"running as root where mounting a tmpfs is not allowed: {mounted.stderr.decode().strip()}"
        )
    try:
        yield
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


@contextlib.contextmanager
def _read_only_directory(path: Path) -> Iterator[str]:
    """Make `path` a read-only directory: a tmpfs remounted read-only as root, else mode 0555; say why."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield f"permission denied in {path}"
        finally:
            path.chmod(0o755)
        return
    with _tmpfs(path, "1m"):
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield "read-only file system"


@pytest.mark.slow
def test_a_read_only_file_system(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    with _read_only_directory(directory) as why:
        done = run_boifi("runs", "list", env=clean_env(BOIFI_DATABASE_URL=_sqlite(directory / "x.db")))
    assert_one_line(done, ExitCode.STORAGE_UNAVAILABLE, f"cannot open database {directory / 'x.db'}: {why}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "line_start"),
    [
        ("BOIFI_LEASE_SEC", "BOIFI_LEASE_SEC: Input should be a valid number"),
        (
            "BOIFI_MAX_RETRIES",
            "invalid Executor settings: BOIFI_MAX_RETRIES: Input should be a valid integer",
        ),
    ],
)
def test_a_bad_number_names_its_variable(tmp_path: Path, variable: str, line_start: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN), encoding="utf-8")
    env = clean_env(BOIFI_DATABASE_URL=_sqlite(tmp_path / "x.db"), **{variable: "abc"})
    done = run_boifi(
        "apply", str(plan), "--json", "--executor-url", f"http://127.0.0.1:{free_port()}", env=env
    )
    assert "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(line_start) and line.endswith("got 'abc'"), line
    assert (done.returncode, done.stdout) == (ExitCode.BAD_SETTINGS, "")
    assert not (tmp_path / "x.db").exists()  # nothing opened, nothing stored


@pytest.mark.slow
def test_a_bad_log_level_names_its_variable() -> None:
    done = run_boifi("runs", "list", env=clean_env(BOIFI_LOG_LEVEL="loud"))
    line = "BOIFI_LOG_LEVEL: not a log level: 'loud'; use one of debug, info, warning, error"
    assert_one_line(done, ExitCode.BAD_SETTINGS, line)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "level"), [(("--verbose",), ""), ((), "DEBUG")], ids=["verbose", "debug"])
def test_verbose_or_debug_shows_the_traceback_before_the_line(args: tuple[str, ...], level: str) -> None:
    env = clean_env(BOIFI_DATABASE_URL="not a url", **({"BOIFI_LOG_LEVEL": level} if level else {}))
    done = run_boifi(*args, "runs", "list", env=env)
    assert done.returncode == ExitCode.BAD_SETTINGS
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "BOIFI_DATABASE_URL: not a valid URL: 'not a url'"


def test_the_progress_line_survives_a_database_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "gone"
    directory.mkdir()
    engine = storage.make_engine(_sqlite(directory / "x.db"))
    directory.rmdir()  # the database cannot be opened any more
    console = SimpleNamespace(engine=engine)
    run = storage.Run(id=7, status=RunStatus.RUNNING, service="payment", api="/pay", duration_seconds=5)
    progress = Progress(run)
    progress.show(console, 7, 5)  # type: ignore[arg-type]
    engine.dispose()
    line = capsys.readouterr().err.strip()
    assert line.startswith("run 7 running"), line
    why = f"cannot open database {directory / 'x.db'}: directory {directory} does not exist"
    assert line.endswith(f"(storage unavailable: {why})"), line


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the write lock from another connection (BEGIN EXCLUSIVE) while the block runs."""
    lock = sqlite3.connect(path, timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


@contextlib.contextmanager
def _made_read_only(path: Path) -> Iterator[None]:
    """Make the database file and its write-ahead log immutable (chattr +i), as an operator might."""
    with contextlib.ExitStack() as stack:
        for part in (path, path.with_name(path.name + "-wal")):
            if part.exists():
                stack.enter_context(_immutable(part))
        yield


@contextlib.contextmanager
def _filled(directory: Path) -> Iterator[None]:
    """Fill the file system of `directory` to the last byte; free the space again after the block."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):  # ENOSPC: full now
        while True:
            out.write(b"\0" * 65536)
    try:
        yield
    finally:
        filler.unlink()


@dataclass
class _Database:
    """A database for one run, and how to make it refuse every write while a block runs."""

    url: str
    outage: Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _locked_file(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[_Database]:
    # Held far beyond the busy timeout (until `boifi apply` has exited): every write of the run fails.
    path = tmp_path / "apply.db"
    yield _Database(_sqlite(path), functools.partial(_locked, path))


@contextlib.contextmanager
def _read_only_file(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[_Database]:
    path = tmp_path / "apply.db"
    yield _Database(_sqlite(path), functools.partial(_made_read_only, path))


@contextlib.contextmanager
def _full_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[_Database]:
    directory = tmp_path / "small"
    directory.mkdir()
    with _tmpfs(directory, "3m"):
        yield _Database(_sqlite(directory / "apply.db"), functools.partial(_filled, directory))


@contextlib.contextmanager
def _stopped_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[_Database]:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database(f"apply_{tmp_path.name.lower()}_{free_port()}")

    @contextlib.contextmanager
    def stopped() -> Iterator[None]:
        server.stop()
        try:
            yield
        finally:
            server.start()

    yield _Database(url, stopped)


def _start_apply(
    executor: EmbeddedExecutor, tmp_path: Path, database_url: str, duration_s: int
) -> subprocess.Popen[str]:
    """Start `boifi apply --json` of a `duration_s` plan on the executor, in its own process group."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({**PLAN, "duration_seconds": duration_s}), encoding="utf-8")
    command = (
        "apply",
        str(plan),
        "--json",
        "--executor-url",
        executor.base_url,
        "--database-url",
        database_url,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *command], cwd=ROOT, env=_apply_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _apply_env(tmp_path: Path) -> dict[str, str]:
    return clean_env(BOIFI_SPOOL_DIR=str(tmp_path / "spool"))  # off the database's file system


def _wait_running(process: subprocess.Popen[str], database_url: str) -> str:
    """Wait until the run is submitted and running; return standard error read so far."""
    assert process.stderr is not None
    read = ""
    while "submitted" not in (line := process.stderr.readline()):
        assert line, f"boifi apply ended before submitting: {read}"
        read += line
    wait_until(lambda: runs_in(database_url)[0].status == RunStatus.RUNNING, what="the run to start")
    return read + line


def _finish(process: subprocess.Popen[str], stderr: str) -> tuple[dict[str, Any], str]:
    """Read `boifi apply` to its end; return what `--json` printed and all of standard error."""
    try:
        out, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr += rest
    assert "Traceback" not in stderr, stderr
    return json.loads(out), stderr


def _assert_halted(executor: EmbeddedExecutor, apply_key: str) -> None:
    """The run's fault ended by the run's end: the executor knows it, and lists it as no longer active."""
    faults = httpx.get(executor.base_url + "/v1/faults", timeout=5).json()["faults"]
    [fault] = [fault for fault in faults if fault["idempotency_key"] == apply_key]
    assert fault["status"] in ("completed", "cancelled") and not fault["active"], fault
    assert active_faults(executor.base_url, [apply_key]) == []


def _assert_stored_as_printed(printed: dict[str, Any], database_url: str) -> None:
    """The stored run is terminal with every sample, and reads back (`runs show --json`) as printed."""
    [run] = runs_in(database_url)
    assert run.id is not None and run.status in (RunStatus.COMPLETED, RunStatus.GUARDRAIL_STOP), run.status
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            detail = storage.get_run(session, run_id=run.id)
        loaded = load_run(engine, run.id)  # what `boifi runs show --json` prints
    finally:
        engine.dispose()
    assert detail is not None and len(detail.samples) == run.request_count == printed["run"]["request_count"]
    assert loaded is not None
    stored, timeline = loaded
    liveness = ("heartbeat_at", "owner")  # renewed by whoever holds the lease: not part of the outcome
    assert {k: v for k, v in stored.items() if k not in liveness} == {
        k: v for k, v in printed["run"].items() if k not in liveness
    }
    assert timeline == printed["timeline"] and timeline, timeline


@pytest.mark.slow
@pytest.mark.timeout(300)  # three `boifi` processes; a write waits out the 30 s busy timeout when locked
@pytest.mark.parametrize(
    "database",
    [_locked_file, _read_only_file, _full_disk, _stopped_postgresql],
    ids=["locked", "read-only", "disk-full", "postgresql-stopped"],
)
def test_json_tells_the_outcome_through_a_storage_outage_and_matches_storage_once_it_is_back(
    executor: EmbeddedExecutor,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    database: Callable[[Path, pytest.FixtureRequest], contextlib.AbstractContextManager[_Database]],
) -> None:
    with database(tmp_path, request) as target:
        process = _start_apply(executor, tmp_path, target.url, duration_s=3)
        stderr = _wait_running(process, target.url)
        with target.outage():  # every write of the run fails from here until the process has exited
            printed, stderr = _finish(process, stderr)
        assert process.returncode == ExitCode.UNSTORED, stderr
        assert printed["run"]["status"] == "completed", stderr
        assert printed["run"]["request_count"] > 0
        assert printed["unstored"]["summary"] is True and printed["unstored"]["samples"] > 0, printed[
            "unstored"
        ]
        _assert_halted(executor, printed["run"]["apply_key"])
        # The database answers again: the next start (`boifi runs recover`) stores what was kept, once.
        recovered = run_boifi("runs", "recover", "--database-url", target.url, env=_apply_env(tmp_path))
        assert recovered.returncode == 0 and "Traceback" not in recovered.stderr, recovered.stderr
        _assert_stored_as_printed(printed, target.url)


LOCK_HELD_S = 20.0  # the scenario; below storage.engine.SQLITE_BUSY_TIMEOUT_MS, so writes wait


@pytest.mark.slow
@pytest.mark.timeout(300)  # the 20 s lock, and two `boifi` processes
def test_an_exclusive_lock_held_for_20_s_costs_a_wait_not_data(
    executor: EmbeddedExecutor, tmp_path: Path
) -> None:
    assert LOCK_HELD_S * 1000 < storage.engine.SQLITE_BUSY_TIMEOUT_MS
    path = tmp_path / "apply.db"
    database_url = _sqlite(path)
    process = _start_apply(executor, tmp_path, database_url, duration_s=2)
    stderr = _wait_running(process, database_url)
    [run] = runs_in(database_url)
    with _locked(path):
        released_at = time.monotonic() + LOCK_HELD_S
        # The run ends while the lock is held, so its final writes (samples, summary) wait on it ...
        wait_until(lambda: not active_faults(executor.base_url, [run.apply_key]), what="the fault to end")
        with pytest.raises(subprocess.TimeoutExpired):  # ... and the command waits for them, not past them
            process.wait(timeout=released_at - time.monotonic())
    printed, stderr = _finish(process, stderr)
    assert (process.returncode, printed["unstored"]) == (ExitCode.OK, {}), stderr
    assert "kept" not in stderr and "dropp" not in stderr, stderr  # nothing deferred, nothing dropped
    _assert_halted(executor, run.apply_key)
    _assert_stored_as_printed(printed, database_url)


def test_apply_creates_the_schema_once(
    executor: EmbeddedExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated: list[str] = []
    init_db = storage.init_db

    def counted(engine: Engine) -> None:
        migrated.append(str(engine.url))
        init_db(engine)

    monkeypatch.setattr(storage, "init_db", counted)
    monkeypatch.setenv("BOIFI_SPOOL_DIR", str(tmp_path / "spool"))
    database_url = _sqlite(tmp_path / "x.db")
    with contextlib.ExitStack() as stack:
        console = _open_console(
            stack, payment_delay(), executor_url=executor.base_url, api_mode=None, embedded=False,
            database_url=database_url,
        )  # fmt: skip
        assert console.runner.storage_backlog().empty  # started, on the one schema
    assert migrated == [database_url]
