"""Traffic recording for preview archival: the newest request time per deployment.

Kept in memory (one dict assignment per request) and flushed to Redis about once a
second with dockyard.traffic.record_requests, so recording costs no I/O per request.
A flush that fails is merged back and retried with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis

from dockyard.traffic import record_requests
from sentinel.routing import Route

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0


class TrafficRecorder:
    def __init__(self, redis_url: str, *, interval: float = FLUSH_SECONDS) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=1)
        self._interval = interval
        self._seen: dict[str, int] = {}

    def saw(self, route: Route) -> None:
        self._seen[route.deployment_id] = int(time.time() * 1000)

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self._interval)
                await self.flush()
        finally:
            self._client.close()

    async def flush(self) -> None:
        if not self._seen:
            return
        batch, self._seen = self._seen, {}
        try:
            await asyncio.to_thread(record_requests, self._client, batch)
        except (redis.RedisError, OSError) as error:
            log.warning("request times not recorded, retrying: %s", error)
            for deployment_id, at in batch.items():
                self._seen[deployment_id] = max(at, self._seen.get(deployment_id, 0))
