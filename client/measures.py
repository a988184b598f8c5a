"""The one definition of each measure the console shows: what counts as an error, and which percentile.

Every place that counts errors or takes a latency percentile (the client's own probe, stored timelines, the
dashboard's tables and charts, demo data) uses these, so a number means the same on every page, in the CLI
and in an export. The embedded executor keeps a mirror of both (it is the other side of the wire and must not
import the client); a test checks that the two agree for every status code.

- **Error**: a request that got no answer (status 0) or an HTTP status of 400 and above. That is what the
  Executor reports. It counts a 404 of a misdirected probe as an error, on purpose: a run whose baseline
  fails is not a healthy run with a fault on top.
- **Percentile**: linear interpolation between the two closest ranks (numpy's default method), so a p95 of
  stored samples recomputed with numpy matches the one shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ERROR_STATUS_FLOOR", "error_mask", "is_error_status", "percentile"]

ERROR_STATUS_FLOOR = 400


def is_error_status(status_code: int) -> bool:
    """Tell whether a request with this status failed: no answer (0) or an HTTP status of 400 and above."""
    return status_code == 0 or status_code >= ERROR_STATUS_FLOOR


def error_mask(status_codes: Any) -> np.ndarray:
    """Return `is_error_status` of each code of an array, vectorised."""
    codes = np.asarray(status_codes)
    return np.asarray((codes == 0) | (codes >= ERROR_STATUS_FLOOR), dtype=bool)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Return the linearly interpolated percentile (0 <= fraction <= 1) of sorted values (0 when empty)."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low))
