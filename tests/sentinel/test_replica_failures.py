"""A replica without Redis, and without its database: what stays enforced, what degrades,
and what it says about itself. The replica runs in this process here, on a real port."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dockyard.ids import new_id
from dockyard.keys import hash_key
from dockyard.keyspaces import DeploymentPolicies, Key, Keyspace
from dockyard.settings import Settings
from sentinel.options import EdgeOptions
from sentinel.replica import create_replica
from tests.sentinel.conftest import Rows, Server, Upstream, free_port, refusing_address

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "shop-acme.localhost"


def gateway_rows(
    sessions: sessionmaker[Session], rows: Rows, address: str, policies: list[dict]
) -> str:
    deployment = rows.route(HOST, address)
    with sessions.begin() as session:
        workspace_id = rows._parents["workspace_id"]
        session.add(Keyspace(id="api_failures01", workspace_id=workspace_id, name="k"))
        session.flush()
        session.add(
            Key(
                id=new_id("key"),
                keyspace_id="api_failures01",
                workspace_id=workspace_id,
                key_hash=hash_key("good-key"),
                start="good",
                enabled=True,
                ratelimits=[],
            )
        )
        session.add(DeploymentPolicies(deployment_id=deployment, policies=policies))
    return deployment


POLICIES = [
    {
        "id": "pol_1",
        "name": "log",
        "enabled": True,
        "logging": {"requestHeaders": True, "query": True},
    },
    {"id": "pol_2", "name": "key", "enabled": True, "keyauth": {"keyspaces": ["api_failures01"]}},
    {
        "id": "pol_3",
        "name": "limit",
        "enabled": True,
        "ratelimit": {"limit": 2, "windowMs": 60_000, "identifiers": [{"remoteIp": {}}]},
    },
]


@pytest.fixture(params=["sqlite"])
def database_url(tmp_path) -> str:  # one database is enough for these
    return f"sqlite:///{tmp_path / 'dockyard.db'}"


async def test_without_redis_keys_stay_enforced_and_limits_count_locally(
    sessions: sessionmaker[Session],
    rows: Rows,
    upstreams: StartUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = await upstreams("app")
    gateway_rows(sessions, rows, app.address, POLICIES)
    dead_redis = f"redis://{refusing_address()}/0"
    settings = Settings(redis_url=dead_redis, regions=["local"])
    replica = create_replica(
        settings, rows.environment_id, sessions=sessions, options=EdgeOptions(poll_interval=30)
    )
    port = free_port()
    server = Server("granian", replica, port)
    caplog.set_level(logging.INFO, logger="sentinel.requests")
    try:
        async with aiohttp.ClientSession() as client:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    async with client.get(url + "/healthz") as response:
                        if response.status == 200:
                            health = await response.json()
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.02)
            assert health["status"] == "degraded" and health["redis"] == "unreachable"

            async def get(key: str | None, query: str = "") -> int:
                headers = {"Host": HOST, **({"Authorization": f"Bearer {key}"} if key else {})}
                async with client.get(url + "/" + query, headers=headers) as response:
                    await response.read()
                    return response.status

            assert await get(None) == 401
            assert await get("wrong-key") == 401
            assert await get("good-key", "?token=abc") == 200
            assert await get("good-key") == 200
            assert await get("good-key") == 429  # counted by this replica alone
            async with client.get(url + "/healthz") as response:
                assert (await response.json())["ratelimits"] == "per-replica"
    finally:
        await server.stop()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sentinel.requests"]
    assert [line["status"] for line in lines] == [401, 401, 200, 200, 429]
    assert lines[2]["query"] == {"token": "abc"}
    assert lines[2]["requestHeaders"]["authorization"] == "[REDACTED]"
    assert "good-key" not in json.dumps(lines)
