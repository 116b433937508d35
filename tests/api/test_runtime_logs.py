"""deployments.getRuntimeLogs: pages of what a deployment printed, in a bounded window."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from unkey.py import Unkey

from api.pagination import encode_cursor
from dockyard import runtime_logs
from dockyard.bootstrap import create_root_key
from dockyard.models import Deployment, Workspace
from dockyard.runtime_logs import LogLine, Ranks
from tests.api.conftest import RunningApi, Shop, assert_error

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
OPERATION = "/v2/deployments.getRuntimeLogs"
MS = 1_000_000


def deploy(unkey: Unkey) -> str:
    return unkey.deployments.create_deployment(
        request={
            "project": "shop",
            "app": "web",
            "environment": "production",
            "image": {"docker_image": "dockyard/hello:v1"},
        }
    ).data.deployment_id


def printed(db, deployment_id: str, at_ms: list[int], *, region: str = "local") -> None:
    ranks = Ranks()
    lines = [
        LogLine(
            deployment_id=deployment_id,
            environment_id="env_x",
            region=region,
            container_id="c" * 64,
            stream="stdout" if index % 2 == 0 else "stderr",
            time_ns=at * MS,
            seq=ranks.next(at * MS),
            message=f"{region} line {index}",
        )
        for index, at in enumerate(at_ms)
    ]
    with db.begin() as session:
        runtime_logs.append(session, lines)


def crashed(db, deployment_id: str, at_ms: int, *, exit_code: int) -> None:
    with db.begin() as session:
        runtime_logs.append(
            session,
            [
                LogLine(
                    deployment_id=deployment_id,
                    environment_id="env_x",
                    region="local",
                    container_id="c" * 64,
                    stream="event",
                    time_ns=at_ms * MS,
                    seq=0,
                    message=runtime_logs.exit_message(exit_code),
                    exit_code=exit_code,
                )
            ],
        )


def test_lines_come_oldest_first_a_page_at_a_time(shop: Shop, unkey: Unkey, http, db) -> None:
    deployment_id = deploy(unkey)
    now = int(time.time() * 1000)
    printed(db, deployment_id, [now - 3000, now - 2000, now - 2000, now - 1000])
    crashed(db, deployment_id, now - 500, exit_code=3)

    first = http.post(OPERATION, json={"deploymentId": deployment_id, "limit": 3}).json()
    rest = http.post(
        OPERATION,
        json={"deploymentId": deployment_id, "limit": 3, "cursor": first["pagination"]["cursor"]},
    ).json()

    assert [e["message"] for e in first["data"]] == [f"local line {i}" for i in range(3)]
    assert first["data"][0] == {
        "time": now - 3000,
        "region": "local",
        "instanceId": "c" * 12,
        "stream": "stdout",
        "message": "local line 0",
    }
    assert first["pagination"]["hasMore"] is True
    assert [e["message"] for e in rest["data"]] == ["local line 3", "exited with code 3"]
    assert rest["data"][-1]["stream"] == "event" and rest["data"][-1]["exitCode"] == 3
    assert rest["pagination"] == {"hasMore": False}


def test_the_window_and_the_region_narrow_what_is_read(shop: Shop, unkey: Unkey, http, db) -> None:
    deployment_id = deploy(unkey)
    now = int(time.time() * 1000)
    hours = 3600 * 1000
    printed(db, deployment_id, [now - 2 * hours, now - 10])
    printed(db, deployment_id, [now - 5], region="eu")
    with db.begin() as session:
        row = session.get_one(Deployment, deployment_id)
        row.regions = [{"name": "local"}, {"name": "eu"}]

    recent = http.post(OPERATION, json={"deploymentId": deployment_id}).json()["data"]
    window = http.post(
        OPERATION,
        json={"deploymentId": deployment_id, "startTime": now - 3 * hours, "endTime": now - hours},
    ).json()["data"]
    region = http.post(OPERATION, json={"deploymentId": deployment_id, "region": "eu"}).json()

    assert [e["message"] for e in recent] == ["local line 1", "eu line 0"]
    assert [e["message"] for e in window] == ["local line 0"]
    assert [e["message"] for e in region["data"]] == ["eu line 0"]
    elsewhere = http.post(OPERATION, json={"deploymentId": deployment_id, "region": "us"})
    assert_error(elsewhere, 400, detail_has="does not run in region 'us'")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"startTime": 2000, "endTime": 1000}, "startTime is after endTime"),
        ({"startTime": 0, "endTime": 8 * 86_400_000}, "longer than 7 days"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"cursor": "made-up"}, "not a cursor"),
        ({"cursor": encode_cursor(2**64, 1)}, "not a cursor"),
        ({"endTime": 10**16}, "endTime"),
        ({"startTime": -1}, "startTime"),
        ({"region": "no spaces"}, "region"),
        ({"since": "10m"}, "since"),
    ],
)
def test_bad_requests_are_a_400_that_says_why(
    shop: Shop, unkey: Unkey, http, body: dict, detail: str
) -> None:
    deployment_id = deploy(unkey)
    response = http.post(OPERATION, json={"deploymentId": deployment_id, **body})
    assert_error(response, 400, detail_has=detail)


def test_who_may_read_runtime_logs(shop: Shop, unkey: Unkey, api: RunningApi, http, db) -> None:
    deployment_id = deploy(unkey)
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, reader = create_root_key(
            session, workspace_id=workspace_id, permissions=["project.*.read_runtime_logs"]
        )
        _, stranger = create_root_key(
            session, workspace_id=workspace_id, permissions=["project.*.read_project"]
        )
    body = {"deploymentId": deployment_id}
    with api.http(reader) as client:
        assert client.post(OPERATION, json=body).status_code == 200
    with api.http(stranger) as client:
        assert_error(client.post(OPERATION, json=body), 403, detail_has="read_runtime_logs")
    with api.http("dy_root_nobody") as client:
        assert_error(client.post(OPERATION, json=body), 401)
    assert_error(http.post(OPERATION, json={"deploymentId": "d_missing"}), 404)
