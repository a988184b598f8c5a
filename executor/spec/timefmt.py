"""RFC 3339 times: a strict parser for request fields and a formatter that cannot fail."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_rfc3339", "rfc3339"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
_MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
_MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // _MS
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def rfc3339(epoch_s: float) -> str:
    """Format epoch seconds as an RFC 3339 UTC string with milliseconds, clamped to years 1-9999.

    It never raises: a listing must not fail because of one stored time (NaN reads as the epoch).
    """
    scaled = 0.0 if math.isnan(epoch_s) else epoch_s * 1000
    if scaled >= _MAX_MS:
        millis = _MAX_MS
    elif scaled <= _MIN_MS:
        millis = _MIN_MS
    else:
        millis = math.floor(scaled)
    moment = _EPOCH + millis * _MS
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> float:
    """Parse an RFC 3339 date-time into epoch seconds; raise ValueError otherwise.

    The offset is required (``Z`` or ``±hh:mm``); fractions beyond microseconds are truncated; a leap
    second reads as the second before it. Any valid date-time parses, even one that falls outside years
    1-9999 once in UTC.
    """
    found = _RFC3339.fullmatch(text)
    if found is None:
        raise ValueError("not an RFC 3339 date-time with an offset, e.g. 2026-11-27T21:00:00Z")
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    fraction, zulu, sign, offset_hours, offset_minutes = found.groups()[6:]
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset_s = 0
    if not zulu:
        if int(offset_hours) > 23 or int(offset_minutes) > 59:
            raise ValueError("the UTC offset is out of range")
        offset_s = (int(offset_hours) * 60 + int(offset_minutes)) * 60
        offset_s = -offset_s if sign == "-" else offset_s
    second = 59 if second == 60 else second  # a leap second, which datetime cannot hold
    try:
        local = datetime(year, month, day, hour, minute, second, micros)
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {exc}") from exc
    return (local - _NAIVE_EPOCH).total_seconds() - offset_s
