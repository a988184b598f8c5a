"""The suite's one wait: it returns the first truthy result and fails with what it waited for."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.waiting import WaitTimeout, wait_until, wait_until_async


def test_wait_until_returns_the_first_truthy_result() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 2 and "ready", interval=0) == "ready"
    assert next(counter) == 3


def test_wait_until_fails_at_its_deadline_naming_what_it_waited_for() -> None:
    with pytest.raises(WaitTimeout, match=r"timed out after 0 s waiting for the run, last \[\]"):
        wait_until(list, timeout=0, what="the run")


def test_wait_until_async_polls_while_the_loop_runs() -> None:
    async def scenario() -> str:
        ready = asyncio.Event()
        asyncio.get_running_loop().call_soon(ready.set)
        return await wait_until_async(lambda: ready.is_set() and "set", interval=0)

    assert asyncio.run(scenario()) == "set"
    with pytest.raises(WaitTimeout):
        asyncio.run(wait_until_async(lambda: None, timeout=0))
