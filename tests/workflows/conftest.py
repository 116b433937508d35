from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dockyard.runtime import LABEL_OWNER
from dockyard.settings import Settings
from worker import build_workers


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        workspace="acme",
        task_queue_prefix=f"test-{secrets.token_hex(4)}",
    )


@pytest.fixture
async def workers(
    temporal_client: Client, settings: Settings, sessions: sessionmaker[Session]
) -> AsyncIterator[None]:
    """The real workers of worker.py, on this test's own task queues."""
    import asyncio

    with ThreadPoolExecutor(max_workers=16) as executor:
        running = build_workers(temporal_client, settings, executor)
        tasks = [asyncio.create_task(worker.run()) for worker in running]
        yield
        await asyncio.gather(*(worker.shutdown() for worker in running))
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(autouse=True)
def no_leftover_containers(
    docker_client: docker.DockerClient, settings: Settings
) -> Iterator[None]:
    yield
    owned = f"{LABEL_OWNER}={settings.task_queue_prefix}"
    for container in docker_client.containers.list(all=True, filters={"label": owned}):
        container.remove(force=True)
