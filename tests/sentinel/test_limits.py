"""Leased rate limits against a real Redis: several replicas' limiters on one counter.

What sentinel.limits promises, checked here: never more than the limit per window across
replicas (and the API), a 429 no earlier than the leases other replicas hold allow, limits
of at most LEASE_SHARE units exact, unspent units given back, one round trip per lease.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from dockyard.ratelimit import LEASE_SHARE, Decision, RateLimiter, counter_key
from sentinel import limits
from sentinel.limits import Limiter, lease_size
from sentinel.redis_pipe import RedisPipe
from tests.sentinel.conftest import refusing_address

REPLICAS = 3
HOUR = 3_600_000
MARGIN_SECONDS = 30  # what a test that counts a window's units may take, under load


class CountingPipe(RedisPipe):
    """A pipe that counts its script calls: the round trips a replica makes."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls = 0

    async def evalsha(self, script: str, keys: list[str], args: list[int | str]) -> Any:
        self.calls += 1
        return await super().evalsha(script, keys, args)


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[list[Limiter]]:
    """Three replicas' limiters, at least MARGIN_SECONDS before an hour's window ends, so
    tests that count one window's units see one window."""
    left = HOUR / 1000 - time.time() % (HOUR / 1000)
    if left < MARGIN_SECONDS:
        await asyncio.sleep(left + 0.1)
    made = [Limiter(CountingPipe(redis_url)) for _ in range(REPLICAS)]
    yield made
    for limiter in made:
        limiter._pipe.close()  # type: ignore[union-attr]


def fresh_counter() -> str:
    return counter_key("test", "limits", str(time.time_ns()))


def used_in_redis(redis_url: str, key: str) -> int:
    client = redis.Redis.from_url(redis_url)
    return sum(int(client.get(name) or 0) for name in client.keys(f"{key}:*"))


async def hammer(
    replicas: list[Limiter], key: str, limit: int, requests: int, window: int = HOUR
) -> list[Decision]:
    """`requests` requests at once, spread over the replicas in turn."""
    return await asyncio.gather(
        *(replicas[i % len(replicas)].take(key, limit, window) for i in range(requests))
    )


def passed(decisions: list[Decision]) -> int:
    return sum(1 for decision in decisions if decision.passed)


@pytest.mark.parametrize("limit", [1, 10, LEASE_SHARE])
async def test_a_limit_of_at_most_lease_share_is_exact(
    replicas: list[Limiter], redis_url: str, limit: int
) -> None:
    key = fresh_counter()
    decisions = await hammer(replicas, key, limit, 3 * limit + 3)
    assert passed(decisions) == limit  # the (limit+1)th is the first refused
    assert used_in_redis(redis_url, key) == limit
    assert not any(lease.tokens for r in replicas for lease in r._leases.values())


