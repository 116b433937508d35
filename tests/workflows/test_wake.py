"""The environment workflow's wake update: a stopped preview starts once, however many
ask; production never wakes (tests/e2e/test_wake.py runs it behind real requests)."""

from __future__ import annotations

import asyncio

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError

from dockyard.models import Deployment
from dockyard.payloads import LifecycleRequest, LifecycleResult, environment_workflow_id
from dockyard.settings import Settings
from tests.seed import Seeded, seed_app
from tests.workflows.test_deployment import deploy
from tests.workflows.test_lifecycle import running_containers

pytestmark = pytest.mark.usefixtures("workers")


async def test_concurrent_wakes_start_a_stopped_preview_once_and_restart_its_idle_clock(
    record_histories,
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    seeded = seed_app(sessions)
    preview = Seeded(seeded.workspace, seeded.project, seeded.app, seeded.preview, seeded.preview)
    deployment = await deploy(temporal_client, sessions, settings, preview, demo_images["v1"])
    handle = temporal_client.get_workflow_handle(environment_workflow_id(seeded.preview.id))
    request = LifecycleRequest(deployment_id=deployment.id)
    await handle.execute_update("stop_deployment", request, result_type=LifecycleResult)
    assert running_containers(docker_client, deployment.id) == 0

    results = await asyncio.gather(
        *(
            handle.execute_update("wake_deployment", request, result_type=LifecycleResult)
            for _ in range(3)
        )
    )

    assert [result.started_instances for result in results].count(True) == 1
    assert running_containers(docker_client, deployment.id) == 1
    with sessions() as session:
        assert session.get_one(Deployment, deployment.id).status == "ready"
    state = await handle.query("state")
    assert [entry["deployment_id"] for entry in state["previews"]] == [deployment.id]
    await record_histories("wake", handle.id)


async def test_production_never_wakes(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    v1 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    handle = temporal_client.get_workflow_handle(environment_workflow_id(seeded.production.id))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "wake_deployment", LifecycleRequest(deployment_id=v1.id), result_type=LifecycleResult
        )

    assert "only preview deployments wake" in str(refused.value.cause)
