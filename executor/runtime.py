"""The executor's async core: control API, proxy and demo services on one event loop."""

from __future__ import annotations

import asyncio
import random
import re

from aiohttp import web

from executor.control.api_common import make_middlewares
from executor.control.api_faults import FaultApi
from executor.control.api_guard import ControlGuard
from executor.control.api_ops import OpsApi
from executor.control.api_policies import PolicyApi
from executor.control.control_listener import ControlLimits, GuardedSite
from executor.dataplane.demo_shop import DEMO_APIS, DemoShop
from executor.dataplane.http1 import Http1Server
from executor.dataplane.http_messages import CallbackHandler
from executor.dataplane.metrics import ProxyCounters
from executor.dataplane.proxy import PROXY_PREFIX, FaultProxy
from executor.dataplane.traces import TraceCollector
from executor.lifecycle.fault_runner import FaultRunner, LoadDefaults
from executor.lifecycle.faultstore import FaultStore
from executor.lifecycle.loadgen import LoadDriver
from executor.lifecycle.policy_store import PolicyStore
from executor.model.clock import LOOP_CLOCK, Clock
from executor.model.rules import Rule
from executor.model.service_target import ServiceTarget
from executor.settings import ExecutorSettings
from executor.startup_errors import ExecutorStartError

__all__ = ["ExecutorRuntime"]

