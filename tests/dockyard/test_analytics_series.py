"""dockyard.analytics.series: fixed buckets over the last hour or day, filled from the
store, with empty buckets present and rows outside the window or workspace left out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.analytics.records import GATEWAY_REQUESTS, KEY_VERIFICATIONS
from dockyard.analytics.series import WINDOWS, Span, traffic, verifications
from dockyard.analytics.store import AnalyticsStore

NOW = 1_800_000_000_000 + 30_000  # half a minute into a minute
HOUR = Span.ending(WINDOWS["1h"], NOW)


@pytest.fixture
def store() -> Iterator[AnalyticsStore]:
    opened = AnalyticsStore(None)
    yield opened
    opened.close()


def request(
    at: int, status: int, latency: float, *, workspace: str = "ws_1", deployment: str = "d_1"
) -> tuple[Any, ...]:
    return (
        at, workspace, "p_1", "a_1", "env_1", deployment, "local", "GET", "h", "/", "/",
        status, latency, "allowed", None, None, None,
    )  # fmt: skip


def verification(at: int, outcome: str, keyspace: str = "ks_1") -> tuple[Any, ...]:
    return (at, "ws_1", keyspace, "key_1", None, None, "local", outcome, 0)


def test_windows_are_bounded_and_end_with_the_bucket_under_way() -> None:
    day = Span.ending(WINDOWS["24h"], NOW)

    assert len(HOUR.times) == 60
    assert HOUR.end_ms == NOW - 30_000 + 60_000
    assert len(day.times) == 96
    assert day.end_ms - day.start_ms == 86_400_000
    assert day.start_ms % 900_000 == 0


def test_requests_latency_and_errors_per_bucket(store: AnalyticsStore) -> None:
    minute = HOUR.times[-2]
    rows = [request(minute + i, 200, 12.0) for i in range(90)]
    rows += [request(minute + 100, 503, 480.0) for _ in range(6)]
    rows += [request(minute + 200, 404, 480.0) for _ in range(4)]
    rows += [request(HOUR.times[0], 200, 5.0, workspace="ws_2")]  # another workspace
    rows += [request(HOUR.start_ms - 1, 500, 5.0)]  # before the window
    store.append(GATEWAY_REQUESTS, rows)

    found = traffic(store, workspace_id="ws_1", span=HOUR, environment_id="env_1")

    assert found.times == HOUR.times
    assert found.requests[-2] == 100
    assert sum(found.requests) == 100
    assert found.requests_per_second[-2] == pytest.approx(100 / 60, abs=0.001)
    assert found.p50_ms[-2] == 12.0
    assert found.p99_ms[-2] == 480.0
    assert found.error_rate[-2] == 0.06
    assert found.client_error_rate[-2] == 0.04
    assert found.p99_ms[0] is None and found.error_rate[0] is None and found.requests[0] == 0
    assert (found.total_requests, found.total_p50_ms, found.total_p99_ms) == (100, 12.0, 480.0)
    assert found.total_error_rate == 0.06


def test_a_deployment_sees_only_its_own_requests(store: AnalyticsStore) -> None:
    store.append(
        GATEWAY_REQUESTS,
        [request(HOUR.times[3], 200, 1.0), request(HOUR.times[3], 200, 1.0, deployment="d_2")],
    )

    found = traffic(store, workspace_id="ws_1", span=HOUR, deployment_id="d_2")

    assert found.total_requests == 1
    assert found.requests[3] == 1


def test_no_requests_is_zeros_and_no_latency(store: AnalyticsStore) -> None:
    found = traffic(store, workspace_id="ws_1", span=HOUR, environment_id="env_'1")

    assert found.requests == [0] * 60
    assert (found.total_requests, found.total_p99_ms, found.total_error_rate) == (0, None, None)


def test_verifications_by_outcome_valid_first(store: AnalyticsStore) -> None:
    at = HOUR.times[10]
    rows = [verification(at, "RATE_LIMITED") for _ in range(5)]
    rows += [verification(at, "VALID") for _ in range(3)]
    rows += [verification(HOUR.times[11], "NOT_FOUND"), verification(at, "VALID", "ks_2")]
    store.append(KEY_VERIFICATIONS, rows)

    found = verifications(store, workspace_id="ws_1", keyspace_id="ks_1", span=HOUR)

    assert [(item.outcome, item.total) for item in found.outcomes] == [
        ("VALID", 3),
        ("RATE_LIMITED", 5),
        ("NOT_FOUND", 1),
    ]
    assert found.outcomes[1].counts[10] == 5
    assert found.outcomes[2].counts[11] == 1
    assert found.total == 9
