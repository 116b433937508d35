"""When a deployment last served a request: how idle previews are found.

Each edge keeps the newest request time per deployment in memory and flushes it to one
Redis hash about once a second, so recording traffic costs no I/O per request. The
environment workflow reads it only when a preview's idle deadline comes.
"""

from __future__ import annotations

import redis

LAST_REQUEST_KEY = "dockyard:last-request"


def last_request_ms(client: redis.Redis, deployment_id: str) -> int | None:
    try:
        value = client.hget(LAST_REQUEST_KEY, deployment_id)
    except redis.RedisError:
        return None
    return int(value) if value else None


def record_requests(client: redis.Redis, seen: dict[str, int]) -> None:
    """Store the newest request time (unix ms) of each deployment; older values never win."""
    if not seen:
        return
    pipeline = client.pipeline(transaction=False)
    for deployment_id, at in seen.items():
        pipeline.eval(_KEEP_NEWEST, 1, LAST_REQUEST_KEY, deployment_id, at)
    pipeline.execute()


_KEEP_NEWEST = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
"""
