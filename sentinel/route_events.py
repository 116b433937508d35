"""Route change notices from the control plane, over Redis pub/sub.

Redis speeds reloads up but is not needed for correctness: while it is unreachable the
edge reloads by polling the database (see route_keeper), and this loop keeps retrying.
A message's content does not matter (today it is an environment id): any message means
"reload the table".
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dockyard.events import ROUTES_CHANNEL

log = logging.getLogger(__name__)

KEEPALIVE = {socket.TCP_KEEPIDLE: 4, socket.TCP_KEEPINTVL: 2, socket.TCP_KEEPCNT: 3}


async def follow_route_changes(
    redis_url: str, on_change: Callable[[], None], *, retry_seconds: float = 1.0
) -> None:
    """Call on_change for every message on ROUTES_CHANNEL; never returns."""
    failing = False
    while True:
        client = Redis.from_url(
            redis_url,
            socket_connect_timeout=1.0,
            # A subscriber only reads: TCP keepalive is what notices a Redis that vanished
            # without closing the connection (a host gone, a network cut), in ~10 s.
            socket_keepalive=True,
            socket_keepalive_options=KEEPALIVE,
        )
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(ROUTES_CHANNEL)
                if failing:
                    log.warning("route change notices resumed from Redis")
                failing = False
                # Whatever was published while we were not subscribed is lost: reload once.
                on_change()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_change()
        except (RedisError, OSError) as error:
            if not failing:
                log.warning("no route change notices from Redis, polling the DB: %s", error)
            failing = True
        finally:
            await client.aclose()
        await asyncio.sleep(retry_seconds)
