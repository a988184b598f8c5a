"""A raw-socket HTTP/1.1 server on 127.0.0.1 that can drip its answer, for deadline tests.

``ScriptedServer`` (servers.py) writes whole answers through ``http.server``; this one writes bytes itself so
that an answer can stop half-way: the status line and then one header byte every ``interval_sec``
(``DripHead``), or a whole head and then one body byte every ``interval_sec`` (``DripBody``). httpx's read
timeout restarts on every byte, so against either a client without a total deadline waits for ever.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

_POLL_SEC = 0.05


@dataclass(frozen=True)
class Answer:
    """A whole JSON answer, sent at once (the connection is closed after it)."""

    status: int = 200
    body: Any = None


@dataclass(frozen=True)
class DripHead:
    """Send ``HTTP/1.1 200 OK`` and then one header byte every ``interval_sec`` until stopped."""

    interval_sec: float = 0.5


@dataclass(frozen=True)
class DripBody:
    """Send a whole head announcing a large JSON body, then one body byte every ``interval_sec``."""

    interval_sec: float = 0.5


Action = Answer | DripHead | DripBody
RawHandler = Callable[[str, str], Action]  # (method, path) -> what to send


class RawServer:
    """Serve each request on its own thread with what ``handler`` says; ``stop`` joins every thread."""

    def __init__(self, handler: RawHandler) -> None:
        self.handler = handler
        self.seen: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(_POLL_SEC)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name="raw-server-accept")

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def requests(self, method: str, path: str) -> list[tuple[str, str]]:
        with self._lock:
            return [seen for seen in self.seen if seen == (method, path)]

    def start(self) -> RawServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join()
        self._sock.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="raw-server-conn")
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(_POLL_SEC)
            request = self._read_request(conn)
            if request is None:
                return
            with self._lock:
                self.seen.append(request)
            action = self.handler(*request)
            with suppress(OSError):
                if isinstance(action, Answer):
                    conn.sendall(_whole_answer(action))
                elif isinstance(action, DripHead):
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    self._drip(conn, b"X-Drip: " + b"a" * 100_000, action.interval_sec)
                else:
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
                    conn.sendall(head + b"\r\n")
                    self._drip(conn, b'{"pad": "' + b"a" * 100_000, action.interval_sec)

    def _drip(self, conn: socket.socket, data: bytes, interval_sec: float) -> None:
        for index in range(len(data)):
            if self._stop.wait(interval_sec):
                return
            conn.sendall(data[index : index + 1])  # an OSError (the client went away) ends the drip

    def _read_request(self, conn: socket.socket) -> tuple[str, str] | None:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = self._recv(conn)
            if not chunk:
                return None
            buffer += chunk
        head, _, body = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = self._recv(conn)
            if not chunk:
                return None
            body += chunk
        return method, target.split("?", 1)[0]

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""


def _whole_answer(answer: Answer) -> bytes:
    payload = json.dumps(answer.body).encode()
    head = (
        f"HTTP/1.1 {answer.status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + payload


@contextmanager
def raw_serve(handler: RawHandler) -> Iterator[RawServer]:
    """Run a raw server for the block and stop it (and its dripping threads) afterwards."""
    server = RawServer(handler).start()
    try:
        yield server
    finally:
        server.stop()
