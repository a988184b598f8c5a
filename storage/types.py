"""Column types and value normalisation shared by the storage modules."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, TypeVar

from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, col

T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """Store datetimes as naive UTC and hand them back timezone-aware (UTC) on every backend.

    SQLite keeps SQLAlchemy's DATETIME text (``2026-11-27 12:00:00.000000``), read back with
    `datetime.fromisoformat`.
    """

    impl = DateTime
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            # One C parse instead of SQLAlchemy's regex and a second conversion step: lists load faster.
            if value is None:
                return None
            return (parse(value) if isinstance(value, str) else value).replace(tzinfo=UTC)

        return process

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return to_naive_utc(value) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None


def enum_column_type(enum: type[StrEnum], *, name: str, length: int) -> SAEnum:
    """Return the column type of a `StrEnum` stored by value in a plain VARCHAR of `length` (portable)."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def to_naive_utc(value: datetime) -> datetime:
    """Return `value` as a naive UTC datetime; a naive input is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; a naive input is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def time_range(column: Any, since: datetime, until: datetime | None) -> list[ColumnElement[bool]]:
    """Return the conditions `since` <= column < `until` (no upper bound when `until` is None), in UTC."""
    conditions = [col(column) >= as_utc(since)]
    if until is not None:
        conditions.append(col(column) < as_utc(until))
    return conditions


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def plain(value: Any) -> Any:
    """Return an Enum's value (or name when the value is not a str), anything else unchanged."""
    if isinstance(value, Enum):
        return value.value if isinstance(value.value, str) else value.name
    return value


def plain_str(value: Any) -> str | None:
    """Return `value` as a plain string (Enums by value), or None for None."""
    value = plain(value)
    return None if value is None else str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return plain(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def json_safe(value: Any) -> Any:
    """Return a deep copy of `value` made of JSON types only (Enums by value, datetimes as ISO strings)."""
    return json.loads(json.dumps(value, default=_json_default))


def optional_float(value: Any) -> float | None:
    """Return `value` as a finite float, or None when missing or not a finite number."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def optional_int(value: Any) -> int | None:
    """Return `value` as an int, or None when missing."""
    return None if value is None else int(value)


def detached(session: Session, rows: Sequence[T]) -> list[T]:
    """Return `rows` detached from `session`, so later commits cannot expire them under the caller.

    Results stay readable after the session closes, whatever else the caller did with it. Queries autoflush
    first, so the caller's pending writes are already in the transaction and reach the database on commit.
    """
    if session.new or session.dirty or session.deleted:
        for row in rows:
            session.expunge(row)
    else:
        session.expunge_all()  # nothing of the caller's is pending; 30 times cheaper than one by one
    return list(rows)