@pytest.mark.parametrize("limit", [150, 1_000, 20_000])
async def test_never_more_than_the_limit_and_early_by_at_most_the_others_leases(
    replicas: list[Limiter], redis_url: str, limit: int
) -> None:
    key = fresh_counter()
    decisions: list[Decision] = []
    wave = min(limit // 2 + 7, 2_000)
    for _ in range(limit // wave + 2):  # waves of concurrent requests, past the limit
        decisions += await hammer(replicas, key, limit, wave)
    assert all(decision.shared for decision in decisions), "Redis answered too slowly"
    assert {decision.reset for decision in decisions} == {decisions[0].reset}  # one window
    admitted = passed(decisions)
    assert admitted <= limit
    assert admitted >= limit - (REPLICAS - 1) * lease_size(limit)
    held = sum(lease.tokens for r in replicas for lease in r._leases.values())
    assert used_in_redis(redis_url, key) == admitted + held
    for limiter in replicas:
        await limiter.give_back(everything=True)
    assert used_in_redis(redis_url, key) == admitted  # unspent units went back


async def test_a_busy_counter_costs_a_round_trip_per_lease_not_per_request(
    replicas: list[Limiter],
) -> None:
    limiter = replicas[0]
    key = fresh_counter()
    for _ in range(5_000):
        assert (await limiter.take(key, 10**9, HOUR)).passed
    await asyncio.sleep(0.05)  # a prefetch still on its way
    calls = limiter._pipe.calls  # type: ignore[union-attr]
    assert calls <= 5_000 // (limits.LEASE_MAX // 2) + 2, calls


async def test_units_left_unspent_go_back_to_the_other_replicas(
    replicas: list[Limiter], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "LEASE_SECONDS", 0.1)
    first, second = replicas[:2]
    key, limit = fresh_counter(), 1_000
    assert (await first.take(key, limit, HOUR)).passed
    assert 0 < first._leases[key].tokens <= lease_size(limit)  # held, unspent
    await asyncio.sleep(0.15)
    await first.give_back(everything=False)  # what the replica's task does every second
    assert key not in first._leases
    assert used_in_redis(redis_url, key) == 1
    admitted = passed(await hammer([second], key, limit, limit))
    assert admitted == limit - 1


async def test_a_refused_counter_is_refused_without_asking_redis_for_a_while(
    replicas: list[Limiter], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "LEASE_SECONDS", 0.2)
    limiter = replicas[0]
    key = fresh_counter()
    assert (await limiter.take(key, 1, HOUR)).passed
    refused = await limiter.take(key, 1, HOUR)
    assert not refused.passed and refused.remaining == 0
    calls = limiter._pipe.calls  # type: ignore[union-attr]
    for _ in range(100):
        assert not (await limiter.take(key, 1, HOUR)).passed
    assert limiter._pipe.calls == calls  # type: ignore[union-attr]
    await asyncio.sleep(0.25)
    assert not (await limiter.take(key, 1, HOUR)).passed
    assert limiter._pipe.calls == calls + 1  # type: ignore[union-attr]


async def test_a_lease_is_never_spent_after_its_window(replicas: list[Limiter]) -> None:
    limiter = replicas[0]
    key, window = fresh_counter(), 1_000
    first = await limiter.take(key, 10**6, window)
    assert limiter._leases[key].tokens > 0
    await asyncio.sleep(max(0.0, (first.reset - time.time() * 1000) / 1000) + 0.01)
    later = await limiter.take(key, 10**6, window)
    assert later.reset == first.reset + window  # counted in the new window, from Redis


async def test_a_lease_serves_only_the_window_it_was_granted_for(
    replicas: list[Limiter],
) -> None:
    limiter = replicas[0]
    key = fresh_counter()
    assert (await limiter.take(key, 10**6, HOUR)).passed
    assert limiter._leases[key].tokens > 0
    second = await limiter.take(key, 10**6, 1_000)  # the policy's window changed
    assert second.reset - time.time() * 1000 <= 1_000
    assert limiter._leases[key].window == 1_000


async def test_the_api_counts_units_leased_to_replicas_as_taken(
    replicas: list[Limiter], redis_url: str
) -> None:
    api = RateLimiter(redis.Redis.from_url(redis_url))
    key, limit = fresh_counter(), 500
    assert (await replicas[0].take(key, limit, HOUR)).passed
    held = replicas[0]._leases[key].tokens
    assert held > 0
    answer = api.take(key, limit, HOUR)
    assert answer.passed and answer.remaining == limit - 1 - held - 1
    spent = 2 + sum(
        1 for _ in range(limit) if api.take(key, limit, HOUR).passed
    )  # the API takes what is left, the lease stays the replica's
    assert spent == limit - held
    assert all([(await replicas[0].take(key, limit, HOUR)).passed for _ in range(held)])
    assert not (await replicas[0].take(key, limit, HOUR)).passed


async def test_without_redis_limits_count_in_this_replica_alone() -> None:
    limiter = Limiter(RedisPipe(f"redis://{refusing_address()}/0"))
    key = fresh_counter()
    decisions = [await limiter.take(key, 2, HOUR) for _ in range(3)]
    assert [d.passed for d in decisions] == [True, True, False]
    assert not limiter.shared and not decisions[0].shared
