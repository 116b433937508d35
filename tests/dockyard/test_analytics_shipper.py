"""The request log's shipper: a full queue drops and counts instead of waiting, and
batches land in the Redis stream as the collector reads them."""

from __future__ import annotations

import secrets
import time

import redis

from dockyard.analytics.shipper import BATCH, FIELD, Shipper, decode


def stream() -> str:
    return f"shipper-test-{secrets.token_hex(4)}"


def test_a_full_queue_drops_and_counts_without_waiting(redis_url: str) -> None:
    shipper = Shipper(redis_url, stream(), bound=3)
    started = time.perf_counter()
    for n in range(1000):
        shipper.add((n, "env", "GET"))
    spent = time.perf_counter() - started
    assert shipper.stats() == {"queued": 3, "shipped": 0, "dropped": 997}
    assert spent < 0.1  # a thousand adds against a full queue: no I/O, no waiting


async def test_batches_land_in_the_stream(redis_url: str) -> None:
    name = stream()
    shipper = Shipper(redis_url, name, bound=10_000)
    for n in range(BATCH + 7):
        shipper.add((n, "env_1", "GET", "/orders"))
    await shipper.flush()
    assert shipper.stats() == {"queued": 0, "shipped": BATCH + 7, "dropped": 0}
    client = redis.Redis.from_url(redis_url)
    try:
        entries = client.xrange(name)
        assert len(entries) == 2  # one XADD per batch
        records = [record for _, fields in entries for record in decode(fields[FIELD])]
        assert records[0] == [0, "env_1", "GET", "/orders"] and len(records) == BATCH + 7
    finally:
        client.delete(name)


async def test_records_redis_refuses_are_dropped_and_counted() -> None:
    shipper = Shipper("redis://127.0.0.1:1/0", stream(), bound=100)
    for n in range(5):
        shipper.add((n,))
    await shipper.flush()
    assert shipper.stats() == {"queued": 0, "shipped": 0, "dropped": 5}
