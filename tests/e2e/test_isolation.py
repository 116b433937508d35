"""An app can reach its own environment's instances, and nothing of another environment's.

Two projects are deployed on one Docker host. From inside a container of the first, the
second's instance (by container address) and Sentinel replicas (through the bridge
gateways, the host's addresses that containers can route to) must be out of reach, and so
must the API and Temporal. Two controls keep the test honest: the container reaches its
sibling in its own environment, and a host service listening on every interface.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from dockyard.runtime import LABEL_ENVIRONMENT, network_name
from tests.e2e.conftest import Dockyard

APP_PORT = 8080
TIMEOUT_SECONDS = "2"


@dataclass(frozen=True)
class Deployed:
    environment_id: str
    containers: list[Container]


@pytest.fixture(scope="module")
def alpha(
    dockyard: Dockyard, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> Deployed:
    # Two deployments in production: the first stays warm (standby) beside the second.
    return deploy(dockyard, docker_client, "alpha", demo_images["v1"], demo_images["v2"])


@pytest.fixture(scope="module")
def beta(
    dockyard: Dockyard, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> Deployed:
    return deploy(dockyard, docker_client, "beta", demo_images["v1"])


def deploy(dockyard: Dockyard, client: docker.DockerClient, project: str, *images: str) -> Deployed:
    for command in (
        ("projects", "create", project),
        ("apps", "create", "default", "--project", project),
    ):
        created = dockyard.cli(*command)
        assert created.returncode == 0, created.stderr
    containers = []
    for image in images:
        result = dockyard.cli("deploy", image, "--project", project)
        assert result.returncode == 0, result.stderr
        deployment_id = result.stdout.split()[1]
        containers += client.containers.list(
            filters={"label": f"dockyard.deployment={deployment_id}"}
        )
    # Through the edge: the environment's Sentinel replicas are up.
    assert dockyard.through_edge(f"{project}-acme.localhost", "/version.txt").status_code == 200
    environments = {container.labels[LABEL_ENVIRONMENT] for container in containers}
    assert len(environments) == 1 and len(containers) == len(images)
    return Deployed(environment_id=environments.pop(), containers=containers)


def reaches(container: Container, host: str, port: int, path: str = "/") -> bool:
    """Whether an HTTP request from inside the container gets any answer at all."""
    # busybox nc, not wget: the static busybox's wget crashes in an image with no libc.
    request = f"printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | nc -w {TIMEOUT_SECONDS} {host} {port}"
    return b"HTTP/1." in container.exec_run(["sh", "-c", request]).output


def address(container: Container) -> str:
    """The container's address on the network it is attached to."""
    container.reload()
    (network,) = container.attrs["NetworkSettings"]["Networks"].values()
    return str(network["IPAddress"])


def gateway(client: docker.DockerClient, environment_id: str) -> str:
    network = client.networks.get(network_name(environment_id))
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


def sentinel_ports(environment_id: str) -> list[int]:
    """The ports of the environment's Sentinel replicas, read from their command lines."""
    ports = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # the process ended while we looked
        if "sentinel.replica" in argv and environment_id in argv:
            ports.append(int(argv[argv.index("--port") + 1]))
    return sorted(ports)


@pytest.fixture
def listening_everywhere() -> Iterator[int]:
    """A host service on 0.0.0.0 that answers any connection with an HTTP response."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(1024)
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def test_instances_are_attached_to_their_own_environments_network_only(
    alpha: Deployed, beta: Deployed
) -> None:
    assert alpha.environment_id != beta.environment_id
    for deployed in (alpha, beta):
        for container in deployed.containers:
            container.reload()
            networks = container.attrs["NetworkSettings"]["Networks"]
            assert list(networks) == [network_name(deployed.environment_id)]


def test_an_instance_reaches_its_sibling_but_not_another_environments_instance(
    alpha: Deployed, beta: Deployed
) -> None:
    inside, sibling = alpha.containers
    other = beta.containers[0]

    assert reaches(inside, address(sibling), APP_PORT, "/version.txt")
    assert not reaches(inside, address(other), APP_PORT, "/version.txt")
    assert not reaches(other, address(sibling), APP_PORT, "/version.txt")


def test_no_sentinel_replica_api_or_temporal_is_reachable_from_an_instance(
    alpha: Deployed,
    beta: Deployed,
    dockyard: Dockyard,
    docker_client: docker.DockerClient,
    listening_everywhere: int,
) -> None:
    inside = alpha.containers[0]
    gateways = [
        gateway(docker_client, alpha.environment_id),
        gateway(docker_client, beta.environment_id),
    ]
    replicas = sentinel_ports(beta.environment_id) + sentinel_ports(alpha.environment_id)
    assert len(replicas) == 6  # production runs 3 replicas per environment
    settings = dockyard.settings
    services = [settings.api_port, settings.temporal_port, settings.temporal_ui_port]

    # The control: what listens on every interface is reachable through a gateway.
    for host in gateways:
        assert reaches(inside, host, listening_everywhere)
    reachable = [
        f"{host}:{port}"
        for host in gateways
        for port in [*replicas, *services]
        if reaches(inside, host, port, "/healthz")
    ]
    assert reachable == []
