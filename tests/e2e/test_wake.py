"""Wake on request: a stopped preview's first requests start it once, are held, then served.

The whole stack as users run it (worker, API, edge with its Sentinel replicas, the Temporal
dev server), with a short preview idle time, so previews are archived by their own idle
clock, and a short hold, so the timeout path is quick.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import docker
import httpx
import pytest
from sqlalchemy import update
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from dockyard.db import make_engine
from dockyard.models import Deployment
from dockyard.payloads import environment_workflow_id
from tests.e2e.conftest import Dockyard, start_dockyard

IDLE = timedelta(seconds=4)
HOLD = timedelta(seconds=8)
CONCURRENT = 20
SCHEDULE = "schedule instances"  # the activity that starts a deployment's instances
WAKE = "wake_deployment"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, demo_images: dict[str, str]
) -> Iterator[Dockyard]:
    home = tmp_path_factory.mktemp("wake-home")
    with start_dockyard(home, redis_url, preview_idle_time=IDLE, wake_timeout=HOLD) as running:
        for args in (
            ("projects", "create", "shop"),
            ("apps", "create", "default", "--project", "shop"),
        ):
            created = running.cli(*args)
            assert created.returncode == 0, created.stderr
        yield running


def archived_preview(stack: Dockyard, image: str, slug: str, **settings: object) -> tuple[str, str]:
    """A preview environment with one deployment, archived by its idle clock:
    (environment id, deployment id)."""
    where = {"project": "shop", "app": "default"}
    created = stack.api(
        "environments.createEnvironment", {**where, "slug": slug, "kind": "preview"}
    )
    assert created.status_code == 200, created.text
    if settings:
        changed = stack.api(
            "environments.updateSettings", {**where, "environment": slug, **settings}
        )
        assert changed.status_code == 200, changed.text
    deployed = stack.cli("deploy", image, "--project", "shop", "--env", slug)
    assert deployed.returncode == 0, deployed.stderr
    deployment_id = deployed.stdout.split()[1]
    assert wait_for_status(stack, deployment_id, "stopped") == "stopped"
    return created.json()["data"]["id"], deployment_id


def wait_for_status(stack: Dockyard, deployment_id: str, wanted: str, within: float = 60) -> str:
    deadline = time.monotonic() + within
    status = ""
    while time.monotonic() < deadline:
        answer = stack.api("deployments.getDeployment", {"deploymentId": deployment_id})
        status = answer.json()["data"]["status"]
        if status == wanted:
            break
        time.sleep(0.2)
    return status


async def workflow_events(stack: Dockyard, environment_id: str) -> Counter[str]:
    """Started activities and accepted updates of the environment's workflow, by name."""
    client = await Client.connect(
        stack.settings.temporal_address, data_converter=pydantic_data_converter
    )
    handle = client.get_workflow_handle(environment_workflow_id(environment_id))
    seen: Counter[str] = Counter()
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            seen[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            seen[
                event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            ] += 1
    return seen


async def get_all(stack: Dockyard, hostname: str, path: str, count: int) -> list[httpx.Response]:
    url = f"http://127.0.0.1:{stack.settings.edge_port}{path}"
    timeout = HOLD.total_seconds() + 10
    async with httpx.AsyncClient(
        timeout=timeout, limits=httpx.Limits(max_connections=count)
    ) as http:
        return await asyncio.gather(
            *(http.get(url, headers={"Host": hostname}) for _ in range(count))
        )


async def test_concurrent_first_requests_wake_an_archived_preview_once(
    stack: Dockyard, demo_images: dict[str, str]
) -> None:
    environment_id, deployment_id = archived_preview(stack, demo_images["v1"], "wake-me")
    before = await workflow_events(stack, environment_id)

    answers = await get_all(stack, "shop-wake-me-acme.localhost", "/version.txt", CONCURRENT)

    assert [(a.status_code, a.text.strip()) for a in answers] == [(200, "v1")] * CONCURRENT
    after = await workflow_events(stack, environment_id)
    assert after[WAKE] - before[WAKE] == 1
    assert after[SCHEDULE] - before[SCHEDULE] == 1
    assert wait_for_status(stack, deployment_id, "ready", within=1) == "ready"
    # Woken, it has an idle clock again: no traffic, and it is archived once more.
    assert wait_for_status(stack, deployment_id, "stopped") == "stopped"


async def test_a_preview_that_does_not_wake_answers_503_and_starts_nothing(
    stack: Dockyard, demo_images: dict[str, str]
) -> None:
    environment_id, deployment_id = archived_preview(
        stack, demo_images["v1"], "sleepy", wakeOnRequest=False
    )
    before = await workflow_events(stack, environment_id)

    answers = await get_all(stack, "shop-sleepy-acme.localhost", "/version.txt", 3)

    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["retry-after"]) > 0
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "wake_on_request_off"
        assert "wakeOnRequest" in answer.json()["detail"]
    assert await workflow_events(stack, environment_id) == before
    assert wait_for_status(stack, deployment_id, "stopped", within=1) == "stopped"
    where = {"project": "shop", "app": "default", "environment": "sleepy"}
    shown = stack.api("environments.getEnvironment", where).json()["data"]
    assert shown["wakeOnRequest"] is False


