"""Two regions on two hosts: `home` on this machine with the control plane, `away` in a
network namespace with its own Docker engine, worker and edge (tests/regions/host.py)."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from dockyard.runtime import DockerRuntime
from tests.conftest import POSTGRES_ADMIN_URL
from tests.regions.apps import build_region_apps
from tests.regions.host import RegionHost, region_host
from tests.regions.plane import ControlPlane, control_plane

HOME, AWAY = "home", "away"


@pytest.fixture(scope="module")
def away(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegionHost]:
    with region_host(0, tmp_path_factory.mktemp("away")) as host:
        yield host


@pytest.fixture(scope="module")
def plane(
    away: RegionHost,
    temporal_address: str,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ControlPlane]:
    away.load(build_region_apps(docker_client))
    owner = ""
    try:
        with control_plane(
            tmp_path_factory.mktemp("plane"),
            regions=[HOME, AWAY],
            temporal_address=temporal_address,
            postgres_admin_url=POSTGRES_ADMIN_URL,
            hosts=[away],
        ) as running:
            owner = running.settings.task_queue_prefix
            try:
                running.start_host(away, AWAY)
                running.wait_edge(running.host_edge(AWAY))
                yield running
            finally:
                _print_logs(running, away)
    finally:
        # Once the control plane is down: while its worker runs, its watch replaces the
        # instances this removes.
        if owner:
            DockerRuntime(owner=owner).remove_owned()


def _print_logs(plane: ControlPlane, away: RegionHost) -> None:
    logs = [*sorted((plane.settings.home.parent / "logs").glob("*.log"))]
    logs += sorted(away.logs.glob("*.log"))
    for log in logs:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        print(f"--- {log} (last lines)\n" + "\n".join(tail))
