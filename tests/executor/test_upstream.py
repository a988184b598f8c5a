"""The proxy's forward path against scripted raw HTTP servers on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from executor.dataplane.upstream_pool import UpstreamPool
from executor.dataplane.upstream_response import UpstreamError
from tests.waiting import wait_until_async

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return head + await reader.readexactly(length)


class RawServer:
    """Serve each connection with `handler(reader, writer, connection_index)`; count connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.closed = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer, self.connections)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()
                self.closed += 1

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def keep_alive_ok(server: RawServer) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
        while True:
            server.requests.append(await _read_request(reader))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\nok")
            await writer.drain()

    return handler


def test_keep_alive_connections_are_reused_and_headers_kept_in_order() -> None:
    async def scenario() -> None:
        server = RawServer(lambda r, w, i: keep_alive_ok(server)(r, w, i))
        async with server as base:
            pool = UpstreamPool()
            first = await pool.request("POST", base + "/a?x=1", [("x-user", "42")], b"hello", 5)
            second = await pool.request("GET", base + "/b", [], b"", 5)
            await pool.close()
        assert (first.status, first.body, second.body) == (200, b"ok", b"ok")
        assert first.headers == [("Content-Length", "2"), ("X-A", "1"), ("X-A", "2")]
        assert server.connections == 1
        assert server.requests[0].startswith(b"POST /a?x=1 HTTP/1.1\r\n")
        assert b"x-user: 42\r\n" in server.requests[0] and server.requests[0].endswith(b"\r\n\r\nhello")

    asyncio.run(scenario())


def test_chunked_and_close_delimited_bodies_are_read_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nT: 1\r\n\r\n"
        )
        await _read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil-close")
        await writer.drain()

    async def scenario() -> None:
        server = RawServer(chunked)
        async with server as base:
            pool = UpstreamPool()
            first = await pool.request("GET", base + "/", [], b"", 5)
            second = await pool.request("GET", base + "/", [], b"", 5)
            assert pool.idle_count() == 0  # a close-delimited answer ends the connection
            await pool.close()
        assert first.body == b"abcde"
        assert (second.status, second.body) == (201, b"until-close")
        assert server.connections == 1

    asyncio.run(scenario())


def test_an_idle_connection_the_upstream_closed_is_replaced_transparently() -> None:
    async def one_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int
    ) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()  # then the handler returns and the connection closes, as an idle timeout would

    async def scenario() -> None:
        server = RawServer(one_per_connection)
        async with server as base:
            pool = UpstreamPool()
            await pool.request("GET", base + "/", [], b"", 5)
            await wait_until_async(lambda: server.closed == 1, timeout=5, what="the upstream to close it")
            again = await pool.request("GET", base + "/", [], b"", 5)
            await pool.close()
        assert again.body == b"ok"
        assert server.connections == 2

    asyncio.run(scenario())


def test_interim_100_continue_is_skipped() -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        await reader.read()

    async def scenario() -> None:
        async with RawServer(interim) as base:
            pool = UpstreamPool()
            response = await pool.request("PUT", base + "/", [], b"x", 5)
            await pool.close()
        assert (response.status, response.body) == (204, b"")

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "answer",
    [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b"HTTP/1.1 2xx OK\r\n\r\n"],
)
def test_malformed_answers_raise_upstream_error_and_are_not_pooled(answer: bytes) -> None:
    async def bad(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()

    async def scenario() -> None:
        async with RawServer(bad) as base:
            pool = UpstreamPool()
            with pytest.raises(UpstreamError):
                await pool.request("GET", base + "/", [], b"", 5)
            assert pool.idle_count() == 0
            await pool.close()

    asyncio.run(scenario())


def test_refused_and_stalled_upstreams_raise_upstream_error() -> None:
    async def stall(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _index: int) -> None:
        await _read_request(reader)
        await reader.read()  # never answers

    async def scenario() -> None:
        pool = UpstreamPool()
        with pytest.raises(UpstreamError, match="cannot connect"):
            await pool.request("GET", "http://127.0.0.1:9/", [], b"", 5)
        async with RawServer(stall) as base:
            with pytest.raises(UpstreamError, match=r"did not answer within 0\.2 s"):
                await pool.request("GET", base + "/", [], b"", 0.2)
            assert pool.idle_count() == 0
        await pool.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",  # refused from its announced length
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 300,  # refused as it grows
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"12c\r\n" + b"x" * 300 + b"\r\n",
    ],
    ids=["content-length", "close-delimited", "chunked"],
)
def test_an_answer_larger_than_the_limit_is_an_upstream_error(answer: bytes) -> None:
    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        await reader.read()

    async def scenario() -> None:
        async with RawServer(big) as base:
            pool = UpstreamPool(max_body_bytes=100)
            with pytest.raises(UpstreamError, match="100"):
                await pool.request("GET", base + "/", [], b"", 5)
            assert pool.idle_count() == 0
            await pool.close()

    asyncio.run(scenario())


