"""analytics.getRuntimeLogs: Unkey's SQL over what apps printed, through Unkey's SDK, cut
to the caller's workspace and projects, bounded in what one query may read."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from unkey.py import Unkey

from api.routes import analytics as analytics_routes
from dockyard.bootstrap import create_root_key
from dockyard.models import Workspace
from tests.api.conftest import RunningApi, Shop, assert_error
from tests.api.test_runtime_logs import crashed, deploy, printed

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
OPERATION = "/v2/analytics.getRuntimeLogs"


def test_the_sdk_reads_what_a_deployment_printed(shop: Shop, unkey: Unkey, db) -> None:
    deployment_id = deploy(unkey)
    now = int(time.time() * 1000)
    printed(db, deployment_id, [now - 3000, now - 2000, now - 1000])
    crashed(db, deployment_id, now - 500, exit_code=3)

    answer = unkey.analytics.get_runtime_logs(
        query=(
            "SELECT time, stream, severity, message, exit_code, project_id, app_id "
            f"FROM runtime_logs_v1 WHERE deployment_id = '{deployment_id}' ORDER BY time"
        )
    )

    rows = answer.data
    assert [row["message"] for row in rows] == [
        "local line 0", "local line 1", "local line 2", "exited with code 3",
    ]  # fmt: skip
    assert [row["severity"] for row in rows] == ["info", "error", "info", "error"]
    assert rows[0]["time"] == now - 3000
    assert rows[-1]["stream"] == "event" and rows[-1]["exit_code"] == 3
    assert {(row["project_id"], row["app_id"]) for row in rows} == {(shop.project_id, shop.app_id)}


def test_unkeys_example_query_runs(shop: Shop, unkey: Unkey, http, db) -> None:
    deployment_id = deploy(unkey)
    now = int(time.time() * 1000)
    printed(db, deployment_id, [now - 2000, now - 1000])

    response = http.post(
        OPERATION,
        json={
            "query": "SELECT time, severity, message FROM runtime_logs_v1 "
            "WHERE lower(message) LIKE '%line 1%' ORDER BY time DESC LIMIT 100"
        },
    )

    assert response.status_code == 200, response.text
    assert [row["message"] for row in response.json()["data"]] == ["local line 1"]


def test_lines_older_than_the_window_are_not_read(shop: Shop, unkey: Unkey, http, db) -> None:
    deployment_id = deploy(unkey)
    now = int(time.time() * 1000)
    printed(db, deployment_id, [now - 3 * 3600 * 1000, now - 1000])
    query = "SELECT message FROM runtime_logs_v1 ORDER BY time"

    default = http.post(OPERATION, json={"query": query}).json()["data"]
    wider = http.post(
        OPERATION,
        json={"query": query.replace("ORDER", "WHERE time > now() - INTERVAL 1 DAY ORDER")},
    ).json()["data"]

    assert [row["message"] for row in default] == ["local line 1"]
    assert [row["message"] for row in wider] == ["local line 0", "local line 1"]


def test_a_key_for_one_project_reads_only_that_project(
    shop: Shop, unkey: Unkey, api: RunningApi, db
) -> None:
    deployment_id = deploy(unkey)
    printed(db, deployment_id, [int(time.time() * 1000) - 1000])
    other = unkey.projects.create_project(name="Other", slug="other").data.id
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, shop_reader = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=[f"project.{shop.project_id}.read_runtime_logs"],
        )
        _, other_reader = create_root_key(
            session, workspace_id=workspace_id, permissions=[f"project.{other}.read_runtime_logs"]
        )
        _, stranger = create_root_key(
            session, workspace_id=workspace_id, permissions=["project.*.read_project"]
        )
    body = {"query": "SELECT count() AS lines FROM runtime_logs_v1"}

    with api.http(shop_reader) as client:
        assert client.post(OPERATION, json=body).json()["data"] == [{"lines": 1}]
    with api.http(other_reader) as client:
        assert client.post(OPERATION, json=body).json()["data"] == [{"lines": 0}]
    with api.http(stranger) as client:
        assert_error(client.post(OPERATION, json=body), 403, detail_has="read_runtime_logs")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("SELECT * FROM gateway_requests_v1", "runtime_logs_v1"),
        ("SELECT * FROM runtime_log_lines", "runtime_logs_v1"),
        ("SELECT * FROM default.runtime_logs_raw_v1", "runtime_logs_v1"),
        ("DELETE FROM runtime_logs_v1", "SELECT"),
        ("SELECT * FROM runtime_logs_v1 WHERE time > now() - INTERVAL 90 DAY", "31 days"),
        ("SELECT nope FROM runtime_logs_v1", "nope"),
    ],
)
def test_queries_outside_the_subset_are_400s(shop: Shop, http, query: str, says: str) -> None:
    response = http.post(OPERATION, json={"query": query})
    error = assert_error(response, 400, detail_has=says)
    assert error["errors"][0]["location"] == "body.query"


def test_a_window_with_too_many_lines_is_a_422_that_says_how_to_narrow_it(
    shop: Shop, unkey: Unkey, http, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment_id = deploy(unkey)
    now = int(time.time() * 1000)
    printed(db, deployment_id, [now - 3000, now - 2000, now - 1000])
    monkeypatch.setattr(analytics_routes, "MAX_RUNTIME_LINES", 2)
    query = {"query": "SELECT count() AS lines FROM runtime_logs_v1"}

    assert_error(http.post(OPERATION, json=query), 422, detail_has="narrow it")
    monkeypatch.setattr(analytics_routes, "MAX_RUNTIME_LINES", 3)
    assert http.post(OPERATION, json=query).json()["data"] == [{"lines": 3}]
