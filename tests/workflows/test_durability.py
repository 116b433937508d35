"""A worker killed mid-deployment: the deployment still completes, with no duplicates."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import docker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowUpdateStage

from dockyard.commits import GitCommit
from dockyard.crypto import SecretBox
from dockyard.deployments import create_deployment, deployment_input
from dockyard.models import Deployment, Environment, Instance
from dockyard.payloads import LifecycleRequest, LifecycleResult, environment_workflow_id
from dockyard.settings import Settings
from dockyard.specs import HealthCheck
from dockyard.temporal import start_deployment
from tests.seed import seed_app
from tests.workflows.test_deployment import deploy

ROOT = Path(__file__).resolve().parents[2]


def start_worker(settings: Settings, temporal_address: str, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DOCKYARD_DATABASE_URL": settings.database_url,
        "DOCKYARD_REDIS_URL": settings.redis_url,
        "DOCKYARD_TEMPORAL_ADDRESS": temporal_address,
        "DOCKYARD_TASK_QUEUE_PREFIX": settings.task_queue_prefix,
        "DOCKYARD_WORKSPACE": settings.workspace,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_worker_killed_while_deploying_resumes_without_duplicates(
    temporal_client: Client,
    temporal_address: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    docker_client: docker.DockerClient,
    demo_images: dict[str, str],
    tmp_path: Path,
) -> None:
    seeded = seed_app(sessions)
    with sessions.begin() as session:
        environment = session.get_one(Environment, seeded.production.id)
        # The instance waits 3 s before its first probe: the kill lands in that window.
        environment.runtime = {
            "healthcheck": HealthCheck(
                path="/healthz", interval_seconds=1, initial_delay_seconds=3
            ).model_dump()
        }
        environment.regions = [{"name": "local", "replicas": 2}]
        deployment = create_deployment(
            session,
            settings=settings,
            box=SecretBox(settings.secret_key),
            app=seeded.app,
            environment=environment,
            source="image",
            image=demo_images["v1"],
            git=GitCommit(branch="main"),
        )
        plan = deployment_input(deployment, environment, settings)
    log = tmp_path / "worker.log"
    worker = start_worker(settings, temporal_address, log)
    try:
        handle = await start_deployment(
            temporal_client,
            plan,
            project="shop",
            app="default",
            environment="production",
            branch="main",
            sha=None,
            trigger="api",
        )

        def instances_started() -> bool:
            with sessions() as session:
                status = session.get_one(Deployment, deployment.id).status
                count = len(
                    session.scalars(
                        select(Instance).where(Instance.deployment_id == deployment.id)
                    ).all()
                )
            return status == "deploying" and count == 2

        await wait_until(instances_started)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker = start_worker(settings, temporal_address, log)

        assert await asyncio.wait_for(handle.result(), timeout=90) == "ready"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)

    containers = docker_client.containers.list(
        all=True, filters={"label": f"dockyard.deployment={deployment.id}"}
    )
    assert sorted(c.name for c in containers) == [
        f"dy-{deployment.id}-local-0",
        f"dy-{deployment.id}-local-1",
    ]
    assert all(c.status == "running" for c in containers)
    with sessions() as session:
        rows = session.scalars(
            select(Instance).where(Instance.deployment_id == deployment.id)
        ).all()
    assert sorted(row.status for row in rows) == ["healthy", "healthy"]


async def test_worker_killed_while_stopping_instances_finishes_the_stop_in_seconds(
    temporal_client: Client,
    temporal_address: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    docker_client: docker.DockerClient,
    demo_images: dict[str, str],
    tmp_path: Path,
) -> None:
    seeded = seed_app(sessions)
    log = tmp_path / "worker.log"
    worker = start_worker(settings, temporal_address, log)
    try:
        standby = (await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])).id
        await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
        environment = temporal_client.get_workflow_handle(
            environment_workflow_id(seeded.production.id)
        )
        await environment.start_update(
            "stop_deployment",
            LifecycleRequest(deployment_id=standby),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=LifecycleResult,
        )

        def statuses() -> set[str]:
            with sessions() as session:
                rows = session.scalars(select(Instance).where(Instance.deployment_id == standby))
                return {row.status for row in rows}

        # busybox httpd ignores SIGTERM as PID 1, so `docker stop` takes its whole grace
        # period: the kill lands while the activity waits on it.
        await wait_until(lambda: statuses() == {"draining"})
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker = start_worker(settings, temporal_address, log)

        def stopped() -> bool:
            with sessions() as session:
                deployment = session.get_one(Deployment, standby)
            return deployment.status == "stopped" and statuses() == {"stopped"}

        # Noticed by the missing heartbeat, not after the 2-minute start-to-close timeout.
        await wait_until(stopped, timeout=45)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)

    leftover = docker_client.containers.list(
        all=True, filters={"label": f"dockyard.deployment={standby}"}
    )
    assert leftover == []
