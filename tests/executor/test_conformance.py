"""Family A replays the real control plane's transcript byte for byte."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from executor import EmbeddedExecutor
from tests.executor.helpers import JSON_TYPE

CONFORMANCE = Path("/work/shared/conformance")
if not CONFORMANCE.exists():  # the references live next to the repository
    CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance"


@dataclass(frozen=True)
class Exchange:
    name: str
    method: str
    path: str
    body: str | None
    status_line: str
    content_type: str
    response_body: str


def _parse_transcript(text: str) -> list[Exchange]:
    exchanges = []
    for block in text.split("### ")[1:]:
        lines = block.split("\n")
        name, request_line = lines[0].split(": ", 1)
        method, path = request_line.split(" ", 1)
        index = 1
        body = None
        if lines[index].startswith("body> "):
            body = lines[index][len("body> ") :]
            index += 1
        status_line = lines[index]
        index += 1
        headers = {}
        while lines[index]:
            key, value = lines[index].split(": ", 1)
            headers[key.lower()] = value
            index += 1
        response_body = "\n".join(lines[index + 1 :]).rstrip("\n")
        exchanges.append(
            Exchange(name, method, path, body, status_line, headers["content-type"], response_body)
        )
    return exchanges


TRANSCRIPT = _parse_transcript((CONFORMANCE / "control-plane-transcript.txt").read_text())
# The real server keeps policies in a Go map: list order varies, and so does the order of the
# status entries (status-after does not follow insertion order); compare those entries as sets.
UNORDERED = {"list", "list-after", "status-after"}


def test_transcript_parses_every_block() -> None:
    assert len(TRANSCRIPT) == 40
    assert TRANSCRIPT[0].name == "health"
    assert TRANSCRIPT[-1].name == "method-not-allowed"


def _policies_as_set(body: str) -> tuple[list[str], str]:
    """Return each entry's exact text (key order kept) as a sorted list, plus the other keys."""
    document = json.loads(body, object_pairs_hook=lambda pairs: dict(pairs))
    entries = sorted(json.dumps(item, separators=(",", ":")) for item in document.pop("policies"))
    return entries, json.dumps(document, separators=(",", ":"))


def test_family_a_replays_transcript_exactly(bare_executor: EmbeddedExecutor, http: httpx.Client) -> None:
    mismatches = []
    for exchange in TRANSCRIPT:
        response = http.request(
            exchange.method,
            bare_executor.base_url + exchange.path,
            content=exchange.body.encode() if exchange.body is not None else None,
            headers=JSON_TYPE if exchange.body is not None else None,
        )
        status_line = f"HTTP/1.1 {response.status_code} {response.reason_phrase}"
        got = (status_line, response.headers.get("content-type"))
        want = (exchange.status_line, exchange.content_type)
        if exchange.name in UNORDERED:
            same_body = _policies_as_set(response.text) == _policies_as_set(exchange.response_body)
        else:
            same_body = response.text == exchange.response_body
        if got != want or not same_body:
            mismatches.append((exchange.name, got, want, response.text, exchange.response_body))
    assert mismatches == []


def test_every_response_carries_a_request_id(bare_executor: EmbeddedExecutor, http: httpx.Client) -> None:
    ids = {http.get(bare_executor.base_url + "/v1/health").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    for request_id in ids:
        stamp, suffix = request_id.split("-")
        assert len(stamp) == 14 and stamp.isdigit()
        assert len(suffix) == 6 and suffix.isalnum()
    assert "x-request-id" in http.get(bare_executor.base_url + "/nope").headers


def _sse_events(text: str) -> list[tuple[str, str]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = [line for line in chunk.split("\n") if not line.startswith(":")]
        if not lines or not lines[0].startswith("event: "):
            continue
        events.append((lines[0][len("event: ") :], lines[1][len("data: ") :]))
    return events


def test_config_stream_matches_recorded_events(bare_executor: EmbeddedExecutor, http: httpx.Client) -> None:
    expected = _sse_events((CONFORMANCE / "control-plane-sse.txt").read_text())
    received: queue.Queue[tuple[str, str] | dict[str, str]] = queue.Queue()

    def listen() -> None:
        with (
            httpx.Client(timeout=30) as client,
            client.stream("GET", bare_executor.base_url + "/v1/config/stream") as response,
        ):
            received.put(dict(response.headers))
            event = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    received.put((event, line[len("data: ") :]))

    def listen_quietly() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the stream ends when the executor stops
            listen()

    listener = threading.Thread(target=listen_quietly, daemon=True)
    listener.start()
    headers = received.get(timeout=10)
    assert isinstance(headers, dict)
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"
    assert "access-control-allow-origin" not in headers  # the real server sends "*": no web page may read it
    first = received.get(timeout=10)
    steps = {"create-delay", "create-abort", "repost-delay-same-name", "create-only-new", "delete-delay"}
    for exchange in TRANSCRIPT:
        if exchange.name in steps:
            http.request(
                exchange.method,
                bare_executor.base_url + exchange.path,
                content=exchange.body.encode() if exchange.body is not None else None,
                headers=JSON_TYPE if exchange.body is not None else None,
            )
    got = [first] + [received.get(timeout=10) for _ in range(len(expected) - 1)]
    assert got == expected
    bare_executor.stop()
    listener.join(timeout=10)
    assert not listener.is_alive()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "invalid request body: EOF"),
        (
            '{"metadata": []}',
            "invalid request body: json: cannot unmarshal array into Go struct field "
            "FaultInjectionPolicy.metadata of type models.Metadata",
        ),
        (
            '{"metadata":{"name":5}}',
            "invalid request body: json: cannot unmarshal number into Go struct "
            "field Metadata.metadata.name of type string",
        ),
        ("[1, 2", "invalid request body: unexpected EOF"),
    ],
)
def test_malformed_policy_bodies_get_go_error_messages(
    bare_executor: EmbeddedExecutor, http: httpx.Client, body: str, message: str
) -> None:
    response = http.post(bare_executor.base_url + "/v1/policies", content=body, headers=JSON_TYPE)
    assert response.status_code == 400
    assert response.json() == {"error": message}
