"""Apply checked settings, then say whether the Executor they name answers; or go back to the embedded one."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import storage
from client import ExecutorClientConfig, redact_url
from services.console import Console
from services.holder import ConsoleHolder

logger = logging.getLogger(__name__)

# What the embedded executor's settings restore: where it is, how to talk to it and how to observe it.
EMBEDDED_FIELDS = ("base_url", "api_mode", "auth_token", "probe_url", "collector_url")
NO_EMBEDDED = (
    "This dashboard was started for another Executor (BOIFI_EXECUTOR_URL), so no embedded executor runs "
    "in this process: start it with `boifi up` or without BOIFI_EXECUTOR_URL."
)


@dataclass(frozen=True)
class Reachability:
    """Whether the Executor answered its health check, in the words shown next to its URL."""

    healthy: bool
    text: str


@dataclass(frozen=True)
class ApplyReport:
    """What applying did: whether the Console was rebuilt, the runs the old one finishes, the new health."""

    changed: bool
    executor_url: str
    finishing: tuple[int, ...] = ()
    reachability: Reachability | None = None
    error: str | None = None


def reachability_text(healthy: bool, error: str | None) -> str:
    """Return how a health answer reads next to the URL: "reachable, healthy" or "not reachable: why"."""
    if healthy:
        return "reachable, healthy"
    reason = (error or "no answer").removeprefix("health: ")
    if reason.startswith("health answered"):
        return f"reachable, but not healthy: {reason}"
    reason = re.sub(r"^cannot reach the Executor: ", "", reason)
    reason = re.sub(r"\[Errno -?\d+\]\s*", "", reason).strip()
    return f"not reachable: {reason[:1].lower()}{reason[1:]}"


def check_reachability(console: Console) -> Reachability:
    """Take one health sample of `console`'s Executor now (the banner shows it too) and describe it."""
    try:
        console.monitor.sample()
    except Exception:  # storing the sample failed; the probe's answer is set all the same
        logger.warning("could not store the health sample taken after applying settings", exc_info=True)
    healthy = bool(console.monitor.last_healthy)
    return Reachability(healthy, reachability_text(healthy, console.monitor.last_error))


def apply_settings(
    holder: ConsoleHolder, config: ExecutorClientConfig, *, database_url: str | None
) -> ApplyReport:
    """Apply `config` and the database; when the Console was rebuilt, check the Executor it talks to."""
    shown = redact_url(config.base_url)
    try:
        outcome = holder.apply(config, database_url=database_url)
    except Exception as exc:  # a Console that cannot be built: refused with its reason, not a traceback
        logger.warning("settings not applied: %s", storage.describe_error(exc))
        return ApplyReport(changed=False, executor_url=shown, error=storage.describe_error(exc))
    reachability = check_reachability(holder.console()) if outcome.changed else None
    return ApplyReport(
        changed=outcome.changed, executor_url=shown, finishing=outcome.finishing, reachability=reachability
    )


def embedded_config(holder: ConsoleHolder, current: ExecutorClientConfig) -> ExecutorClientConfig | None:
    """Return `current` with the embedded executor's URL, api mode, token and observers; None without one."""
    embedded = holder.embedded_settings()
    if embedded is None:
        return None
    restored = {name: getattr(embedded, name) for name in EMBEDDED_FIELDS}
    return ExecutorClientConfig(**{**current.model_dump(), **restored})
