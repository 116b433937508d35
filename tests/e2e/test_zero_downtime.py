"""Zero downtime, counted: steady load on the live domain through deploy, rollback, promote
and standby expiry, and not one request may fail (the scenario is bench/zero_downtime.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.loadgen import table
from bench.zero_downtime import STANDBY, scenario
from tests.e2e.conftest import Dockyard, start_dockyard


@pytest.fixture(scope="module")
def calm(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, demo_images: dict[str, str]
) -> Iterator[Dockyard]:
    # A short standby window, so an old deployment is stopped while the load runs.
    with start_dockyard(
        tmp_path_factory.mktemp("calm"), redis_url, standby_time=STANDBY
    ) as dockyard:
        yield dockyard


async def test_no_request_fails_through_deploy_rollback_promote_and_standby_expiry(
    calm: Dockyard, demo_images: dict[str, str]
) -> None:
    outcome = await scenario(calm.cli, calm.settings.edge_port, demo_images, rate=150)
    tally = outcome.tally

    print("\n" + table([("deploy, rollback, promote, expiry", tally)]))
    assert tally.sent > 1000
    assert tally.failed == 0, (tally.statuses, tally.errors)
    assert set(tally.bodies) == {"v1", "v2"}
    assert outcome.expired_status == "stopped"
