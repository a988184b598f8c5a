"""Run a plan's phases in every API mode: baseline -> judge -> fault -> recovery, on one time axis.

The orchestration is the client's, whatever the Executor speaks; each protocol supplies only its own
`apply` (the fault phase) and `observe` (an entry point without a fault: ``GET /collect`` for families B/C,
the probe or collector for A). The run's axis starts at 0 when its first phase starts (the baseline if
any, else the fault); every sample and timeline point is moved onto it with its phase.

- The baseline observes the entry point for `baseline_seconds` and is judged at once: if the hypothesis
  fails, the observation returns with `verdict=baseline_failed` and the fault is never sent.
- The fault phase is the protocol's apply (B/C send `observe` in the body, so the Executor's load drives the
  entry point). Its samples are measured from the fault's start, `lead_sec` after the apply is called.
- Recovery observes the entry point again for `recovery_seconds` once the fault ended. If that fails (the
  deadline, a /collect error), the fault's results stand: no recovery phase, and a warning says so.
- `on_progress` sees partial observations in every phase: `phases[-1]` is the phase in progress and
  `metrics` are that phase's so far. A cancel stops any phase at once; `ExecutorCancelledError.partial`
  carries every phase seen so far. The fault is halted by its protocol, which never leaves one behind.

A plan without baseline, recovery, observe and hypothesis sends exactly the requests it always did and
gets `phases=[its fault summary]`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from client.errors import ExecutorCancelledError, ExecutorClientError
from client.hypothesis import ExperimentVerdict, Phase, PhaseSummary
from client.models import ExecutorMetrics, FaultPlan, FaultStatus, RawObservation, TimelinePoint
from client.no_hits import no_hit_warning
from client.protocols.base import ApplyContext, Protocol, notify_progress
from client.summaries import summarise, timeline
from client.verdicts import judge, summarize, summary_of

__all__ = ["is_experiment", "run_phases"]


def is_experiment(plan: FaultPlan) -> bool:
    """Tell whether a plan asks for more than a fault: phases around it, an entry point or a hypothesis."""
    return bool(plan.baseline_seconds or plan.recovery_seconds or plan.observe or plan.hypothesis)


def _summary(phase: Phase, observation: RawObservation, start_ms: float, end_ms: float) -> PhaseSummary:
    """Return a phase's measures: from its samples, else from the Executor's metrics (partials of B)."""
    if observation.samples or observation.metrics is None:
        return summarize(phase, observation.samples, start_ms, end_ms)
    return summary_of(phase, observation.metrics, start_ms, end_ms)


def _on_axis(observation: RawObservation, phase: Phase, start_ms: float) -> RawObservation:
    """Return ``observation`` with its samples and timeline moved by ``start_ms`` and given ``phase``."""
    samples = [
        dataclasses.replace(s, offset_ms=s.offset_ms + start_ms, phase=phase) for s in observation.samples
    ]
    # Family C answers without a timeline: draw one from the samples, so every phase has one.
    own = observation.timeline or timeline(observation.samples)
    points = [p.model_copy(update={"t_s": p.t_s + start_ms / 1000.0, "phase": phase}) for p in own]
    return observation.model_copy(update={"samples": samples, "timeline": points})


@dataclasses.dataclass
class _Seen:
    """One phase observed so far, on the run axis."""

    phase: Phase
    observation: RawObservation
    start_ms: float
    end_ms: float

    def summary(self) -> PhaseSummary:
        return _summary(self.phase, self.observation, self.start_ms, self.end_ms)


class _Run:
    """The phases of one apply, and the observations they compose into."""

    def __init__(self, protocol: Protocol, ctx: ApplyContext, clock: Callable[[], float]) -> None:
        self.protocol = protocol
        self.ctx = ctx
        self.clock = clock
        self.origin = clock()
        self.seen: list[_Seen] = []

    def now_ms(self) -> float:
        return (self.clock() - self.origin) * 1000.0

    def compose(self, current: _Seen | None, *, final: bool) -> RawObservation:
        """Return every phase seen (plus ``current``, in progress) as one observation on the run axis."""
        phases = [*self.seen, current] if current is not None else list(self.seen)
        last = phases[-1].observation
        fault = next((s.observation for s in phases if s.phase is Phase.FAULT), None)
        head = fault if fault is not None and (final or current is None) else last
        samples = [s for seen in phases for s in seen.observation.samples]
        points: list[TimelinePoint] = [p for seen in phases for p in seen.observation.timeline]
        update: dict[str, object] = {
            "samples": samples,
            "timeline": points,
            "phases": [seen.summary() for seen in phases],
            "final": final,
            "apply_id": fault.apply_id if fault is not None else None,  # a /collect id is no fault's
            "target": fault.target if fault is not None else None,
        }
        if not final:
            update["metrics"] = last.metrics
        return head.model_copy(update=update)

    def progress(self, phase: Phase, start_ms: float) -> Callable[[RawObservation], None] | None:
        """Return the callback that moves a phase's partials onto the run axis and passes them on.

        None without the caller's ``on_progress``: a protocol then asks for no partials at all.
        """
        if self.ctx.on_progress is None:
            return None

        def on_partial(partial: RawObservation) -> None:
            current = _Seen(phase, _on_axis(partial, phase, start_ms), start_ms, self.now_ms())
            notify_progress(self.ctx.on_progress, self.compose(current, final=False))

        return on_partial

    def cancelled(self, exc: ExecutorCancelledError, current: _Seen | None) -> ExecutorCancelledError:
        """Return a cancel like ``exc`` whose partial holds every phase seen so far (``exc`` if none)."""
        if not self.seen and current is None:
            return exc
        error = ExecutorCancelledError(str(exc), partial=self.compose(current, final=False))
        error.__cause__ = exc
        return error

    def cancelled_in(
        self, phase: Phase, exc: ExecutorCancelledError, start_ms: float
    ) -> ExecutorCancelledError:
        """Return the cancel of a phase in progress, its partial (empty if none) moved onto the run axis."""
        if exc.partial is None and not self.seen and not is_experiment(self.ctx.plan):
            return exc  # a plain plan's cancel is what its protocol raised
        partial = exc.partial or _empty(self.protocol)
        current = _Seen(phase, _on_axis(partial, phase, start_ms), start_ms, self.now_ms())
        return self.cancelled(exc, current)

    def observe(self, phase: Phase, seconds: float, start_ms: float) -> _Seen:
        """Observe the entry point without a fault for ``seconds`` as ``phase``; cancel raises at once."""
        notify_progress(
            self.ctx.on_progress,
            self.compose(_Seen(phase, _empty(self.protocol), start_ms, start_ms), final=False),
        )
        try:
            observation = self.protocol.observe(self.ctx, seconds, self.progress(phase, start_ms))
        except ExecutorCancelledError as exc:
            error = self.cancelled_in(phase, exc, start_ms)
            if error is exc:
                raise
            raise error from exc
        return _Seen(phase, _on_axis(observation, phase, start_ms), start_ms, self.now_ms())

    def check_cancel(self, before: str) -> None:
        """Raise the run's cancel, with every phase seen, if it was cancelled before ``before``."""
        if self.ctx.cancel is not None and self.ctx.cancel.is_set():
            message = f"apply {self.ctx.apply_key} cancelled before {before}"
            raise self.cancelled(ExecutorCancelledError(message), None)


