"""Read one run as its detail page shows it: the run, its phased timeline and samples, and what the client
did while it ran (client events, breaker transitions) on the run's Executor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from client.breaker import BreakerState
from storage.events import breaker_series, client_event_series
from storage.models import BreakerTransition, ClientEventRow, RunDetail
from storage.queries import get_run
from storage.types import as_utc, detached, time_range, utc_now

# The window ends just after `finished_at`, so the halt or cleanup the run's end logged is inside it.
_END_MARGIN = timedelta(milliseconds=1)


@dataclass(frozen=True)
class RunWithEvents:
    """A run's detail and the client's activity inside its time window (`since` ≤ timestamp < `until`).

    `client_events` are those of the run's Executor in the window plus any linked to the run (`run_id`),
    oldest first; `breaker_transitions` those of its Executor in the window; `breaker_state_at_start` the
    state the breaker was in when the window opened (None: it had never moved, i.e. CLOSED). The window
    runs from the run's creation to its end (now while it is active). Map a timestamp onto the run's time
    axis with ``(timestamp - detail.run.started_at)``: the first phase starts about when the run is marked
    running.

    Example::

        found = get_run_with_events(session, run_id=7)
        retries = [e for e in found.client_events if e.kind == "retry_scheduled"]
    """

    detail: RunDetail
    since: datetime
    until: datetime
    client_events: list[ClientEventRow] = field(default_factory=list)
    breaker_transitions: list[BreakerTransition] = field(default_factory=list)
    breaker_state_at_start: BreakerState | None = None


def get_run_with_events(
    session: Session, *, run_id: int, now: datetime | None = None
) -> RunWithEvents | None:
    """Return run `run_id` with its timeline, phased samples, client events and breaker moves, or None."""
    detail = get_run(session, run_id=run_id)
    if detail is None:
        return None
    run = detail.run
    since = as_utc(run.created_at)
    end = run.finished_at if run.finished_at is not None else (now if now is not None else utc_now())
    until = as_utc(end) + _END_MARGIN
    url = run.executor_url
    events = client_event_series(session, since=since, until=until, executor_url=url)
    outside = or_(
        ~and_(*time_range(ClientEventRow.timestamp, since, until)),
        col(ClientEventRow.executor_url).is_(None),
        col(ClientEventRow.executor_url) != url,
    )
    linked = select(ClientEventRow).where(col(ClientEventRow.run_id) == run_id, outside)
    extra = detached(session, session.exec(linked).all())
    if extra:
        events = sorted([*events, *extra], key=lambda event: (as_utc(event.timestamp), event.id or 0))
    return RunWithEvents(
        detail=detail,
        since=since,
        until=until,
        client_events=events,
        breaker_transitions=breaker_series(session, since=since, until=until, executor_url=url),
        breaker_state_at_start=_state_before(session, executor_url=url, moment=since),
    )


def _state_before(session: Session, *, executor_url: str, moment: datetime) -> BreakerState | None:
    statement = (
        select(BreakerTransition.new_state)
        .where(col(BreakerTransition.executor_url) == executor_url, col(BreakerTransition.timestamp) < moment)
        .order_by(col(BreakerTransition.timestamp).desc(), col(BreakerTransition.id).desc())
        .limit(1)
    )
    state = session.exec(statement).first()
    return None if state is None else BreakerState(state)
