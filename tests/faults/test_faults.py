"""Each fault lands during a deployment under steady load; the deployment still ends in the
right state, Docker holds exactly what the database says, and the live domain answered."""

from __future__ import annotations

import asyncio
import signal

import docker
import pytest
import redis

from tests.e2e.conftest import Dockyard
from tests.faults.conftest import run_scenario, until_status
from tests.faults.services import PrivateCluster, PrivateRedis

pytestmark = pytest.mark.faults


def assert_unharmed(outcome, *, allowed_failures: int = 0) -> None:
    assert outcome.status == "ready"
    assert outcome.sweep.clean, outcome.sweep
    assert outcome.tally.sent > 100
    assert outcome.tally.failed <= allowed_failures, (outcome.tally.statuses, outcome.tally.errors)


async def test_worker_killed_while_deploying(yard: Dockyard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        yard.running.stack.kill("worker")
        await asyncio.sleep(1)
        yard.running.stack.restart("worker")

    assert_unharmed(
        await run_scenario(yard, "worker SIGKILL while deploying", demo_images["v2"], inject)
    )


async def test_worker_killed_while_assigning_domains(yard: Dockyard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"network", "finalizing", "ready"})
        yard.running.stack.kill("worker")
        await asyncio.sleep(1)
        yard.running.stack.restart("worker")

    assert_unharmed(
        await run_scenario(yard, "worker SIGKILL in network/finalizing", demo_images["v1"], inject)
    )


async def test_temporal_restarted_mid_deployment(yard: Dockyard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        yard.running.stack.kill("temporal", signal.SIGTERM)
        await asyncio.sleep(2)
        yard.running.stack.restart("temporal")

    assert_unharmed(
        await run_scenario(yard, "Temporal stopped and restarted", demo_images["v2"], inject)
    )


async def test_api_killed_mid_deployment(yard: Dockyard, demo_images) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        yard.running.stack.kill("api")
        await asyncio.sleep(1)
        yard.running.stack.restart("api")

    assert_unharmed(await run_scenario(yard, "API SIGKILL and restart", demo_images["v1"], inject))


async def test_postgres_restarted_mid_deployment(
    yard: Dockyard, demo_images, fault_postgres: PrivateCluster
) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"deploying"})
        await asyncio.to_thread(fault_postgres.restart)

    assert_unharmed(await run_scenario(yard, "PostgreSQL restarted", demo_images["v2"], inject))


async def test_redis_down_for_thirty_seconds(
    yard: Dockyard, demo_images, fault_redis: PrivateRedis
) -> None:
    async def inject(deployment_id: str) -> None:
        await asyncio.to_thread(fault_redis.stop)
        await asyncio.sleep(30)
        await asyncio.to_thread(fault_redis.start)

    assert_unharmed(await run_scenario(yard, "Redis down for 30 s", demo_images["v1"], inject))
    assert redis.Redis.from_url(fault_redis.url).ping()


async def test_app_container_killed_traffic_moves_and_it_is_replaced(
    yard: Dockyard, demo_images, docker_client: docker.DockerClient
) -> None:
    async def inject(deployment_id: str) -> None:
        await until_status(yard, deployment_id, {"ready"})
        await asyncio.sleep(1)
        docker_client.containers.get(f"dy-{deployment_id}-local-0").kill()
        await asyncio.sleep(4)  # detection (1 s) and a fresh container passing its check

    outcome = await run_scenario(yard, "app container killed", demo_images["v2"], inject)
    # Requests already on the killed container's connections are the only ones it may cost.
    assert_unharmed(outcome, allowed_failures=5)
