"""Show a database URL without its password, with SQLAlchemy's own URL rendering."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def redact_database_url(url: str) -> str:
    """Return `url` with its password shown as ``***`` (SQLAlchemy's ``hide_password``).

    A string SQLAlchemy cannot parse is returned as it is when it has no ``@`` (no user info to hide), and
    as ``<unparsable database URL>`` otherwise.

    >>> redact_database_url("postgresql+psycopg://u:pw@db.example/boifi")
    'postgresql+psycopg://u:***@db.example/boifi'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url if "@" not in url else "<unparsable database URL>"
