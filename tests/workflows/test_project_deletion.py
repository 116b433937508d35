"""Deleting a project through its deletion workflow, on real Temporal, Docker and database:
live and standby deployments' containers are removed, their workflows end, rows go."""

from __future__ import annotations

import docker
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus

from dockyard.models import Deployment, Domain, Environment, Instance, Project
from dockyard.payloads import (
    PROJECT_DELETION_WORKFLOW,
    DeleteProjectInput,
    TaskQueues,
    environment_workflow_id,
    project_deletion_workflow_id,
)
from dockyard.settings import Settings
from tests.seed import seed_app
from tests.workflows.test_deployment import deploy
from tests.workflows.test_lifecycle import running_containers

pytestmark = pytest.mark.usefixtures("workers")


async def delete(client: Client, settings: Settings, project_id: str) -> None:
    await client.execute_workflow(
        PROJECT_DELETION_WORKFLOW,
        DeleteProjectInput(
            project_id=project_id, queues=TaskQueues(prefix=settings.task_queue_prefix)
        ),
        id=project_deletion_workflow_id(project_id),
        task_queue=TaskQueues(prefix=settings.task_queue_prefix).control,
    )


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_project_with_live_deployments_is_torn_down(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    seeded = seed_app(sessions)
    standby = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    live = await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    assert (standby.status, live.status) == ("ready", "ready")
    assert running_containers(docker_client, standby.id) >= 1
    assert running_containers(docker_client, live.id) >= 1
    assert count(sessions, Domain) > 0

    await delete(temporal_client, settings, seeded.project.id)

    assert running_containers(docker_client, standby.id) == 0
    assert running_containers(docker_client, live.id) == 0
    leftover = docker_client.containers.list(
        all=True, filters={"label": f"dockyard.deployment={live.id}"}
    )
    assert leftover == []
    for model in (Project, Environment, Deployment, Instance, Domain):
        assert count(sessions, model) == 0, model.__name__
    environment = await temporal_client.get_workflow_handle(
        environment_workflow_id(seeded.production.id)
    ).describe()
    assert environment.status == WorkflowExecutionStatus.TERMINATED

    # Deleting it again finds nothing left to do.
    await delete(temporal_client, settings, seeded.project.id)
