"""Show a URL without its password: the one redaction every layer (client, CLI, dashboard, logs) uses."""

from __future__ import annotations

from urllib.parse import urlsplit

MASK = "***"


def redact_url(url: str) -> str:
    """Return `url` with the password of its user info replaced by ``***``; unchanged if it has none.

    >>> redact_url("http://alice:secret@127.0.0.1:8000/v1")
    'http://alice:***@127.0.0.1:8000/v1'
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL (e.g. a bad port): nothing here is a password we can find
        return url
    if not password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return url.replace(parts.netloc, f"{user}:{MASK}@{hostport}", 1)