def test_a_request_without_content_announces_a_length_only_where_the_method_expects_content() -> None:
    async def scenario() -> None:
        server = RawServer(lambda r, w, i: keep_alive_ok(server)(r, w, i))
        async with server as base:
            pool = UpstreamPool()
            await pool.request("GET", base + "/g", [], b"", 5)
            await pool.request("POST", base + "/p", [], b"", 5)
            await pool.close()
        get, post = server.requests
        assert b"content-length" not in get.lower()
        assert b"\r\nContent-Length: 0\r\n" in post

    asyncio.run(scenario())


def test_try_send_uses_an_idle_connection_and_answers_through_the_callback() -> None:
    async def first_closes_on_its_second_request(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await _read_request(reader)
        if index == 1:
            return  # closes without answering, as an upstream that just timed the connection out
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nyes")
        await writer.drain()
        await reader.read()

    async def scenario() -> None:
        server = RawServer(first_closes_on_its_second_request)
        async with server as base:
            pool = UpstreamPool()
            results: asyncio.Queue[tuple[object, object]] = asyncio.Queue()

            def done(response: object, error: object) -> None:
                results.put_nowait((response, error))

            assert pool.try_send("GET", base + "/", [], b"", 5, done) is False  # nothing idle yet
            await pool.request("GET", base + "/", [], b"", 5)
            assert pool.try_send("GET", base + "/", [], b"", 5, done) is True
            response, error = await results.get()  # retried on a fresh connection, answered "ok"
            assert error is None and getattr(response, "body", None) == b"ok"
            assert pool.try_send("GET", base + "/", [], b"", 5, done) is True  # the fresh one, reused
            response, error = await results.get()
            assert error is None and getattr(response, "body", None) == b"yes"
            await pool.close()
        assert server.connections == 2

    asyncio.run(scenario())


def test_try_send_reports_a_stalled_upstream_as_an_error() -> None:
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await _read_request(reader)
        await reader.read()  # never answers the second request

    async def scenario() -> None:
        async with RawServer(answer_once) as base:
            pool = UpstreamPool()
            await pool.request("GET", base + "/", [], b"", 5)
            outcome: asyncio.Future[tuple[object, object]] = asyncio.get_running_loop().create_future()
            assert pool.try_send("GET", base + "/", [], b"", 0.1, lambda r, e: outcome.set_result((r, e)))
            response, error = await outcome
            assert response is None and isinstance(error, UpstreamError)
            assert "did not answer within 0.1 s" in str(error)
            assert pool.idle_count() == 0
            await pool.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("head", "passable"),
    [
        (b"HTTP/1.1 200 OK\r\nServer: x\r\ncontent-LENGTH:  2 \r\nX-A: 1", True),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 2", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2", False),
        (b"HTTP/1.1 200 OK\r\nX-Content-Length: 2\r\nContent-Length: 2", True),
    ],
    ids=["usual", "error-status", "http10", "connection", "keep-alive", "two-lengths", "lookalike"],
)
def test_only_a_usual_head_is_kept_raw_for_passing_on(head: bytes, passable: bool) -> None:
    async def scenario() -> None:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _index: int) -> None:
            await _read_request(reader)
            writer.write(head + b"\r\n\r\nok")
            await writer.drain()
            await reader.read()

        async with RawServer(handler) as base:
            pool = UpstreamPool()
            response = await pool.request("GET", base + "/", [], b"", 5)
            await pool.close()
        assert response.body == b"ok"
        assert response.raw_head == (head if passable else b"")
        lines = head.decode().split("\r\n")
        assert response.status == int(lines[0].split()[1])
        fields = (line.partition(":") for line in lines[1:])
        assert response.headers == [(name.strip(), value.strip()) for name, _, value in fields]

    asyncio.run(scenario())
