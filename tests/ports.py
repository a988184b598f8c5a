"""Loopback ports for tests that must name a port before a server (often another process) binds it."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a loopback port that nobody listens on now (the kernel picks it, as for any port 0 bind).

    Prefer binding port 0 in the server itself. For a child process that takes `--port N`, the port is free
    when returned; another test (or xdist worker) binding the same one before the child does is as unlikely
    as two random picks from the kernel's ephemeral range colliding.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
