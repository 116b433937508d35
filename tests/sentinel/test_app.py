"""The edge as a user meets it: routing by Host, its own errors, its health endpoint."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection
from starlette.responses import Response

from sentinel.policies.chain import PolicyChain
from sentinel.problems import Problem
from sentinel.routing import Route
from tests.sentinel.conftest import Rows, RunningEdge, StartEdge, Upstream

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "shop-acme.localhost"


async def answered_by(running: RunningEdge, host: str, path: str = "/") -> str:
    async with await running.get(host, path) as response:
        assert response.status == 200
        return str(json.loads(await response.read())["instance"])


async def test_routes_each_host_to_the_deployment_its_domain_points_at(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop, blog = await upstreams("shop"), await upstreams("blog")
    rows.route("shop-acme.localhost", shop.address)
    rows.route("blog-acme.localhost", blog.address)
    running = await start_edge()

    assert await answered_by(running, "shop-acme.localhost") == "shop"
    assert await answered_by(running, "Blog-Acme.localhost:8080") == "blog"


async def test_unknown_host_is_a_404_problem(start_edge: StartEdge, rows: Rows) -> None:
    rows.domain("soon-acme.localhost", None)  # assigned, not routed yet
    running = await start_edge()

    for host in ("nope.localhost", "soon-acme.localhost"):
        status, content_type, body = await running.problem(host)
        assert status == 404
        assert content_type == "application/problem+json"
        assert body["detail"] == f"no deployment is serving {host}"
        assert body["title"] == "Not Found"
        assert body["status"] == 404


async def test_deployment_without_healthy_instance_is_a_503_problem(
    start_edge: StartEdge, rows: Rows
) -> None:
    deployment = rows.deployment()
    rows.instance(deployment, "127.0.0.1:9", status="starting")
    rows.domain("shop-acme.localhost", deployment)
    running = await start_edge()

    status, content_type, body = await running.problem("shop-acme.localhost")

    assert status == 503
    assert content_type == "application/problem+json"
    assert body["code"] == "no_healthy_instance"
    assert deployment in str(body["detail"])


async def test_health_lives_on_ip_hosts_so_an_apps_own_healthz_still_works(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    rows.route("shop-acme.localhost", shop.address)
    running = await start_edge(region="eu")

    async with running.client.get(f"{running.url}/healthz") as response:
        assert response.status == 200
        health = await response.json()
    assert health["status"] == "ok"
    assert health["region"] == "eu"
    assert health["hosts"] == 1
    assert await answered_by(running, "shop-acme.localhost", "/healthz") == "shop"
    async with running.client.get(f"{running.url}/anything-else") as response:
        assert response.status == 404


async def test_own_region_serves_and_another_region_only_when_none_is_healthy_there(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    near, far = await upstreams("near"), await upstreams("far")
    deployment = rows.deployment()
    near_id = rows.instance(deployment, near.address, region="eu")
    rows.instance(deployment, far.address, region="us")
    rows.domain("shop-acme.localhost", deployment)
    running = await start_edge(region="eu")

    assert {await answered_by(running, "shop-acme.localhost") for _ in range(20)} == {"near"}
    rows.instance_status(near_id, "stopped")
    await running.edge.routes.reload()
    assert {await answered_by(running, "shop-acme.localhost") for _ in range(5)} == {"far"}


class RequireKey:
    """A stand-in policy: requests without an API key never reach the app."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def evaluate(self, request: HTTPConnection, route: Route) -> Response | None:
        self.seen.append(route.environment_id)
        if "authorization" not in request.headers:
            return Problem(401, "key_missing", "an API key is required")
        return None


async def test_a_policy_rejection_answers_before_the_app_sees_the_request(
    start_edge: StartEdge, rows: Rows, upstreams: StartUpstream
) -> None:
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    policy = RequireKey()
    running = await start_edge(policies=PolicyChain([policy]))

    async with await running.get(HOST) as response:
        assert response.status == 401
        assert (await response.json())["code"] == "key_missing"
    assert shop.connections == set()
    async with await running.get(HOST, headers={"Authorization": "Bearer k"}) as response:
        assert response.status == 200
    assert policy.seen == [rows.environment_id, rows.environment_id]
