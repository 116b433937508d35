"""`python -m sentinel`: the region edge as the rest of dockyard starts it, in its own
process: Caddy in front, the Sentinel replicas it supervises behind, HTTPS from Caddy's
own CA (Settings.tls "internal", the local default)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from dockyard.cli.dev import caddy_root
from sentinel.caddy import GOGC
from tests.sentinel.conftest import Rows, Upstream
from tests.sentinel.region_edge import RunningEdge, alive, region_edge

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "shop-acme.localhost"


@pytest.fixture
async def shop_edge(
    rows: Rows, upstreams: StartUpstream, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[RunningEdge]:
    """The edge, just started, with one domain routed to the `shop` instance."""
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    async with region_edge(database_url, redis_url, tmp_path) as edge:
        yield edge


async def test_the_first_request_is_held_until_replicas_serve_it_over_http_and_https(
    shop_edge: RunningEdge,
) -> None:
    edge = shop_edge
    health = await edge.health()
    # Right away: the replicas may still be starting; Caddy holds the request.
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{edge.http}/", headers={"Host": HOST})
    assert response.status_code == 200
    assert response.json()["instance"] == "shop"
    async with edge.https_client() as client:
        response = await edge.https_get(client, HOST)
    assert response.status_code == 200
    seen = {name.lower(): value for name, value in response.json()["headers"]}
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    await edge.stop()
    assert edge.process.returncode == 0, edge.stderr
    assert not alive(health["caddy"]["pid"]), "Caddy outlived the edge"


async def test_https_speaks_http2_and_refuses_names_it_does_not_serve(
    shop_edge: RunningEdge,
) -> None:
    edge = shop_edge
    await edge.health()
    async with edge.https_client() as client:
        assert (await edge.https_get(client, HOST)).status_code == 200
    trusted = ssl.create_default_context(cafile=str(caddy_root(edge.settings)))
    assert edge.handshake(HOST, trusted) == "h2"
    with pytest.raises(ssl.SSLError):
        edge.handshake("stranger.example.com", trusted)
    async with httpx.AsyncClient(timeout=30) as client:
        unknown = await client.get(f"{edge.http}/", headers={"Host": "nobody.localhost"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_host"


async def test_caddy_killed_comes_back_with_its_routes(shop_edge: RunningEdge) -> None:
    edge = shop_edge
    health = await edge.health()
    async with edge.https_client() as client:
        assert (await edge.https_get(client, HOST)).status_code == 200
    os.kill(health["caddy"]["pid"], signal.SIGKILL)
    while (await edge.health())["caddy"]["starts"] < 2:
        await asyncio.sleep(0.05)
    async with edge.https_client() as client:
        response = await edge.https_get(client, HOST)
    assert response.status_code == 200
    assert json.loads(response.content)["instance"] == "shop"
    # The Caddy started again is tuned as the first was (the edge's GOGC, unless set).
    environ = Path(f"/proc/{(await edge.health())['caddy']['pid']}/environ").read_bytes()
    assert f"GOGC={os.environ.get('GOGC', GOGC)}".encode() in environ.split(b"\0")


async def test_the_api_and_dashboard_are_served_over_https_at_their_own_hostname(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with region_edge(
        database_url, redis_url, tmp_path, api_domain="dockyard.localhost"
    ) as edge:
        await edge.health()
        async with edge.https_client() as client:
            dashboard = await edge.https_get(client, "dockyard.localhost", "/dashboard")
            asked = await edge.https_get(client, "dockyard.localhost", "/tls/ask?domain=x.y")
    assert dashboard.status_code == 200
    assert "text/html" in dashboard.headers["content-type"]
    assert asked.status_code == 404  # the API's own answer: no such domain
