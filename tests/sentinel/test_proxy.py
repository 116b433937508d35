"""Forwarding as a correct HTTP proxy: what the app receives, what the client gets back."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from starlette.requests import HTTPConnection
from starlette.responses import Response

from sentinel.policies.chain import PolicyChain, add_response_headers
from sentinel.routing import Route
from tests.sentinel.conftest import Rows, StartEdge, Upstream, refusing_address

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "shop-acme.localhost"
# Behaviour that depends on the server's ASGI details runs on the uvicorn fallback too.
SERVERS = pytest.mark.parametrize("server", ["granian", "uvicorn"])


async def test_method_path_query_headers_and_body_reach_the_app_unchanged(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    running = await start_edge()

    async with await running.request(
        "PATCH",
        f"{HOST}:8080",
        "/a%2Fb/c?x=1&y=%20z&x=2",
        headers={"X-Custom": "kept", "Accept-Encoding": "gzip", "Cookie": "s=1"},
        data=b"hello",
    ) as response:
        assert response.status == 200
        seen = json.loads(await response.read())

    assert seen["method"] == "PATCH"
    assert seen["path_qs"] == "/a%2Fb/c?x=1&y=%20z&x=2"
    assert seen["body_length"] == 5
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert headers["host"] == f"{HOST}:8080"  # apps see their own domain
    assert headers["x-custom"] == "kept"
    assert headers["accept-encoding"] == "gzip"
    assert headers["cookie"] == "s=1"
    assert "user-agent" not in headers or "aiohttp" in headers["user-agent"].lower()


async def test_status_and_response_headers_come_back_as_the_app_sent_them(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    async def created(request: web.Request) -> web.Response:
        response = web.Response(status=201, body=b"{}", content_type="application/json")
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        response.headers["Location"] = "/things/1"
        response.headers["Keep-Alive"] = "timeout=99"
        response.headers["X-Internal"] = "hidden"
        response.headers["Connection"] = "X-Internal"
        return response

    shop = await upstreams("shop", {"/things": created})
    rows.route(HOST, shop.address)
    running = await start_edge()

    async with await running.request("POST", HOST, "/things") as response:
        assert response.status == 201
        assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
        assert response.headers["Location"] == "/things/1"
        assert "Keep-Alive" not in response.headers
        assert "X-Internal" not in response.headers


@SERVERS
async def test_hop_by_hop_request_headers_are_dropped_and_forwarded_headers_set(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream, server: str
) -> None:
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    running = await start_edge(server=server)

    async with await running.get(
        HOST,
        headers={
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "secret",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic eDp5",
            "X-Forwarded-For": "6.6.6.6",
            "X-Forwarded-Host": "evil.example",
        },
    ) as response:
        seen = json.loads(await response.read())

    headers = {name.lower(): value for name, value in seen["headers"]}
    for hop in ("x-hop", "keep-alive", "te", "proxy-authorization"):
        assert hop not in headers
    assert headers["x-forwarded-for"] == "127.0.0.1"  # replaced, never appended
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == HOST


async def test_large_bodies_stream_both_ways_intact(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    size = 24 * 1024 * 1024

    async def digest(request: web.Request) -> web.Response:
        sha, total = hashlib.sha256(), 0
        async for chunk in request.content.iter_any():
            sha.update(chunk)
            total += len(chunk)
        return web.json_response({"sha": sha.hexdigest(), "size": total})

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        for index in range(size // 65536):
            await response.write(bytes([index % 251]) * 65536)
        await response.write_eof()
        return response

    shop = await upstreams("shop", {"/digest": digest, "/download": download})
    rows.route(HOST, shop.address)
    running = await start_edge()
    payload = bytes(range(256)) * (size // 256)

    async def upload() -> AsyncIterator[bytes]:
        for start in range(0, size, 1 << 20):
            yield payload[start : start + (1 << 20)]

    async with await running.request("PUT", HOST, "/digest", data=upload()) as response:
        assert await response.json() == {"sha": hashlib.sha256(payload).hexdigest(), "size": size}
    async with await running.get(HOST, "/download") as response:
        expected = hashlib.sha256()
        for index in range(size // 65536):
            expected.update(bytes([index % 251]) * 65536)
        received = hashlib.sha256()
        async for chunk in response.content.iter_any():
            received.update(chunk)
        assert received.hexdigest() == expected.hexdigest()


@SERVERS
async def test_response_streams_before_the_app_has_finished_it(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream, server: str
) -> None:
    first_seen = asyncio.Event()

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: one\n\n")
        await asyncio.wait_for(first_seen.wait(), timeout=5)  # until the client has it
        await response.write(b"data: two\n\n")
        await response.write_eof()
        return response

    shop = await upstreams("shop", {"/events": events})
    rows.route(HOST, shop.address)
    running = await start_edge(server=server)

    async with await running.get(HOST, "/events") as response:
        assert await response.content.readuntil(b"\n\n") == b"data: one\n\n"
        first_seen.set()
        assert await response.content.read() == b"data: two\n\n"


async def test_request_body_streams_before_the_client_has_finished_it(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    first_arrived = asyncio.Event()

    async def consume(request: web.Request) -> web.Response:
        first = await request.content.readexactly(5)
        first_arrived.set()
        rest = await request.content.read()
        return web.Response(text=(first + rest).decode())

    shop = await upstreams("shop", {"/upload": consume})
    rows.route(HOST, shop.address)
    running = await start_edge()

    async def body() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.wait_for(first_arrived.wait(), timeout=5)  # the app got it already
        yield b"-second"

    async with await running.request("POST", HOST, "/upload", data=body()) as response:
        assert await response.text() == "first-second"


@SERVERS
async def test_endless_stream_stops_at_the_app_when_the_client_leaves(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream, server: str
) -> None:
    app_saw_disconnect = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"tick\n" * 1000)
                await asyncio.sleep(0.01)
        except (ConnectionError, asyncio.CancelledError):
            app_saw_disconnect.set()
            raise

    shop = await upstreams("shop", {"/endless": endless})
    rows.route(HOST, shop.address)
    running = await start_edge(server=server)

    response = await running.get(HOST, "/endless")
    await response.content.readexactly(5)
    response.close()
    await asyncio.wait_for(app_saw_disconnect.wait(), timeout=5)


async def test_connections_to_an_instance_are_kept_alive_and_reused(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    running = await start_edge()

    for _ in range(20):
        async with await running.get(HOST) as response:
            await response.read()

    assert len(shop.connections) == 1


async def test_refused_instance_is_skipped_and_ejected(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    dead = refusing_address()
    rows.route(HOST, dead, shop.address)
    running = await start_edge()

    for _ in range(10):
        async with await running.get(HOST) as response:
            assert response.status == 200
    assert running.edge.balancer.is_ejected(dead)


async def test_every_instance_refusing_is_a_502_problem(start_edge: StartEdge, rows: Rows) -> None:
    deployment = rows.route(HOST, refusing_address(), refusing_address())
    running = await start_edge()

    status, content_type, body = await running.problem(HOST)

    assert status == 502
    assert content_type == "application/problem+json"
    assert body["code"] == "upstream_unreachable"
    assert body["detail"] == f"no instance of deployment {deployment} of {HOST} could be reached"


async def test_an_app_that_does_not_answer_in_time_is_a_504_problem(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    async def stuck(request: web.Request) -> web.Response:
        await asyncio.sleep(1)  # longer than the read timeout, short for the teardown
        return web.Response()

    shop = await upstreams("shop", {"/stuck": stuck})
    rows.route(HOST, shop.address)
    running = await start_edge(read_timeout=0.3)

    status, content_type, body = await running.problem(HOST, "/stuck")

    assert status == 504
    assert content_type == "application/problem+json"
    assert body["code"] == "upstream_timeout"
    assert "did not answer within 0.3 s" in str(body["detail"])


class AddsHeader:
    """A policy that lets requests pass and leaves a header for whatever answers them."""

    async def evaluate(self, connection: HTTPConnection, route: Route) -> Response | None:
        add_response_headers(connection, [(b"x-ratelimit-remaining", b"7")])
        return None


async def test_headers_a_policy_adds_reach_the_client_from_the_app_and_from_a_502(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    rows.route("gone-acme.localhost", refusing_address())
    running = await start_edge(policies=PolicyChain([AddsHeader()]))

    async with await running.get(HOST) as response:
        assert response.status == 200
        assert response.headers.getall("X-RateLimit-Remaining") == ["7"]
        assert response.headers["Content-Type"].startswith("application/json")
    async with await running.get("gone-acme.localhost") as response:
        assert response.status == 502
        assert response.headers.getall("X-RateLimit-Remaining") == ["7"]
