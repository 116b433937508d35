"""Each environment's containers get a bridge network of their own, and only while they run."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dockyard.ids import new_id
from dockyard.models import Deployment, Instance
from dockyard.runtime import (
    LABEL_ENVIRONMENT,
    LABEL_OWNER,
    ContainerSpec,
    DockerRuntime,
    container_name,
    network_name,
)
from tests.seed import Seeded, seed_app
from tests.sweep import sweep

OWNER = f"test-{secrets.token_hex(4)}"


@pytest.fixture
def runtime(docker_client: docker.DockerClient) -> Iterator[DockerRuntime]:
    runtime = DockerRuntime(docker_client, owner=OWNER)
    yield runtime
    runtime.remove_owned()
    assert runtime.managed_networks() == []


def spec(image: str, environment_id: str, replica: int = 0) -> ContainerSpec:
    return ContainerSpec(
        name=container_name(f"d_{environment_id}", "local", replica),
        environment_id=environment_id,
        image=image,
        port=8080,
        command=[],
        environment={},
        labels={},
        nano_cpus=int(0.25 * 1e9),
        memory_bytes=64 * 1024 * 1024,
        stop_signal="SIGTERM",
    )


def networks_named(client: docker.DockerClient, name: str) -> list[str]:
    return [
        network.id or "" for network in client.networks.list(names=[name]) if network.name == name
    ]


def test_instances_join_their_environments_network_only_and_it_goes_with_the_last(
    runtime: DockerRuntime, docker_client: docker.DockerClient, demo_images: dict[str, str]
) -> None:
    environment = f"env_{secrets.token_hex(6)}"
    first = spec(demo_images["v1"], environment, 0)
    second = spec(demo_images["v1"], environment, 1)

    runtime.start(first)
    runtime.start(second)
    runtime.start(second)  # a retried activity finds what it started

    network = docker_client.networks.get(network_name(environment))
    assert network.attrs["Labels"][LABEL_OWNER] == OWNER
    assert network.attrs["Labels"][LABEL_ENVIRONMENT] == environment
    assert network.attrs["Driver"] == "bridge"
    for name in (first.name, second.name):
        attached = docker_client.containers.get(name).attrs["NetworkSettings"]["Networks"]
        assert list(attached) == [network_name(environment)]  # not the default bridge

    runtime.remove(first.name, grace_seconds=0)
    assert networks_named(docker_client, network_name(environment)) == [network.id]
    runtime.remove(second.name, grace_seconds=0)
    assert networks_named(docker_client, network_name(environment)) == []


def test_a_missing_network_is_created_again_and_an_existing_one_reused(
    runtime: DockerRuntime, docker_client: docker.DockerClient, demo_images: dict[str, str]
) -> None:
    environment = f"env_{secrets.token_hex(6)}"
    made = runtime.ensure_network(environment)
    assert runtime.ensure_network(environment).id == made.id

    runtime.release_network(environment)  # no container: it goes
    runtime.start(spec(demo_images["v1"], environment))

    assert len(networks_named(docker_client, network_name(environment))) == 1


def test_callers_racing_to_create_one_network_all_end_up_on_the_same_one(
    runtime: DockerRuntime, docker_client: docker.DockerClient
) -> None:
    environment = f"env_{secrets.token_hex(6)}"

    with ThreadPoolExecutor(max_workers=6) as pool:
        chosen = {network.id for network in pool.map(runtime.ensure_network, [environment] * 6)}

    assert len(chosen) == 1
    assert networks_named(docker_client, network_name(environment)) == list(chosen)


def test_sweep_reports_a_network_no_running_instance_needs(
    runtime: DockerRuntime, sessions: sessionmaker[Session], demo_images: dict[str, str]
) -> None:
    seeded = seed_app(sessions)
    serving = spec(demo_images["v1"], seeded.production.id)
    runtime.start(serving)
    record_instance(sessions, seeded, serving.name)
    runtime.ensure_network(seeded.preview.id)  # left behind: nothing of preview runs

    found = sweep(sessions, runtime)

    assert found.orphan_networks == [network_name(seeded.preview.id)]
    assert found.orphans == [] and found.missing == []
    assert not found.clean
    runtime.release_network(seeded.preview.id)
    assert sweep(sessions, runtime).clean


def record_instance(sessions: sessionmaker[Session], seeded: Seeded, name: str) -> None:
    with sessions.begin() as session:
        deployment = Deployment(
            id=new_id("deployment"),
            workspace_id=seeded.workspace.id,
            project_id=seeded.project.id,
            app_id=seeded.app.id,
            environment_id=seeded.production.id,
            source="image",
            status="ready",
        )
        session.add(deployment)
        session.flush()
        session.add(
            Instance(
                id=new_id("instance"),
                deployment_id=deployment.id,
                environment_id=seeded.production.id,
                region="local",
                container_name=name,
                status="healthy",
            )
        )
