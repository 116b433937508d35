"""The SQL analytics queries may use: what runs, how it is bounded, and what is refused.
The store runs the generated SQL, so a query that passes here also reads real rows."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import duckdb
import pytest

from dockyard.analytics.paths import path_template
from dockyard.analytics.query import DEFAULT_LIMIT, Scope, check
from dockyard.analytics.records import GATEWAY_REQUESTS, KEY_VERIFICATIONS
from dockyard.analytics.store import AnalyticsStore
from dockyard.analytics.window import QueryRejected

NOW = 1_800_000_000_000
HOUR = 3_600_000


def row(at: int, workspace: str = "ws_1", project: str = "proj_1", status: int = 200) -> tuple:
    outcome = "allowed" if status < 400 else "key_missing"
    return (at, workspace, project, "app_1", "env_1", "dep_1", "local", "GET", "h", "/orders",
            "/orders", status, 1.5, outcome, None, None, None)  # fmt: skip


@pytest.fixture
def store() -> AnalyticsStore:
    made = AnalyticsStore(None)
    made.append(
        GATEWAY_REQUESTS,
        [
            row(NOW - 10),
            row(NOW - 20, status=401),
            row(NOW - 2 * HOUR),  # outside the default hour
            row(NOW - 30, workspace="ws_2"),  # another workspace
            row(NOW - 40, project="proj_2"),
        ],
    )
    return made


def run(store: AnalyticsStore, query: str, scope: Scope | None = None) -> list[tuple]:
    checked = check(
        query, GATEWAY_REQUESTS, scope or Scope("ws_1", "project_id"), now_ms=lambda: NOW
    )
    return store.read(checked.sql)[1]


def test_a_query_sees_its_workspace_and_the_last_hour_by_default(store: AnalyticsStore) -> None:
    assert run(store, "SELECT count() FROM gateway_requests_v1") == [(3,)]
    assert run(store, "SELECT count() FROM gateway_requests_v1", Scope("ws_2", "project_id")) == [
        (1,)
    ]
    only = Scope("ws_1", "project_id", frozenset({"proj_2"}))
    assert run(store, "SELECT count() FROM gateway_requests_v1", only) == [(1,)]


def test_time_conditions_set_the_window(store: AnalyticsStore) -> None:
    wide = "SELECT count() FROM gateway_requests_v1 WHERE time >= now() - INTERVAL 3 HOUR"
    assert run(store, wide) == [(4,)]
    between = f"SELECT count() FROM gateway_requests_v1 WHERE time BETWEEN {NOW - 25} AND {NOW}"
    assert run(store, between) == [(2,)]
    flipped = f"SELECT count() FROM gateway_requests_v1 WHERE {NOW - 15} < time"
    assert run(store, flipped) == [(1,)]
    clickhouse = (
        "SELECT count() FROM gateway_requests_v1 "
        "WHERE time >= toUnixTimestamp64Milli(now64(3) - INTERVAL 24 HOUR)"
    )
    assert run(store, clickhouse) == [(4,)]


def test_a_minute_chart_by_outcome(store: AnalyticsStore) -> None:
    chart = (
        "SELECT toStartOfMinute(fromUnixTimestamp64Milli(time)) AS minute, outcome, "
        "count() AS total, countIf(response_status >= 400) AS errors, avg(latency) AS latency "
        "FROM gateway_requests_v1 GROUP BY minute, outcome ORDER BY outcome"
    )
    rows = run(store, chart)
    assert [(outcome, total, errors) for _, outcome, total, errors, _ in rows] == [
        ("allowed", 2, 0),
        ("key_missing", 1, 1),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT toStartOfHour(fromUnixTimestamp64Milli(time)) AS hour, uniq(key_id) AS keys, "
        "sum(response_status) AS s FROM gateway_requests_v1 GROUP BY hour HAVING count() > 1",
        "SELECT toStartOfDay(fromUnixTimestamp64Milli(time)) AS day, max(latency), "
        "quantile(0.5)(latency) FROM gateway_requests_v1 GROUP BY day",
        "SELECT path, count(*) AS n FROM gateway_requests_v1 WHERE method IN ('GET', 'POST') "
        "AND path LIKE '/orders%' AND key_id IS NULL GROUP BY path ORDER BY n DESC LIMIT 5",
    ],
)
def test_chart_queries_run(store: AnalyticsStore, query: str) -> None:
    assert run(store, query)


def test_rollups_count_per_bucket_with_timestamps() -> None:
    store = AnalyticsStore(None)
    minute = 60_000
    start = NOW - NOW % minute - 3 * minute
    store.append(
        KEY_VERIFICATIONS,
        [
            (start + offset, "ws_1", "ks_1", "key_1", None, None, "local", outcome, 1)
            for offset, outcome in [(0, "VALID"), (10, "VALID"), (minute, "RATE_LIMITED")]
        ],
    )
    query = (
        "SELECT time, outcome, count, spent_credits FROM key_verifications_per_minute_v1 "
        "WHERE time >= now() - INTERVAL 10 MINUTE ORDER BY time"
    )
    checked = check(query, KEY_VERIFICATIONS, Scope("ws_1", "key_space_id"), now_ms=lambda: NOW)
    rows = [
        (int(at.replace(tzinfo=UTC).timestamp() * 1000), *rest)
        for at, *rest in store.read(checked.sql)[1]
    ]
    assert rows == [(start, "VALID", 2, 2), (start + minute, "RATE_LIMITED", 1, 1)]
    with pytest.raises(QueryRejected, match="key_verifications_per_hour_v1"):
        check("SELECT * FROM key_verifications_per_week_v1", KEY_VERIFICATIONS, Scope("w", "x"))


def test_a_limit_is_always_set() -> None:
    checked = check("SELECT * FROM gateway_requests_v1", GATEWAY_REQUESTS, Scope("w", "x"))
    assert checked.limit == DEFAULT_LIMIT and f"LIMIT {DEFAULT_LIMIT}" in checked.sql


def test_user_text_stays_a_literal(store: AnalyticsStore) -> None:
    sneaky = "SELECT count() FROM gateway_requests_v1 WHERE path = 'x'' OR ''1''=''1'"
    assert run(store, sneaky) == [(0,)]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM gateway_requests_v1 WHERE key_id IN (SELECT 1 FROM gateway_requests_v1)",
        "SELECT * FROM gateway_requests_v1 UNION ALL SELECT * FROM gateway_requests_v1",
        "SELECT * FROM key_verifications_v1",
        "SELECT getenv('HOME') FROM gateway_requests_v1",
        "SELECT * FROM gateway_requests_v1 WHERE time > now() - INTERVAL 32 DAY",
        "INSERT INTO gateway_requests_v1 VALUES (1)",
        "SELECT * FROM gateway_requests_v1 LIMIT 0",
        "SELECT 'unterminated FROM gateway_requests_v1",
        "SELECT $1 FROM gateway_requests_v1",
        "SELECT * FROM gateway_requests_v1 WHERE time > 1e400",
        "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " FROM gateway_requests_v1",
    ],
)
def test_refused(query: str) -> None:
    with pytest.raises(QueryRejected):
        check(query, GATEWAY_REQUESTS, Scope("ws_1", "project_id"))


def test_retention_forgets_old_rows(store: AnalyticsStore) -> None:
    assert store.forget_before(NOW - HOUR) == 1
    checked = check(
        "SELECT count() FROM key_verifications_v1",
        KEY_VERIFICATIONS,
        Scope("ws_1", "key_space_id"),
    )
    assert store.read(checked.sql)[1] == [(0,)]


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/orders/7", "/orders/{id}"),
        ("/orders/3f9c2b7a-1111-4222-8333-444455556666/items/12", "/orders/{id}/items/{id}"),
        ("/keys/key_2Xb9aQ3mN7pL", "/keys/{id}"),
        ("/v1/users/me", "/v1/users/me"),
        ("/api/user_settings", "/api/user_settings"),
        ("/blog/a-post-title-of-many-words", "/blog/a-post-title-of-many-words"),
    ],
)
def test_path_templates(path: str, template: str) -> None:
    assert path_template(path) == template


def test_a_store_made_before_a_column_existed_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute("CREATE TABLE gateway_requests (time BIGINT, workspace_id VARCHAR)")
    store = AnalyticsStore(path)
    store.append(GATEWAY_REQUESTS, [row(NOW)])
    assert store.read("SELECT path_template FROM gateway_requests")[1] == [("/orders",)]
