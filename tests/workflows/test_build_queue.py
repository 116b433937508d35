"""Queued: one build slot here, so the order in which deployments get it is visible."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dockyard.images import busybox_base
from dockyard.models import Deployment
from dockyard.payloads import deployment_workflow_id
from dockyard.settings import Settings
from tests.git_repo import GitRepo, app_files
from tests.seed import seed_app
from tests.workflows.test_build import (  # noqa: F401 (an autouse fixture: it cleans up here too)
    no_leftover_builds,
    start_git_deployment,
    steps,
)

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"build_concurrency": 1})


@pytest.fixture
def repo(tmp_path: Path, docker_client: docker.DockerClient) -> GitRepo:
    """`slow` builds for a few seconds (holding the one slot); `main` and `other` are quick."""
    base = busybox_base(docker_client)
    token = secrets.token_hex(4)
    repo = GitRepo(tmp_path / "repo")
    repo.commit("quick", app_files(base, f"quick {token}"))
    repo.push("main")
    repo.push("other")
    repo.branch("slow")
    repo.commit("slow", app_files(base, f"slow {token}", extra_run="sleep 4"))
    repo.push("slow")
    return repo


async def wait_for_status(sessions: sessionmaker[Session], deployment_id: str, status: str) -> None:
    for _ in range(400):
        with sessions() as session:
            if session.get_one(Deployment, deployment_id).status == status:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{deployment_id} never became {status}")


async def test_production_builds_before_a_preview_that_queued_earlier(
    temporal_client: Client, sessions: sessionmaker[Session], settings: Settings, repo: GitRepo
) -> None:
    seeded = seed_app(sessions)
    slow_id, slow = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=None, branch="slow", production=False
    )
    await wait_for_status(sessions, slow_id, "building")
    preview_id, preview = await start_git_deployment(
        temporal_client,
        sessions,
        settings,
        seeded,
        repo,
        sha=None,
        branch="other",
        production=False,
    )
    await wait_for_status(sessions, preview_id, "queued")
    production_id, production = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=None
    )

    assert [await handle.result() for handle in (slow, preview, production)] == ["ready"] * 3
    production_built = steps(sessions, production_id)["building"].started_at
    preview_built = steps(sessions, preview_id)["building"].started_at
    assert production_built < preview_built


async def test_a_newer_push_to_the_branch_supersedes_a_queued_deployment(
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    repo: GitRepo,
    record_histories: Callable[..., Awaitable[None]],
) -> None:
    seeded = seed_app(sessions)
    slow_id, slow = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=None, branch="slow", production=False
    )
    await wait_for_status(sessions, slow_id, "building")
    older_id, older = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=None
    )
    await wait_for_status(sessions, older_id, "queued")
    newer_id, newer = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=None
    )

    assert await older.result() == "superseded"
    assert await newer.result() == "ready"
    assert await slow.result() == "ready"
    with sessions() as session:
        superseded = session.get_one(Deployment, older_id)
    assert superseded.status == "superseded"
    assert superseded.finished_at is not None
    queued = steps(sessions, older_id)["queued"]
    assert queued.status == "skipped"
    assert newer_id in (queued.message or "")
    assert "building" not in steps(sessions, older_id)
    await record_histories("git-superseded", deployment_workflow_id(older_id))
