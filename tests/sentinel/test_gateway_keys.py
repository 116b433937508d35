"""Key auth through the edge and real replica processes, with keys made by Unkey's SDK."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

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


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, temporal_address: str
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(tmp_path_factory.mktemp("gw"), redis_url, temporal_address) as s:
        yield s


def keyauth(api_id: str, **extra: object) -> list[dict[str, object]]:
    return policies_named({"name": "Require API key", "keyauth": {"keyspaces": [api_id], **extra}})


async def test_keys_valid_missing_wrong_expired_disabled_and_revoked(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    api_id, key_id, key = keyspace_with_key(stack.unkey, prefix="live", external_id="user_7")
    host = "keys-acme.localhost"
    stack.deploy(host, app.address, policies=keyauth(api_id))
    await stack.until(host, 200, headers=bearer(key))

    status, headers, body = await stack.get(host, headers=bearer(key))
    seen = dict(json.loads(body)["headers"])
    principal = json.loads(seen["x-dockyard-principal"])
    assert (principal["keyId"], principal["subject"], principal["keyspaceId"]) == (
        key_id,
        "user_7",
        api_id,
    )
    assert "x-forwarded-for" in seen

    status, headers, body = await stack.get(host)
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "key_missing"
    assert (await stack.get(host, headers=bearer(key + "x")))[0] == 401
    # A client cannot pose as someone: its own principal header never reaches the app.
    forged = {**bearer(key), "X-Dockyard-Principal": '{"subject":"admin"}'}
    _, _, body = await stack.get(host, headers=forged)
    values = [v for k, v in json.loads(body)["headers"] if k == "x-dockyard-principal"]
    assert len(values) == 1 and json.loads(values[0])["subject"] == "user_7"

    stack.unkey.keys.update_key(key_id=key_id, enabled=False)
    await stack.until(host, 401, headers=bearer(key))
    stack.unkey.keys.update_key(key_id=key_id, enabled=True)
    await stack.until(host, 200, headers=bearer(key))
    stack.unkey.keys.update_key(key_id=key_id, expires=int(time.time() * 1000) + 300)
    await asyncio.sleep(0.4)
    assert (await stack.get(host, headers=bearer(key)))[0] == 401
    stack.unkey.keys.update_key(key_id=key_id, expires=None)
    await stack.until(host, 200, headers=bearer(key))
    stack.unkey.keys.delete_key(key_id=key_id)
    await stack.until(host, 401, headers=bearer(key))


async def test_revocation_reaches_all_three_replicas_within_a_second(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    api_id, key_id, key = keyspace_with_key(stack.unkey)
    host = "revoke-acme.localhost"
    stack.deploy(host, app.address, policies=keyauth(api_id))
    replicas = stack.replica_urls()
    assert len(replicas) == 3
    for replica in replicas:  # every replica has the key cached
        await stack.until(host, 200, base=replica, headers=bearer(key))

    stack.unkey.keys.delete_key(key_id=key_id)
    revoked_at = time.monotonic()
    took = []
    for replica in replicas:
        await stack.until(host, 401, base=replica, headers=bearer(key))
        took.append(time.monotonic() - revoked_at)
    assert max(took) < 1.0, took


async def test_permissions_and_credits(stack: GatewayStack, upstreams: StartUpstream) -> None:
    app = await upstreams("app")
    stack.unkey.permissions.create_permission(name="read", slug="orders.read")
    api_id, key_id, key = keyspace_with_key(
        stack.unkey, permissions=["orders.read"], credits={"remaining": 2}
    )
    host = "perms-acme.localhost"
    policies = keyauth(api_id, permissionQuery="orders.read AND orders.write")
    stack.deploy(host, app.address, policies=policies)
    await stack.until(host, 403, headers=bearer(key))
    stack.unkey.keys.add_permissions(key_id=key_id, permissions=["orders.write"])
    await stack.until(host, 200, headers=bearer(key))  # spends one credit of two
    assert (await stack.get(host, headers=bearer(key)))[0] == 200
    status, _, body = await stack.get(host, headers=bearer(key))
    assert status == 429 and json.loads(body)["code"] == "usage_exceeded"
    assert stack.unkey.keys.get_key(key_id=key_id).data.credits.remaining == 0


async def test_a_keys_own_rate_limit_is_shared_by_the_replicas(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    api_id, _, key = keyspace_with_key(
        stack.unkey, ratelimits=[{"name": "calls", "limit": 2, "duration": 60_000}]
    )
    host = "keylimit-acme.localhost"
    stack.deploy(host, app.address, policies=keyauth(api_id, ratelimits=[{"name": "calls"}]))
    replicas = stack.replica_urls()
    await stack.until(host, 200, base=replicas[0], headers=bearer(key))
    status, headers, _ = await stack.get(host, base=replicas[1], headers=bearer(key))
    assert status == 200 and headers["X-RateLimit-Remaining"] == "0"
    status, headers, body = await stack.get(host, base=replicas[2], headers=bearer(key))
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert json.loads(body)["code"] == "rate_limited"


async def test_an_identitys_rate_limit_is_shared_by_all_its_keys(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    tenant = f"tenant-{time.time_ns()}"
    limit = {"name": "tenant", "limit": 3, "duration": 60_000, "autoApply": True}
    stack.unkey.identities.create_identity(external_id=tenant, ratelimits=[limit])
    api_id, _, first = keyspace_with_key(stack.unkey, external_id=tenant)
    second = stack.unkey.keys.create_key(api_id=api_id, external_id=tenant).data.key
    host = "tenantlimit-acme.localhost"
    stack.deploy(host, app.address, policies=keyauth(api_id))
    replicas = stack.replica_urls()
    await stack.until(host, 200, base=replicas[0], headers=bearer(first))
    statuses = [
        (await stack.get(host, base=replicas[i % 3], headers=bearer(key)))[0]
        for i, key in enumerate([second, first, second])
    ]
    assert statuses == [200, 200, 429]  # the 4th request of the tenant, whichever key


async def test_keys_of_other_keyspaces_are_not_valid_here(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    api_id, _, _ = keyspace_with_key(stack.unkey)
    _, _, stranger = keyspace_with_key(stack.unkey)
    host = "strangers-acme.localhost"
    stack.deploy(host, app.address, policies=keyauth(api_id))
    await stack.until(host, 401, headers=bearer(stranger))


async def test_keys_in_a_header_or_the_query(stack: GatewayStack, upstreams: StartUpstream) -> None:
    app = await upstreams("app")
    api_id, _, key = keyspace_with_key(stack.unkey)
    host = "locations-acme.localhost"
    locations = [
        {"header": {"name": "X-API-Key", "stripPrefix": "Key "}},
        {"queryParam": {"name": "k"}},
    ]
    stack.deploy(host, app.address, policies=keyauth(api_id, locations=locations))
    await stack.until(host, 200, headers={"X-API-Key": f"Key {key}"})
    assert (await stack.get(host, f"/?k={key}"))[0] == 200
    assert (await stack.get(host, headers=bearer(key)))[0] == 401
