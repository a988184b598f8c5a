"""A tiny threaded HTTP upstream on loopback that counts the requests it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CountingUpstream:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.hits: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, names lower-cased

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


HOP_BY_HOP = [("Keep-Alive", "timeout=5"), ("Proxy-Authenticate", "Basic"), ("Upgrade", "h2c")]


@contextmanager
def counting_upstream(protocol: str = "HTTP/1.0") -> Iterator[CountingUpstream]:
    """Serve ``{"method", "path"}`` for any request; stop and close the socket afterwards.

    ``protocol`` is the version it answers with (HTTP/1.1 keeps connections alive); ``/hop`` answers also
    carry hop-by-hop headers, which a proxy must not pass on.
    """
    holder: list[CountingUpstream] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = protocol

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            holder[0].hits.append((self.command, self.path))
            holder[0].headers.append({name.lower(): value for name, value in self.headers.items()})
            body = json.dumps({"method": self.command, "path": self.path}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            if self.path == "/hop":
                for name, value in HOP_BY_HOP:
                    self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(CountingUpstream(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
