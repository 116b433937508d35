"""A region whose host dies mid-deployment: the deployment fails and says which region and
why, in seconds rather than never; the other region's live domain serves every request;
and once the host is back, its watch leaves exactly what the database wants running."""

from __future__ import annotations

from typing import Any

import docker
import httpx
import pytest

from tests.regions.apps import REGION_APP, SLOW_APP, steady
from tests.regions.conftest import AWAY, HOME
from tests.regions.host import RegionHost
from tests.regions.plane import ControlPlane, deploy, wait_deployment
from tests.runtime_apps import poll

PROJECT = "borealis"
LIVE = f"{PROJECT}-acme.localhost"


def containers(client: docker.DockerClient, deployment_id: str) -> list[str]:
    """Status of each of the deployment's containers on this engine, running or not; one
    removed while it is listed (the watch at work) is gone, not an error."""
    found = client.containers.list(
        all=True, filters={"label": f"dockyard.deployment={deployment_id}"}, ignore_removed=True
    )
    return sorted(container.status for container in found)


def by_region(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {region["region"]: region for region in deployment["regionStatus"]}


@pytest.mark.timeout(600)
def test_a_host_dying_mid_deployment_fails_its_region_while_the_other_serves(
    plane: ControlPlane, away: RegionHost, docker_client: docker.DockerClient
) -> None:
    with plane.api() as api:
        api.call("projects.createProject", {"slug": PROJECT, "name": PROJECT})
        api.call("apps.createApp", {"project": PROJECT, "slug": "default", "name": PROJECT})
        v1 = deploy(api, PROJECT, REGION_APP)
        assert wait_deployment(api, v1)["status"] == "ready"

        with steady(plane.edge, LIVE) as load:
            v2 = deploy(api, PROJECT, SLOW_APP)  # answers only after a while: still deploying
            poll(lambda: containers(away.docker(), v2), lambda s: s == ["running"], "v2 away")
            poll(  # recorded too: the returning host's watch must settle that row
                lambda: by_region(api.call("deployments.getDeployment", {"deploymentId": v2})),
                lambda regions: regions[AWAY]["instances"] == {"starting": 1},
                "v2's instance away recorded",
            )
            away.kill()
            failed = wait_deployment(api, v2)
            live = api.call("deployments.getDeployment", {"deploymentId": v1})

    assert failed["status"] == "failed"
    message = failed["error"]["message"]
    assert message.startswith("region_unavailable: region away did not finish"), message
    assert "schedule-to-start timeout" in message
    regions = by_region(failed)
    assert regions[AWAY]["status"] == "unavailable"
    assert regions[AWAY]["message"] == message
    assert regions[HOME]["status"] == "failed"  # what it started at home is removed
    assert containers(docker_client, v2) == []
    assert live["status"] == "ready"
    tally = load.tally
    assert tally.sent > 100
    assert (tally.failed, tally.lost) == (0, 0), (tally.statuses, tally.errors)
    assert set(tally.bodies) == {HOME}

    # The host comes back: its watch starts v1 again and removes what v2 left there.
    away.start_engine()
    plane.start_host(away, AWAY)
    poll(
        lambda: (containers(away.docker(), v1), containers(away.docker(), v2)),
        lambda found: found == (["running"], []),
        "away's containers reconciled",
        within=120,
    )
    with plane.api() as api:
        reconciled = by_region(api.call("deployments.getDeployment", {"deploymentId": v2}))
        restored = by_region(api.call("deployments.getDeployment", {"deploymentId": v1}))
    assert reconciled[AWAY]["instances"] == {"failed": 1}
    assert restored[AWAY] | {"message": None} == {
        "region": AWAY,
        "status": "ready",
        "instances": {"healthy": 1},
        "message": None,
    }
    served = poll(
        lambda: _get(f"{plane.host_edge(AWAY)}/region.txt", LIVE),
        lambda response: response is not None and response.status_code == 200,
        "away's edge serving v1 again",
    )
    assert served is not None and served.text.strip() == AWAY


def _get(url: str, host: str) -> httpx.Response | None:
    try:
        return httpx.get(url, headers={"Host": host}, timeout=5)
    except httpx.TransportError:
        return None
