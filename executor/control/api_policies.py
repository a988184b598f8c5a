"""Family A: the real control plane's policy API, quirks included, and its SSE config stream."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from executor.control.api_common import REQUEST_ID, json_reply, read_body
from executor.lifecycle.policy_store import PolicyStore
from executor.spec.gojson import GoDecodeError, go_marshal
from executor.spec.policy_spec import (
    PolicyInvalidError,
    decode_policy,
    policy_status,
    validate_create_metadata,
    validate_policy,
    version_is_newer,
)

__all__ = ["PolicyApi"]

_NOT_FOUND = {
    "error": "not_found",
    "message": "The requested resource was not found",
    "details": {"resource": "policy"},
}
_INVALID = {"error": "invalid_input", "message": "The provided input is invalid"}


class PolicyApi:
    """Handlers of ``/v1/policies`` and ``/v1/config/stream``."""

    def __init__(
        self,
        *,
        store: PolicyStore,
        closing: asyncio.Event,
        max_body_bytes: int,
        keepalive_s: float = 15.0,
    ) -> None:
        self._store = store
        self._closing = closing
        self._max_body_bytes = max_body_bytes
        self._keepalive_s = keepalive_s

    def add_routes(self, app: web.Application) -> None:
        """Register the family A routes on ``app``."""
        router = app.router
        router.add_post("/v1/policies", self.post)
        router.add_get("/v1/policies", self.list)
        router.add_post("/v1/policies/create", self.create)
        router.add_get("/v1/policies/status", self.status)
        router.add_get("/v1/policies/{name}", self.get)
        router.add_put("/v1/policies/{name}", self.put)
        router.add_delete("/v1/policies/{name}", self.delete)
        router.add_get("/v1/config/stream", self.stream)

    async def _decode(self, request: web.Request) -> dict[str, Any] | web.Response:
        raw = await read_body(request, max_bytes=self._max_body_bytes)
        try:
            return decode_policy(raw)
        except GoDecodeError as exc:
            return json_reply({"error": f"invalid request body: {exc}"}, status=400)

    async def post(self, request: web.Request) -> web.Response:
        """Create or replace a policy by name."""
        policy = await self._decode(request)
        if isinstance(policy, web.Response):
            return policy
        try:
            validate_policy(policy)
        except PolicyInvalidError:
            return json_reply(_INVALID, status=400)
        rules = policy["spec"]["rules"]
        self._store.put(policy, expire_after_s=rules[0]["fault"].get("duration_seconds", 0))
        return json_reply(policy, status=201)

    async def create(self, request: web.Request) -> web.Response:
        """Create a policy, refusing an existing name."""
        policy = await self._decode(request)
        if isinstance(policy, web.Response):
            return policy
        try:
            validate_create_metadata(policy)
            validate_policy(policy)
        except PolicyInvalidError as exc:
            body = {
                "error": "invalid_input",
                "message": exc.message,
                "details": exc.details,
                "code": "validation_error",
            }
            return json_reply(body, status=400)
        if self._store.get(policy["metadata"]["name"]) is not None:
            body = {
                "error": "resource_already_exists",
                "message": "The resource already exists",
                "details": {"resource": "policy"},
            }
            return json_reply(body, status=409)
        self._store.put(policy)
        return json_reply({"message": "policy created successfully", "policy": policy}, status=201)

    async def list(self, _request: web.Request) -> web.Response:
        """List every policy."""
        return json_reply({"policies": self._store.documents()})

    async def get(self, request: web.Request) -> web.Response:
        """Return one policy."""
        policy = self._store.get(request.match_info["name"])
        if policy is None:
            return json_reply(_NOT_FOUND, status=404)
        return json_reply(policy)

    async def put(self, request: web.Request) -> web.Response:
        """Update a policy whose version increases."""
        policy = await self._decode(request)
        if isinstance(policy, web.Response):
            return policy
        name = request.match_info["name"]
        if policy["metadata"]["name"] != name:
            return json_reply({"error": "policy name in URL must match policy name in body"}, status=400)
        existing = self._store.get(name)
        reason = None
        if existing is None:
            reason = "cannot update non-existent policy"
        elif not version_is_newer(policy["metadata"]["version"], existing["metadata"]["version"]):
            reason = "version must be incremented for updates"
        else:
            try:
                validate_policy(policy)
            except PolicyInvalidError as exc:
                reason = exc.message
        if reason is not None:
            body = {"details": f"invalid input\nvalidation_error: {reason}", "error": "invalid policy"}
            return json_reply(body, status=400)
        self._store.put(policy)
        return json_reply({"message": "policy updated successfully", "policy": policy})

    async def delete(self, request: web.Request) -> web.Response:
        """Delete a policy."""
        if not self._store.delete(request.match_info["name"]):
            return json_reply(_NOT_FOUND, status=404)
        return json_reply({"message": "policy deleted successfully"})

    async def status(self, _request: web.Request) -> web.Response:
        """Summarise every policy with the real server's field quirks."""
        documents = self._store.documents()
        entries = [policy_status(document) for document in documents]
        summary = {
            "abort_policies": sum(1 for entry in entries if "abort" in entry["fault_types"]),
            "active_policies": sum(1 for entry in entries if entry["active"]),
            "delay_policies": sum(1 for entry in entries if "delay" in entry["fault_types"]),
            "total_policies": len(entries),
        }
        return json_reply({"policies": entries or None, "summary": summary})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Send ``full_config`` now and ``update`` after every change, until the client or we go."""
        response = web.StreamResponse(
            headers={
                "Cache-Control": "no-cache",
                "Connection": "keep-alive",
                "Content-Type": "text/event-stream",
                "X-Request-Id": request.get(REQUEST_ID, ""),
            }
        )
        queue = self._store.subscribe()
        try:
            await response.prepare(request)
            await response.write(_event("full_config", self._store.documents()))
            closing = asyncio.ensure_future(self._closing.wait())
            try:
                while not self._closing.is_set():
                    getter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {getter, closing}, timeout=self._keepalive_s, return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter in done:
                        await response.write(_event("update", getter.result()))
                    else:
                        getter.cancel()
                        if not self._closing.is_set() and not done:
                            await response.write(b": keepalive\n\n")
            finally:
                closing.cancel()
        except ConnectionResetError:
            pass
        finally:
            self._store.unsubscribe(queue)
        return response


def _event(name: str, policies: list[dict[str, Any]]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + go_marshal(policies) + b"\n\n"
