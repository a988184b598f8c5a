"""Service discovery: ``GET /v1/services`` and the method a target API accepts."""

from __future__ import annotations

from typing import Any

from client.calls import CallEngine
from client.errors import ExecutorResponseError
from client.models import ServiceApi, ServiceInfo
from client.parsing import require_object
from client.retry import Deadline


def fetch_services(engine: CallEngine, deadline: Deadline, *, retry: bool = True) -> list[ServiceInfo]:
    """Return the services ``GET /v1/services`` lists, or [] where the Executor has no such endpoint."""
    response = engine.request(
        "services", "GET", "/v1/services", deadline=deadline, ok_statuses=(200, 404), retry=retry
    )
    if response.status_code == 404:
        return []
    items = require_object(response.data, "services").get("services") or []
    if not isinstance(items, list):
        raise ExecutorResponseError("services: 'services' must be a list")
    return [info for info in map(service_from_wire, items) if info is not None]


def method_of(services: list[ServiceInfo], service_name: str, path: str) -> str | None:
    """Return the method ``service_name`` lists for the API ``path`` (the first one), or None."""
    for service in services:
        if service.name == service_name:
            for api in service.apis:
                if api.path == path:
                    return api.method.upper()
    return None


def service_from_wire(item: Any) -> ServiceInfo | None:
    """Return a ServiceInfo from one entry of ``GET /v1/services``, or None if it is malformed."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    apis = tuple(
        ServiceApi(method=str(api.get("method", "GET")), path=str(api.get("path", "")))
        for api in item.get("apis") or []
        if isinstance(api, dict)
    )
    return ServiceInfo(
        name=item["name"], upstream=item.get("upstream"), proxy_url=item.get("proxy_url"), apis=apis
    )
