"""A throw-away PostgreSQL server on 127.0.0.1 for tests that check the storage code on PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.ports import free_port
from tests.waiting import wait_until


def _find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    """Run `initdb` + `pg_ctl` in a temporary directory (as user `postgres` when root); remove it on close.

    `stop` and `start` again keep the port and the data: an outage of the same database.

    Example::

        with PostgresServer() as server:
            engine = make_engine(server.url)
            server.stop()
            server.start()
    """

    def __init__(self) -> None:
        self.initdb = _find_bin("initdb")
        self.pg_ctl = _find_bin("pg_ctl")
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="boifi-pg-"))
        self.data = self.directory / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._started = False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if _find_bin("initdb") is None or _find_bin("pg_ctl") is None:
            return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser to drop to the postgres user"
        return None

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def start(self) -> PostgresServer:
        """Create the cluster (the first time), start the server and wait until it listens."""
        if not (self.data / "PG_VERSION").exists():
            self._init()
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            self._as_owner(
                str(self.pg_ctl),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.directory / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._started = True
        wait_until(self._listening, timeout=30, interval=0.1, what="PostgreSQL to listen")
        return self

    def _init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, user="postgres")
        subprocess.run(
            self._as_owner(
                str(self.initdb), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
            ),
            check=True,
            capture_output=True,
        )

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        """Stop the server at once (its clients lose their connections); keep its port and data."""
        if self._started:
            subprocess.run(
                self._as_owner(str(self.pg_ctl), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=60,
            )
            self._started = False
            wait_until(lambda: not self._listening(), timeout=30, interval=0.1, what="PostgreSQL to stop")

    def create_database(self, name: str) -> str:
        """Create an empty database `name` on this server (one test's own) and return its URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
