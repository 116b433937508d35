"""The request log's Redis streams a test made, deleted when it is done."""

from __future__ import annotations

import redis

from dockyard.analytics.records import KINDS, stream_name


def forget_streams(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(*(stream_name(prefix, kind) for kind in KINDS))
    finally:
        client.close()
