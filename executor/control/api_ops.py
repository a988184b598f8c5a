"""Health, readiness, Prometheus metrics and service discovery."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from executor.control.api_common import json_reply
from executor.dataplane.metrics import ProxyCounters
from executor.model.service_target import ServiceTarget

__all__ = ["OpsApi"]

_PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OpsApi:
    """Handlers of ``/health``, ``/v1/health``, ``/v1/ready``, ``/metrics`` and ``/v1/services``."""

    def __init__(
        self,
        *,
        services: dict[str, ServiceTarget],
        proxy_url: Callable[[str], str],
        counters: ProxyCounters,
        active_faults: Callable[[], int],
        ready: Callable[[], bool],
    ) -> None:
        self._services = services
        self._proxy_url = proxy_url
        self._counters = counters
        self._active_faults = active_faults
        self._ready = ready

    def add_routes(self, app: web.Application) -> None:
        """Register the operational routes on ``app``."""
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/health", self.health)
        app.router.add_get("/v1/ready", self.ready)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/v1/services", self.services)

    async def health(self, _request: web.Request) -> web.Response:
        """Report liveness."""
        return json_reply({"status": "healthy"})

    async def ready(self, _request: web.Request) -> web.Response:
        """Report readiness (not ready while starting or stopping)."""
        if not self._ready():
            return json_reply(
                {"status": "not_ready", "reason": "executor is starting or stopping"}, status=503
            )
        return json_reply({"status": "ready", "storage": "memory"})

    async def metrics(self, _request: web.Request) -> web.Response:
        """Render the data-plane counters in Prometheus text format."""
        text = self._counters.render(services=sorted(self._services), active_faults=self._active_faults)
        return web.Response(body=text.encode(), headers={"Content-Type": _PROMETHEUS_TYPE})

    async def services(self, _request: web.Request) -> web.Response:
        """List the services behind the proxy and how to reach them through it."""
        body = {
            "services": [
                {
                    "name": target.name,
                    "upstream": target.upstream,
                    "proxy_url": self._proxy_url(target.name),
                    "apis": [{"method": method, "path": path} for method, path in target.apis],
                }
                for target in self._services.values()
            ]
        }
        return json_reply(body)
