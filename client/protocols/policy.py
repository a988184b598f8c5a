"""Family A: the real BOIFI control plane's policy API (seed appendix A, way 1).

Where the seed's adapter went wrong, and what we do instead:

- it named each attempt ``auto-<random>``, so a retried POST created a second policy; the name here is
  derived from the apply's idempotency key, and ``POST /v1/policies`` replaces by name;
- it sent ``fixed_delay: "2500ms"`` and accepted 200; the control plane wants ``fixed_delay_ms`` as an
  integer and answers 201;
- it set no ``duration_seconds``, so a crashed client left the fault on forever; we put it on ``rules[0]``,
  the only rule the control plane reads it from, and still delete the policy in ``finally``;
- it slept a fixed 2 s and then needed a separate proxy to observe; we wait ``policy_propagation_sec`` and
  observe with the built-in probe (or ``GET /collect`` when ``collector_url`` is set).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from client.discovery import fetch_services, method_of
from client.errors import ExecutorCancelledError, ExecutorClientError, ExecutorResponseError
from client.events import utc_now
from client.hypothesis import Observe
from client.models import (
    ActiveFault,
    ApiMode,
    FaultPlan,
    FaultStatus,
    FaultType,
    PreparedRequest,
    RawObservation,
    RequestSample,
)
from client.parsing import require_object
from client.probe import Probe, ProbeSettings
from client.protocols.base import (
    ApplyContext,
    ProgressCallback,
    Protocol,
    matching_headers,
    notify_progress,
)
from client.protocols.collect import observation_of, observed_target
from client.retry import Deadline
from client.summaries import baseline_warning, summarise, timeline

logger = logging.getLogger(__name__)

POLICY_PREFIX = "boifi-"
_MAX_NAME_LEN = 63
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
_WATCH_SEC = 0.05


def policy_name_for(apply_key: str) -> str:
    """Return the family-A policy name for an apply key: ``boifi-<key>``, sanitised and truncated."""
    cleaned = _INVALID.sub("-", apply_key).strip("-") or "apply"
    return f"{POLICY_PREFIX}{cleaned}"[:_MAX_NAME_LEN]


def policy_body(plan: FaultPlan, name: str, *, propagation_sec: float = 0.0) -> dict[str, Any]:
    """Return the policy for a plan; error injection becomes an abort with the plan's status or 500.

    The control plane deletes the policy `duration_seconds` after the POST, while we observe only after
    waiting `propagation_sec` for it to reach the data plane: the policy lives for both, so the fault acts
    for the plan's whole duration and still expires by itself if we die.
    """
    fault: dict[str, Any] = {
        "percentage": plan.percentage,
        "start_delay_ms": plan.start_delay_ms,
        "duration_seconds": plan.duration_seconds + math.ceil(propagation_sec),
    }
    if plan.fault_type is FaultType.DELAY:
        fault["delay"] = {"fixed_delay_ms": plan.delay_ms}
    else:  # family A has no error injection: the closest is an abort with a 5xx
        fault["abort"] = {"httpStatus": plan.abort_http_status or 500}
    match: dict[str, Any] = {"path": {"exact": plan.api}}
    if plan.method:
        match["method"] = {"exact": plan.method}
    if plan.headers:
        match["headers"] = [h.to_wire() for h in plan.headers]
    return {
        "metadata": {"name": name, "version": "1.0.0"},
        "spec": {"selector": {"service": plan.service}, "rules": [{"match": match, "fault": fault}]},
    }


class PolicyProtocol(Protocol):
    """Speak API family A and observe with the probe or a collector."""

    mode = ApiMode.POLICY
    halt_path = "/v1/policies/{}"

    def __init__(
        self,
        *args: Any,
        probe_transport: Any = None,
        wall_clock: Callable[[], datetime] = utc_now,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._probe_transport = probe_transport
        self.wall_clock = wall_clock

    def prepare(self, plan: FaultPlan, apply_key: str, start_time: datetime | None) -> PreparedRequest:
        """Return the policy POST."""
        return PreparedRequest(
            method="POST",
            url=f"{self.config.base_url}/v1/policies",
            headers={"Content-Type": "application/json", "Idempotency-Key": apply_key},
            json=policy_body(
                plan, policy_name_for(apply_key), propagation_sec=self.config.policy_propagation_sec
            ),
        )

    def apply(self, ctx: ApplyContext) -> RawObservation:
        """Create the policy, observe the target while it is active, and always delete it."""
        name = policy_name_for(ctx.apply_key)
        partial: list[RawObservation] = []
        if not self.config.collector_url and not self.config.probe_url:  # refuse before creating anything
            raise ExecutorResponseError("policy mode needs probe_url or collector_url to observe the fault")
        self.engine.reject_if_open(
            "apply", apply_key=ctx.apply_key
        )  # an open breaker rejects before anything, even the cleanup, is sent
        if ctx.start_time is not None:  # family A has no scheduled start: wait for it here
            wait_sec = (ctx.start_time - self.wall_clock()).total_seconds()
            self.engine.sleep(
                min(max(0.0, wait_sec), max(0.0, ctx.deadline.remaining_sec())),
                cancel=ctx.cancel,
                operation="start_time",
            )
            ctx.deadline.check("start_time")
        probe_method = self._probe_method(ctx) if not self.config.collector_url else "GET"
        try:
            self.engine.request(
                "apply",
                "POST",
                "/v1/policies",
                json_body=policy_body(ctx.plan, name, propagation_sec=self.config.policy_propagation_sec),
                apply_key=ctx.apply_key,
                ok_statuses=(200, 201),
                deadline=ctx.deadline,
                cancel=ctx.cancel,
            )
            wait = min(self.config.policy_propagation_sec, max(0.0, ctx.deadline.remaining_sec()))
            self.engine.sleep(wait, cancel=ctx.cancel, operation="propagation")
            ctx.deadline.check("propagation")
            if self.config.collector_url:
                return self._collect(ctx, name, partial)
            return self._probe(ctx, name, partial, probe_method)
        except ExecutorCancelledError as exc:
            if exc.partial is not None:
                raise
            raise ExecutorCancelledError(
                f"apply {ctx.apply_key} cancelled; policy {name} deleted",
                partial=partial[-1] if partial else None,
            ) from exc
        finally:
            self.try_halt(name)

    def _collect(self, ctx: ApplyContext, name: str, partial: list[RawObservation]) -> RawObservation:
        """Observe the fault through the collector, in chunks of about a second when progress is wanted.

        One call for the whole fault left the live view empty until the end; each chunk's samples so far
        now reach ``on_progress`` as the probe's do.
        """
        # A plan without observe asks the collector for its target as it always did (no method).
        target = ctx.plan.observe or Observe(service=ctx.plan.service, api=ctx.plan.api)

        def on_partial(observation: RawObservation) -> None:
            named = observation.model_copy(update={"apply_id": name, "status": FaultStatus.RUNNING})
            partial.append(named)
            notify_progress(ctx.on_progress, named)

        wanted = on_partial if ctx.on_progress is not None else None
        observation = self._collector(ctx, target, ctx.plan.duration_seconds, wanted)
        warning = baseline_warning(observation.samples)
        warnings = [*observation.warnings, warning] if warning else observation.warnings
        logs = [*observation.logs, warning] if warning else observation.logs
        # The policy name is what halt() takes.
        return observation.model_copy(update={"apply_id": name, "warnings": warnings, "logs": logs})

    def _collector(
        self, ctx: ApplyContext, target: Observe, seconds: float, on_partial: ProgressCallback | None
    ) -> RawObservation:
        return self.collect_at(f"{self.config.collector_url}/collect", ctx, target, seconds, on_partial)

    def observe(
        self, ctx: ApplyContext, seconds: float, on_partial: ProgressCallback | None = None
    ) -> RawObservation:
        """Observe the entry point without a fault: the collector's ``/collect``, else the probe."""
        if self.config.collector_url:
            return self._collector(ctx, observed_target(ctx.plan), seconds, on_partial)
        if not self.config.probe_url:
            raise ExecutorResponseError("policy mode needs probe_url or collector_url to observe the fault")

        def on_second(samples: list[RequestSample]) -> None:
            notify_progress(on_partial, observation_of(samples, api_mode=self.mode, final=False))

        samples = self._run_probe(ctx, seconds, self._probe_method(ctx), on_second)
        return observation_of(samples, api_mode=self.mode, final=True)

    def lead_sec(self, ctx: ApplyContext, now: datetime) -> float:
        """Return the start-time wait plus the propagation wait before the probe starts."""
        return super().lead_sec(ctx, now) + self.config.policy_propagation_sec

    def _probe_method(self, ctx: ApplyContext) -> str:
        """Return the method to probe with: the plan's; else the one ``GET /v1/services`` lists; else GET.

        Probing a POST-only API with GET made every request a 405 the fault never touched, and the run
        reported those as the fault's errors. Discovery is asked once per apply, before the policy exists,
        within one connect timeout (at most a tenth of the deadline left) and without retries; an Executor
        without the endpoint means GET.
        """
        target = observed_target(ctx.plan)
        if target.method:
            return target.method
        # At most a tenth of what is left: a stuck discovery must not eat the observation's time.
        budget_sec = min(self.config.connection_timeout_sec, max(0.001, ctx.deadline.remaining_sec() / 10))
        budget = Deadline.after(budget_sec, self.engine.clock)
        try:
            discovered = method_of(
                fetch_services(self.engine, budget, retry=False), target.service, target.api
            )
        except ExecutorClientError as exc:
            logger.warning("could not discover the method of %s: %s; probing with GET", target.api, exc)
            return "GET"
        return discovered or "GET"

    def _probe(
        self, ctx: ApplyContext, name: str, partial: list[RawObservation], method: str
    ) -> RawObservation:
        def on_second(samples: list[Any]) -> None:
            observation = self._observation(name, samples, final=False)
            partial.append(observation)
            notify_progress(ctx.on_progress, observation)

        try:
            samples = self._run_probe(ctx, ctx.plan.duration_seconds, method, on_second)
        except ExecutorCancelledError as exc:
            so_far = exc.partial.samples if exc.partial is not None else []
            partial_obs = self._observation(name, so_far, final=False)
            raise ExecutorCancelledError(f"apply {ctx.apply_key} cancelled", partial=partial_obs) from exc
        return self._observation(name, samples, final=True)

    def _run_probe(
        self,
        ctx: ApplyContext,
        seconds: float,
        method: str,
        on_second: Callable[[list[RequestSample]], None],
    ) -> list[RequestSample]:
        """Probe ``probe_url`` + the observed API for ``seconds``; a cancel carries the samples so far."""
        assert self.config.probe_url, "checked before the policy was created"
        probe = Probe(
            ProbeSettings(
                url=f"{self.config.probe_url}{observed_target(ctx.plan).api}",
                method=method,
                headers=tuple(matching_headers(ctx.plan).items()),
                headers_pct=ctx.plan.matching_traffic_pct,
                rate_rps=self.config.probe_rate_rps,
                concurrency=self.config.probe_concurrency,
                timeout_sec=self.config.probe_timeout_sec,
            ),
            transport=self._probe_transport,
            clock=self.engine.clock,
            sleep=self.engine.raw_sleep,
        )
        try:
            return probe.run(seconds, deadline=ctx.deadline, cancel=ctx.cancel, on_second=on_second)
        except ExecutorCancelledError as exc:
            so_far = observation_of(probe.samples(), api_mode=self.mode, final=False)
            raise ExecutorCancelledError(str(exc), partial=so_far) from exc

    def _observation(self, name: str, samples: list[Any], *, final: bool) -> RawObservation:
        metrics = summarise(samples)
        warning = baseline_warning(samples)
        warnings = [warning] if warning else []
        return RawObservation(
            status_code=200,
            latency_ms=metrics.avg_latency_ms,
            error_rate=metrics.error_rate,
            logs=[f"probe: {metrics.request_count} requests, {metrics.affected_count} affected", *warnings],
            warnings=warnings,
            apply_id=name,
            api_mode=self.mode,
            status=FaultStatus.COMPLETED if final else FaultStatus.RUNNING,
            final=final,
            metrics=metrics,
            timeline=timeline(samples),
            samples=list(samples),
        )

    def list_active(self, deadline: Deadline) -> list[ActiveFault]:
        """Return every policy (ours start with ``boifi-``; callers filter)."""
        response = self.engine.request("list", "GET", "/v1/policies", deadline=deadline)
        items = require_object(response.data, "list").get("policies") or []
        if not isinstance(items, list):
            raise ExecutorResponseError("list: 'policies' must be a list")
        return [fault for fault in map(_active_from_policy, items) if fault is not None]


def _active_from_policy(policy: Any) -> ActiveFault | None:
    try:
        name = policy["metadata"]["name"]
        spec = policy.get("spec") or {}
        rule = (spec.get("rules") or [{}])[0]
        fault = rule.get("fault") or {}
        path = (rule.get("match") or {}).get("path") or {}
    except (KeyError, TypeError, AttributeError):
        return None
    kind = FaultType.DELAY if "delay" in fault else FaultType.ABORT if "abort" in fault else None
    percentage = fault.get("percentage")
    return ActiveFault(
        fault_id=str(name),
        service=str((spec.get("selector") or {}).get("service", "*") or "*"),
        api=str(path.get("exact") or path.get("prefix") or path.get("regex") or ""),
        fault_type=kind,
        status=FaultStatus.ACTIVE,
        percentage=percentage if isinstance(percentage, int) else None,
        raw=policy,
    )
