"""The edge's HTTP/1.1 client against instances that answer in unusual but legal ways."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tests.sentinel.conftest import Rows, StartEdge

HOST = "shop-acme.localhost"
RawServer = Callable[[list[bytes]], "asyncio.Future[str]"]


@pytest.fixture
async def raw_instance() -> AsyncIterator[Callable[[list[bytes]], asyncio.Future[str]]]:
    """An instance that answers each request with the next canned bytes (b"" = hang up)."""
    servers: list[asyncio.Server] = []

    def start(answers: list[bytes]) -> asyncio.Future[str]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while answers:
                    await reader.readuntil(b"\r\n\r\n")
                    answer = answers.pop(0)
                    if not answer:
                        break
                    writer.write(answer)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        async def serve() -> str:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            servers.append(server)
            return f"127.0.0.1:{server.sockets[0].getsockname()[1]}"

        return asyncio.ensure_future(serve())

    yield start
    for server in servers:
        server.close()


async def test_body_without_length_ends_with_the_connection(
    start_edge: StartEdge, rows: Rows, raw_instance: RawServer
) -> None:
    address = await raw_instance([b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"])
    rows.route(HOST, address)
    running = await start_edge()

    async with await running.get(HOST) as response:
        assert response.status == 200
        assert await response.read() == b"all of it"


async def test_head_answer_has_a_length_but_no_body(
    start_edge: StartEdge, rows: Rows, raw_instance: RawServer
) -> None:
    address = await raw_instance(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ]
    )
    rows.route(HOST, address)
    running = await start_edge()

    async with await running.request("HEAD", HOST) as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == "1000"
    async with await running.get(HOST) as response:
        assert await response.read() == b"ok"


async def test_early_hints_are_passed_over_for_the_final_answer(
    start_edge: StartEdge, rows: Rows, raw_instance: RawServer
) -> None:
    address = await raw_instance(
        [
            b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n"
        ]
    )
    rows.route(HOST, address)
    running = await start_edge()

    async with await running.get(HOST) as response:
        assert response.status == 200
        assert await response.read() == b"hello"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "invalid HTTP response"),
        (b"", "closed the connection"),
    ],
)
async def test_an_instance_that_breaks_http_is_a_502_problem(
    start_edge: StartEdge, rows: Rows, raw_instance: RawServer, answer: bytes, reason: str
) -> None:
    address = await raw_instance([answer])
    rows.route(HOST, address)
    running = await start_edge()

    status, _, body = await running.problem(HOST)

    assert status == 502
    assert body["code"] == "upstream_failed"
    assert reason in str(body["detail"])


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
async def test_a_kept_alive_connection_the_app_closed_is_retried_only_if_idempotent(
    start_edge: StartEdge, rows: Rows, raw_instance: RawServer, method: str, retried: bool
) -> None:
    # b"" makes the instance hang up on the kept-alive connection without answering, as
    # an app does when its idle timeout and the edge's next request cross.
    answers = [OK, b"", OK]
    address = await raw_instance(answers)
    rows.route(HOST, address)
    running = await start_edge()

    async with await running.request(method, HOST) as response:
        assert await response.read() == b"ok"
    async with await running.request(method, HOST) as response:
        assert response.status == (200 if retried else 502)

    assert answers == ([] if retried else [OK])  # a POST is never sent twice
