"""What `boifi campaign run` says: each trial's progress line, the summary, the JSON, the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from services.campaigns import CampaignOutcome, Trial

# A campaign's exit codes (README): the weakness found is the news, like `boifi apply`'s verdicts.
_FOUND = ("deviated", "not_recovered")


def fault_words(params: dict[str, Any]) -> str:
    """Return a trial's fault in words: ``delay 250 ms 50 % for 2 s on payment /api/...``."""
    kind, _, amount = str(params["fault"]).partition(":")
    fault = f"delay {amount} ms" if kind == "delay" else f"abort {amount}"
    return f"{fault} {params['percentage']} % for {params['duration_seconds']} s on {params['target']}"


def progress_line(trial: Trial, *, done: int, planned: int, best: Trial | None, elapsed_s: float) -> str:
    """Return the stderr line after a trial: trial i/N, its result, the best so far and the ETA."""
    result = trial.result
    score = "no score" if result.severity_score is None else f"score {result.severity_score:.2f}"
    verdict = result.verdict or result.status
    best_words = (
        "none yet"
        if best is None or best.result.severity_score is None
        else f"{best.result.severity_score:.2f} (trial {best.number})"
    )
    eta = elapsed_s / done * (planned - done) if done else 0.0
    return (
        f"trial {done}/{planned}: {fault_words(trial.params)}: {verdict}, {score}; "
        f"best so far {best_words}; ETA {eta:.0f} s"
    )


def exit_code(outcome: CampaignOutcome) -> int:
    """Return the campaign's exit code (README lists them)."""
    from storage import CampaignStatus

    if outcome.status is CampaignStatus.PAUSED:
        return ExitCode.BASELINE_FAILED
    if outcome.status in (CampaignStatus.FAILED, CampaignStatus.HALTED):
        return ExitCode.RUN_FAILED
    if any(trial.result.verdict in _FOUND for trial in outcome.trials):
        return ExitCode.DEVIATED
    return ExitCode.OK


def summary_line(outcome: CampaignOutcome, best: Trial | None) -> str:
    """Return the last line of a campaign: how it ended and the worst fault it found."""
    ended = f"{outcome.status.value} ({outcome.reason})"
    head = f"campaign {outcome.campaign_id} {ended}: {len(outcome.trials)} trials"
    if best is None or best.result.severity_score is None:
        return f"{head}; no trial was scored"
    return (
        f"{head}; worst fault: {fault_words(best.params)}, severity {best.result.severity_score:.2f}, "
        f"{best.result.verdict} (trial {best.number}, run {best.result.run_id})"
    )


def campaign_document(engine: Any, outcome: CampaignOutcome, best: Trial | None) -> dict[str, Any]:
    """Return `--json`'s one shape: the campaign record, its trials' run records and the best one's."""
    from sqlmodel import Session

    import storage

    with Session(engine) as session:
        campaign = storage.get_campaign(session, campaign_id=outcome.campaign_id or -1)
        runs = storage.campaign_runs(session, campaign_id=outcome.campaign_id or -1)
        records = storage.runs_to_records(runs)
    best_record = next((r for r in records if best is not None and r["id"] == best.result.run_id), None)
    return {
        "campaign": storage.campaign_record(campaign) if campaign is not None else None,
        "trials": records,
        "best": best_record,
    }