_SHUTDOWN_TIMEOUT_S = 1.0
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class ExecutorRuntime:
    """Serve the control API, the fault proxy and the demo shop on the running loop.

    Example::

        async with ExecutorRuntime(ExecutorSettings(port=0)) as runtime:
            print(runtime.base_url, runtime.proxy_url("payment"))

    Seams: ``rng`` decides which requests a fault hits; ``clock`` (see :mod:`executor.model.clock`) is the one
    time source: it times fault windows, paces the load, holds delayed requests and expires policies.
    """

    def __init__(
        self,
        settings: ExecutorSettings,
        *,
        clock: Clock = LOOP_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        seed = settings.seed
        self._rng = rng or random.Random(seed)
        self._aux_rng = random.Random(None if seed is None else seed + 1)
        self._services: dict[str, ServiceTarget] = {}
        self._runners: list[web.AppRunner] = []
        self._closing = asyncio.Event()
        self._ready = False
        self._started = False
        self._stopped = False
        self.counters = ProxyCounters()
        self.traces = TraceCollector(rng=self._aux_rng)
        self.fault_store = FaultStore(
            clock=clock, keep_recent=settings.keep_recent_faults, window_s=settings.idempotency_window_s
        )
        self.policy_store: PolicyStore | None = None
        self._proxy_base = ""
        self.base_url = ""
        self._driver = LoadDriver(traces=self.traces, clock=clock)
        self._demo: DemoShop | None = None
        self._proxy: FaultProxy | None = None
        self._data_plane: list[Http1Server] = []  # the proxy's server and the demo services'
        self._fault_runner: FaultRunner | None = None

    def proxy_url(self, service: str) -> str:
        """Return the base URL reaching ``service`` through the fault proxy."""
        if service not in self._services:
            raise KeyError(f"unknown service {service!r}; known: {sorted(self._services)}")
        return f"{self._proxy_base}{PROXY_PREFIX}/{service}"

    def service_names(self) -> list[str]:
        """Return the names of the services behind the proxy."""
        return list(self._services)

    def _rules(self) -> list[Rule]:
        assert self.policy_store is not None
        policy_rules = self.policy_store.rules()
        fault_rules = self.fault_store.active_rules()
        return policy_rules + fault_rules if fault_rules else policy_rules

    def _active_faults(self) -> int:
        assert self.policy_store is not None
        return len(self.policy_store.documents()) + self.fault_store.active_count()

    async def _serve(self, app: web.Application, port: int, what: str) -> str:
        runner = web.AppRunner(app, shutdown_timeout=_SHUTDOWN_TIMEOUT_S, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        settings = self.settings
        limits = ControlLimits(
            head_timeout_s=settings.request_head_timeout_s,
            idle_timeout_s=settings.idle_keepalive_timeout_s,
            max_connections=settings.max_connections,
        )
        site = GuardedSite(runner, settings.host, port, limits=limits)
        try:
            await site.start()
        except OSError as exc:
            raise ExecutorStartError(
                f"cannot start {what} on {self.settings.host}:{port}: {exc.strerror or exc}"
            ) from exc
        bound_port = runner.addresses[0][1]
        return f"http://{self.settings.host}:{bound_port}"

    def _data_server(self, handler: CallbackHandler) -> Http1Server:
        settings = self.settings
        return Http1Server(
            callback_handler=handler,
            max_body_bytes=settings.max_body_bytes,
            keepalive_timeout_s=settings.idle_keepalive_timeout_s,
            head_timeout_s=settings.request_head_timeout_s,
            max_connections=settings.max_connections,
        )

    async def _serve_data_plane(self, server: Http1Server, port: int, what: str) -> str:
        self._data_plane.append(server)
        try:
            bound_port = await server.start(self.settings.host, port)
        except OSError as exc:
            raise ExecutorStartError(
                f"cannot start {what} on {self.settings.host}:{port}: {exc.strerror or exc}"
            ) from exc
        return f"http://{self.settings.host}:{bound_port}"

    async def start(self) -> None:
        """Bind every listener; raise ExecutorStartError (after cleaning up) if one cannot bind."""
        if self._started:
            raise ExecutorStartError("executor already started")
        self._started = True
        self.policy_store = PolicyStore(scheduler=self._clock)
        try:
            await self._start_listeners()
        except BaseException:
            await self.stop()
            raise
        self._ready = True

    async def _start_listeners(self) -> None:
        settings = self.settings
        for name, upstream in settings.services.items():
            if not _SERVICE_NAME.fullmatch(name):
                raise ExecutorStartError(f"service name {name!r} must match {_SERVICE_NAME.pattern}")
            if not upstream.startswith(("http://", "https://")):
                raise ExecutorStartError(f"upstream of {name!r} must be an http(s) URL, got {upstream!r}")
            if settings.demo and name in DEMO_APIS:
                raise ExecutorStartError(f"service name {name!r} is taken by a demo service")
            self._services[name] = ServiceTarget(name=name, upstream=upstream.rstrip("/"))
        proxy = FaultProxy(
            services=self._services,
            rules=self._rules,
            rng=self._rng,
            counters=self.counters,
            traces=self.traces,
            namespace=settings.namespace,
            clock=self._clock,
        )
        await proxy.open()
        self._proxy = proxy
        self._proxy_base = await self._serve_data_plane(
            self._data_server(proxy.dispatch),
            settings.proxy_port,
            "fault proxy",
        )
        if settings.demo:
            self._demo = DemoShop(
                proxy_url=self.proxy_url,
                traces=self.traces,
                rng=self._aux_rng,
                resilience=settings.demo_shop,
            )
            await self._demo.open()
            for name, handler in self._demo.handlers().items():
                upstream = await self._serve_data_plane(self._data_server(handler), 0, f"demo service {name}")
                self._services[name] = ServiceTarget(name=name, upstream=upstream, apis=DEMO_APIS[name])
        self._fault_runner = FaultRunner(
            store=self.fault_store,
            services=self._services,
            proxy_url=self.proxy_url,
            driver=self._driver,
            defaults=LoadDefaults(
                rate_rps=settings.default_rate_rps, concurrency=settings.default_concurrency
            ),
            clock=self._clock,
            id_rng=self._aux_rng,
            end_grace_s=settings.end_grace_s,
            load_budget_rps=settings.load_budget_rps,
        )
        self.base_url = await self._serve(self._control_app(), settings.port, "control API")

    def _control_app(self) -> web.Application:
        assert self.policy_store is not None and self._fault_runner is not None
        settings = self.settings
        guard = ControlGuard(
            bound_host=settings.host, token=settings.token, allowed_hosts=settings.allowed_hosts
        )
        app = web.Application(
            middlewares=[*make_middlewares(rng=self._aux_rng, clock=self._clock.now), guard.middleware],
            client_max_size=settings.max_body_bytes,
        )
        PolicyApi(
            store=self.policy_store,
            closing=self._closing,
            max_body_bytes=settings.max_body_bytes,
            keepalive_s=settings.sse_keepalive_s,
        ).add_routes(app)
        FaultApi(
            runner=self._fault_runner, store=self.fault_store, max_body_bytes=settings.max_body_bytes
        ).add_routes(app)
        OpsApi(
            services=self._services,
            proxy_url=self.proxy_url,
            counters=self.counters,
            active_faults=self._active_faults,
            ready=lambda: self._ready,
        ).add_routes(app)
        return app

    async def stop(self) -> None:
        """Halt every fault, delete every policy and close every listener and session."""
        if self._stopped:
            return
        self._stopped = True
        self._ready = False
        self._closing.set()
        if self._fault_runner is not None:
            await self._fault_runner.shutdown()
        if self.policy_store is not None:
            self.policy_store.clear()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        await asyncio.gather(*(server.stop(_SHUTDOWN_TIMEOUT_S) for server in self._data_plane))
        self._data_plane.clear()
        if self._proxy is not None:
            await self._proxy.close()
        await self._driver.close()
        if self._demo is not None:
            await self._demo.close()

    async def __aenter__(self) -> ExecutorRuntime:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
