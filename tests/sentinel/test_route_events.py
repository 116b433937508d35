"""Route changes reach a running edge: at once over Redis, within a second without it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from dockyard.events import Events
from tests.sentinel.conftest import Rows, RunningEdge, StartEdge, Upstream, refusing_address

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "shop-acme.localhost"


async def seconds_until_served(running: RunningEdge, host: str, limit: float = 3.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        async with await running.get(host) as response:
            if response.status == 200:
                return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"{host} was not served within {limit} s")


async def test_route_change_published_on_redis_is_served_within_a_second(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream, redis_url: str
) -> None:
    shop = await upstreams("shop")
    running = await start_edge(redis=redis_url, poll_interval=60)  # no polling to help
    keeper = running.edge.routes
    for _ in range(200):  # subscribed: the edge reloads once right after subscribing
        if keeper.reloads >= 2:
            break
        await asyncio.sleep(0.01)
    assert keeper.reloads >= 2
    async with await running.get(HOST) as response:
        assert response.status == 404

    rows.route(HOST, shop.address)
    events = Events(redis_url)
    events.routes_changed(rows.environment_id)
    events.close()

    assert await seconds_until_served(running, HOST) < 1.0


async def test_without_redis_the_edge_polls_the_database_every_second(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    running = await start_edge(redis=f"redis://{refusing_address()}/0", poll_interval=1.0)

    rows.route(HOST, shop.address)

    assert await seconds_until_served(running, HOST) < 1.5
