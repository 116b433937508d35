"""Each policy type and `match`, isolation between environments, and replicas that die,
through the edge and real replica processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api.conftest import ROOT_KEY
from tests.sentinel.conftest import Upstream, refusing_address
from tests.sentinel.gateway_stack import GatewayStack, gateway_stack, policies_named

StartUpstream = Callable[..., Awaitable[Upstream]]


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, temporal_address: str
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(tmp_path_factory.mktemp("gw"), redis_url, temporal_address) as s:
        yield s


async def test_rate_limit_is_exact_across_three_replicas(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    host = "limits-acme.localhost"
    limit = {"limit": 10, "windowMs": 60_000, "identifiers": [{"header": {"name": "X-Tenant"}}]}
    stack.deploy(host, app.address, policies=policies_named({"name": "tenant", "ratelimit": limit}))
    replicas = stack.replica_urls()
    for replica in replicas:  # each has loaded the deployment and its policies
        await stack.until(host, 200, base=replica, headers={"X-Tenant": "warmup"})
    tenant = {"X-Tenant": f"t{time.time_ns()}"}
    answers = await asyncio.gather(
        *(stack.get(host, base=replicas[i % 3], headers=tenant) for i in range(30))
    )
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(200) == 10 and statuses.count(429) == 20
    refused = next(headers for status, headers, _ in answers if status == 429)
    assert refused["X-RateLimit-Remaining"] == "0" and int(refused["Retry-After"]) >= 1
    # Another tenant has its own counter.
    assert (await stack.get(host, headers={"X-Tenant": "other"}))[0] == 200


async def test_firewall_with_match_expressions(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    host = "firewall-acme.localhost"
    match = [
        {"path": {"path": {"prefix": "/internal/", "ignoreCase": True}}},
        {"method": {"methods": ["POST", "DELETE"]}},
    ]
    policy = {"name": "no internal writes", "match": match, "firewall": {"action": "ACTION_DENY"}}
    header_rule = {
        "name": "no debug",
        "match": [{"header": {"name": "X-Debug", "present": True}}],
        "firewall": {"action": "ACTION_DENY"},
    }
    stack.deploy(host, app.address, policies=policies_named(policy, header_rule))
    await stack.until(host, 200)
    assert (await stack.get(host, "/INTERNAL/users", method="POST"))[0] == 403
    # The path the app would serve is the one matched: dot segments do not slip past.
    assert (await stack.get(host, "/public/%2e%2e/internal/users", method="POST"))[0] == 403
    assert (await stack.get(host, "/internal/users"))[0] == 200  # GET: not matched
    assert (await stack.get(host, "/public", method="POST"))[0] == 200
    status, headers, body = await stack.get(host, headers={"X-Debug": "1"})
    assert status == 403 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["title"] == "Forbidden"


async def test_ip_rules_and_remote_ip_matches(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    allow_elsewhere = policies_named({"name": "office", "ipRules": {"allow": ["10.0.0.0/8"]}})
    stack.deploy("office-acme.localhost", app.address, policies=allow_elsewhere)
    await stack.until("office-acme.localhost", 403)
    deny_v6 = policies_named(
        {"name": "v6", "ipRules": {"deny": ["2001:db8::/32"], "allow": ["127.0.0.0/8", "::1/128"]}}
    )
    stack.deploy("local-acme.localhost", app.address, policies=deny_v6)
    await stack.until("local-acme.localhost", 200)
    unkey_style = policies_named(
        {
            "name": "only loopback",
            "match": [{"remoteIp": {"notIn": ["127.0.0.0/8"]}}],
            "firewall": {"action": "ACTION_DENY"},
        }
    )
    stack.deploy("loopback-acme.localhost", app.address, policies=unkey_style)
    await stack.until("loopback-acme.localhost", 200)


async def test_jwt_with_a_pem_key(stack: GatewayStack, upstreams: StartUpstream) -> None:
    app = await upstreams("app")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rule = {"publicKey": public_pem, "issuer": "https://id.example", "audiences": ["shop"]}
    stack.deploy(
        "jwt-acme.localhost", app.address, policies=policies_named({"name": "jwt", "jwt": rule})
    )
    claims = {"sub": "user_9", "iss": "https://id.example", "aud": "shop", "exp": time.time() + 60}
    token = jwt.encode(claims, private, algorithm="RS256")
    await stack.until("jwt-acme.localhost", 200, headers={"Authorization": f"Bearer {token}"})
    _, _, body = await stack.get("jwt-acme.localhost", headers={"Authorization": f"Bearer {token}"})
    principal = json.loads(dict(json.loads(body)["headers"])["x-dockyard-principal"])
    assert principal["subject"] == "user_9" and principal["type"] == "jwt"
    assert (await stack.get("jwt-acme.localhost"))[0] == 401
    wrong_audience = jwt.encode({**claims, "aud": "blog"}, private, algorithm="RS256")
    status, _, body = await stack.get(
        "jwt-acme.localhost", headers={"Authorization": f"Bearer {wrong_audience}"}
    )
    assert status == 401 and "audience" in json.loads(body)["detail"].lower()
    expired = jwt.encode({**claims, "exp": time.time() - 120}, private, algorithm="RS256")
    status, _, _ = await stack.get(
        "jwt-acme.localhost", headers={"Authorization": f"Bearer {expired}"}
    )
    assert status == 401


async def test_jwt_with_a_jwks_url_and_a_key_set_that_does_not_load(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    reached: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        reached.append(request.host)
        return web.Response(text="hello")

    app = await upstreams("app", routes={"/": hello})
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    key_set = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    async def keys(_: web.Request) -> web.Response:
        return web.json_response(key_set)

    identity = await upstreams("identity", routes={"/jwks.json": keys})
    good = {"jwksUrl": f"http://{identity.address}/jwks.json"}
    stack.deploy(
        "jwks-acme.localhost", app.address, policies=policies_named({"name": "jwt", "jwt": good})
    )
    claims = {"sub": "user_3", "exp": time.time() + 60}
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    bearer = {"Authorization": f"Bearer {token}"}
    await stack.until("jwks-acme.localhost", 200, headers=bearer)

    down = {"jwksUrl": f"http://{refusing_address()}/jwks.json"}
    stack.deploy(
        "jwks-down-acme.localhost", app.address, policies=policies_named({"name": "j", "jwt": down})
    )
    await stack.until("jwks-down-acme.localhost", 503, headers=bearer)
    status, headers, body = await stack.get("jwks-down-acme.localhost", headers=bearer)
    assert status == 503 and headers["Content-Type"] == "application/problem+json"
    assert "key set" in json.loads(body)["detail"]
    assert "jwks-down-acme.localhost" not in reached


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "orders", "version": "1"},
    "servers": [{"url": "https://api.example.com"}],
    "paths": {
        "/orders": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["quantity"],
                                "properties": {"quantity": {"type": "integer", "minimum": 1}},
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


async def test_openapi_validation(stack: GatewayStack, upstreams: StartUpstream) -> None:
    async def spec(_: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    app = await upstreams("app", {"/openapi.json": spec})
    host = "openapi-acme.localhost"
    policies = policies_named(
        {"name": "validate", "match": [{"path": {"path": {"prefix": "/orders"}}}], "openapi": {}}
    )
    stack.deploy(host, app.address, policies=policies, spec_path="/openapi.json")
    await stack.until(host, 200, path="/orders", method="POST", json={"quantity": 2})
    status, _, body = await stack.get(host, "/orders", method="POST", json={"quantity": 0})
    assert status == 400 and "quantity" in json.loads(body)["detail"]
    status, _, body = await stack.get(host, "/orders", method="POST", json={"quantity": 3})
    assert status == 200 and json.loads(body)["body_length"] == len(b'{"quantity": 3}')


async def test_a_broken_preview_policy_leaves_production_alone(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    broken = [
        {
            "id": "pol_x",
            "name": "bad",
            "enabled": True,
            "match": [{"path": {"path": {"regex": "("}}}],  # what no API would store
            "firewall": {"action": "ACTION_DENY"},
        }
    ]
    stack.deploy("prod-iso-acme.localhost", app.address, policies=[])
    stack.deploy("preview-iso-acme.localhost", app.address, environment="preview", frozen=broken)
    await stack.until("preview-iso-acme.localhost", 503)
    _, _, body = await stack.get("preview-iso-acme.localhost")
    assert json.loads(body)["code"] == "policies_broken"
    await stack.until("prod-iso-acme.localhost", 200)


async def test_a_killed_replica_is_replaced_while_the_others_serve(
    stack: GatewayStack, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    host = "kill-acme.localhost"
    stack.deploy(host, app.address, policies=[])
    await stack.until(host, 200)
    victim = stack.supervisor.replicas[(stack.seeded.production.id, 1)]
    assert victim.process is not None
    old_pid, restarts = victim.process.pid, victim.restarts

    async def load() -> list[int]:
        return [(await stack.get(host))[0] for _ in range(100)]

    loaders = [asyncio.create_task(load()) for _ in range(4)]
    await asyncio.sleep(0.05)
    os.kill(old_pid, signal.SIGKILL)
    statuses = [status for result in await asyncio.gather(*loaders) for status in result]
    # At most the requests in flight on the killed replica fail; the rest are served.
    assert statuses.count(200) >= len(statuses) - 4, statuses
    await stack.replicas_ready("production", 3)
    assert victim.restarts == restarts + 1 and victim.process.pid != old_pid


async def test_replica_count_follows_the_setting_and_new_environments(
    stack: GatewayStack,
) -> None:
    project, app = stack.seeded.project.slug, stack.seeded.app.slug
    api_url = stack.unkey.sdk_configuration.server_url
    headers = {"Authorization": f"Bearer {ROOT_KEY}"}
    target = {"project": project, "app": app, "environment": "preview"}
    with httpx.Client(base_url=api_url, headers=headers) as http:
        # dockyard's extension operations: the SDK has no method for them.
        raised = http.post("/v2/gateway.updateSettings", json={**target, "sentinelReplicas": 2})
        assert raised.status_code == 200, raised.text
        await stack.replicas_ready("preview", 2)
        created = http.post(
            "/v2/environments.createEnvironment",
            json={"project": project, "app": app, "slug": "staging", "kind": "preview"},
        )
        assert created.status_code == 200, created.text
        staging = created.json()["data"]["id"]
        for _ in range(1500):
            if stack.supervisor.addresses(staging):
                break
            await asyncio.sleep(0.02)
        assert len(stack.supervisor.addresses(staging)) == 1
        back = http.post("/v2/gateway.updateSettings", json={**target, "sentinelReplicas": None})
        assert back.status_code == 200, back.text
    for _ in range(500):
        if len(stack.supervisor.addresses(stack.seeded.preview.id)) == 1:
            break
        await asyncio.sleep(0.02)
    assert len(stack.supervisor.addresses(stack.seeded.preview.id)) == 1