async def test_a_wake_that_takes_too_long_answers_503_within_the_hold(
    stack: Dockyard, demo_images: dict[str, str]
) -> None:
    _, deployment_id = archived_preview(stack, demo_images["v1"], "never-healthy")
    # Slow to fail: probed every 30 s, the wake outlasts the hold.
    break_health_check(stack, deployment_id, interval_seconds=30)

    started = time.monotonic()
    answers = await get_all(stack, "shop-never-healthy-acme.localhost", "/", 3)
    took = time.monotonic() - started

    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["retry-after"]) > 0
        assert answer.json()["code"] == "wake_timeout"
    assert HOLD.total_seconds() <= took < HOLD.total_seconds() + 3


async def test_a_failed_wake_says_why_cleans_up_and_stands_for_later_requests(
    stack: Dockyard, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    environment_id, deployment_id = archived_preview(stack, demo_images["v1"], "broken")
    # Quick to fail: one failed probe ends the wake.
    break_health_check(stack, deployment_id, interval_seconds=1, timeout_seconds=1,
                       failure_threshold=1)  # fmt: skip
    before = await workflow_events(stack, environment_id)

    held = await get_all(stack, "shop-broken-acme.localhost", "/", 3)
    # Held past the wake's end (or joining it, on a slow machine), then after it.
    (failed,) = await get_all(stack, "shop-broken-acme.localhost", "/", 1)
    (standing,) = await get_all(stack, "shop-broken-acme.localhost", "/", 1)

    for answer in held:
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] in ("wake_failed", "wake_timeout")
    for answer in (failed, standing):
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "wake_failed"
        assert "/never-healthy answered 404" in answer.json()["detail"]
        assert int(answer.headers["retry-after"]) > 5
    after = await workflow_events(stack, environment_id)
    assert after[WAKE] - before[WAKE] == 1  # not one start per request
    assert after[SCHEDULE] - before[SCHEDULE] == 1
    assert wait_for_status(stack, deployment_id, "stopped", within=1) == "stopped"
    assert not docker_client.containers.list(
        filters={"label": f"dockyard.deployment={deployment_id}"}, ignore_removed=True
    )


def break_health_check(stack: Dockyard, deployment_id: str, **check: object) -> None:
    """Fault injection: the deployment's instances, started again, answer 404 on the
    health check's path, so they never become healthy."""
    failing = {"method": "GET", "path": "/never-healthy", **check}
    engine = make_engine(stack.settings.database_url)
    with engine.begin() as connection:
        runtime = (
            connection.execute(Deployment.__table__.select().where(Deployment.id == deployment_id))
            .one()
            ._mapping["runtime"]
        )
        connection.execute(
            update(Deployment)
            .where(Deployment.id == deployment_id)
            .values(runtime={**runtime, "healthcheck": failing})
        )
    engine.dispose()
