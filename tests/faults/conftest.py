"""Fault scenarios: each runs a deployment under steady load, injects one fault, and
records what was sent, what succeeded, what failed and what was lost. The table of every
scenario is printed at the end of the run.

The dockyard under test runs on a Redis server and a PostgreSQL cluster of its own
(tests.faults.services): the scenarios stop and restart those, not the shared ones. Its
live domain is behind Sentinel policies (key auth and a rate limit), so every request of
the load is verified and counted on its way through, faults or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import docker
import httpx
import pytest
from sqlalchemy import select

from bench.loadgen import Tally, steady_load, table
from dockyard.db import make_engine, make_sessionmaker
from dockyard.models import Deployment
from dockyard.runtime import DockerRuntime
from tests.e2e.conftest import Dockyard, start_dockyard
from tests.faults.services import PrivateCluster, PrivateRedis
from tests.sweep import Sweep, sweep

PROJECT = "faults"
LIVE = f"{PROJECT}-acme.localhost"
FINAL = {"ready", "failed", "cancelled", "stopped", "superseded", "skipped"}
RESULTS: list[tuple[str, Tally]] = []
# Requests the load keeps in flight: each lane sends its next one only after an answer.
LANES = 8


@dataclass(frozen=True)
class GatedYard(Dockyard):
    """The fault dockyard, and the API key its live domain's key auth policy accepts."""

    api_key: str = ""

    def live(self, path: str = "/version.txt", *, key: str | None = None) -> httpx.Response:
        """A request to the live domain through the edge, with the API key unless told."""
        key = self.api_key if key is None else key
        return httpx.get(
            f"http://127.0.0.1:{self.settings.edge_port}{path}",
            headers={"Host": LIVE, **({"Authorization": f"Bearer {key}"} if key else {})},
            timeout=30,
        )


@dataclass(frozen=True)
class Outcome:
    deployment_id: str
    tally: Tally
    status: str
    sweep: Sweep


