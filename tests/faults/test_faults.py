"""Each fault lands during a deployment under steady load; the deployment still ends in the
right state, Docker holds exactly what the database says, and the live domain answered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import redis

from dockyard import build_logs
from dockyard.db import make_engine, make_sessionmaker
from dockyard.images import busybox_base
from tests.faults.conftest import (
    LANES,
    PROJECT,
    GatedYard,
    GitCommit,
    run_scenario,
    until_status,
)
from tests.faults.services import PrivateCluster, PrivateRedis
from tests.git_repo import GitRepo

pytestmark = pytest.mark.faults
REPOSITORY = "acme/faults"


def assert_unharmed(outcome, *, allowed_failures: int = 0) -> None:
    assert outcome.status == "ready"
    assert outcome.sweep.clean, outcome.sweep
    assert outcome.tally.sent > 100
    assert outcome.tally.failed <= allowed_failures, (outcome.tally.statuses, outcome.tally.errors)


async def test_worker_killed_while_deploying(yard: GatedYard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        yard.running.stack.kill("worker")
        await asyncio.sleep(1)
        yard.running.stack.restart("worker")

    assert_unharmed(
        await run_scenario(yard, "worker SIGKILL while deploying", demo_images["v2"], inject)
    )


async def test_worker_killed_while_assigning_domains(yard: GatedYard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"network", "finalizing", "ready"})
        yard.running.stack.kill("worker")
        await asyncio.sleep(1)
        yard.running.stack.restart("worker")

    # Heartbeats hand a killed worker's activity on within seconds: a deployment that
    # waits out an activity's whole timeout (minutes) instead fails here.
    assert_unharmed(
        await run_scenario(
            yard,
            "worker SIGKILL in network/finalizing",
            demo_images["v1"],
            inject,
            settle_within=60,
        )
    )


async def test_temporal_restarted_mid_deployment(yard: GatedYard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        yard.running.stack.kill("temporal", signal.SIGTERM)
        await asyncio.sleep(2)
        yard.running.stack.restart("temporal")

    assert_unharmed(
        await run_scenario(yard, "Temporal stopped and restarted", demo_images["v2"], inject)
    )


async def test_api_killed_mid_deployment(yard: GatedYard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        yard.running.stack.kill("api")
        await asyncio.sleep(1)
        yard.running.stack.restart("api")

    assert_unharmed(await run_scenario(yard, "API SIGKILL and restart", demo_images["v1"], inject))


async def test_postgres_restarted_mid_deployment(
    yard: GatedYard, demo_images, fault_postgres: PrivateCluster
) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        await asyncio.to_thread(fault_postgres.restart)

    assert_unharmed(await run_scenario(yard, "PostgreSQL restarted", demo_images["v2"], inject))


async def test_redis_down_for_thirty_seconds(
    yard: GatedYard, demo_images, fault_redis: PrivateRedis
) -> None:
    environment_id = await asyncio.to_thread(live_environment_id, yard)
    during: dict[str, object] = {}

    async def inject(deployment_id: str) -> None:
        await asyncio.to_thread(fault_redis.stop)
        await asyncio.sleep(5)
        during["counting"] = await replica_counting(environment_id)
        during["no key"] = (await asyncio.to_thread(yard.live, key="")).status_code
        during["wrong key"] = (await asyncio.to_thread(yard.live, key="dy_nope")).status_code
        await asyncio.sleep(25)
        await asyncio.to_thread(fault_redis.start)

    outcome = await run_scenario(yard, "Redis down for 30 s", demo_images["v1"], inject)
    assert_unharmed(outcome)
    # Without Redis, keys stay enforced and each replica counts rate limits on its own.
    assert during == {"counting": {"per-replica"}, "no key": 401, "wrong key": 401}
    assert redis.Redis.from_url(fault_redis.url).ping()
    deadline = time.monotonic() + 15
    while await replica_counting(environment_id) != {"shared"}:
        assert time.monotonic() < deadline, "rate limits never went back to Redis"
        await asyncio.sleep(0.2)


async def replica_counting(environment_id: str) -> set[str]:
    """How the live environment's replicas count rate limits: `shared` or `per-replica`."""
    async with httpx.AsyncClient(timeout=2) as client:
        answers = [
            await client.get(f"http://127.0.0.1:{replica.port}/healthz")
            for replica in replica_processes(environment_id)
        ]
    return {str(answer.json()["ratelimits"]) for answer in answers}


async def test_app_container_killed_traffic_moves_and_it_is_replaced(
    yard: GatedYard, demo_images, docker_client: docker.DockerClient
) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"ready"})
        await asyncio.sleep(1)
        docker_client.containers.get(f"dy-{deployment_id}-local-0").kill()
        await asyncio.sleep(4)  # detection (1 s) and a fresh container passing its check

    outcome = await run_scenario(yard, "app container killed", demo_images["v2"], inject)
    # Requests already on the killed container's connections are the only ones it may cost.
    assert_unharmed(outcome, allowed_failures=5)


async def edge_health(yard: GatedYard) -> dict[str, Any]:
    url = f"http://127.0.0.1:{yard.settings.edge_control_port}/healthz"
    async with httpx.AsyncClient(timeout=2) as client:
        health: dict[str, Any] = (await client.get(url)).json()
    return health


