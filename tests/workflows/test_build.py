"""Git deployments: the queued and building phases, with real git, Docker and Temporal."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle

from dockyard import build_logs
from dockyard.commits import GitCommit
from dockyard.crypto import SecretBox
from dockyard.deployments import create_deployment, deployment_input
from dockyard.images import busybox_base
from dockyard.models import App, Deployment, DeploymentStep, Environment, Instance
from dockyard.payloads import deployment_workflow_id
from dockyard.settings import Settings
from dockyard.temporal import start_deployment
from tests.git_repo import GitRepo, app_files
from tests.seed import Seeded, seed_app

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
def base_image(docker_client: docker.DockerClient) -> str:
    return busybox_base(docker_client)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture(autouse=True)
def no_leftover_builds(
    docker_client: docker.DockerClient, sessions: sessionmaker[Session]
) -> Iterator[None]:
    """The images this test's apps built (their layers stay cached for the next test)."""
    yield
    with sessions() as session:
        app_ids = list(session.scalars(select(App.id)))
    for app_id in app_ids:
        for image in docker_client.images.list(name=f"dockyard-build/{app_id}"):
            for tag in image.tags:
                # force: a replacement instance may still hold it; the tag goes regardless.
                docker_client.images.remove(tag, force=True)


async def start_git_deployment(
    client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    seeded: Seeded,
    repo: GitRepo,
    *,
    sha: str | None,
    branch: str = "main",
    production: bool = True,
    build_timeout: timedelta | None = None,
) -> tuple[str, WorkflowHandle[Any, Any]]:
    environment_id = seeded.production.id if production else seeded.preview.id
    with sessions.begin() as session:
        environment = session.get_one(Environment, environment_id)
        deployment = create_deployment(
            session,
            settings=settings,
            box=SecretBox(settings.secret_key),
            app=seeded.app,
            environment=environment,
            source="git",
            git=GitCommit(repository=repo.url, branch=branch, sha=sha),
            trigger="github",
        )
        plan = deployment_input(deployment, environment, settings)
    if build_timeout is not None:
        plan = plan.model_copy(update={"build_timeout": build_timeout})
    handle = await start_deployment(
        client,
        plan,
        project="shop",
        app="default",
        environment=environment.slug,
        branch=branch,
        sha=sha,
        trigger="github",
    )
    return deployment.id, handle


async def deploy_commit(
    client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    seeded: Seeded,
    repo: GitRepo,
    sha: str | None,
    **options: Any,
) -> Deployment:
    deployment_id, handle = await start_git_deployment(
        client, sessions, settings, seeded, repo, sha=sha, **options
    )
    await handle.result()
    with sessions() as session:
        return session.get_one(Deployment, deployment_id)


def served(sessions: sessionmaker[Session], deployment_id: str) -> str:
    with sessions() as session:
        instance = session.scalars(
            select(Instance).where(
                Instance.deployment_id == deployment_id, Instance.status == "healthy"
            )
        ).first()
    assert instance is not None, f"{deployment_id} has no healthy instance"
    return httpx.get(f"http://{instance.address}/", timeout=5).text.strip()


def steps(sessions: sessionmaker[Session], deployment_id: str) -> dict[str, DeploymentStep]:
    with sessions() as session:
        rows = session.scalars(
            select(DeploymentStep).where(DeploymentStep.deployment_id == deployment_id)
        )
        return {step.name: step for step in rows}


async def test_builds_the_exact_commit_asked_for_not_the_branch_head(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    base_image: str,
    record_histories: Callable[..., Awaitable[None]],
) -> None:
    seeded = seed_app(sessions)
    token = secrets.token_hex(4)
    first = repo.commit("first", app_files(base_image, f"first {token}"))
    repo.commit("second", app_files(base_image, f"second {token}"))
    repo.push("main")

    deployment = await deploy_commit(temporal_client, sessions, settings, seeded, repo, first)

    assert deployment.status == "ready", deployment.error_message
    assert deployment.git_commit_sha == first
    assert deployment.git_commit_message == "first"
    assert deployment.image == f"dockyard-build/{seeded.app.id}:{deployment.id}"
    assert deployment.image_digest and deployment.image_digest.startswith("sha256:")
    assert served(sessions, deployment.id) == f"first {token}"
    recorded = steps(sessions, deployment.id)
    for name in ("queued", "building", "deploying", "network", "finalizing"):
        assert recorded[name].status == "completed", name
    with sessions() as session:
        lines = build_logs.lines_after(session, deployment_id=deployment.id, limit=1000)
    messages = [line.message for line in lines]
    assert any(message.startswith("Step 1/") for message in messages)
    assert {line.step_id for line in lines} >= {"source", "step-1"}
    await record_histories("git-build", deployment_workflow_id(deployment.id))


