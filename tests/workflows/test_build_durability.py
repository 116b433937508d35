"""A worker killed mid-build: the next worker builds again from scratch, and it deploys."""

from __future__ import annotations

import secrets
import signal
from pathlib import Path

import docker
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dockyard import build_logs
from dockyard.images import busybox_base
from dockyard.models import Deployment
from dockyard.settings import Settings
from tests.git_repo import GitRepo, app_files
from tests.seed import seed_app
from tests.workflows.test_build import (  # noqa: F401 (an autouse fixture: it cleans up here too)
    no_leftover_builds,
    served,
    start_git_deployment,
)
from tests.workflows.test_durability import start_worker, wait_until


async def test_worker_killed_while_building_builds_again_and_deploys(
    temporal_client: Client,
    temporal_address: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    seeded = seed_app(sessions)
    repo = GitRepo(tmp_path / "repo")
    marker = f"compiling-{secrets.token_hex(4)}"  # a new RUN step: no layer cache
    sha = repo.commit(
        "slow",
        app_files(busybox_base(docker_client), "survived", extra_run=f"echo {marker} && sleep 3"),
    )
    repo.push("main")
    first = start_worker(settings, temporal_address, tmp_path / "worker-1.log")
    deployment_id, handle = await start_git_deployment(
        temporal_client, sessions, settings, seeded, repo, sha=sha
    )

    def printed(message: str) -> bool:
        with sessions() as session:
            lines = build_logs.lines_after(session, deployment_id=deployment_id, limit=10_000)
            return any(line.message == message for line in lines)

    try:
        await wait_until(lambda: printed(marker), timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker(settings, temporal_address, tmp_path / "worker-2.log")
        try:
            assert await handle.result() == "ready"
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()

    with sessions() as session:
        deployment = session.get_one(Deployment, deployment_id)
        messages = [
            line.message
            for line in build_logs.lines_after(session, deployment_id=deployment_id, limit=10_000)
        ]
    assert deployment.git_commit_sha == sha and deployment.image_digest
    assert any(message.startswith("--- the previous build attempt stopped") for message in messages)
    assert messages.count(marker) == 2  # the second attempt built from the start
    assert served(sessions, deployment_id) == "survived"
