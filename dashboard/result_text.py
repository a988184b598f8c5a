"""What the result card says beside the numbers: when the run ran, for how long, and its natural errors.

Natural errors are the requests no fault touched that failed anyway: the target's own error rate. The card
states it the same way in every api mode (from the stored samples), so one natural error in 363 requests is
a line of context, not a warning, and a 2 % second in the chart (1 error in 50 requests) is explained.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

import storage
from client.measures import error_mask


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def times_text(run: storage.Run, *, timezone: str = "UTC") -> str:
    """Say when a run started and ended (in `timezone`), how long it took, and its labels."""
    zone = ZoneInfo(timezone)
    parts = []
    if run.started_at is not None:
        parts.append(f"started {_local(run.started_at, zone)}")
    else:
        parts.append(f"created {_local(run.created_at, zone)}")
    if run.finished_at is not None:
        parts.append(f"ended {_local(run.finished_at, zone)}")
        if run.started_at is not None:
            parts.append(f"took {(run.finished_at - run.started_at).total_seconds():,.1f} s")
    text = " · ".join(parts) + f" ({timezone})"
    labels = ", ".join(str(label) for label in run.labels or [])
    return f"{text} · labels: {labels}" if labels else f"{text} · no labels"


def natural_errors_text(samples: np.ndarray) -> str | None:
    """Say how many requests no fault touched failed anyway (the target's own error rate), or None."""
    if samples.size == 0:
        return None
    untouched = samples[~samples["affected"].astype(bool)]
    if untouched.size == 0:
        return None
    failed = int(np.count_nonzero(error_mask(untouched["status_code"])))
    share = 100.0 * failed / untouched.size
    if failed == 0:
        return f"Natural errors: none of the {untouched.size:,} requests the fault did not touch failed."
    return (
        f"Natural errors: {failed:,} of the {untouched.size:,} requests the fault did not touch failed "
        f"({share:.1f} %): the target's own error rate, not the fault's. In the chart one such error in a "
        "second of 50 requests shows as 2 %."
    )
