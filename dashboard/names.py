"""Display names of run statuses and verdicts: the one mapping every page, table and card uses.

Stored values stay what they are (`guardrail_stop`, `not_recovered`: the CLI, URLs and exports use them);
people read these names. Example: ``status_name("guardrail_stop") == "Guardrail stop"``.
"""

from __future__ import annotations

from client.hypothesis import ExperimentVerdict
from storage import RunStatus

STATUS_NAMES = {
    RunStatus.QUEUED: "Queued",
    RunStatus.RUNNING: "Running",
    RunStatus.COMPLETED: "Completed",
    RunStatus.FAILED: "Failed",
    RunStatus.CANCELLED: "Cancelled",
    RunStatus.INTERRUPTED: "Interrupted",
    RunStatus.GUARDRAIL_STOP: "Guardrail stop",
}
VERDICT_NAMES = {
    ExperimentVerdict.HELD: "Held",
    ExperimentVerdict.DEVIATED: "Deviated",
    ExperimentVerdict.NOT_RECOVERED: "Not recovered",
    ExperimentVerdict.BASELINE_FAILED: "Baseline failed",
    ExperimentVerdict.GUARDRAIL_STOP: "Guardrail stop",
}
# What a verdict means, as the run page and the result card say it (the table shows the short name).
VERDICT_SENTENCES = {
    ExperimentVerdict.HELD: "Hypothesis held",
    ExperimentVerdict.DEVIATED: "Deviated during the fault",
    ExperimentVerdict.NOT_RECOVERED: "Not recovered after the fault",
    ExperimentVerdict.BASELINE_FAILED: "Baseline failed: the fault was not applied",
    ExperimentVerdict.GUARDRAIL_STOP: "Stopped by its guardrail",
}
VERDICT_ICONS = {
    ExperimentVerdict.HELD: ":material/check_circle:",
    ExperimentVerdict.DEVIATED: ":material/local_fire_department:",
    ExperimentVerdict.NOT_RECOVERED: ":material/healing:",
    ExperimentVerdict.BASELINE_FAILED: ":material/block:",
    ExperimentVerdict.GUARDRAIL_STOP: ":material/shield:",
}
NO_VERDICT = "–"  # a run without a hypothesis has no verdict


def status_name(status: RunStatus | str) -> str:
    """Return a run status as people read it ("Guardrail stop" for `guardrail_stop`)."""
    return STATUS_NAMES[RunStatus(status)]


def verdict_short_name(verdict: ExperimentVerdict | str | None) -> str:
    """Return a verdict's short name for a table cell or filter ("Not recovered"); "–" without one."""
    return NO_VERDICT if verdict is None else VERDICT_NAMES[ExperimentVerdict(verdict)]


def result_name(status: RunStatus | str, verdict: ExperimentVerdict | str | None, score: float | None) -> str:
    """Return a run's outcome in one cell: a finished run's verdict (and score) if any, else its status.

    A run that failed, was cancelled or interrupted shows that status, whatever a phase had judged before.
    Example: "Deviated · 62", "Held", "Failed", "Running".
    """
    if verdict is None or RunStatus(status) not in (RunStatus.COMPLETED, RunStatus.GUARDRAIL_STOP):
        return status_name(status)
    name = verdict_short_name(verdict)
    return name if score is None else f"{name} · {score:.0f}"
