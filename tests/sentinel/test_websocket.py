"""WebSockets through the edge: the handshake, messages both ways, and closing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from dockyard.payloads import EnvironmentInput
from sentinel.wake import Asleep, Waker
from tests.sentinel.conftest import Rows, RunningEdge, StartEdge, Upstream

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "chat-acme.localhost"
SERVERS = pytest.mark.parametrize("server", ["granian", "uvicorn"])


def ws_app(closed_by_client: asyncio.Future[int | None] | None = None) -> dict[str, object]:
    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("chat",))
        await ws.prepare(request)
        await ws.send_json(
            {
                "host": request.headers.get("Host"),
                "forwarded_for": request.headers.get("X-Forwarded-For"),
                "path_qs": request.raw_path,
            }
        )
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT and message.data == "bye":
                await ws.close(code=4001, message=b"see you")
            elif message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo {message.data}")
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        if closed_by_client is not None and not closed_by_client.done():
            closed_by_client.set_result(ws.close_code)
        return ws

    return {"/socket": socket}


def connect(running: RunningEdge, path: str = "/socket?room=1", host: str = HOST):
    return running.client.ws_connect(
        running.url + path, headers={"Host": host}, protocols=("chat",)
    )


@SERVERS
async def test_messages_flow_both_ways_with_the_negotiated_subprotocol(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream, server: str
) -> None:
    chat = await upstreams("chat", ws_app())
    rows.route(HOST, chat.address)
    running = await start_edge(server=server)

    async with connect(running) as ws:
        assert ws.protocol == "chat"
        hello = await ws.receive_json()
        assert hello == {"host": HOST, "forwarded_for": "127.0.0.1", "path_qs": "/socket?room=1"}
        await ws.send_str("hi")
        assert await ws.receive_str() == "echo hi"
        await ws.send_bytes(b"\x00\x01\x02")
        assert await ws.receive_bytes() == b"\x02\x01\x00"


async def test_the_apps_close_code_reaches_the_client(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    chat = await upstreams("chat", ws_app())
    rows.route(HOST, chat.address)
    running = await start_edge()

    async with connect(running) as ws:
        await ws.receive_json()
        await ws.send_str("bye")
        message = await ws.receive()
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4001


async def test_the_clients_close_reaches_the_app(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    chat = await upstreams("chat", ws_app(closed))
    rows.route(HOST, chat.address)
    running = await start_edge()

    async with connect(running) as ws:
        await ws.receive_json()
        await ws.close(code=4002)

    assert await asyncio.wait_for(closed, timeout=5) == 4002


async def test_handshakes_the_edge_or_the_app_refuse_get_an_http_status(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    async def login_first(request: web.Request) -> web.Response:
        return web.Response(status=401, text="log in first")

    chat = await upstreams("chat", {"/socket": login_first})
    rows.route(HOST, chat.address)
    running = await start_edge()

    for host, status in (("nope.localhost", 404), (HOST, 401)):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with connect(running, host=host):
                pass
        assert refused.value.status == status


async def test_a_handshake_to_a_stopped_preview_is_held_while_it_wakes(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    chat = await upstreams("chat", ws_app())
    deployment_id = rows.deployment()
    rows.domain(HOST, deployment_id)  # routed, but no instance runs: it is stopped
    running = await start_edge()
    woken = []

    async def wake(asleep: Asleep) -> None:  # the environment's workflow, stood in for
        woken.append(asleep.deployment_id)
        await asyncio.to_thread(rows.instance, deployment_id, chat.address)

    asleep = Asleep(
        deployment_id=deployment_id,
        wake_on_request=True,
        environment=EnvironmentInput(environment_id=rows.environment_id, production=False),
    )
    running.edge._waker = Waker(find=lambda _: asleep, wake=wake, timeout=10)

    async with connect(running) as ws:
        hello = await ws.receive_json()

    assert hello["host"] == HOST
    assert woken == [deployment_id]
