"""Read HTTP/1.1 heads: the one size limit and header parser the server and the upstream client share."""

from __future__ import annotations

__all__ = ["MAX_HEAD_BYTES", "header_lines"]

MAX_HEAD_BYTES = 64 * 1024  # a request or status line and its headers together


def header_lines(raw_head: bytes) -> list[tuple[str, str]]:
    """Return the headers of a raw head (status or request line first, no blank line), in order."""
    headers = []
    for line in raw_head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers
