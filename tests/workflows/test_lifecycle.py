"""Standby, rollback and promote through the environment workflow, on real services."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError

from dockyard.models import App, Deployment, Domain, Environment, Instance
from dockyard.payloads import (
    LifecycleRequest,
    LifecycleResult,
    deployment_workflow_id,
    environment_workflow_id,
)
from dockyard.settings import Settings
from dockyard.specs import HealthCheck
from tests.seed import Seeded, seed_app
from tests.workflows.test_deployment import deploy

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"standby_time": timedelta(seconds=3)})


def live(sessions: sessionmaker[Session]) -> str | None:
    with sessions() as session:
        domain = session.query(Domain).filter_by(kind="live").one()
        return domain.deployment_id


def running_containers(client: docker.DockerClient, deployment_id: str) -> int:
    return len(
        client.containers.list(
            filters={"label": f"dockyard.deployment={deployment_id}"}, ignore_removed=True
        )
    )


async def lifecycle(client: Client, seeded: Seeded, update: str, deployment_id: str):
    handle = client.get_workflow_handle(environment_workflow_id(seeded.production.id))
    return await handle.execute_update(
        update, LifecycleRequest(deployment_id=deployment_id), result_type=LifecycleResult
    )


async def test_rollback_to_warm_standby_is_a_route_flip_then_promote_clears_it(
    record_histories,
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    settings = settings.model_copy(update={"standby_time": timedelta(minutes=30)})
    seeded = seed_app(sessions)
    v1 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    v2 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    assert live(sessions) == v2.id

    started = time.monotonic()
    result = await lifecycle(temporal_client, seeded, "rollback_to", v1.id)
    took = time.monotonic() - started

    assert result.live_deployment_id == v1.id and result.rolled_back
    assert not result.started_instances
    assert took < 1.0, f"a rollback to a warm standby took {took:.2f}s"
    assert live(sessions) == v1.id
    with sessions() as session:
        assert session.get_one(App, seeded.app.id).is_rolled_back

    # While rolled back, a new deployment becomes ready but does not take the live domain.
    v3 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    assert v3.status == "ready"
    assert live(sessions) == v1.id

    result = await lifecycle(temporal_client, seeded, "promote_to", v3.id)
    assert result.live_deployment_id == v3.id and not result.rolled_back
    assert live(sessions) == v3.id
    with sessions() as session:
        assert not session.get_one(App, seeded.app.id).is_rolled_back
        assert session.get_one(Environment, seeded.production.id).current_deployment_id == v3.id
    assert running_containers(docker_client, v2.id) == 1  # still warm
    await record_histories(
        "rollback-promote",
        environment_workflow_id(seeded.production.id),
        *(deployment_workflow_id(d.id) for d in (v1, v2, v3)),
    )


async def test_standby_stops_after_its_window_and_promote_starts_it_again(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    seeded = seed_app(sessions)
    v1 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    assert running_containers(docker_client, v1.id) == 1

    await wait_for_status(sessions, v1.id, "stopped")  # standby_time is 3 s here
    assert running_containers(docker_client, v1.id) == 0

    result = await lifecycle(temporal_client, seeded, "promote_to", v1.id)

    assert result.started_instances and result.live_deployment_id == v1.id
    assert running_containers(docker_client, v1.id) == 1
    with sessions() as session:
        assert session.get_one(Deployment, v1.id).status == "ready"
    assert live(sessions) == v1.id


async def test_a_promote_whose_instances_fail_their_health_check_leaves_nothing_running(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    seeded = seed_app(sessions)
    v1 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    v2 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    await wait_for_status(sessions, v1.id, "stopped")  # standby_time is 3 s here
    # Started again, v1 will not pass a health check (as an app whose dependency is gone).
    with sessions.begin() as session:
        deployment = session.get_one(Deployment, v1.id)
        frozen = dict(deployment.runtime)
        check = HealthCheck(path="/ready", interval_seconds=1, timeout_seconds=1)
        deployment.runtime = {**frozen, "healthcheck": check.model_dump()}

    with pytest.raises(WorkflowUpdateFailedError):
        await lifecycle(temporal_client, seeded, "promote_to", v1.id)

    assert live(sessions) == v2.id
    assert (
        docker_client.containers.list(
            all=True, filters={"label": f"dockyard.deployment={v1.id}"}, ignore_removed=True
        )
        == []
    )
    with sessions() as session:
        assert session.get_one(Deployment, v1.id).status == "stopped"
        statuses = {i.status for i in session.query(Instance).filter_by(deployment_id=v1.id)}
    assert statuses <= {"stopped"}, statuses  # a record of what ran, none starting or healthy
    # Nothing is left holding the environment: once the app is fixed, the promote works.
    with sessions.begin() as session:
        session.get_one(Deployment, v1.id).runtime = frozen
    result = await lifecycle(temporal_client, seeded, "promote_to", v1.id)
    assert result.started_instances and live(sessions) == v1.id


async def wait_for_status(sessions: sessionmaker[Session], deployment_id: str, status: str) -> None:
    for _ in range(300):
        with sessions() as session:
            if session.get_one(Deployment, deployment_id).status == status:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"deployment {deployment_id} never became {status}")


async def test_rollback_by_plain_signal(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    v1 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    handle = temporal_client.get_workflow_handle(environment_workflow_id(seeded.production.id))

    await handle.signal("rollback", LifecycleRequest(deployment_id=v1.id))

    for _ in range(50):
        if live(sessions) == v1.id:
            break
        await asyncio.sleep(0.1)
    assert live(sessions) == v1.id


async def test_concurrent_rollbacks_and_a_finishing_deploy_leave_one_consistent_live(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> None:
    settings = settings.model_copy(update={"standby_time": timedelta(minutes=30)})
    seeded = seed_app(sessions)
    v1 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    v2 = await deploy(temporal_client, sessions, settings, seeded, demo_images["v2"])
    await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])

    outcomes = await asyncio.gather(
        lifecycle(temporal_client, seeded, "rollback_to", v1.id),
        lifecycle(temporal_client, seeded, "rollback_to", v2.id),
        deploy(temporal_client, sessions, settings, seeded, demo_images["v2"]),
        return_exceptions=True,
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    handle = temporal_client.get_workflow_handle(environment_workflow_id(seeded.production.id))
    state = await handle.query("state")
    with sessions() as session:
        environment = session.get_one(Environment, seeded.production.id)
        hosts = {
            d.kind: d.deployment_id
            for d in session.query(Domain).filter(Domain.kind.in_(["live", "environment"]))
        }
    assert environment.current_deployment_id == state["live_deployment_id"]
    assert hosts == {
        "live": environment.current_deployment_id,
        "environment": environment.current_deployment_id,
    }


async def test_a_killed_instance_is_ejected_and_replaced(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    from worker import start_region_watches

    seeded = seed_app(sessions)
    with sessions.begin() as session:
        session.get_one(Environment, seeded.production.id).regions = [
            {"name": "local", "replicas": 2}
        ]
    deployment = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    await start_region_watches(temporal_client, settings, ["local"])
    victim = docker_client.containers.get(f"dy-{deployment.id}-local-0")
    old_address = next(
        i.address
        for i in serving_instances(sessions, deployment.id)
        if i.container_name == victim.name
    )

    victim.kill()

    for _ in range(100):
        instances = serving_instances(sessions, deployment.id)
        if len(instances) == 2 and old_address not in {i.address for i in instances}:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"not replaced: {serving_instances(sessions, deployment.id)}")
    replacement = docker_client.containers.get(f"dy-{deployment.id}-local-0")
    assert replacement.id != victim.id and replacement.status == "running"
    assert running_containers(docker_client, deployment.id) == 2
    await temporal_client.get_workflow_handle(
        f"{settings.task_queue_prefix}-watch-local"
    ).terminate()


def serving_instances(sessions: sessionmaker[Session], deployment_id: str) -> list[Instance]:
    with sessions() as session:
        return list(
            session.query(Instance).filter_by(deployment_id=deployment_id, status="healthy")
        )
