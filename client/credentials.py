"""Credentials go only where they belong: each bearer token to its own origin, and never anywhere else.

The client used to put ``Authorization: Bearer <token>`` in the httpx client's default headers, so every
request on it carried the Executor's token, a collector on another origin included. Now the one
``OriginAuth`` of a client (httpx's own ``auth=`` mechanism) attaches a token per request, only when the
request's origin (scheme, host and port, default ports normalised) is the one the token is for:
``auth_token`` for the Executor's ``base_url``, ``collector_token`` for ``collector_url`` (on the Executor's
own origin the Executor's token is the one sent). The probe (probe.py) uses a client without any token.

Redirects are not followed (``follow_redirects=False``, explicit where each client is built): a 3xx is an
answer like any other, so no credential is carried to where it points. httpx 0.28 would strip
``Authorization`` on a cross-origin redirect itself, but keeps it on an http-to-https upgrade.

User info in a URL (``http://user:pw@host``) is sent as Basic credentials, as httpx does when a client has
no ``auth=``: it is the user's explicit choice for that URL, and it wins over a bearer token there.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping

import httpx
from pydantic import SecretStr

from client.config import ExecutorClientConfig

Origin = tuple[str, str, int | None]

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | httpx.URL) -> Origin:
    """Return the origin of `url`: its scheme, lower-case host and port (a default port made explicit)."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host.lower(), parsed.port or DEFAULT_PORTS.get(parsed.scheme)


class OriginAuth(httpx.Auth):
    """Attach each origin's bearer token to the requests for that origin only.

    >>> auth = OriginAuth({origin_of("http://127.0.0.1:8000"): SecretStr("t")})
    >>> httpx.Client(auth=auth, follow_redirects=False)  # other origins get no Authorization
    """

    def __init__(self, tokens: Mapping[Origin, SecretStr]) -> None:
        self._tokens = dict(tokens)

    @classmethod
    def for_config(cls, config: ExecutorClientConfig) -> OriginAuth:
        """Return the auth of a client: the Executor's token at its origin, the collector's at its own."""
        tokens: dict[Origin, SecretStr] = {}
        if config.collector_url and config.collector_token is not None:
            tokens[origin_of(config.collector_url)] = config.collector_token
        if config.auth_token is not None:  # on a shared origin, the Executor's token
            tokens[origin_of(config.base_url)] = config.auth_token
        return cls(tokens)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        if url.username or url.password:
            yield from httpx.BasicAuth(url.username, url.password).auth_flow(request)
            return
        token = self._tokens.get(origin_of(url))
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        yield request
