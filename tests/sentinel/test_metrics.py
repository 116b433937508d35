"""The edge's /metrics: what real replica processes counted, merged from their files, and
still right after a replica is killed and restarted."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from dockyard.cli.dev import private_edge_ports
from dockyard.settings import Settings
from sentinel.metrics import forget_dead
from tests.api.conftest import serve
from tests.metrics_scrape import Samples, scrape, total, until, value
from tests.sentinel.conftest import Upstream
from tests.sentinel.gateway_stack import (
    GatewayStack,
    bearer,
    gateway_stack,
    keyspace_with_key,
    policies_named,
)
from tests.sentinel.region_edge import edge_process

StartUpstream = Callable[..., Awaitable[Upstream]]
REQUESTS = "dockyard_sentinel_requests_total"
DURATION_COUNT = "dockyard_sentinel_request_duration_seconds_count"
REPLICAS = "dockyard_sentinel_replicas"


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, temporal_address: str
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(tmp_path_factory.mktemp("gw"), redis_url, temporal_address) as s:
        yield s


def metrics_url(stack: GatewayStack) -> str:
    return f"http://127.0.0.1:{stack.settings.edge_control_port}/metrics"


def outcomes(samples: Samples, environment: str) -> Counter[tuple[str, str]]:
    counted: Counter[tuple[str, str]] = Counter()
    for (name, labels), count in samples.items():
        fields = dict(labels)
        if name == REQUESTS and fields["environment"] == environment:
            counted[(fields["status_class"], fields["outcome"])] += int(count)
    return counted


class Sent:
    """Every request a test sends to production's apps, by what answered it. Each test
    ends once the edge has counted all of them, so the next starts from settled counts."""

    def __init__(self, stack: GatewayStack, before: Samples) -> None:
        self.stack = stack
        self.environment = stack.seeded.production.id
        self.url = metrics_url(stack)
        self.before = before
        self.outcomes: Counter[tuple[str, str]] = Counter()

    async def get(self, host: str, **headers: str) -> int:
        status, _, body = await self.stack.get(host, headers=headers)
        outcome = "allowed" if status < 400 else json.loads(body)["code"]
        self.outcomes[(f"{status // 100}xx", outcome)] += 1
        return status

    async def until(self, host: str, status: int, **headers: str) -> None:
        await self.stack.loaded_everywhere(host)
        for _ in range(300):
            if await self.get(host, **headers) == status:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{host} never answered {status}")

    def expected(self) -> Counter[tuple[str, str]]:
        return outcomes(self.before, self.environment) + self.outcomes

    async def counted(self) -> Samples:
        """The scrape once the edge has counted every request sent so far."""
        return await until(
            self.url, lambda samples: outcomes(samples, self.environment) == self.expected()
        )


@pytest.fixture
async def sent(stack: GatewayStack) -> Sent:
    return Sent(stack, await scrape(metrics_url(stack)))


async def test_requests_are_counted_by_status_class_and_policy_outcome(
    stack: GatewayStack, sent: Sent, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    api_id, _, key = keyspace_with_key(stack.unkey)
    limit = {"limit": 2, "windowMs": 60_000, "identifiers": [{"header": {"name": "X-Org"}}]}
    policies = policies_named(
        {"name": "key", "keyauth": {"keyspaces": [api_id]}},
        {"name": "per org", "ratelimit": limit},
    )
    host = "metered-acme.localhost"
    stack.deploy(host, app.address, policies=policies)
    await sent.until(host, 200, **bearer(key), **{"X-Org": secrets.token_hex(4)})
    warm = sent.outcomes.copy()

    org = {"X-Org": secrets.token_hex(4)}
    for headers in [{}, {}, bearer(key + "x"), *[{**bearer(key), **org}] * 4]:
        await sent.get(host, **headers)
    asked = sent.outcomes - warm
    assert asked[("4xx", "key_missing")] == 2
    assert asked[("2xx", "allowed")] == 2 and asked[("4xx", "rate_limited")] == 2

    after = await sent.counted()
    environment = sent.environment
    durations = [value(s, DURATION_COUNT, environment=environment) for s in (sent.before, after)]
    assert durations[1] - durations[0] == sent.outcomes.total()
    assert value(after, REPLICAS, environment=environment) == 3
    assert value(after, REPLICAS, environment=stack.seeded.preview.id) == 1
    # The replicas' own health checks are no requests to an app: not counted.
    unknown = [total(s, REQUESTS, outcome="unknown_host") for s in (sent.before, after)]
    assert unknown[0] == unknown[1]


async def test_a_killed_replica_keeps_its_counts_and_leaves_the_replica_gauge(
    stack: GatewayStack, sent: Sent, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    host = "restarted-acme.localhost"
    stack.deploy(host, app.address, policies=[])
    await sent.until(host, 200)
    for _ in range(6):
        await sent.get(host)
    await sent.counted()  # none left in a replica's unwritten second before the kill

    replica = stack.supervisor.replicas[(sent.environment, 0)]
    assert replica.process is not None
    restarts = replica.restarts
    os.kill(replica.process.pid, signal.SIGKILL)
    for _ in range(1500):
        if replica.restarts > restarts and replica.healthy:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the killed replica was not restarted")

    def three_replicas(samples: Samples) -> bool:
        return value(samples, REPLICAS, environment=sent.environment) == 3

    after = await until(sent.url, three_replicas)
    assert outcomes(after, sent.environment) == sent.expected(), "a dead replica's counts left"
    for _ in range(5):
        assert await sent.get(host) == 200
    assert three_replicas(await sent.counted())


async def test_no_metrics_reach_the_internet_through_the_edge(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The API's /metrics through the API's domain, and the edge's own through an IP host
    on the public port: both refused, while loopback scrapes answer."""
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        api_domain="dockyard.localhost",
        **private_edge_ports(),
    )
    with serve(settings) as api:
        async with edge_process(settings, api.url) as edge:
            await edge.health()
            async with edge.https_client() as client:
                through_api = await edge.https_get(client, "dockyard.localhost", "/metrics")
                page = await edge.https_get(client, "dockyard.localhost", "/dashboard")
                direct = await client.get(f"{api.url}/metrics")
                own = await client.get(f"{edge.http}/metrics")
                control = await client.get(f"{edge.control}/metrics")
    assert page.status_code == 200  # the API is served through the edge
    assert through_api.status_code == 404 and "dockyard_api" not in through_api.text
    assert own.status_code == 404 and "dockyard_sentinel" not in own.text
    assert direct.status_code == 200 and "dockyard_api_requests_total" in direct.text
    assert control.status_code == 200 and "dockyard_sentinel_healthy_replicas" in control.text


def test_only_dead_processes_lose_their_live_gauges(tmp_path: Path) -> None:
    for name in ("gauge_livesum_11.db", "gauge_livesum_12.db", "counter_11.db"):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead(tmp_path, alive=lambda pid: pid == 12) == [11]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_11.db", "gauge_livesum_12.db"]
