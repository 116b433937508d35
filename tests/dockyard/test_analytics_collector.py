"""The collector: gateway records named with their workspace, project and app, a key's
verifications derived and its lastUsedAt moved, nothing acknowledged before it is
stored, and rows past the retention forgotten. Real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from dockyard.analytics.collector import Collector
from dockyard.analytics.records import GATEWAY, stream_name
from dockyard.analytics.shipper import FIELD, Shipper, encode
from dockyard.analytics.store import AnalyticsStore
from dockyard.ids import new_id
from dockyard.keyspaces import Key, Keyspace
from tests.request_log import forget_streams
from tests.seed import Seeded, seed_app

DAY_MS = 86_400_000
NOW = 1_800_000_000.0  # seconds


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"collector-test-{secrets.token_hex(4)}"
    yield name
    forget_streams(redis_url, name)


@dataclass
class Pipeline:
    """A producer's shipper, the stream, and a collector into an in-memory store, whose
    clock a test moves."""

    seeded: Seeded
    store: AnalyticsStore
    collector: Collector
    shipper: Shipper
    clock: list[float]

    def count(self) -> int:
        return int(self.store.read("SELECT count(*) FROM gateway_requests")[1][0][0])


@pytest.fixture
def pipeline(redis_url: str, sessions: sessionmaker[Session], prefix: str) -> Pipeline:
    store = AnalyticsStore(None)
    clock = [NOW]
    collector = Collector(
        redis_url, prefix, store, sessions, retention_ms=DAY_MS, clock=lambda: clock[0]
    )
    shipper = Shipper(redis_url, stream_name(prefix, GATEWAY), bound=100)
    return Pipeline(seed_app(sessions), store, collector, shipper, clock)


def make_key(sessions: sessionmaker[Session], seeded: Seeded) -> str:
    with sessions.begin() as session:
        keyspace = Keyspace(id=new_id("keyspace"), workspace_id=seeded.workspace.id, name="k")
        session.add(keyspace)
        session.flush()
        key = Key(
            id=new_id("key"),
            keyspace_id=keyspace.id,
            workspace_id=seeded.workspace.id,
            key_hash=secrets.token_hex(32),
            start="sk_",
            ratelimits=[],
        )
        session.add(key)
    return key.id


def gateway_record(seeded: Seeded, at: float, outcome: str, key_id: str | None) -> tuple:
    status = {"allowed": 200, "key_missing": 401, "rate_limited": 429}[outcome]
    at_ns = round(at * 1000) * 1_000_000
    keyspace = "ks_1" if key_id else None
    return (at_ns, seeded.production.id, "dep_1", "local", "GET", "shop.localhost", "/orders/7",
            status, 4_200_000, outcome, key_id, keyspace, None, None)  # fmt: skip


async def test_records_are_named_derived_and_move_last_used_at(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    seeded, store, collector, shipper = (
        pipeline.seeded, pipeline.store, pipeline.collector, pipeline.shipper
    )  # fmt: skip
    key_id = make_key(sessions, seeded)
    shipper.add(gateway_record(seeded, NOW - 2, "allowed", key_id))
    shipper.add(gateway_record(seeded, NOW - 1, "rate_limited", key_id))
    shipper.add(gateway_record(seeded, NOW, "key_missing", None))
    await shipper.flush()

    assert collector.step(block_ms=100) == 3
    _, rows = store.read(
        "SELECT time, workspace_id, project_id, app_id, path_template, outcome, latency, key_id "
        "FROM gateway_requests ORDER BY time"
    )
    owner = (seeded.workspace.id, seeded.project.id, seeded.app.id)
    assert rows == [
        (int((NOW - 2) * 1000), *owner, "/orders/{id}", "allowed", 4.2, key_id),
        (int((NOW - 1) * 1000), *owner, "/orders/{id}", "rate_limited", 4.2, key_id),
        (int(NOW * 1000), *owner, "/orders/{id}", "key_missing", 4.2, None),
    ]
    _, verifications = store.read("SELECT key_id, outcome FROM key_verifications ORDER BY time")
    assert verifications == [(key_id, "VALID"), (key_id, "RATE_LIMITED")]
    with sessions() as session:
        assert session.get(Key, key_id).last_used_at == int((NOW - 1) * 1000)  # type: ignore[union-attr]


async def test_nothing_is_acknowledged_before_it_is_stored(pipeline: Pipeline) -> None:
    store, collector = pipeline.store, pipeline.collector
    pipeline.shipper.add(gateway_record(pipeline.seeded, NOW, "key_missing", None))
    await pipeline.shipper.flush()

    appended = store.append

    def failing(*args: object) -> None:
        raise RuntimeError("the disk is full")

    store.append = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        collector.step(block_ms=100)
    store.append = appended  # type: ignore[method-assign]
    assert collector.step(block_ms=100) == 1  # re-read from the pending entries
    assert pipeline.count() == 1


async def test_a_malformed_batch_is_dropped_and_the_next_one_stored(
    pipeline: Pipeline, redis_url: str, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.xadd(stream_name(prefix, GATEWAY), {FIELD: b"not a batch"})
    client.xadd(stream_name(prefix, GATEWAY), {FIELD: encode([["too", "short"]])})
    client.close()
    pipeline.shipper.add(gateway_record(pipeline.seeded, NOW, "allowed", None))
    await pipeline.shipper.flush()
    pipeline.collector.step(block_ms=100)
    assert pipeline.count() == 1


async def test_rows_past_the_retention_are_forgotten_once_an_hour(pipeline: Pipeline) -> None:
    seeded, collector, shipper = pipeline.seeded, pipeline.collector, pipeline.shipper
    shipper.add(gateway_record(seeded, NOW - 2 * 86_400, "allowed", None))
    shipper.add(gateway_record(seeded, NOW, "allowed", None))
    await shipper.flush()
    collector.step(block_ms=100)
    assert pipeline.count() == 1

    shipper.add(gateway_record(seeded, NOW - 2 * 86_400, "allowed", None))
    await shipper.flush()
    collector.step(block_ms=100)  # within the hour: kept for now
    assert pipeline.count() == 2
    pipeline.clock[0] += 3600
    collector.step(block_ms=10)
    assert pipeline.count() == 1
