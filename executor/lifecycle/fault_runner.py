"""Faults applied through families B and C: their rule, their load and their lifecycle."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from executor.lifecycle.fault_stats import Recorder
from executor.lifecycle.faultstore import FaultRecord, FaultStatus, FaultStore
from executor.lifecycle.load_budget import check_load_budget
from executor.lifecycle.loadgen import LoadDriver, LoadSpec
from executor.model.clock import LOOP_CLOCK, Clock
from executor.model.fault_kinds import FaultKind
from executor.model.service_target import ServiceTarget
from executor.spec.faultspec import FaultSpec, build_rule
from executor.spec.timefmt import rfc3339

__all__ = ["FaultRunner", "IdempotencyConflictError", "LoadDefaults", "UnknownServiceError"]

_SHUTDOWN_GRACE_S = 2.0


class UnknownServiceError(Exception):
    """The apply names a service the executor does not front; ``field`` says where it was named."""

    def __init__(self, service: str, *, field: str = "service") -> None:
        super().__init__(service)
        self.service = service
        self.field = field


class IdempotencyConflictError(Exception):
    """An idempotency key was reused with a different body."""


@dataclass(frozen=True)
class LoadDefaults:
    rate_rps: float = 50.0
    concurrency: int = 64


class FaultRunner:
    """Apply, run, observe and halt family B/C faults; every window is timed on ``clock``."""

    def __init__(
        self,
        *,
        store: FaultStore,
        services: dict[str, ServiceTarget],
        proxy_url: Callable[[str], str],
        driver: LoadDriver,
        defaults: LoadDefaults,
        clock: Clock = LOOP_CLOCK,
        id_rng: random.Random | None = None,
        end_grace_s: float = 10.0,
        load_budget_rps: float | None = None,
    ) -> None:
        self._store = store
        self._load_budget_rps = load_budget_rps
        self._end_grace_s = end_grace_s
        self._services = services
        self._proxy_url = proxy_url
        self._driver = driver
        self._defaults = defaults
        self._clock = clock
        self._id_rng = id_rng or random.Random()

    def now(self) -> float:
        """Return the runner's clock (epoch seconds)."""
        return self._clock.now()

    def _new_id(self) -> str:
        day = datetime.fromtimestamp(self._clock.now(), tz=UTC).strftime("%Y%m%d")
        while True:
            apply_id = f"fault-{day}-{self._id_rng.getrandbits(32):08x}"
            if self._store.get(apply_id) is None:  # remembered for a day: two must never share an id
                return apply_id

    def apply(self, spec: FaultSpec, raw_body: bytes, *, family: str, key: str | None) -> FaultRecord:
        """Start a fault, or return the one this idempotency key started (the store remembers it a window).

        Raises LoadBudgetExceededError, before anything is stored, if its load does not fit the budget.
        """
        digest = hashlib.sha256(raw_body).hexdigest()
        if key is not None:
            known = self._store.find_key(family, key)
            if known is not None:
                known_digest, record = known
                if known_digest != digest:
                    raise IdempotencyConflictError(key)
                return record
        if spec.service not in self._services:
            raise UnknownServiceError(spec.service)
        if spec.observe is not None and spec.observe.service not in self._services:
            raise UnknownServiceError(spec.observe.service, field="observe.service")
        now = self._clock.now()
        start = now if spec.start_epoch_s is None else max(now, spec.start_epoch_s)  # a past start is now
        if self._load_budget_rps is not None:
            check_load_budget(
                self._load_budget_rps,
                (start, start + spec.duration_seconds, self._rate_rps(spec)),
                (
                    (other.start_epoch_s, other.end_epoch_s, self._rate_rps(other.spec))
                    for other in self._store.unfinished()
                    if not other.halted.is_set()
                ),
            )
        apply_id = self._new_id()
        halted = asyncio.Event()
        record = FaultRecord(
            apply_id=apply_id,
            spec=spec,
            rule=build_rule(spec, source=f"fault:{apply_id}", halted=halted),
            start_epoch_s=start,
            end_epoch_s=start + spec.duration_seconds,
            recorder=Recorder(),
            halted=halted,
            idempotency_key=key,
            family=family,
        )
        self._store.add(record, digest=digest)
        record.task = asyncio.ensure_future(self._run(record))
        return record

    def _rate_rps(self, spec: FaultSpec) -> float:
        return (spec.load.rate_rps if spec.load else None) or self._defaults.rate_rps

    def _load_spec(self, spec: FaultSpec, duration_s: float) -> LoadSpec:
        """Return the load of a fault: at its observed entry point if it has one, else at its own target."""
        override = spec.load
        observe = spec.observe
        service, api, method = spec.service, spec.api, spec.method
        if observe is not None:
            service, api, method = observe.service, observe.api, observe.method
        method = (override.method if override else None) or method or self._api_method(service, api)
        body: bytes | None = None
        content_type = None
        raw = override.body if override else None
        if isinstance(raw, str):
            body, content_type = raw.encode(), "text/plain"
        elif raw is not None or method in ("POST", "PUT", "PATCH"):
            body, content_type = json.dumps(raw if raw is not None else {}).encode(), "application/json"
        return LoadSpec(
            url=self._proxy_url(service) + api,
            method=method,
            body=body,
            content_type=content_type,
            rate_rps=self._rate_rps(spec),
            concurrency=(override.concurrency if override else None) or self._defaults.concurrency,
            duration_s=duration_s,
            headers=override.headers if override else (),
            headers_pct=override.headers_pct if override else 100,
        )

    def _api_method(self, service: str, api: str) -> str:
        for method, path in self._services[service].apis:
            if path == api:
                return method
        return "GET"

    async def _wait(
        self, record: FaultRecord, seconds: float, *, until: asyncio.Future[Any] | None = None
    ) -> None:
        """Wait ``seconds``, less if the fault is halted or ``until`` (left running) completes first."""
        if seconds <= 0:
            return
        sleeper: asyncio.Future[Any] = asyncio.ensure_future(self._clock.sleep(seconds))
        waiter: asyncio.Future[Any] = asyncio.ensure_future(record.halted.wait())
        try:
            await asyncio.wait(
                {sleeper, waiter, *([until] if until else [])}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            sleeper.cancel()
            waiter.cancel()

    async def _run(self, record: FaultRecord) -> None:
        recorder = record.recorder
        spec = record.spec
        try:
            await self._wait(record, record.start_epoch_s - self._clock.now())
            if record.halted.is_set():
                return
            recorder.log(
                f"{rfc3339(self._clock.now())} {record.apply_id}: {spec.fault_type.value} on "
                f"{spec.service} {spec.api} at {spec.percentage}% until {rfc3339(record.end_epoch_s)}"
                + (f", observed at {spec.observe.service} {spec.observe.api}" if spec.observe else "")
            )
            duration_s = record.end_epoch_s - self._clock.now()
            load = asyncio.ensure_future(
                self._driver.run(self._load_spec(spec, duration_s), recorder, halted=record.halted)
            )
            try:
                await self._wait(record, record.end_epoch_s - self._clock.now())
                if not record.halted.is_set():
                    # The fault ends now: it hits no new request and the driver sends no more (both stop at
                    # the end time by themselves). Requests it holds keep their delay, up to the grace.
                    await self._wait(record, self._end_grace_s, until=load)
                record.halted.set()  # release what it still holds
                await load
            finally:
                load.cancel()
            record.finish(FaultStatus.COMPLETED)
            recorder.log(f"{rfc3339(self._clock.now())} {record.apply_id}: completed")
        except asyncio.CancelledError:
            record.finish(FaultStatus.CANCELLED)
            raise
        except Exception as exc:
            record.finish(FaultStatus.FAILED, f"{type(exc).__name__}: {exc}")
            recorder.log(f"{record.apply_id}: failed: {exc!r}")
        finally:
            record.halted.set()
            record.done.set()

    def cancel(self, apply_id: str) -> FaultRecord | None:
        """Halt a fault now; return it, or None when unknown.

        A fault past its end time has completed: cancelling it only releases the requests it still holds.
        """
        record = self._store.get(apply_id)
        if record is None:
            return None
        if record.final_status is None and self._clock.now() < record.end_epoch_s:
            record.finish(FaultStatus.CANCELLED)
            record.recorder.log(f"{rfc3339(self._clock.now())} {apply_id}: cancelled")
        record.halted.set()
        return record

    async def wait_done(self, record: FaultRecord) -> None:
        """Wait until the fault's run (load included) has ended."""
        if record.task is not None:
            await asyncio.shield(record.task)

    def status_body(self, record: FaultRecord) -> dict[str, Any]:
        """Return family B's status body."""
        now = self._clock.now()
        status = record.status(now)
        span = record.end_epoch_s - record.start_epoch_s
        progress = (
            100.0
            if status.terminal and status is FaultStatus.COMPLETED
            else (min(100.0, max(0.0, (now - record.start_epoch_s) / span * 100)) if span > 0 else 0.0)
        )
        return {
            "apply_id": record.apply_id,
            "status": status.value,
            "start_time": rfc3339(record.start_epoch_s),
            "end_time": rfc3339(record.end_epoch_s),
            "progress_percent": round(progress, 1),
            "error_message": record.error_message,
        }

    def summary(self, record: FaultRecord) -> dict[str, Any]:
        """Return one entry of ``GET /v1/faults``."""
        spec = record.spec
        return {
            **self.status_body(record),
            "service": spec.service,
            "api": spec.api,
            "method": spec.method,
            "fault_type": spec.fault_type.value,
            "percentage": spec.percentage,
            "headers": [header.to_wire() for header in spec.headers],
            "observe": spec.observe.to_wire() if spec.observe else None,
            "active": record.active(self._clock.now()),
            "idempotency_key": record.idempotency_key,
        }

    async def collect(
        self, *, service: str, api: str, duration_s: float, method: str | None, rate_rps: float | None
    ) -> Recorder:
        """Drive probe load at ``service``'s ``api`` through the proxy and return the measurements."""
        if service not in self._services:
            raise UnknownServiceError(service)
        probe = FaultSpec(
            service=service,
            api=api,
            fault_type=FaultKind.DELAY,
            percentage=0,
            duration_seconds=1,
            fault_config={},
            method=method,
        )
        recorder = Recorder()
        load = self._load_spec(probe, duration_s)
        if rate_rps:
            load = dataclasses.replace(load, rate_rps=rate_rps)
        await self._driver.run(load, recorder)
        return recorder

    async def shutdown(self) -> None:
        """Cancel every running fault and wait for its task."""
        tasks = []
        for record in self._store.unfinished():
            if record.final_status is None:
                record.finish(FaultStatus.CANCELLED)
            if record.task is not None and not record.task.done():
                tasks.append(record.task)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=_SHUTDOWN_GRACE_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
