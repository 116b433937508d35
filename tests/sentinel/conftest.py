"""A real edge on a real port, real upstream HTTP servers, and the rows that route to them."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dockyard.ids import new_id
from dockyard.models import Deployment, Domain, Instance
from dockyard.settings import Settings
from sentinel.app import Edge
from sentinel.options import EdgeOptions
from sentinel.policies.chain import PolicyChain
from sentinel.server import create_edge, granian_server, uvicorn_server
from tests.seed import seed_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refusing_address() -> str:
    """An address where nothing listens: connecting is refused at once."""
    return f"127.0.0.1:{free_port()}"


@dataclass
class Rows:
    """The rows that make a hostname routable, written the way the control plane does."""

    sessions: sessionmaker[Session]
    environment_id: str = ""
    _parents: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seeded = seed_app(self.sessions)
        self.environment_id = seeded.production.id
        self._parents = {
            "workspace_id": seeded.workspace.id,
            "project_id": seeded.project.id,
            "app_id": seeded.app.id,
        }

    def deployment(self) -> str:
        with self.sessions.begin() as session:
            row = Deployment(
                id=new_id("deployment"),
                environment_id=self.environment_id,
                source="image",
                status="ready",
                **self._parents,
            )
            session.add(row)
        return row.id

    def domain(self, hostname: str, deployment_id: str | None) -> None:
        with self.sessions.begin() as session:
            existing = session.scalars(select(Domain).where(Domain.hostname == hostname)).first()
            if existing is not None:
                existing.deployment_id = deployment_id
                return
            session.add(
                Domain(
                    id=new_id("domain"),
                    hostname=hostname,
                    kind="live",
                    environment_id=self.environment_id,
                    deployment_id=deployment_id,
                    **self._parents,
                )
            )

    def instance(
        self, deployment_id: str, address: str, *, region: str = "local", status: str = "healthy"
    ) -> str:
        with self.sessions.begin() as session:
            row = Instance(
                id=new_id("instance"),
                deployment_id=deployment_id,
                environment_id=self.environment_id,
                region=region,
                container_name=f"test-{new_id('instance')}",
                address=address,
                status=status,
            )
            session.add(row)
        return row.id

    def instance_status(self, instance_id: str, status: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(Instance).where(Instance.id == instance_id).values(status=status)
            )

    def route(self, hostname: str, *addresses: str, region: str = "local") -> str:
        """A deployment served at hostname by healthy instances at these addresses."""
        deployment_id = self.deployment()
        for address in addresses:
            self.instance(deployment_id, address, region=region)
        self.domain(hostname, deployment_id)
        return deployment_id


@pytest.fixture
def rows(sessions: sessionmaker[Session]) -> Rows:
    return Rows(sessions)


NAME = web.AppKey("name", str)


async def echo(request: web.Request) -> web.Response:
    """Everything the instance saw, and which instance it was."""
    body = await request.read()
    return web.json_response(
        {
            "instance": request.app[NAME],
            "method": request.method,
            "path_qs": request.raw_path,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
            "body_length": len(body),
        }
    )


@dataclass
class Upstream:
    """An app instance: an aiohttp server the test can extend with handlers."""

    name: str
    address: str
    app: web.Application
    connections: set[object] = field(default_factory=set)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def upstreams() -> AsyncIterator[Callable[..., Awaitable[Upstream]]]:
    runners: list[web.AppRunner] = []

    async def start(name: str = "a", routes: dict[str, Handler] | None = None) -> Upstream:
        app = web.Application()
        app[NAME] = name
        upstream_box: list[Upstream] = []

        @web.middleware
        async def count_connections(request: web.Request, handler: Handler) -> web.StreamResponse:
            upstream_box[0].connections.add(request.transport)
            return await handler(request)

        app.middlewares.append(count_connections)
        for path, handler in (routes or {}).items():
            app.router.add_route("*", path, handler)
        app.router.add_route("*", "/{tail:.*}", echo)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        upstream_box.append(Upstream(name, f"127.0.0.1:{port}", app))
        return upstream_box[0]

    yield start
    for runner in runners:
        await runner.cleanup()


@dataclass
class RunningEdge:
    edge: Edge
    url: str  # http://127.0.0.1:<port>
    client: aiohttp.ClientSession

    async def get(self, host: str, path: str = "/", **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("GET", host, path, **kwargs)

    async def request(
        self,
        method: str,
        host: str,
        path: str = "/",
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> aiohttp.ClientResponse:
        return await self.client.request(
            method, self.url + path, headers={"Host": host, **(headers or {})}, **kwargs
        )

    async def problem(self, host: str, path: str = "/") -> tuple[int, str, dict[str, object]]:
        async with await self.get(host, path) as response:
            return response.status, response.content_type, json.loads(await response.read())


StartEdge = Callable[..., Awaitable[RunningEdge]]


class Server:
    """The edge's HTTP server in this test's event loop: granian, or the uvicorn fallback."""

    def __init__(self, kind: str, edge: Edge, port: int) -> None:
        self.kind = kind
        if kind == "granian":
            self._server = granian_server(edge, host="127.0.0.1", port=port)
        else:
            self._server = uvicorn_server(edge, host="127.0.0.1", port=port)
        self._task = asyncio.create_task(self._server.serve())

    async def stop(self) -> None:
        if self.kind == "granian":
            self._server.stop()
        else:
            self._server.should_exit = True
        await asyncio.wait_for(self._task, timeout=10)


@pytest.fixture
async def start_edge(sessions: sessionmaker[Session]) -> AsyncIterator[StartEdge]:
    """Start edges on real ports (granian, the production server, unless asked); all stop
    at the end of the test."""
    running: list[tuple[Server, aiohttp.ClientSession]] = []

    async def start(
        *,
        region: str = "local",
        redis: str | None = None,
        server: str = "granian",
        policies: PolicyChain | None = None,
        **options: float,
    ) -> RunningEdge:
        settings = Settings(region=region, regions=[region], redis_url=redis or "")
        options.setdefault("poll_interval", 30.0)  # tests reload explicitly unless they poll
        edge = create_edge(
            settings, sessions=sessions, options=EdgeOptions(**options), policies=policies
        )
        port = free_port()
        serving = Server(server, edge, port)
        client = aiohttp.ClientSession(auto_decompress=False)
        running.append((serving, client))
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                async with client.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return RunningEdge(edge, url, client)
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.02)
        raise RuntimeError("the edge did not start")

    yield start
    for serving, client in running:
        await client.close()
        await serving.stop()
