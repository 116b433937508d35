from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from dockyard.runtime import DockerRuntime
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
    DockerRuntime(docker_client, owner=settings.task_queue_prefix).remove_owned()


HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture
def record_histories(temporal_client: Client) -> Callable[..., Awaitable[None]]:
    """Save the histories of workflows a test ran, when DOCKYARD_RECORD_HISTORIES=1.

    The saved files are replayed against the current workflow code on every run
    (test_replay.py): a change that would break running workflows fails the build.
    """

    async def record(name: str, *workflow_ids: str) -> None:
        if os.environ.get("DOCKYARD_RECORD_HISTORIES") != "1":
            return
        for index, workflow_id in enumerate(workflow_ids):
            history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
            (HISTORIES / f"{name}-{index}.json").write_text(history.to_json())

    return record
