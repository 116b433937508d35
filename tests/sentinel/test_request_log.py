"""The request log through the real stack: requests through the edge and its replica
processes (allowed, 401 key_missing, 429 rate_limited) come back from
analytics.getGatewayRequests with their outcome, environment, status and latency, the
key's verifications from getVerifications, and the key's lastUsedAt moves; all read
through Unkey's SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.sentinel.conftest import Upstream
from tests.sentinel.gateway_stack import (
    GatewayStack,
    bearer,
    gateway_stack,
    keyspace_with_key,
    policies_named,
)

StartUpstream = Callable[..., Awaitable[Upstream]]
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, temporal_address: str
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(tmp_path_factory.mktemp("log"), redis_url, temporal_address) as s:
        yield s


async def eventually(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """`read()` (a blocking SDK call) until `done` says the rows are all there."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = await asyncio.to_thread(read)
        if done(answer) or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def test_requests_and_their_outcomes_are_read_back(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    api_id, key_id, key = keyspace_with_key(
        stack.unkey, ratelimits=[{"name": "calls", "limit": 2, "duration": 60_000}]
    )
    host = "logged-acme.localhost"
    deployment_id = stack.deploy(
        host,
        app.address,
        policies=policies_named(
            {"name": "keys", "keyauth": {"keyspaces": [api_id], "ratelimits": [{"name": "calls"}]}}
        ),
    )
    await stack.until(host, 401)
    answered = [
        (await stack.get(host, "/orders/7?token=secret", headers=bearer(key)))[0] for _ in range(3)
    ]
    assert answered == [200, 200, 429]

    query = (
        "SELECT outcome, response_status, environment_id, method, path, path_template, key_id, "
        "count() AS total, min(latency) AS fastest "
        f"FROM gateway_requests_v1 WHERE deployment_id = '{deployment_id}' "
        "AND time >= now() - INTERVAL 10 MINUTE "
        "GROUP BY ALL "
        "ORDER BY response_status"
    )
    rows = await eventually(
        lambda: stack.unkey.analytics.get_gateway_requests(query=query).data,
        lambda rows: (
            {(r["outcome"], r["response_status"]) for r in rows}
            >= {("allowed", 200), ("key_missing", 401), ("rate_limited", 429)}
            and sum(r["total"] for r in rows if r["response_status"] != 401) == 3
        ),
    )
    by_outcome = {row["outcome"]: row for row in rows}
    environment_id = stack.seeded.production.id
    assert by_outcome["allowed"] | {"fastest": 0} == {
        "outcome": "allowed",
        "response_status": 200,
        "environment_id": environment_id,
        "method": "GET",
        "path": "/orders/7",  # the query string, which may carry a key, is never kept
        "path_template": "/orders/{id}",
        "key_id": key_id,
        "total": 2,
        "fastest": 0,
    }
    assert by_outcome["allowed"]["fastest"] > 0
    assert by_outcome["rate_limited"]["key_id"] == key_id
    assert by_outcome["rate_limited"]["response_status"] == 429
    assert by_outcome["key_missing"]["key_id"] is None
    assert by_outcome["key_missing"]["environment_id"] == environment_id

    verifications = await eventually(
        lambda: (
            stack.unkey.analytics.get_verifications(
                query="SELECT outcome, count() AS total FROM key_verifications_v1 "
                f"WHERE key_id = '{key_id}' GROUP BY outcome ORDER BY outcome"
            ).data
        ),
        lambda rows: len(rows) == 2,
    )
    assert [(r["outcome"], r["total"]) for r in verifications] == [
        ("RATE_LIMITED", 1),
        ("VALID", 2),
    ]
    used = await eventually(
        lambda: stack.unkey.keys.get_key(key_id=key_id).data.last_used_at,
        lambda value: value is not None,
    )
    assert used is not None and abs(used - time.time() * 1000) < 60_000


async def test_each_replica_reports_its_request_log(stack: GatewayStack) -> None:
    url = stack.replica_urls()[0]
    async with stack.client.get(url + "/healthz") as response:
        health = await response.json()
    assert set(health["requestLog"]) == {"queued", "shipped", "dropped"}
    assert health["requestLog"]["dropped"] == 0
