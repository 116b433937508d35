"""Change notices from the control plane, over Redis pub/sub: routes and keys.

Redis speeds route reloads up but is not needed for their correctness: while it is
unreachable the edge reloads by polling the database (see route_keeper), and this loop
keeps retrying. A route message's content does not matter (today it is an environment
id): any message means "reload the table". Key notices (dockyard.key_events) drop
cached keys; `on_state` tells their cache whether notices are flowing, so it knows how
far to trust itself.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dockyard.events import ROUTES_CHANNEL

log = logging.getLogger(__name__)

KEEPALIVE = {socket.TCP_KEEPIDLE: 4, socket.TCP_KEEPINTVL: 2, socket.TCP_KEEPCNT: 3}


async def follow_route_changes(
    redis_url: str, on_change: Callable[[], None], *, retry_seconds: float = 1.0
) -> None:
    """Call on_change for every message on ROUTES_CHANNEL; never returns."""
    await follow(redis_url, {ROUTES_CHANNEL: lambda _: on_change()}, retry_seconds=retry_seconds)


async def follow(
    redis_url: str,
    handlers: Mapping[str, Callable[[str], None]],
    *,
    on_state: Callable[[bool], None] | None = None,
    retry_seconds: float = 1.0,
) -> None:
    """Hand every message of each channel to its handler; never returns.

    On every (re)subscription each handler gets "" once, since whatever was published
    while nobody listened is lost: "reload everything".
    """
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
                await pubsub.subscribe(*handlers)
                if failing:
                    log.warning("change notices resumed from Redis")
                failing = False
                for handler in handlers.values():
                    handler("")
                if on_state is not None:
                    on_state(True)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        channel = _text(message["channel"])
                        handlers[channel](_text(message["data"]))
        except (RedisError, OSError) as error:
            if not failing:
                log.warning("no change notices from Redis, polling the DB: %s", error)
            failing = True
        finally:
            if on_state is not None:
                on_state(False)
            await client.aclose()
        await asyncio.sleep(retry_seconds)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
