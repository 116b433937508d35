"""Key changes pushed to every Sentinel replica over Redis pub/sub.

A replica caches verified keys; the API publishes on KEYS_CHANNEL whenever a key stops
being what a replica may have cached (deleted, disabled, expired early, credits, limits,
permissions changed), and every replica drops the entry at once. This, not a cache
timeout, is what makes a revoked key fail everywhere within a second.

Messages: `hash:<sha256 of the key>` for one key, `keyspace:<id>` for every key of a
keyspace, `all` for every key (a role's permissions changed).
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)

KEYS_CHANNEL = "dockyard:keys"
ALL = "all"


def key_message(key_hash: str) -> str:
    return f"hash:{key_hash}"


def keyspace_message(keyspace_id: str) -> str:
    return f"keyspace:{keyspace_id}"


def publish(client: redis.Redis, *messages: str) -> None:
    """Send change notices; a replica that misses them (Redis down) stops trusting its cache."""
    try:
        pipeline = client.pipeline(transaction=False)
        for message in messages:
            pipeline.publish(KEYS_CHANNEL, message)
        pipeline.execute()
    except (redis.RedisError, OSError) as error:
        log.warning("key change not published (replicas fall back to short cache life): %s", error)
