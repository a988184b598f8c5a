"""Helpers for tests that run `boifi` for real in a subprocess and stop it with a signal."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, col, select

import storage

ROOT = Path(__file__).resolve().parents[2]


def refuses(url: str) -> bool:
    """Return True when nothing accepts a connection at `url` any more."""
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return True
    return False


def clean_env(**boifi: str) -> dict[str, str]:
    """Return this process's environment without BOIFI_* variables, plus the given ones."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOIFI_")}
    env.update(boifi)
    return env


@contextlib.contextmanager
def boifi(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Start `python -m cli ARGS` (standard error merged into standard output); afterwards kill what is left.

    The command runs in its own process group, and the whole group is killed at the end: when a test fails
    half-way, `boifi up`'s dashboard child must not outlive it (one did, holding its port for good).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def read_until(
    process: subprocess.Popen[str], done: Callable[[str], bool], *, timeout_s: float = 90.0
) -> list[str]:
    """Read output lines until one satisfies `done`; fail with the output so far if the process ends first.

    The deadline: a process still silent after `timeout_s` is killed, which ends the read.
    """
    assert process.stdout is not None
    lines: list[str] = []
    watchdog = threading.Timer(timeout_s, process.kill)
    watchdog.start()
    try:
        while not lines or not done(lines[-1]):
            line = process.stdout.readline()
            ended = "the process ended" if not watchdog.finished.is_set() else f"killed after {timeout_s:g} s"
            assert line, "\n".join([*lines, f"({ended})"])
            lines.append(line.strip())
    finally:
        watchdog.cancel()
    return lines


def runs_in(database_url: str) -> list[storage.Run]:
    """Return every run stored at `database_url`, oldest first."""
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(storage.Run).order_by(col(storage.Run.id))).all())
    finally:
        engine.dispose()


def active_faults(executor_url: str, apply_keys: Sequence[str]) -> list[dict[str, Any]]:
    """Return the Executor's active faults (GET /v1/faults) applied under one of `apply_keys`."""
    faults = httpx.get(executor_url + "/v1/faults", timeout=5).json()["faults"]
    return [fault for fault in faults if fault["active"] and fault["idempotency_key"] in apply_keys]


def run_boifi(*args: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m cli ARGS` to its end, standard output and standard error apart."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
