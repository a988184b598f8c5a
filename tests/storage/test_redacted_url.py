"""A database URL is shown without its password (SQLAlchemy's own rendering)."""

from __future__ import annotations

import pytest

from storage import redact_database_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:pw@db.test:5432/boifi", "postgresql+psycopg://u:***@db.test:5432/boifi"),
        ("postgresql+psycopg://u@db.test/boifi", "postgresql+psycopg://u@db.test/boifi"),
        ("sqlite:////tmp/boifi.db", "sqlite:////tmp/boifi.db"),
        ("not a url", "not a url"),
        ("nonsense u:pw@db", "<unparsable database URL>"),
    ],
)
def test_redact_database_url(url: str, shown: str) -> None:
    assert redact_database_url(url) == shown