async def test_a_branch_without_a_commit_builds_its_head_and_records_the_full_sha(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    base_image: str,
) -> None:
    seeded = seed_app(sessions)
    head = repo.commit("only", app_files(base_image, "head of main"))
    repo.push("main")

    deployment = await deploy_commit(temporal_client, sessions, settings, seeded, repo, None)

    assert deployment.status == "ready", deployment.error_message
    assert deployment.git_commit_sha == head
    assert served(sessions, deployment.id) == "head of main"


async def test_failed_build_reports_its_last_lines_and_live_keeps_serving(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    base_image: str,
    docker_client: docker.DockerClient,
    record_histories: Callable[..., Awaitable[None]],
) -> None:
    seeded = seed_app(sessions)
    good = repo.commit("good", app_files(base_image, "still live"))
    broken = repo.commit(
        "broken",
        app_files(base_image, "never", extra_run="echo npm ERR! missing script: build && exit 3"),
    )
    repo.push("main")
    live = await deploy_commit(temporal_client, sessions, settings, seeded, repo, good)

    failed = await deploy_commit(temporal_client, sessions, settings, seeded, repo, broken)

    assert failed.status == "failed"
    assert failed.error_code == "build_failed"
    assert failed.error_step == "building"
    assert "npm ERR! missing script: build" in (failed.error_message or "")
    assert "returned a non-zero code: 3" in (failed.error_message or "")
    assert failed.image_digest is None
    with sessions() as session:
        assert session.get_one(Environment, seeded.production.id).current_deployment_id == live.id
    assert served(sessions, live.id) == "still live"
    assert (
        docker_client.containers.list(filters={"label": f"dockyard.deployment={failed.id}"}) == []
    )
    await record_histories("git-build-failed", deployment_workflow_id(failed.id))


async def test_a_root_directory_outside_the_repository_is_refused(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    base_image: str,
) -> None:
    seeded = seed_app(sessions)
    sha = repo.commit("app", app_files(base_image, "x"))
    repo.push("main")
    with sessions.begin() as session:
        environment = session.get_one(Environment, seeded.production.id)
        environment.build = {"root_directory": "../../etc"}

    failed = await deploy_commit(temporal_client, sessions, settings, seeded, repo, sha)

    assert failed.status == "failed"
    assert failed.error_code == "build_failed"
    assert "the root directory '../../etc' points outside the repository" in (
        failed.error_message or ""
    )


async def test_build_log_lines_can_be_read_while_the_build_runs(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    base_image: str,
) -> None:
    seeded = seed_app(sessions)
    marker = f"first-line-{secrets.token_hex(4)}"
    sha = repo.commit(
        "slow", app_files(base_image, "slow", extra_run=f"echo {marker} && sleep 4 && echo done")
    )
    repo.push("main")
    deployment_id, handle = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=sha
    )

    seen_while = None
    for _ in range(200):
        with sessions() as session:
            lines = build_logs.lines_after(session, deployment_id=deployment_id, limit=1000)
            if any(line.message == marker for line in lines):
                seen_while = session.get_one(Deployment, deployment_id).status
                break
        await asyncio.sleep(0.05)

    assert seen_while == "building"
    assert await handle.result() == "ready"


async def test_a_build_that_outlives_its_timeout_fails_and_stops(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    base_image: str,
    docker_client: docker.DockerClient,
) -> None:
    seeded = seed_app(sessions)
    marker = f"forever-{secrets.token_hex(4)}"
    sha = repo.commit("hangs", app_files(base_image, "x", extra_run=f"echo {marker} && sleep 300"))
    repo.push("main")

    deployment_id, handle = await start_git_deployment(
        temporal_client,
        sessions,
        settings,
        seeded,
        repo,
        sha=sha,
        build_timeout=timedelta(seconds=3),
    )

    assert await handle.result() == "failed"
    with sessions() as session:
        failed = session.get_one(Deployment, deployment_id)
    assert failed.error_code == "build_failed"
    assert "did not finish within 0.05 minutes" in (failed.error_message or "")
    assert marker in (failed.error_message or "")

    def still_building() -> bool:
        steps = docker_client.containers.list(
            all=True, filters={"ancestor": base_image}, ignore_removed=True
        )
        return any(marker in " ".join(step.attrs["Config"]["Cmd"] or []) for step in steps)

    for _ in range(100):  # the engine removes the cancelled step's container on its own
        if not still_building():
            break
        await asyncio.sleep(0.1)
    assert not still_building()
