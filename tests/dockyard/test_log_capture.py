"""The region worker's capture of what app containers print, against a real Docker."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import docker
import pytest
from docker.models.containers import Container
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.log_capture import RuntimeLogCollector
from dockyard.models import RuntimeLogLine
from dockyard.runtime import (
    LABEL_DEPLOYMENT,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED,
    LABEL_OWNER,
    LABEL_REGION,
    DockerRuntime,
)
from tests.runtime_apps import (
    CRASH_CODE,
    PRINTER_LINES,
    build_log_apps,
    new_deployment,
    poll,
    start_printing,
)

OWNER = f"test-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def log_apps(docker_client: docker.DockerClient) -> dict[str, str]:
    return build_log_apps(docker_client)


@pytest.fixture
def deployment_id(sessions: sessionmaker[Session]) -> str:
    return new_deployment(sessions)


@pytest.fixture
def collector(
    sessions: sessionmaker[Session], docker_client: docker.DockerClient
) -> Iterator[RuntimeLogCollector]:
    yield RuntimeLogCollector(
        sessions,
        owner=OWNER,
        regions=["local"],
        retention=timedelta(days=7),
        max_lines=100_000,
    )
    DockerRuntime(docker_client, owner=OWNER).remove_owned()


def run(
    docker_client: docker.DockerClient, image: str, deployment_id: str, *, start: bool = True
) -> Container:
    make = docker_client.containers.run if start else docker_client.containers.create
    return make(
        image,
        detach=True,
        name=f"dy-{deployment_id}-local-0",
        labels={
            LABEL_MANAGED: "true",
            LABEL_OWNER: OWNER,
            LABEL_DEPLOYMENT: deployment_id,
            LABEL_ENVIRONMENT: "env_test",
            LABEL_REGION: "local",
        },
    )


def stored(sessions: sessionmaker[Session], deployment_id: str) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(RuntimeLogLine.stream, RuntimeLogLine.message)
            .where(RuntimeLogLine.deployment_id == deployment_id)
            .order_by(RuntimeLogLine.time_ns, RuntimeLogLine.id)
        ).all()
    return [(row.stream, row.message) for row in rows]


def test_a_crashed_container_leaves_its_lines_and_exit_code(
    sessions: sessionmaker[Session],
    collector: RuntimeLogCollector,
    docker_client: docker.DockerClient,
    log_apps: dict[str, str],
    deployment_id: str,
) -> None:
    container = run(docker_client, log_apps["crasher"], deployment_id)
    assert container.wait()["StatusCode"] == CRASH_CODE

    collector.scan()
    collector.scan()  # an exited container is read once

    lines = stored(sessions, deployment_id)
    assert sorted(m for s, m in lines if s == "stdout") == ["out 1", "out 2", "out 3"]
    assert sorted(m for s, m in lines if s == "stderr") == ["err 1", "err 2", "err 3"]
    assert lines[-1] == ("event", f"exited with code {CRASH_CODE}")
    with sessions() as session:
        codes = session.scalars(
            select(RuntimeLogLine.exit_code).where(RuntimeLogLine.stream == "event")
        ).all()
    assert codes == [CRASH_CODE]


def test_removing_an_instance_keeps_what_it_printed_until_then(
    sessions: sessionmaker[Session],
    collector: RuntimeLogCollector,
    docker_client: docker.DockerClient,
    log_apps: dict[str, str],
    deployment_id: str,
) -> None:
    container = run(docker_client, log_apps["printer"], deployment_id)
    start_printing(container)
    poll(lambda: container.logs(), lambda out: b"tick 5\n" in out, "the printer's fifth line")
    runtime = DockerRuntime(docker_client, owner=OWNER, before_remove=collector.drain)

    runtime.remove(container.name or "", grace_seconds=0)

    lines = stored(sessions, deployment_id)
    ticks = [m for s, m in lines if s == "stdout"]
    assert ticks[:5] == [f"tick {i}" for i in range(1, 6)]
    assert lines[-1][0] == "event" and lines[-1][1].startswith("exited with code ")


def test_a_new_collector_resumes_where_the_last_one_stored(
    sessions: sessionmaker[Session],
    collector: RuntimeLogCollector,
    docker_client: docker.DockerClient,
    log_apps: dict[str, str],
    deployment_id: str,
) -> None:
    start_printing(run(docker_client, log_apps["printer"], deployment_id))
    with collector.running():
        poll(lambda: len(stored(sessions, deployment_id)), lambda n: n >= 40, "first lines")
    second = RuntimeLogCollector(
        sessions, owner=OWNER, regions=["local"], retention=timedelta(days=7), max_lines=10**5
    )
    with second.running():
        lines = poll(
            lambda: stored(sessions, deployment_id),
            lambda got: len(got) >= 2 * PRINTER_LINES,
            "every line",
        )
    assert [m for s, m in lines if s == "stdout"] == [
        f"tick {i}" for i in range(1, PRINTER_LINES + 1)
    ]
    assert [m for s, m in lines if s == "stderr"] == [
        f"tock {i}" for i in range(1, PRINTER_LINES + 1)
    ]


def test_a_container_seen_before_it_starts_is_followed_once_it_runs(
    sessions: sessionmaker[Session],
    collector: RuntimeLogCollector,
    docker_client: docker.DockerClient,
    log_apps: dict[str, str],
    deployment_id: str,
) -> None:
    container = run(docker_client, log_apps["printer"], deployment_id, start=False)
    collector.scan()  # created, not started: nothing to read yet, and not finished either
    container.start()
    start_printing(container)

    with collector.running():
        poll(lambda: len(stored(sessions, deployment_id)), lambda n: n >= 10, "lines while it runs")
