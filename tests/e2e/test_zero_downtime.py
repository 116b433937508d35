"""Zero downtime, counted: steady load on the live domain through deploy, rollback, promote
and standby expiry, and not one request may fail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest

from dockyard.loadgen import steady_load, table
from tests.e2e.conftest import Dockyard, start_dockyard

LIVE = "calm-acme.localhost"
STANDBY = timedelta(seconds=4)


@pytest.fixture(scope="module")
def calm(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, demo_images: dict[str, str]
) -> Iterator[Dockyard]:
    # A short standby window, so old deployments are stopped while the load runs.
    with start_dockyard(
        tmp_path_factory.mktemp("calm"), redis_url, standby_time=STANDBY
    ) as dockyard:
        for command in (
            ("projects", "create", "calm"),
            ("apps", "create", "default", "--project", "calm"),
        ):
            assert dockyard.cli(*command).returncode == 0
        yield dockyard


def deploy(dockyard: Dockyard, image: str) -> str:
    result = dockyard.cli("deploy", image, "--project", "calm")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1]


async def move_live(dockyard: Dockyard, command: str, deployment_id: str) -> None:
    """`dockyard rollback` / `dockyard promote`, which return once the move is live."""
    result = await asyncio.to_thread(dockyard.cli, command, deployment_id)
    assert result.returncode == 0, result.stderr


async def test_no_request_fails_through_deploy_rollback_promote_and_standby_expiry(
    calm: Dockyard, demo_images: dict[str, str]
) -> None:
    v1 = await asyncio.to_thread(deploy, calm, demo_images["v1"])
    stop = asyncio.Event()
    load = asyncio.create_task(
        steady_load(
            f"http://127.0.0.1:{calm.settings.edge_port}/version.txt",
            host=LIVE,
            rate=150,
            stop=stop,
        )
    )

    await asyncio.sleep(1)
    v2 = await asyncio.to_thread(deploy, calm, demo_images["v2"])
    await asyncio.sleep(1)
    await move_live(calm, "rollback", v1)
    await asyncio.sleep(1)
    await move_live(calm, "promote", v2)
    # v1 is replaced again and its standby window runs out while the load goes on ...
    await asyncio.sleep(STANDBY.total_seconds() + 4)
    stopped = calm.api("deployments.getDeployment", {"deploymentId": v1}).json()["data"]
    # ... then promoting it starts it and waits for health before it takes traffic.
    await move_live(calm, "promote", v1)
    await asyncio.sleep(1)
    stop.set()
    tally = await load

    print("\n" + table([("deploy, rollback, promote, expiry", tally)]))
    assert stopped["status"] == "stopped"
    assert tally.sent > 1000
    assert tally.failed == 0, (tally.statuses, tally.errors)
    assert set(tally.bodies) == {"v1", "v2"}
