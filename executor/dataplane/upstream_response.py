"""Read an upstream's answer: its head (the usual one at a glance, any other in full) and a chunked body.

Pure functions over bytes; the connection (:mod:`executor.dataplane.upstream_connection`) feeds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor.dataplane.http_head import header_lines

__all__ = ["ResponseHead", "UpstreamError", "UpstreamResponse", "parse_head", "quick_head", "take_chunked"]


class UpstreamError(Exception):
    """The upstream could not be reached, timed out, or answered with malformed HTTP."""


class UpstreamResponse:
    """Status, headers (in order, repeats kept) and the whole body of an upstream's answer.

    ``raw_head`` is set for the usual answer, framed only by one ``Content-Length`` on HTTP/1.1 with no
    connection headers: its status line and headers as received (without the blank line that ends them),
    which a proxy may pass on as they are. The headers are then parsed from it only when they are read.
    """

    __slots__ = ("_headers", "body", "raw_head", "status")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]] | None,
        body: bytes,
        raw_head: bytes = b"",
    ) -> None:
        self.status = status
        self.body = body
        self.raw_head = raw_head
        self._headers = headers

    @property
    def headers(self) -> list[tuple[str, str]]:
        if self._headers is None:
            self._headers = header_lines(self.raw_head)
        return self._headers

    def __repr__(self) -> str:
        return f"UpstreamResponse(status={self.status}, headers={self.headers!r}, body={self.body[:64]!r})"


@dataclass(slots=True)
class ResponseHead:
    """How one upstream answer is framed, as its head says."""

    status: int
    headers: list[tuple[str, str]] | None  # None: not parsed yet (see UpstreamResponse.headers)
    length: int | None
    chunked: bool
    keep_alive: bool
    raw: bytes  # set only by quick_head


# Headers that change how the answer is framed or whether the connection stays open: their presence sends a
# head through the full parse below.
_FRAMING_HEADER = re.compile(rb"\r\n(?:transfer-encoding|connection|keep-alive)[ \t]*:", re.IGNORECASE)
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]+)[ \t]*(?=\r\n|$)", re.IGNORECASE)


def quick_head(raw: bytes) -> ResponseHead | None:
    """Read the framing of the usual answer (HTTP/1.1, one Content-Length, nothing else that frames it).

    Return None for anything else, which :func:`parse_head` then reads in full. The headers are left
    unparsed: the proxy passes such a head on as it came.
    """
    if not raw.startswith(b"HTTP/1.1 ") or _FRAMING_HEADER.search(raw) is not None:
        return None
    lengths = _CONTENT_LENGTH.findall(raw)
    status_digits = raw[9:12]
    well_formed = status_digits.isdigit() and raw[12:13] in (b" ", b"") and status_digits[:1] != b"1"
    if len(lengths) != 1 or not well_formed:
        return None
    return ResponseHead(int(status_digits), None, int(lengths[0]), False, True, raw)


def parse_head(raw: bytes) -> ResponseHead | None:
    """Parse a response head (without its blank line); None for an interim 1xx answer."""
    status_line, _, _ = raw.partition(b"\r\n")
    version, _, rest = status_line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    status = int(rest[:3])
    if 100 <= status < 200:
        return None
    headers = header_lines(raw)
    length: int | None = None
    chunked = False
    keep_alive = version != "HTTP/1.0"
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length":
            length = int(value)
        elif lower == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif lower == "connection":
            keep_alive = "close" not in value.lower() and (
                version != "HTTP/1.0" or "keep-alive" in value.lower()
            )
    return ResponseHead(status, headers, length, chunked, keep_alive, b"")


def take_chunked(buffer: bytearray) -> bytes | None:
    """Return the whole de-chunked body and drop it from ``buffer``, or None while it is incomplete."""
    chunks: list[bytes] = []
    position = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0].strip(), 16)
        position = line_end + 2
        if size == 0:
            if buffer[position : position + 2] == b"\r\n":  # no trailers
                end = position + 2
            else:
                trailers_end = buffer.find(b"\r\n\r\n", position)
                if trailers_end < 0:
                    return None
                end = trailers_end + 4
            del buffer[:end]
            return b"".join(chunks)
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        chunks.append(bytes(buffer[position : position + size]))
        position += size + 2