@pytest.fixture(scope="module")
def fault_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("faults-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fault_postgres() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def git_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the yard clones `owner/name` from: `<git_host>/owner/name.git`."""
    return tmp_path_factory.mktemp("faults-git-host")


@pytest.fixture(scope="module")
def yard(
    tmp_path_factory: pytest.TempPathFactory,
    fault_redis: PrivateRedis,
    fault_postgres: PrivateCluster,
    git_host: Path,
    demo_images: dict[str, str],
) -> Iterator[GatedYard]:
    """A dockyard on PostgreSQL with two replicas per region and a 2 s health delay, so
    every deployment spends a few seconds in `deploying`: the window faults aim at."""
    with start_dockyard(
        tmp_path_factory.mktemp("faults"),
        fault_redis.url,
        database_url=fault_postgres.url,
        git_clone_url=f"file://{git_host}/{{repository}}.git",
    ) as dockyard:
        assert dockyard.cli("projects", "create", PROJECT).returncode == 0
        assert dockyard.cli("apps", "create", "default", "--project", PROJECT).returncode == 0
        settings = dockyard.api(
            "environments.updateSettings",
            {
                "project": PROJECT,
                "app": "default",
                "environment": "production",
                "regions": [{"name": "local", "replicas": {"min": 2, "max": 2}}],
                "healthcheck": {
                    "method": "GET",
                    "path": "/healthz",
                    "intervalSeconds": 1,
                    "initialDelaySeconds": 2,
                },
            },
        )
        assert settings.status_code == 200, settings.text
        gated = GatedYard(
            **{spec.name: getattr(dockyard, spec.name) for spec in fields(dockyard)},
            api_key=protect_live(dockyard),
        )
        first = dockyard.cli("deploy", demo_images["v1"], "--project", PROJECT)
        assert first.returncode == 0, first.stderr
        # Plain polling: a sync fixture must not assume it may run an event loop of its own.
        deadline = time.monotonic() + 60
        while gated.live().status_code != 200:
            assert time.monotonic() < deadline, f"{LIVE} never answered"
            time.sleep(0.2)
        assert gated.live(key="").status_code == 401
        yield gated
        built = built_images(dockyard)
    client = docker.from_env()
    for image in built:  # after the yard's containers are gone
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(image, force=True)


def protect_live(yard: Dockyard) -> str:
    """Key auth and a per-IP rate limit (never reached by the load) in front of the live
    environment; returns the API key the load sends."""

    def call(operation: str, body: dict[str, object]) -> dict[str, object]:
        answer = yard.api(operation, body)
        assert answer.status_code == 200, answer.text
        data: dict[str, object] = answer.json()["data"]
        return data

    keyspace = call("apis.createApi", {"name": "faults"})["apiId"]
    key = str(call("keys.createKey", {"apiId": keyspace, "name": "load"})["key"])
    yard.secrets.add(key)
    limit = {"limit": 1_000_000, "windowMs": 60_000, "identifiers": [{"remoteIp": {}}]}
    call(
        "gateway.setPolicies",
        {
            "project": PROJECT,
            "app": "default",
            "environment": "production",
            "policies": [
                {"name": "api key", "enabled": True, "keyauth": {"keyspaces": [keyspace]}},
                {"name": "per ip", "enabled": True, "ratelimit": limit},
            ],
        },
    )
    return key


def built_images(yard: Dockyard) -> list[str]:
    """The images the yard built from commits."""
    engine = make_engine(yard.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return [
                image
                for image in session.scalars(
                    select(Deployment.image).where(Deployment.source == "git")
                )
                if image
            ]
    finally:
        engine.dispose()


def status_of(yard: Dockyard, deployment_id: str) -> str | None:
    """The deployment's status, or None while the API does not answer (it may be down)."""
    try:
        response = yard.api("deployments.getDeployment", {"deploymentId": deployment_id})
    except Exception:
        return None
    return response.json()["data"]["status"] if response.status_code == 200 else None


async def until_status(
    yard: Dockyard, deployment_id: str, wanted: set[str], timeout: float = 120
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await asyncio.to_thread(status_of, yard, deployment_id)
        if status in wanted:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"{deployment_id} never reached {wanted}")


@dataclass(frozen=True)
class GitCommit:
    """A commit of a repository on the yard's git host, to build and deploy."""

    repository: str
    sha: str


def start_deploy(yard: Dockyard, source: str | GitCommit) -> str:
    """Start deploying an image (through the CLI) or a commit (through the API)."""
    if isinstance(source, str):
        result = yard.cli("deploy", source, "--project", PROJECT, "--detach")
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[1]
    git = {"repository": source.repository, "commitSha": source.sha, "branch": "main"}
    started = yard.api(
        "deployments.createDeployment",
        {"project": PROJECT, "app": "default", "environment": "production", "git": git},
    )
    assert started.status_code == 201, started.text
    deployment_id: str = started.json()["data"]["deploymentId"]
    return deployment_id


def owned_sweep(yard: Dockyard) -> Sweep:
    sessions = make_sessionmaker(make_engine(yard.settings.database_url))
    return sweep(sessions, DockerRuntime(owner=yard.settings.task_queue_prefix))


async def run_scenario(
    yard: GatedYard,
    name: str,
    source: str | GitCommit,
    inject: Callable[[str], Awaitable[None]],
    *,
    settle_within: float = 120,
) -> Outcome:
    """Deploy `source` (an image or a commit) under load on the live domain and inject the
    fault into the deployment."""
    stop = asyncio.Event()
    load = asyncio.create_task(
        steady_load(
            f"http://127.0.0.1:{yard.settings.edge_port}/version.txt",
            host=LIVE,
            rate=100,
            stop=stop,
            concurrency=LANES,
            headers={"Authorization": f"Bearer {yard.api_key}"},
        )
    )
    await asyncio.sleep(0.5)
    deployment_id = await asyncio.to_thread(start_deploy, yard, source)
    await inject(deployment_id)
    status = await until_status(yard, deployment_id, FINAL, timeout=settle_within)
    await asyncio.sleep(1)
    stop.set()
    tally = await load
    RESULTS.append((name, tally))
    return Outcome(deployment_id=deployment_id, tally=tally, status=status, sweep=owned_sweep(yard))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.write_sep("=", "fault scenarios: requests to the live domain")
        terminalreporter.write_line(table(RESULTS))
