"""HTTP/1.1 heads: the one size limit and header parser the server and the upstream client share."""

from __future__ import annotations

from http import HTTPStatus

__all__ = ["MAX_HEAD_BYTES", "canned_response", "header_lines"]

MAX_HEAD_BYTES = 64 * 1024  # a request or status line and its headers together


def header_lines(raw_head: bytes) -> list[tuple[str, str]]:
    """Return the headers of a raw head (status or request line first, no blank line), in order."""
    headers = []
    for line in raw_head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


def canned_response(status: int, text: str, content_type: str = "text/plain") -> bytes:
    """Return a whole answer that closes the connection, written when no request is (or can be) read."""
    body = text.encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