async def test_edge_caddy_killed_under_load_comes_back(yard: GatedYard, demo_images) -> None:
    restarted: list[int] = []

    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        before = (await edge_health(yard))["caddy"]
        os.kill(before["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (await edge_health(yard))["caddy"]["starts"] == before["starts"]:
            assert time.monotonic() < deadline, "the edge did not start Caddy again"
            await asyncio.sleep(0.05)
        restarted.append(before["starts"] + 1)

    outcome = await run_scenario(yard, "edge (Caddy) SIGKILL", demo_images["v1"], inject)
    # The edge keeps the listening sockets: connections made while Caddy is down wait in
    # the backlog. Only requests Caddy was serving at the kill may fail, one per lane.
    assert_unharmed(outcome, allowed_failures=LANES)
    assert restarted


def slow_build_files(base_image: str, marker: str) -> dict[str, str]:
    """The demo app's files as a repository whose build prints `marker`, then takes 3 s."""
    dockerfile = (
        f"FROM {base_image}\n"
        f"RUN echo {marker} && sleep 3\n"  # a new step each run: no layer cache
        "COPY www /www\n"
        "EXPOSE 8080\n"
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n'
    )
    return {
        "Dockerfile": dockerfile,
        "www/healthz": "ok\n",
        "www/version.txt": f"built {marker}\n",
    }


def build_log(yard: GatedYard, deployment_id: str) -> list[str]:
    engine = make_engine(yard.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            lines = build_logs.lines_after(session, deployment_id=deployment_id, limit=10_000)
            return [line.message for line in lines]
    finally:
        engine.dispose()


async def test_worker_killed_while_building(
    yard: GatedYard, git_host: Path, docker_client: docker.DockerClient
) -> None:
    repo = GitRepo(git_host / "work-root", bare=git_host / f"{REPOSITORY}.git")
    marker = f"compiling-{secrets.token_hex(4)}"
    sha = repo.commit("a slow build", slow_build_files(busybox_base(docker_client), marker))
    repo.push("main")

    async def inject(deployment_id: str) -> None:
        deadline = time.monotonic() + 60
        while marker not in await asyncio.to_thread(build_log, yard, deployment_id):
            assert time.monotonic() < deadline, "the build never reached its slow step"
            await asyncio.sleep(0.1)
        yard.running.stack.kill("worker")
        await asyncio.sleep(1)
        yard.running.stack.restart("worker")

    commit = GitCommit(REPOSITORY, sha)
    outcome = await run_scenario(yard, "worker SIGKILL while building", commit, inject)
    assert_unharmed(outcome)
    assert outcome.tally.bodies[f"built {marker}"] > 0  # the new build went live
    messages = build_log(yard, outcome.deployment_id)
    assert any(message.startswith("--- the previous build attempt stopped") for message in messages)
    assert messages.count(marker) == 2  # the second attempt built from the start


@dataclass(frozen=True)
class ReplicaProcess:
    pid: int
    slot: int
    port: int


def replica_processes(environment_id: str) -> list[ReplicaProcess]:
    """The running `python -m sentinel.replica --environment <id>` processes."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode().split("\0")
        except OSError:
            continue  # it exited meanwhile
        if "sentinel.replica" not in args or environment_id not in args:
            continue

        def option(name: str, args: list[str] = args) -> int:
            return int(args[args.index(name) + 1])

        found.append(ReplicaProcess(int(cmdline.parent.name), option("--slot"), option("--port")))
    return sorted(found, key=lambda replica: replica.slot)


def live_environment_id(yard: GatedYard) -> str:
    answer = yard.api("environments.getEnvironment", {"project": PROJECT, "app": "default",
                                                      "environment": "production"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    environment_id: str = answer.json()["data"]["id"]
    return environment_id


async def replaced(environment_id: str, killed: ReplicaProcess, within: float = 30) -> int:
    """The pid of the killed replica's successor, once it answers its /healthz."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            for replica in replica_processes(environment_id):
                if replica.slot == killed.slot and replica.pid != killed.pid:
                    with contextlib.suppress(httpx.HTTPError):
                        answer = await client.get(f"http://127.0.0.1:{replica.port}/healthz")
                        if answer.status_code == 200:
                            return replica.pid
            await asyncio.sleep(0.1)
    raise AssertionError(f"replica slot {killed.slot} did not come back within {within:.0f}s")


async def test_sentinel_replica_killed_others_serve_and_it_comes_back(
    yard: GatedYard, demo_images
) -> None:
    environment_id = await asyncio.to_thread(live_environment_id, yard)
    killed: list[ReplicaProcess] = []

    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        victim = replica_processes(environment_id)[0]
        os.kill(victim.pid, signal.SIGKILL)
        killed.append(victim)

    outcome = await run_scenario(yard, "Sentinel replica SIGKILL", demo_images["v2"], inject)
    # The edge retries a request that never reached the killed replica on another one:
    # only requests the replica was serving at that instant may fail, at most one per lane.
    assert_unharmed(outcome, allowed_failures=LANES)
    [victim] = killed
    assert await replaced(environment_id, victim) != victim.pid
