"""A gateway as users run it: the API (driven by Unkey's SDK), the region edge (Caddy), and
the Sentinel replicas it starts as real processes, on one SQLite database and the real Redis.

One stack per test module (replicas take a second to start); each test makes its own
deployments and hostnames, so tests do not see each other's policies.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yarl
from sqlalchemy.orm import Session, sessionmaker
from unkey.py import Unkey

from dockyard.cli.dev import private_edge_ports
from dockyard.db import make_engine, make_sessionmaker, migrate
from dockyard.events import Events
from dockyard.ids import new_id
from dockyard.keyspaces import DeploymentPolicies, freeze_policies
from dockyard.models import Deployment, Domain, Environment, Instance
from dockyard.settings import Settings
from sentinel.edge import RegionEdge
from sentinel.supervisor import Supervisor
from tests.api.conftest import ROOT_KEY, serve
from tests.request_log import forget_streams
from tests.seed import Seeded, seed_app


@dataclass
class GatewayStack:
    settings: Settings
    sessions: sessionmaker[Session]
    unkey: Unkey
    seeded: Seeded
    edge: RegionEdge
    url: str
    client: aiohttp.ClientSession
    # hostname -> (environment, when its deployment was committed), until every replica
    # of the environment has read the routes since: see `loaded_everywhere`.
    fresh: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def supervisor(self) -> Supervisor:
        return self.edge.supervisor

    def set_policies(self, environment: str, policies: list[dict[str, Any]]) -> None:
        body = {
            "project": self.seeded.project.slug,
            "app": self.seeded.app.slug,
            "environment": environment,
            "policies": policies,
        }
        if any("ipRules" in policy or "jwt" in policy for policy in policies):
            # dockyard's own rule types: the SDK's Policy model has no field for them.
            url = f"{self.unkey.sdk_configuration.server_url}/v2/gateway.setPolicies"
            response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {ROOT_KEY}"})
            assert response.status_code == 200, response.text
            return
        self.unkey.gateway.set_policies(
            project=self.seeded.project.slug,
            app=self.seeded.app.slug,
            environment=environment,
            policies=policies,
        )

    def deploy(
        self,
        hostname: str,
        *addresses: str,
        environment: str = "production",
        policies: list[dict[str, Any]] | None = None,
        spec_path: str | None = None,
        frozen: list[dict[str, Any]] | None = None,
    ) -> str:
        """A deployment of `environment` served at hostname, created the way the API
        creates one: with the environment's current policies frozen in."""
        env = self.seeded.production if environment == "production" else self.seeded.preview
        if policies is not None:
            self.set_policies(environment, policies)
        with self.sessions.begin() as session:
            deployment = Deployment(
                id=new_id("deployment"),
                workspace_id=self.seeded.workspace.id,
                project_id=self.seeded.project.id,
                app_id=self.seeded.app.id,
                environment_id=env.id,
                source="image",
                status="ready",
                runtime={"openapi_spec_path": spec_path} if spec_path else {},
            )
            session.add(deployment)
            session.flush()
            freeze_policies(session, deployment)
            if frozen is not None:  # what the API would never store, for failure tests
                session.flush()
                session.get(DeploymentPolicies, deployment.id).policies = frozen  # type: ignore[union-attr]
            for address in addresses:
                session.add(
                    Instance(
                        id=new_id("instance"),
                        deployment_id=deployment.id,
                        environment_id=env.id,
                        region="local",
                        container_name=f"test-{new_id('instance')}",
                        address=address,
                        status="healthy",
                    )
                )
            session.add(
                Domain(
                    id=new_id("domain"),
                    hostname=hostname,
                    kind="live",
                    workspace_id=self.seeded.workspace.id,
                    project_id=self.seeded.project.id,
                    app_id=self.seeded.app.id,
                    environment_id=env.id,
                    deployment_id=deployment.id,
                )
            )
        self.fresh[hostname] = (environment, time.time())
        events = Events(self.settings.redis_url)
        events.routes_changed(env.id)
        events.close()
        return deployment.id

    def environment(self, slug: str) -> Environment:
        return self.seeded.production if slug == "production" else self.seeded.preview

    def replica_urls(self, environment: str = "production") -> list[str]:
        env_id = self.environment(environment).id
        return [f"http://{address}" for address in self.supervisor.addresses(env_id)]

    async def get(
        self, host: str, path: str = "/", *, base: str | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Host": host, **kwargs.pop("headers", {})}
        method = kwargs.pop("method", "GET")
        # encoded: the path goes out exactly as written, dot segments included.
        url = yarl.URL((base or self.url) + path, encoded=True)
        async with self.client.request(method, url, headers=headers, **kwargs) as response:
            return response.status, dict(response.headers), await response.read()

    async def until(
        self, host: str, status: int, *, base: str | None = None, **kwargs: Any
    ) -> None:
        """Wait until the host answers `status` (routes and replicas take a moment)."""
        if host in self.fresh:
            await self.loaded_everywhere(host)
        for _ in range(300):
            answered, _, _ = await self.get(host, base=base, **kwargs)
            if answered == status:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{host} never answered {status} (last: {answered})")

    async def loaded_everywhere(self, host: str) -> None:
        """Wait until each replica of the host's environment has read its routes since the
        host was deployed, so that whichever replica a request meets knows the host."""
        environment, committed_at = self.fresh.pop(host)
        env_id = self.environment(environment).id
        for _ in range(1500):
            as_of = self.edge.routes_as_of(env_id)
            if as_of is not None and as_of > committed_at:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the edge has not routed {host} since it was made")

    async def replicas_ready(self, environment: str, count: int) -> None:
        env_id = self.environment(environment).id
        for _ in range(1500):  # 30 s: starting Python processes on a busy machine
            if len(self.supervisor.addresses(env_id)) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{environment} never had {count} healthy replicas")


@contextlib.asynccontextmanager
async def gateway_stack(
    tmp_path: Path, redis_url: str, temporal_address: str
) -> AsyncIterator[GatewayStack]:
    database_url = f"sqlite:///{tmp_path / 'dockyard.db'}"
    token = secrets.token_hex(4)
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        temporal_address=temporal_address,
        root_key=ROOT_KEY,
        workspace="acme",
        task_queue_prefix=f"gw-test-{token}",
        analytics_stream=f"gw-test-{token}",  # this stack's request log only
        **private_edge_ports(),
    )
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with serve(settings) as api, Unkey(server_url=api.url, root_key=ROOT_KEY) as unkey:
        seeded = seed_app(sessions, project=f"p{secrets.token_hex(3)}")
        edge = RegionEdge(settings, sessions)
        running = asyncio.create_task(edge.run())
        client = aiohttp.ClientSession(auto_decompress=False)
        url = f"http://127.0.0.1:{settings.edge_port}"
        stack = GatewayStack(settings, sessions, unkey, seeded, edge, url, client)
        try:
            await stack.replicas_ready("production", 3)
            await stack.replicas_ready("preview", 1)
            yield stack
        finally:
            await client.close()
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            engine.dispose()
            forget_streams(redis_url, settings.analytics_stream)


def keyspace_with_key(unkey: Unkey, **key: Any) -> tuple[str, str, str]:
    """A new keyspace and a key in it: (api id, key id, the key's secret)."""
    api_id = unkey.apis.create_api(name=f"ks-{secrets.token_hex(3)}").data.api_id
    created = unkey.keys.create_key(api_id=api_id, **key).data
    return api_id, created.key_id, created.key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def policies_named(*policies: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"enabled": True, **policy} for policy in policies]
