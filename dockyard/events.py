"""Change notifications over Redis pub/sub: the edge reloads routes the moment they change.

Redis is an accelerator here, not a dependency of correctness: when it is unreachable,
publishing is skipped and every subscriber falls back to polling the database.
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)

ROUTES_CHANNEL = "dockyard:routes"


class Events:
    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=0.5, socket_timeout=0.5
        )

    def routes_changed(self, environment_id: str) -> None:
        try:
            self._client.publish(ROUTES_CHANNEL, environment_id)
        except redis.RedisError as error:
            log.warning("route change not published (edges will poll): %s", error)

    def close(self) -> None:
        self._client.close()
