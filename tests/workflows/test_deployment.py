"""The deployment workflow against a real Temporal dev server, Docker engine and database."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dockyard.commits import GitCommit
from dockyard.crypto import SecretBox
from dockyard.deployments import create_deployment, deployment_input
from dockyard.models import Deployment, DeploymentStep, Domain, Environment, Instance
from dockyard.settings import Settings
from dockyard.specs import HealthCheck
from dockyard.temporal import start_deployment
from tests.seed import Seeded, seed_app

pytestmark = pytest.mark.usefixtures("workers")


async def deploy(
    client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    seeded: Seeded,
    image: str,
    *,
    sha: str | None = "9f2c1a7d3b",
) -> Deployment:
    with sessions.begin() as session:
        deployment = create_deployment(
            session,
            settings=settings,
            box=SecretBox(settings.secret_key),
            app=seeded.app,
            environment=session.get_one(Environment, seeded.production.id),
            source="image",
            image=image,
            git=GitCommit(branch="main", sha=sha),
        )
        plan = deployment_input(deployment, seeded.production, settings)
    handle = await start_deployment(
        client,
        plan,
        project="shop",
        app="default",
        environment="production",
        branch="main",
        sha=sha,
        trigger="api",
    )
    await handle.result()
    with sessions() as session:
        return session.get_one(Deployment, deployment.id)


def serving(sessions: sessionmaker[Session], deployment_id: str) -> list[Instance]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Instance).where(
                    Instance.deployment_id == deployment_id, Instance.status == "healthy"
                )
            )
        )


async def test_image_deploy_reaches_ready_with_steps_instances_and_domains(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    deployment = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])

    assert deployment.status == "ready", deployment.error_message
    assert deployment.image_digest and deployment.image_digest.startswith("sha256:")
    with sessions() as session:
        steps = {
            s.name: s
            for s in session.scalars(
                select(DeploymentStep).where(DeploymentStep.deployment_id == deployment.id)
            )
        }
        hosts = {
            d.kind: d.hostname
            for d in session.scalars(select(Domain).where(Domain.deployment_id == deployment.id))
        }
        environment = session.get_one(Environment, seeded.production.id)
    assert steps["queued"].status == steps["building"].status == "skipped"
    for name in ("deploying", "network", "finalizing"):
        assert steps[name].status == "completed"
        assert steps[name].finished_at is not None
        assert steps[name].finished_at >= steps[name].started_at
    assert hosts == {
        "commit": "shop-git-9f2c1a7-acme.localhost",
        "branch": "shop-git-main-acme.localhost",
        "environment": "shop-production-acme.localhost",
        "live": "shop-acme.localhost",
        "deployment": f"shop-dep-{deployment.id.removeprefix('d_')}-acme.localhost",
    }
    assert environment.current_deployment_id == deployment.id
    [instance] = serving(sessions, deployment.id)
    assert httpx.get(f"http://{instance.address}/version.txt").text.strip() == "v1"


async def test_missing_image_fails_with_an_actionable_error(
    record_histories,
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    docker_client,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    live = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])

    failed = await deploy(temporal_client, sessions, settings, seeded, "dockyard/missing:nope")

    assert failed.status == "failed"
    assert failed.error_code == "image_not_found"
    assert failed.error_step == "deploying"
    assert "dockyard/missing:nope" in (failed.error_message or "")
    with sessions() as session:
        environment = session.get_one(Environment, seeded.production.id)
    assert environment.current_deployment_id == live.id
    assert len(serving(sessions, live.id)) == 1
    await record_histories("failed-deploy", f"deploy-{failed.id}")


async def test_crashing_container_fails_and_is_removed(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    docker_client,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    with sessions.begin() as session:
        env = session.get_one(Environment, seeded.production.id)
        env.runtime = {"command": ["sh", "-c", "echo the database is unreachable; exit 3"]}

    failed = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])

    assert failed.status == "failed"
    assert failed.error_code == "container_exited"
    assert "the database is unreachable" in (failed.error_message or "")
    assert (
        docker_client.containers.list(
            all=True, filters={"label": f"dockyard.deployment={failed.id}"}
        )
        == []
    )


async def test_health_check_that_never_passes_fails_the_deployment(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    docker_client,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    check = HealthCheck(path="/ready", interval_seconds=1, timeout_seconds=1, failure_threshold=2)
    with sessions.begin() as session:
        env = session.get_one(Environment, seeded.production.id)
        env.runtime = {"healthcheck": check.model_dump()}

    failed = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])

    assert failed.status == "failed"
    assert failed.error_code == "health_check_failed"
    assert "GET /ready answered 404" in (failed.error_message or "")
    assert (
        docker_client.containers.list(
            all=True, filters={"label": f"dockyard.deployment={failed.id}"}
        )
        == []
    )
