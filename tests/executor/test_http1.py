"""The lean HTTP/1.1 server on the wire: raw loopback sockets against a real Http1Server."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, cast

import pytest

from executor.dataplane.http1 import Http1Server
from executor.dataplane.http_messages import Reply as HttpReply
from executor.dataplane.http_messages import Request, Response

LIMIT_BYTES = 64
GUARD_S = 5.0  # a hung scenario fails instead of waiting for pytest-timeout
IDLE_S = 0.2  # short keep-alive timeout, still long enough for a request sent right after connecting


class App:
    """Echo each request as JSON; special paths wait on a gate, raise, or answer odd statuses."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self, request: Request) -> Response:
        self.seen.append(f"{request.path}?{request.query}")
        if request.path == "/gate":
            self.entered.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        if request.path.startswith("/status/"):
            status = int(request.path.rsplit("/", 1)[1])
            return Response(status, [("ETag", '"v1"')], request.body)
        if request.path == "/raw":  # as a proxy passes on an upstream's head
            raw = b"HTTP/1.1 203 Upstream Says\r\nX-Order: 1\r\nContent-Length: 3\r\nDate: then"
            return Response(203, [], b"raw", raw_head=raw)
        if request.path == "/framing":
            headers = [("Content-Length", "999"), ("Transfer-Encoding", "chunked")]
            headers += [("Connection", "keep-alive"), ("X-Kept", "yes")]
            return Response(200, headers, b"framed")
        echo = {**asdict(request), "body": request.body.decode("latin-1")}
        return Response(200, [("Content-Type", "application/json")], json.dumps(echo).encode())


