"""analytics.getVerifications and getRatelimits read back what keys.verifyKey and
ratelimit.limit answered, through Unkey's SDK; keys' lastUsedAt moves; queries outside
the subset are 400s that say what to change."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from unkey.py import Unkey

from tests.api.conftest import ROOT_KEY, RunningApi, api_settings, assert_error, serve
from tests.request_log import forget_streams

WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, temporal_address: str
) -> Iterator[RunningApi]:
    home = tmp_path_factory.mktemp("analytics")
    settings = api_settings(home, f"sqlite:///{home / 'dockyard.db'}", temporal_address)
    stream = f"analytics-test-{secrets.token_hex(4)}"
    with serve(settings.model_copy(update={"analytics_stream": stream})) as api:
        yield api
    forget_streams(settings.redis_url, stream)


@pytest.fixture
def sdk(running: RunningApi) -> Iterator[Unkey]:
    with Unkey(server_url=running.url, root_key=ROOT_KEY) as client:
        yield client


def eventually(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """`read()` until `done` says its answer is complete (records arrive within seconds)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = read()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_verifications_are_read_back_and_move_last_used_at(sdk: Unkey) -> None:
    api_id = sdk.apis.create_api(name=f"ks-{secrets.token_hex(3)}").data.api_id
    key = sdk.keys.create_key(api_id=api_id, external_id="user_1").data
    assert sdk.keys.get_key(key_id=key.key_id).data.last_used_at is None
    for _ in range(3):
        assert sdk.keys.verify_key(key=key.key).data.valid
    sdk.keys.update_key(key_id=key.key_id, enabled=False)
    assert sdk.keys.verify_key(key=key.key).data.code.value == "DISABLED"

    query = (
        "SELECT outcome, count() AS total, any(external_id) AS who FROM key_verifications_v1 "
        f"WHERE key_id = '{key.key_id}' AND time >= now() - INTERVAL 1 DAY "
        "GROUP BY outcome ORDER BY outcome"
    )
    rows = eventually(
        lambda: sdk.analytics.get_verifications(query=query).data,
        lambda rows: sum(row["total"] for row in rows) >= 4,
    )
    assert [(r["outcome"], r["total"], r["who"]) for r in rows] == [
        ("DISABLED", 1, "user_1"),
        ("VALID", 3, "user_1"),
    ]
    hourly = sdk.analytics.get_verifications(
        query="SELECT outcome, sum(count) AS total FROM key_verifications_per_hour_v1 "
        f"WHERE key_id = '{key.key_id}' GROUP BY outcome ORDER BY outcome"
    ).data
    assert [(r["outcome"], r["total"]) for r in hourly] == [("DISABLED", 1), ("VALID", 3)]
    used = eventually(
        lambda: sdk.keys.get_key(key_id=key.key_id).data.last_used_at,
        lambda value: value is not None,
    )
    assert used is not None and abs(used - time.time() * 1000) < 60_000


def test_ratelimit_decisions_are_read_back(sdk: Unkey) -> None:
    namespace = f"ns-{secrets.token_hex(3)}"
    results = [
        sdk.ratelimit.limit(namespace=namespace, identifier="user_9", limit=2, duration=60_000)
        for _ in range(3)
    ]
    assert [r.data.success for r in results] == [True, True, False]
    query = (
        "SELECT identifier, passed, count() AS total FROM ratelimits_v1 "
        "GROUP BY identifier, passed ORDER BY passed"
    )
    rows = eventually(
        lambda: [
            row
            for row in sdk.analytics.get_ratelimits(query=query).data
            if row["identifier"] == "user_9"
        ],
        lambda rows: sum(row["total"] for row in rows) >= 3,
    )
    assert [(r["passed"], r["total"]) for r in rows] == [(False, 1), (True, 2)]
    per_minute = sdk.analytics.get_ratelimits(
        query="SELECT sum(passed) AS passed, sum(total) AS total FROM ratelimits_per_minute_v1 "
        "WHERE identifier = 'user_9'"
    ).data
    assert per_minute == [{"passed": 2, "total": 3}]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("DELETE FROM key_verifications_v1", "exactly one SELECT"),
        ("SELECT 1; SELECT 2", "exactly one SELECT"),
        ("SELECT * FROM keys", "may read only from `key_verifications_v1`"),
        ("SELECT * FROM default.key_verifications_v1", "may read only from"),
        ("SELECT * FROM read_csv('/etc/passwd')", "READ_CSV() is not supported"),
        ("SELECT * FROM key_verifications_v1 a JOIN key_verifications_v1 b ON 1", "JOIN"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH clause"),
        ("SELECT * FROM key_verifications_v1 WHERE time > now() - INTERVAL 90 DAY", "31 days"),
        ("SELECT * FROM key_verifications_v1 WHERE time > 20 AND time < 10", "start is after"),
        ("SELECT * FROM key_verifications_v1 WHERE time > 'yesterday'", "milliseconds"),
        ("SELECT * FROM key_verifications_v1 LIMIT 1000000", "LIMIT must be"),
        ("SELECT * FROM key_verifications_v1 LIMIT 5 OFFSET 999999999", "OFFSET must be"),
        ("SELECT no_such_column FROM key_verifications_v1", "no_such_column"),
        ("SELECT FROM WHERE", "not valid SQL"),
    ],
)
def test_queries_outside_the_subset_are_400s(running: RunningApi, query: str, says: str) -> None:
    with running.http() as http:
        response = http.post("/v2/analytics.getVerifications", json={"query": query})
    error = assert_error(response, 400, detail_has=says)
    assert error["errors"][0]["location"] == "body.query"


def test_values_json_has_no_type_for_come_back_as_text(running: RunningApi) -> None:
    query = (
        "SELECT CAST(CAST(count() AS VARCHAR) AS BLOB) AS raw, "
        "toStartOfHour(fromUnixTimestamp64Milli(max(time))) AS hour FROM ratelimits_v1"
    )
    with running.http() as http:
        response = http.post("/v2/analytics.getRatelimits", json={"query": query})
    assert response.status_code == 200, response.text
    [row] = response.json()["data"]
    assert isinstance(row["raw"], str) and row["raw"].isdigit()


def test_each_operation_needs_its_permission(running: RunningApi) -> None:
    with running.http() as http:
        made = http.post(
            "/v2/rootKeys.createKey",
            json={"name": "reader", "permissions": ["api.*.read_analytics"]},
        )
        assert made.status_code == 200, made.text
        reader = made.json()["data"]["key"]
    headers = {"Authorization": f"Bearer {reader}"}
    query = {"query": "SELECT count() AS n FROM key_verifications_v1"}
    with httpx.Client(base_url=running.url, headers=headers) as http:
        assert http.post("/v2/analytics.getVerifications", json=query).status_code == 200
        refused = http.post(
            "/v2/analytics.getGatewayRequests",
            json={"query": "SELECT count() AS n FROM gateway_requests_v1"},
        )
        assert_error(refused, 403, detail_has="read_gateway_requests")


def test_the_store_lives_under_the_home(running: RunningApi) -> None:
    assert isinstance(running.settings.home, Path)
    assert (running.settings.home / "analytics" / "analytics.duckdb").exists()
