"""Family A policy decoding, validation and expiry, without a server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from executor.lifecycle.policy_store import PolicyStore
from executor.model.fault_kinds import DelayFault
from executor.spec.gojson import GoDecodeError, go_marshal
from executor.spec.policy_spec import (
    PolicyInvalidError,
    compile_policy,
    decode_policy,
    validate_create_metadata,
    validate_policy,
    version_is_newer,
)


def _policy(**fault: object) -> dict[str, object]:
    return {
        "metadata": {"name": "p-1", "version": "1.0.0"},
        "spec": {"rules": [{"match": {"path": {"prefix": "/"}}, "fault": {"percentage": 10, **fault}}]},
    }


def test_decode_orders_fields_like_go_and_drops_unknown_ones() -> None:
    raw = json.dumps(
        {
            "spec": {
                "rules": [
                    {
                        "fault": {"abort": {"httpStatus": 503, "body": "x"}, "percentage": 5},
                        "match": {"path": {"exact": "/a"}},
                    }
                ]
            },
            "metadata": {"name": "n", "labels": {"a": "b"}},
        }
    ).encode()
    decoded = decode_policy(raw)
    assert go_marshal(decoded) == (
        b'{"metadata":{"name":"n","version":""},"spec":{"rules":[{"match":{"path":{"exact":"/a"}},'
        b'"fault":{"percentage":5,"abort":{"httpStatus":503}}}]}}'
    )


def test_decode_matches_keys_case_insensitively_like_go() -> None:
    decoded = decode_policy(b'{"Metadata":{"NAME":"x"},"spec":{"rules":[]}}')
    assert decoded["metadata"]["name"] == "x"


def test_go_marshal_escapes_html_characters() -> None:
    assert go_marshal({"a": "<&>"}) == b'{"a":"\\u003c\\u0026\\u003e"}'


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"   ", "EOF"),
        (b'{"metadata":', "unexpected EOF"),
        (b"{x}", "invalid character 'x' looking for beginning of object key string"),  # Go's words
        (
            b'{"spec":{"rules":{}}}',
            "json: cannot unmarshal object into Go struct field PolicySpec.spec.rules of type []models.Rule",
        ),
        (
            b'{"spec":{"rules":[{"fault":{"percentage":true}}]}}',
            "json: cannot unmarshal bool into Go struct "
            "field FaultAction.spec.rules.fault.percentage of type int",
        ),
    ],
)
def test_decode_reports_go_messages(raw: bytes, message: str) -> None:
    with pytest.raises(GoDecodeError) as caught:
        decode_policy(raw)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"delay": {"fixed_delay_ms": 0}}, "spec.rules[0].fault"),
        ({"percentage": 101, "delay": {"fixed_delay_ms": 5}}, "spec.rules[0].fault.percentage"),
        ({"start_delay_ms": -1, "abort": {"httpStatus": 500}}, "spec.rules[0].fault.start_delay_ms"),
        ({"duration_seconds": -1, "abort": {"httpStatus": 500}}, "spec.rules[0].fault.duration_seconds"),
    ],
)
def test_validation_names_the_failing_field(fault: dict[str, object], field: str) -> None:
    policy = decode_policy(json.dumps(_policy(**fault)).encode())
    with pytest.raises(PolicyInvalidError) as caught:
        validate_policy(policy)
    assert caught.value.field == field


def test_validation_rejects_a_rule_without_matchers_and_a_bad_regex() -> None:
    empty = decode_policy(
        b'{"metadata":{"name":"x"},"spec":{"rules":[{"match":{"path":{}},'
        b'"fault":{"percentage":1,"abort":{"httpStatus":500}}}]}}'
    )
    with pytest.raises(PolicyInvalidError, match="matcher"):
        validate_policy(empty)
    bad = decode_policy(
        b'{"metadata":{"name":"x"},"spec":{"rules":[{"match":{"path":{"regex":"("}},'
        b'"fault":{"percentage":1,"abort":{"httpStatus":500}}}]}}'
    )
    with pytest.raises(PolicyInvalidError, match="regex"):
        validate_policy(bad)


def test_create_metadata_rules() -> None:
    policy = decode_policy(json.dumps(_policy(delay={"fixed_delay_ms": 5})).encode())
    validate_create_metadata(policy)
    policy["metadata"]["name"] = "x" * 64
    with pytest.raises(PolicyInvalidError, match="too long"):
        validate_create_metadata(policy)


def test_version_order_is_semantic() -> None:
    assert version_is_newer("1.10.0", "1.9.0")
    assert not version_is_newer("1.0.0", "1.0.0")
    assert version_is_newer("b", "a")


def test_compiled_rules_keep_selector_and_both_faults() -> None:
    policy = decode_policy(
        b'{"metadata":{"name":"both"},"spec":{"selector":{"service":"payment"},"rules":[{"match":'
        b'{"method":{"regex":"^(GET|POST)$"}},"fault":{"percentage":100,"delay":{"fixed_delay_ms":300},'
        b'"abort":{"httpStatus":502}}}]}}'
    )
    (rule,) = compile_policy(policy)
    assert rule.selector.service == "payment"
    assert rule.match.matches("POST", "/x", {})
    assert not rule.match.matches("PUT", "/x", {})
    assert rule.source == "policy:both"
    assert rule.action.fault == DelayFault(delay_ms=300)  # as the real data plane: the delay only


class FakeScheduler:
    """Record scheduled callbacks; the test fires them."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], None], list[bool]]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeScheduler.Handle:
        cancelled = [False]
        self.calls.append((delay, callback, cancelled))
        return FakeScheduler.Handle(cancelled)

    def fire(self) -> None:
        for _delay, callback, cancelled in list(self.calls):
            if not cancelled[0]:
                callback()

    class Handle:
        def __init__(self, cancelled: list[bool]) -> None:
            self._cancelled = cancelled

        def cancel(self) -> None:
            self._cancelled[0] = True


def _valid(name: str, duration_s: int = 0) -> dict[str, object]:
    raw = json.dumps(
        {
            "metadata": {"name": name},
            "spec": {
                "rules": [
                    {
                        "match": {"path": {"prefix": "/"}},
                        "fault": {
                            "percentage": 1,
                            "duration_seconds": duration_s,
                            "abort": {"httpStatus": 500},
                        },
                    }
                ]
            },
        }
    )
    return decode_policy(raw.encode())


def test_policy_expires_after_its_duration_and_listeners_hear_it() -> None:
    async def scenario() -> None:
        scheduler = FakeScheduler()
        store = PolicyStore(scheduler=scheduler)
        updates = store.subscribe()
        store.put(_valid("short", 2), expire_after_s=2)
        store.put(_valid("forever"))
        assert [delay for delay, _, _ in scheduler.calls] == [2]
        scheduler.fire()
        assert store.get("short") is None
        assert store.get("forever") is not None
        snapshots = [updates.get_nowait() for _ in range(updates.qsize())]
        assert [len(snapshot) for snapshot in snapshots] == [1, 2, 1]
        assert [rule.source for rule in store.rules()] == ["policy:forever"]

    asyncio.run(scenario())


def test_replacing_a_policy_reschedules_its_expiry_and_halts_the_old_rules() -> None:
    async def scenario() -> None:
        scheduler = FakeScheduler()
        store = PolicyStore(scheduler=scheduler)
        store.put(_valid("p", 5), expire_after_s=5)
        old_rule = store.rules()[0]
        store.put(_valid("p"))
        assert old_rule.halted is not None and old_rule.halted.is_set()
        scheduler.fire()
        assert store.get("p") is not None

    asyncio.run(scenario())