def _empty(protocol: Protocol) -> RawObservation:
    return RawObservation(
        status_code=200, latency_ms=0.0, error_rate=0.0, api_mode=protocol.mode, metrics=ExecutorMetrics()
    )


def run_phases(
    protocol: Protocol, ctx: ApplyContext, *, clock: Callable[[], float], wall_clock: Callable[[], datetime]
) -> RawObservation:
    """Run the plan's phases through ``protocol`` within ``ctx.deadline``; return the judged observation."""
    plan = ctx.plan
    run = _Run(protocol, ctx, clock)
    lead_ms = protocol.lead_sec(ctx, wall_clock()) * 1000.0
    if not plan.baseline_seconds:
        run.origin += lead_ms / 1000.0  # the axis starts with the fault
    warnings: list[str] = []
    if plan.baseline_seconds:
        baseline = run.observe(Phase.BASELINE, plan.baseline_seconds, 0.0)
        run.seen.append(baseline)
        if plan.hypothesis is not None:
            bounds = {Phase.BASELINE: (0.0, baseline.end_ms)}
            known = {Phase.BASELINE: baseline.summary()}
            found = judge(plan, baseline.observation.samples, bounds, known=known)
            if found.verdict is ExperimentVerdict.BASELINE_FAILED:
                return _finish(run, found.fields(), found.warnings, baseline_failed=True)
        run.check_cancel("the fault")
    fault_start = run.now_ms() + lead_ms if plan.baseline_seconds else 0.0
    fault_end = fault_start + plan.duration_seconds * 1000.0
    fault_ctx = dataclasses.replace(ctx, on_progress=run.progress(Phase.FAULT, fault_start))
    if is_experiment(plan):  # the fault phase begins (family C sends nothing more until it ends)
        notify_progress(
            ctx.on_progress,
            run.compose(_Seen(Phase.FAULT, _empty(protocol), fault_start, fault_start), final=False),
        )
    try:
        fault_obs = protocol.apply(fault_ctx)
    except ExecutorCancelledError as exc:
        error = run.cancelled_in(Phase.FAULT, exc, fault_start)
        if error is exc:
            raise
        raise error from exc
    run.seen.append(_Seen(Phase.FAULT, _on_axis(fault_obs, Phase.FAULT, fault_start), fault_start, fault_end))
    if plan.recovery_seconds:
        run.check_cancel("recovery")
        recovery_start = max(run.now_ms(), fault_end)
        try:
            run.seen.append(run.observe(Phase.RECOVERY, plan.recovery_seconds, recovery_start))
        except ExecutorCancelledError:
            raise
        except ExecutorClientError as exc:
            warnings.append(f"recovery: not observed ({exc}); the verdict stands on the phases before it")
    samples = [s for seen in run.seen for s in seen.observation.samples]
    bounds = {seen.phase: (seen.start_ms, seen.end_ms) for seen in run.seen}
    found = judge(plan, samples, bounds, known={seen.phase: seen.summary() for seen in run.seen})
    return _finish(run, found.fields(), [*warnings, *(found.warnings if is_experiment(plan) else [])])


def _finish(
    run: _Run, fields: dict[str, object], warnings: list[str], *, baseline_failed: bool = False
) -> RawObservation:
    final = run.compose(None, final=True)
    update = dict(fields)
    no_hits = None if baseline_failed else no_hit_warning(run.ctx.plan, final)
    if no_hits:  # a fault that hit nothing measured nothing about the fault: say so, with the cause
        warnings = [*warnings, no_hits]
    if baseline_failed:
        metrics = final.metrics or summarise(final.samples)  # the baseline's: no fault ran
        note = "baseline: the hypothesis did not hold before the fault; the fault was not applied"
        update |= {
            "metrics": metrics,
            "latency_ms": metrics.avg_latency_ms,
            "error_rate": metrics.error_rate,
            "status": FaultStatus.COMPLETED,
            "logs": [*final.logs, note],
        }
    if warnings:
        logs = update.get("logs", final.logs)
        update["warnings"] = [*final.warnings, *warnings]
        update["logs"] = [*(logs if isinstance(logs, list) else []), *warnings]
    return final.model_copy(update=update)
