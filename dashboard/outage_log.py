"""Log a storage outage of the pages' reads once when it starts and once when reads work again.

Pages retry a failed read every 2 s, in every open tab; logging each retry would fill the log with one
line per tab every 2 s. One `ReadOutageLog` per process (`dashboard.factories.get_read_outage_log`) keeps
the state, as `services.spool` does for run writes.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class ReadOutageLog:
    """Say once that storage fails the pages' reads, and once that it answers again; thread-safe.

    Example::

        outages = ReadOutageLog()
        outages.failed("PostgreSQL at 127.0.0.1:5432 unreachable: connection refused")  # logged
        outages.failed("PostgreSQL at 127.0.0.1:5432 unreachable: connection refused")  # not again
        outages.answered()  # logged: the outage is over
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing = False

    def failed(self, reason: str) -> None:
        """A page's read failed for `reason`: log it if this starts an outage."""
        with self._lock:
            first, self._failing = not self._failing, True
        if first:
            logger.warning("storage unavailable for the pages: %s; they retry by themselves", reason)

    def answered(self) -> None:
        """A page's reads succeeded: log it if this ends an outage."""
        with self._lock:
            ended, self._failing = self._failing, False
        if ended:
            logger.warning("storage answers the pages' reads again")