@dataclass
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        found = self.values(name)
        assert len(found) <= 1, f"{name} appears {len(found)} times"
        return found[0] if found else None

    def json(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


@dataclass
class Harness:
    server: Http1Server
    port: int
    app: App
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers.append(writer)
        return reader, writer


Scenario = Callable[[Harness, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def serve(scenario: Scenario, **server_kwargs: Any) -> None:
    """Run ``scenario`` against a fresh server on a fresh loop, then stop it and close every socket."""

    async def main() -> None:
        app = App()
        server = Http1Server(app, **{"max_body_bytes": LIMIT_BYTES, **server_kwargs})
        harness = Harness(server, await server.start("127.0.0.1", 0), app)
        try:
            async with asyncio.timeout(GUARD_S):
                await scenario(harness, *await harness.connect())
        finally:
            await server.stop(timeout_s=0.1)
            for writer in harness.writers:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
            assert not server.connections

    asyncio.run(main())


def get(target: str, *headers: str, version: str = "1.1", method: str = "GET") -> bytes:
    lines = [f"{method} {target} HTTP/{version}", "Host: test", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def post(target: str, body: bytes, *headers: str) -> bytes:
    return get(target, f"Content-Length: {len(body)}", *headers, method="POST") + body


async def read_reply(reader: asyncio.StreamReader, *, head: bool = False) -> Reply:
    raw = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = raw.decode("latin-1").split("\r\n")[:-2]
    version, status, reason = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = [(name, value) for name, value in (line.split(": ", 1) for line in lines)]
    reply = Reply(int(status), reason, headers)
    length = reply.header("content-length")
    if length is not None and not head:
        reply.body = await reader.readexactly(int(length))
    return reply


async def read_rest(reader: asyncio.StreamReader) -> bytes:
    """Read until the server closes; a reset counts as closed with nothing more sent."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


def test_keep_alive_answers_two_requests_on_one_connection() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for n in (1, 2):
            writer.write(get(f"/echo?n={n}", "X-Trace: abc"))
            reply = await read_reply(reader)
            assert (reply.status, reply.reason) == (200, "OK")
            assert reply.header("content-length") == str(len(reply.body))
            assert parsedate_to_datetime(reply.header("date") or "").tzinfo is not None
            assert reply.header("connection") is None
            echo = reply.json()
            assert (echo["method"], echo["path"], echo["query"]) == ("GET", "/echo", f"n={n}")
            assert ["X-Trace", "abc"] in echo["headers"]
        writer.write(get("/status/404"))
        assert (await read_reply(reader)).reason == "Not Found"

    serve(scenario)


def test_pipelined_requests_are_answered_in_order() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/gate?n=1") + post("/echo?n=2", b"two") + get("/echo?n=3"))
        await h.app.entered.wait()
        assert h.app.seen == ["/gate?n=1"]  # the next ones wait for the slow first one
        h.app.release.set()
        queries = [(await read_reply(reader)).json()["query"] for _ in range(3)]
        assert queries == ["n=1", "n=2", "n=3"]
        writer.write(b"".join(get(f"/echo?n={n}") for n in range(40)))  # more than the server queues
        queries = [(await read_reply(reader)).json()["query"] for _ in range(40)]
        assert queries == [f"n={n}" for n in range(40)]

    serve(scenario)


def test_request_split_into_single_bytes_is_parsed() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in post("/echo?q=split", b"payload", "X-Long-Header: some value"):
            writer.write(bytes([byte]))
            await writer.drain()
        echo = (await read_reply(reader)).json()
        assert (echo["query"], echo["body"]) == ("q=split", "payload")
        assert ["X-Long-Header", "some value"] in echo["headers"]

    serve(scenario)


def test_http10_with_keep_alive_stays_open() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for n in (1, 2):
            writer.write(get(f"/echo?n={n}", "Connection: keep-alive", version="1.0"))
            reply = await read_reply(reader)
            assert reply.header("connection") == "keep-alive"
            assert reply.json()["query"] == f"n={n}"

    serve(scenario)


@pytest.mark.parametrize(
    ("version", "headers"), [("1.0", []), ("1.1", ["Connection: close"])], ids=["http10", "connection-close"]
)
def test_request_without_keep_alive_is_answered_then_closed(version: str, headers: list[str]) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/echo", *headers, version=version))
        reply = await read_reply(reader)
        assert (reply.status, reply.json()["version"]) == (200, version)
        assert reply.header("connection") == "close"
        assert await read_rest(reader) == b""

    serve(scenario)


def test_chunked_request_body_reaches_the_handler_dechunked() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/echo", "Transfer-Encoding: chunked", method="POST"))
        writer.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert (await read_reply(reader)).json()["body"] == "hello world"

    serve(scenario)


def test_expect_continue_is_answered_before_the_body_is_sent() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/echo", "Content-Length: 5", "Expect: 100-continue", method="PUT"))
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        reply = await read_reply(reader)
        assert (reply.status, reply.json()["body"]) == (200, "hello")

    serve(scenario)


def test_expect_continue_behind_a_slow_request_follows_its_answer() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/gate") + get("/echo", "Content-Length: 5", "Expect: 100-continue", method="PUT"))
        await h.app.entered.wait()
        h.app.release.set()
        assert (await read_reply(reader)).status == 200
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        assert (await read_reply(reader)).json()["body"] == "hello"

    serve(scenario)


@pytest.mark.parametrize(
    "raw",
    [
        get("/echo", f"Content-Length: {LIMIT_BYTES + 1}", method="POST"),  # the body is never sent
        get("/echo", "Transfer-Encoding: chunked", method="POST")
        + b"%x\r\n%s\r\n" % (LIMIT_BYTES, b"x" * LIMIT_BYTES)  # exactly at the limit so far
        + b"1\r\nx\r\n",
    ],
    ids=["declared", "chunked-growing"],
)
def test_body_over_the_limit_gets_413_then_close(raw: bytes) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        reply = await read_reply(reader)
        assert (reply.status, reply.header("connection")) == (413, "close")
        assert str(LIMIT_BYTES) in reply.body.decode()
        assert await read_rest(reader) == b""
        assert h.app.seen == []

    serve(scenario)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_exactly_at_the_limit_is_accepted(chunked: bool) -> None:
    body = b"y" * LIMIT_BYTES

    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if chunked:
            writer.write(get("/echo", "Transfer-Encoding: chunked", method="POST"))
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        else:
            writer.write(post("/echo", body))
        reply = await read_reply(reader)
        assert (reply.status, reply.json()["body"]) == (200, body.decode())

    serve(scenario)


@pytest.mark.parametrize(
    "raw",
    [b"NOT A REQUEST\r\n\r\n", b"GET / HTTP/1.1\r\nHost: test\r\nBad Header Line\r\n\r\n"],
    ids=["request-line", "header"],
)
def test_malformed_request_gets_400_then_close(raw: bytes) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        reply = await read_reply(reader)
        assert reply.status == 400
        assert reply.header("content-type") == "text/plain; charset=utf-8"
        assert "malformed" in reply.body.decode()
        assert await read_rest(reader) == b""
        assert h.app.seen == []

    serve(scenario)


def test_an_endless_request_head_gets_431_then_close() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"GET /echo HTTP/1.1\r\nHost: test\r\nX-Huge: ")
        for _ in range(20):  # 80 KiB of one header value, never finished
            writer.write(b"a" * 4096)
            await writer.drain()
        reply = await read_reply(reader)
        assert reply.status == 431
        assert "exceeds" in reply.body.decode()
        assert await read_rest(reader) == b""
        assert h.app.seen == []

    serve(scenario)


def test_a_large_body_arriving_with_its_head_is_not_taken_for_a_large_head() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(post("/echo", b"x" * 100_000) + post("/echo?n=2", b"y"))  # one write, past 64 KiB
        assert len((await read_reply(reader)).json()["body"]) == 100_000
        assert (await read_reply(reader)).json()["query"] == "n=2"

    serve(scenario, max_body_bytes=200_000)


def test_websocket_upgrade_gets_501_then_close() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/echo", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13"))
        reply = await read_reply(reader)
        assert reply.status == 501
        assert await read_rest(reader) == b""
        assert h.app.seen == []

    serve(scenario)


def test_head_answer_carries_no_body_bytes() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/echo", method="HEAD") + get("/echo?after=head"))
        head = await read_reply(reader, head=True)
        assert head.status == 200
        assert int(head.header("content-length") or 0) > 0
        assert (await read_reply(reader)).json()["query"] == "after=head"  # no stray body in between

    serve(scenario)


def test_handler_exception_gets_500_and_connection_keeps_serving() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/boom"))
        reply = await read_reply(reader)
        assert reply.status == 500
        assert "RuntimeError" in reply.body.decode()
        writer.write(get("/echo?n=2"))
        assert (await read_reply(reader)).json()["query"] == "n=2"

    serve(scenario)


@pytest.mark.parametrize("status", [204, 304])
@pytest.mark.parametrize("body", [b"", b"stale"], ids=["empty", "body"])
def test_no_content_statuses_carry_no_length_and_no_body(status: int, body: bytes) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(post(f"/status/{status}", body) + get("/echo?after=status"))
        reply = await read_reply(reader)
        assert (reply.status, reply.header("etag")) == (status, '"v1"')
        assert reply.header("content-length") is None
        assert (await read_reply(reader)).json()["query"] == "after=status"  # no body in between

    serve(scenario)


def test_client_disconnect_cancels_the_handler_and_server_keeps_serving() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/gate"))
        await h.app.entered.wait()
        writer.close()
        await writer.wait_closed()
        await h.app.cancelled.wait()
        reader, writer = await h.connect()
        writer.write(get("/echo?fresh=1"))
        assert (await read_reply(reader)).json()["query"] == "fresh=1"

    serve(scenario)


def test_stop_closes_idle_connections_at_once_and_lets_a_busy_one_finish() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/echo"))
        await read_reply(reader)  # this connection is now idle
        busy_reader, busy_writer = await h.connect()
        busy_writer.write(get("/gate"))
        await h.app.entered.wait()
        stopping = asyncio.create_task(h.server.stop(timeout_s=GUARD_S * 2))
        assert await read_rest(reader) == b""  # closed while the busy request still waits
        assert not stopping.done()
        h.app.release.set()
        reply = await read_reply(busy_reader)
        assert (reply.status, reply.header("connection")) == (200, "close")
        assert await read_rest(busy_reader) == b""
        await stopping
        assert not h.app.cancelled.is_set()
        with pytest.raises(OSError):
            await h.connect()  # no longer listening

    serve(scenario)


def test_stop_aborts_a_request_that_outlives_the_timeout() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/gate"))
        await h.app.entered.wait()
        await h.server.stop(timeout_s=0.05)
        assert await read_rest(reader) == b""
        await h.app.cancelled.wait()
        assert not h.server.connections

    serve(scenario)


@pytest.mark.parametrize("after_request", [False, True], ids=["fresh", "after-request"])
def test_idle_connection_is_closed_after_the_keepalive_timeout(after_request: bool) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if after_request:
            writer.write(get("/echo"))
            assert (await read_reply(reader)).status == 200
        assert await read_rest(reader) == b""

    serve(scenario, keepalive_timeout_s=IDLE_S)


def test_connection_stalled_mid_head_is_closed_after_the_keepalive_timeout() -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"GET /echo HTTP/1.1\r\nHost: test\r\nX-Partial: ")
        async with asyncio.timeout(5 * IDLE_S):  # a hang guard, not a measurement
            assert await read_rest(reader) == b""

    serve(scenario, keepalive_timeout_s=IDLE_S)


@pytest.mark.parametrize("client_close", [False, True], ids=["keep-alive", "client-close"])
def test_framing_headers_from_the_handler_are_not_duplicated(client_close: bool) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/framing", *(["Connection: close"] if client_close else [])))
        reply = await read_reply(reader)
        assert (reply.body, reply.header("x-kept")) == (b"framed", "yes")
        assert reply.values("content-length") == ["6"]
        assert reply.values("transfer-encoding") == []
        assert reply.values("connection") == (["close"] if client_close else [])

    serve(scenario)


@pytest.mark.parametrize(
    ("request_headers", "version", "closes"),
    [([], "1.1", False), (["Connection: close"], "1.1", True), (["Connection: keep-alive"], "1.0", False)],
    ids=["keep-alive", "client-close", "http10"],
)
def test_a_raw_head_is_written_as_given_only_on_keep_alive_http11(
    request_headers: list[str], version: str, closes: bool
) -> None:
    async def scenario(h: Harness, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(get("/raw", *request_headers, version=version))
        reply = await read_reply(reader)
        assert (reply.status, reply.body, reply.values("x-order")) == (203, b"raw", ["1"])
        assert reply.values("content-length") == ["3"]
        if version == "1.1" and not closes:  # verbatim: the given reason phrase and date, nothing added
            assert reply.reason == "Upstream Says"
            assert reply.headers == [("X-Order", "1"), ("Content-Length", "3"), ("Date", "then")]
        else:  # framed by the server from the raw head's headers
            assert reply.reason == "Non-Authoritative Information"
            assert reply.values("date") == ["then"]
            assert reply.values("connection") == (["close"] if closes else ["keep-alive"])
        writer.write(get("/raw", *request_headers, version=version, method="HEAD"))
        if not closes:
            head = await read_reply(reader, head=True)
            assert head.values("content-length") == ["3"]
            writer.write(get("/echo", *request_headers, version=version))
            assert (await read_reply(reader)).status == 200  # nothing stray was left on the connection
        else:
            assert await read_rest(reader) == b""

    serve(scenario)


def test_work_called_off_before_it_starts_is_closed_not_left_unawaited() -> None:
    async def scenario() -> None:
        async def work() -> Response:
            return Response(200)

        pending = work()
        reply = HttpReply(cast(Any, None), Request("GET", "/", "", [], b""), keep_alive=True)
        reply.answer(pending)
        reply.cancel()  # the client went away before the task's first step
        for _ in range(3):
            await asyncio.sleep(0)
        assert inspect.getcoroutinestate(pending) == inspect.CORO_CLOSED

    asyncio.run(scenario())
