"""The embedded executor in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from executor.runtime import ExecutorRuntime
from executor.settings import ExecutorSettings
from executor.startup_errors import ExecutorStartError

__all__ = ["EmbeddedExecutor"]

T = TypeVar("T")
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 30.0


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a uvloop event loop when uvloop is installed (faster proxy and load driver), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; this keeps other platforms working
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class EmbeddedExecutor:
    """Run the executor on loopback from synchronous code.

    Example::

        with EmbeddedExecutor(ExecutorSettings(port=0)) as ex:
            httpx.get(ex.base_url + "/v1/health")
            httpx.post(ex.proxy_url("payment") + "/api/v1/payment/process")
    """

    def __init__(
        self,
        settings: ExecutorSettings | None = None,
        *,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_event_loop,
        **runtime_options: Any,
    ) -> None:
        self.settings = settings or ExecutorSettings()
        self._loop_factory = loop_factory  # a virtual clock's tests run on the loop it watches
        self._runtime_options = runtime_options
        self._runtime: ExecutorRuntime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> ExecutorRuntime:
        """Return the running async core (for in-loop inspection)."""
        if self._runtime is None:
            raise ExecutorStartError("executor is not running")
        return self._runtime

    @property
    def base_url(self) -> str:
        """Return the control API's base URL."""
        return self.runtime.base_url

    def proxy_url(self, service: str) -> str:
        """Return the base URL reaching ``service`` through the fault proxy."""
        return self.runtime.proxy_url(service)

    def service_names(self) -> list[str]:
        """Return the names of the services behind the proxy."""
        return self.runtime.service_names()

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the executor's loop thread and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running():
            raise ExecutorStartError("executor is not running")

        async def invoke() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(invoke(), loop).result(timeout=_STOP_TIMEOUT_S)

    @property
    def running(self) -> bool:
        """Tell whether the background loop is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> EmbeddedExecutor:
        """Start the loop thread and bind every listener; raise ExecutorStartError on failure."""
        with self._lock:
            if self._thread is not None:
                raise ExecutorStartError("executor already started")
            ready: Future[None] = Future()
            self._thread = threading.Thread(
                target=self._main, args=(ready,), name="boifi-executor", daemon=True
            )
            self._thread.start()
        try:
            ready.result(timeout=_START_TIMEOUT_S)
        except BaseException:
            self._thread.join(timeout=_STOP_TIMEOUT_S)
            self._thread = None
            self._runtime = None
            raise
        return self

    def _main(self, ready: Future[None]) -> None:
        loop = self._loop_factory()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            runtime = ExecutorRuntime(self.settings, **self._runtime_options)
            self._runtime = runtime
            try:
                loop.run_until_complete(runtime.start())
            except BaseException as exc:
                ready.set_exception(exc)
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(runtime.stop())
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()
            self._loop = None

    def stop(self) -> None:
        """Halt every fault, close every socket and task, and join the thread (idempotent)."""
        with self._lock:
            thread, loop = self._thread, self._loop
            if thread is None:
                return
            if thread is threading.current_thread():
                raise ExecutorStartError("stop() cannot be called from the executor's own loop thread")
            if loop is not None and loop.is_running():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_STOP_TIMEOUT_S)
            self._thread = None
            self._runtime = None

    def __enter__(self) -> EmbeddedExecutor:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
