"""Real durations, skipped: the 30-minute standby and the 6-hour preview idle clock.

A dev server of its own runs with per-workflow time skipping, and with continue-as-new
suggested after a short history so the environment workflow's hand-over is exercised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import docker
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment

from dockyard import search_attributes
from dockyard.deployments import environment_input
from dockyard.models import Deployment, Environment
from dockyard.payloads import LifecycleRequest, LifecycleResult, environment_workflow_id
from dockyard.settings import Settings
from dockyard.traffic import record_requests
from tests.conftest import temporal_cli
from tests.seed import Seeded, seed_app
from tests.workflows.test_deployment import deploy
from worker import build_workers

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
async def clock_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        dev_server_existing_path=temporal_cli(),
        data_converter=pydantic_data_converter,
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=60",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"standby_time": timedelta(minutes=30), "preview_idle_time": timedelta(hours=6)}
    )


@pytest.fixture
async def clock_workers(
    clock_env: WorkflowEnvironment, settings: Settings, sessions: sessionmaker[Session]
) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=16) as executor:
        running = build_workers(clock_env.client, settings, executor)
        tasks = [asyncio.create_task(worker.run()) for worker in running]
        yield
        await asyncio.gather(*(worker.shutdown() for worker in running))
        await asyncio.gather(*tasks, return_exceptions=True)


async def environment_workflow(
    env: WorkflowEnvironment, settings: Settings, environment: Environment
) -> WorkflowHandle:
    plan = environment_input(environment, settings)
    return await env.client.start_workflow(
        "EnvironmentWorkflow",
        plan,
        id=environment_workflow_id(environment.id),
        task_queue=plan.queues.control,
    )


async def status_becomes(sessions: sessionmaker[Session], deployment_id: str, status: str) -> bool:
    for _ in range(100):
        with sessions() as session:
            if session.get_one(Deployment, deployment_id).status == status:
                return True
        await asyncio.sleep(0.1)
    return False


def containers(client: docker.DockerClient, deployment_id: str) -> int:
    return len(
        client.containers.list(
            filters={"label": f"dockyard.deployment={deployment_id}"}, ignore_removed=True
        )
    )


@pytest.mark.usefixtures("clock_workers")
async def test_standby_lasts_thirty_minutes_then_stops(
    clock_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    seeded = seed_app(sessions)
    handle = await environment_workflow(clock_env, settings, seeded.production)
    v1 = await deploy(clock_env.client, sessions, settings, seeded, demo_images["v1"])
    await deploy(clock_env.client, sessions, settings, seeded, demo_images["v2"])

    await clock_env.fast_forward(handle, timedelta(minutes=29))
    await asyncio.sleep(0.5)
    assert containers(docker_client, v1.id) == 1, "still warm at +29 min"

    await clock_env.fast_forward(handle, timedelta(minutes=2))
    assert await status_becomes(sessions, v1.id, "stopped")
    assert containers(docker_client, v1.id) == 0


@pytest.mark.usefixtures("clock_workers")
async def test_preview_with_traffic_at_five_hours_lives_until_six_silent_hours(
    clock_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
    docker_client: docker.DockerClient,
    redis_url: str,
) -> None:
    seeded = seed_app(sessions)
    preview = Seeded(seeded.workspace, seeded.project, seeded.app, seeded.preview, seeded.preview)
    handle = await environment_workflow(clock_env, settings, seeded.preview)
    started_ms = int(time.time() * 1000)
    deployment = await deploy(clock_env.client, sessions, settings, preview, demo_images["v1"])

    await clock_env.fast_forward(handle, 5 * HOUR)
    record_requests(
        redis.Redis.from_url(redis_url),
        {deployment.id: started_ms + int(5 * HOUR.total_seconds() * 1000)},
    )

    await clock_env.fast_forward(handle, HOUR + timedelta(minutes=5))  # the 6 h deadline
    await asyncio.sleep(0.5)
    assert containers(docker_client, deployment.id) == 1, "traffic at +5 h keeps it alive"
    with sessions() as session:
        assert session.get_one(Deployment, deployment.id).status == "ready"

    await clock_env.fast_forward(handle, 5 * HOUR)  # now +11 h 5 min: 6 h 5 min of silence
    assert await status_becomes(sessions, deployment.id, "stopped")
    assert containers(docker_client, deployment.id) == 0


@pytest.mark.usefixtures("clock_workers")
async def test_environment_workflow_continues_as_new_and_keeps_its_state(
    clock_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    handle = await environment_workflow(clock_env, settings, seeded.production)
    first_run = (await handle.describe()).run_id
    v1 = await deploy(clock_env.client, sessions, settings, seeded, demo_images["v1"])
    v2 = await deploy(clock_env.client, sessions, settings, seeded, demo_images["v2"])

    for target in [v1, v2] * 4:
        await handle.execute_update(
            "promote_to", LifecycleRequest(deployment_id=target.id), result_type=LifecycleResult
        )

    latest = clock_env.client.get_workflow_handle(handle.id)
    assert (await latest.describe()).run_id != first_run, "no continue-as-new happened"
    state = await latest.query("state")
    assert state["live_deployment_id"] == v2.id
    assert [entry["deployment_id"] for entry in state["standby"]] == [v1.id]
