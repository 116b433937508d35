"""`ready` only once the region's edge routes the flip: its control endpoint says so.

The edge here is its control endpoint alone, a small real HTTP server that answers as the
contract says (`GET /environments/{id}/routes` -> `{"routesAsOf": t | null}`), with the
answer the test chooses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dockyard.cli.dev import free_port
from dockyard.models import Deployment, DeploymentStep, Environment
from dockyard.payloads import LifecycleResult, deployment_workflow_id, environment_workflow_id
from dockyard.settings import Settings
from tests.seed import seed_app
from tests.workflows.test_deployment import deploy
from tests.workflows.test_lifecycle import lifecycle, live

pytestmark = pytest.mark.usefixtures("workers")

FLIP_SECONDS = 120.0  # a deployment's instances start and pass health before its flip


class ControlEndpoint:
    """A region edge's control endpoint, on a loopback port, answering what it is told."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.asked: list[str] = []  # environment ids, one per request
        self.routes_as_of: Callable[[], float | None] = lambda: None
        self._runner: web.AppRunner | None = None

    def routes_now(self) -> None:
        """Answer as an edge that has just read the database: routes as of this moment."""
        self.routes_as_of = time.time

    def routes_as_of_before(self, seconds: float) -> None:
        stale = time.time() - seconds
        self.routes_as_of = lambda: stale

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/environments/{environment_id}/routes", self._routes)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def asked_again(self, environment_id: str, times: int) -> None:
        """Until the endpoint has been asked about the environment `times` more times."""
        seen = self.asked.count(environment_id)
        for _ in range(200):
            if self.asked.count(environment_id) >= seen + times:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the edge was not asked about {environment_id} {times} times")

    async def _routes(self, request: web.Request) -> web.Response:
        self.asked.append(request.match_info["environment_id"])
        return web.json_response({"routesAsOf": self.routes_as_of()})


@pytest.fixture
async def edge() -> AsyncIterator[ControlEndpoint]:
    endpoint = ControlEndpoint()
    yield endpoint
    await endpoint.stop()


@pytest.fixture
def edge_control_url(edge: ControlEndpoint) -> str:
    return edge.url


@pytest.fixture
def settings(settings: Settings, edge_control_url: str) -> Settings:
    return settings.model_copy(update={"edge_control_url": edge_control_url})


class Production:
    """A seeded app's production environment, deployed to by the test's workers."""

    def __init__(
        self,
        client: Client,
        sessions: sessionmaker[Session],
        settings: Settings,
        images: dict[str, str],
    ) -> None:
        self.client, self.sessions, self.settings, self.images = client, sessions, settings, images
        self.seeded = seed_app(sessions)
        self.id = self.seeded.production.id

    async def deploy(self, version: str) -> Deployment:
        return await deploy(
            self.client, self.sessions, self.settings, self.seeded, self.images[version]
        )

    async def deploying(self, version: str) -> tuple[asyncio.Task[Deployment], Deployment]:
        """A deployment under way, and its record once the routes have flipped to it."""
        task = asyncio.create_task(self.deploy(version))
        deadline = time.monotonic() + FLIP_SECONDS
        while time.monotonic() < deadline:
            with self.sessions() as session:
                current = session.get_one(Environment, self.id).current_deployment_id
                if current:
                    return task, session.get_one(Deployment, current)
            await asyncio.sleep(0.05)
        raise AssertionError("the routes never flipped")

    async def rolling_back(self, deployment_id: str) -> asyncio.Task[LifecycleResult]:
        """A rollback under way, once the live domain has flipped to its target."""
        task = asyncio.create_task(
            lifecycle(self.client, self.seeded, "rollback_to", deployment_id)
        )
        for _ in range(100):
            if live(self.sessions) == deployment_id:
                return task
            await asyncio.sleep(0.05)
        raise AssertionError("the live domain never flipped")

    def status(self, deployment_id: str) -> str:
        with self.sessions() as session:
            return session.get_one(Deployment, deployment_id).status

    def finalizing(self, deployment_id: str) -> str:
        """The finalizing step's status."""
        with self.sessions() as session:
            step = session.scalars(
                select(DeploymentStep).where(
                    DeploymentStep.deployment_id == deployment_id,
                    DeploymentStep.name == "finalizing",
                )
            ).one()
            return step.status


@pytest.fixture
def production(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> Production:
    return Production(temporal_client, sessions, settings, demo_images)


async def test_deployment_stays_finalizing_until_the_edge_routes_as_of_its_flip(
    production: Production, edge: ControlEndpoint
) -> None:
    await edge.start()  # replicas not up yet: routesAsOf null
    deploying, deployment = await production.deploying("v1")

    await edge.asked_again(production.id, times=10)
    assert production.status(deployment.id) == "finalizing"
    assert production.finalizing(deployment.id) == "running"

    edge.routes_as_of_before(1.0)  # an edge that last read the database before the flip
    await edge.asked_again(production.id, times=10)
    assert production.status(deployment.id) == "finalizing"

    routed_at_ms = int(time.time() * 1000)
    edge.routes_now()
    ready = await asyncio.wait_for(deploying, timeout=5)
    became_ready_ms = int(time.time() * 1000)

    assert ready.status == "ready"
    assert ready.finished_at is not None
    assert routed_at_ms <= ready.finished_at <= became_ready_ms
    assert became_ready_ms - routed_at_ms < 1000, "ready should follow the edge at once"
    assert production.finalizing(ready.id) == "completed"


async def test_deployment_stays_finalizing_while_the_edge_is_unreachable(
    production: Production, edge: ControlEndpoint
) -> None:
    deploying, deployment = await production.deploying("v1")

    await asyncio.sleep(1.5)
    assert production.status(deployment.id) == "finalizing"
    assert production.finalizing(deployment.id) == "running"

    edge.routes_now()
    await edge.start()
    ready = await asyncio.wait_for(deploying, timeout=5)

    assert ready.status == "ready"
    assert production.finalizing(ready.id) == "completed"


async def test_rollback_returns_once_the_edge_routes_it(
    record_histories, production: Production, edge: ControlEndpoint
) -> None:
    edge.routes_now()
    await edge.start()
    v1 = await production.deploy("v1")
    v2 = await production.deploy("v2")
    assert (v1.status, v2.status) == ("ready", "ready")

    edge.routes_as_of_before(0.0)  # the edge stops reading: it never sees the rollback
    rolling_back = await production.rolling_back(v1.id)
    await edge.asked_again(production.id, times=10)
    assert not rolling_back.done()

    started = time.monotonic()
    edge.routes_now()
    result = await asyncio.wait_for(rolling_back, timeout=5)

    assert time.monotonic() - started < 1.0
    assert result.live_deployment_id == v1.id and result.rolled_back
    assert production.status(v1.id) == production.status(v2.id) == "ready"
    await record_histories(
        "edge-routes",
        environment_workflow_id(production.id),
        *(deployment_workflow_id(d.id) for d in (v1, v2)),
    )


@pytest.mark.parametrize("edge_control_url", [""])
async def test_without_an_edge_control_url_ready_comes_with_the_flip(
    production: Production, edge: ControlEndpoint
) -> None:
    await edge.start()  # would hold every deployment: routesAsOf stays null

    deployment = await production.deploy("v1")

    assert deployment.status == "ready"
    assert production.finalizing(deployment.id) == "completed"
    assert edge.asked == []
