"""A deployment to two regions on two hosts: each region's instances on its own engine,
served by its own edge, and its status per region in deployments.getDeployment."""

from __future__ import annotations

import docker
import httpx

from tests.regions.apps import REGION_APP
from tests.regions.conftest import AWAY, HOME
from tests.regions.host import RegionHost
from tests.regions.plane import ControlPlane, deploy, wait_deployment

LIVE = "atlas-acme.localhost"


def regions_running(client: docker.DockerClient, deployment_id: str) -> list[str]:
    """The region label of each running container of the deployment on this engine."""
    containers = client.containers.list(filters={"label": f"dockyard.deployment={deployment_id}"})
    return sorted(container.labels["dockyard.region"] for container in containers)


def test_each_region_runs_on_its_own_engine_behind_its_own_edge(
    plane: ControlPlane, away: RegionHost, docker_client: docker.DockerClient
) -> None:
    with plane.api() as api:
        api.call("projects.createProject", {"slug": "atlas", "name": "atlas"})
        api.call("apps.createApp", {"project": "atlas", "slug": "default", "name": "atlas"})
        found = wait_deployment(api, deploy(api, "atlas", REGION_APP))

    assert found["status"] == "ready", found.get("error")
    assert found["regions"] == [HOME, AWAY]
    assert {(r["region"], r["status"]) for r in found["regionStatus"]} == {
        (HOME, "ready"),
        (AWAY, "ready"),
    }
    assert regions_running(docker_client, found["id"]) == [HOME]
    assert regions_running(away.docker(), found["id"]) == [AWAY]
    for edge, region in ((plane.edge, HOME), (plane.host_edge(AWAY), AWAY)):
        response = httpx.get(f"{edge}/region.txt", headers={"Host": LIVE}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.text.strip() == region
