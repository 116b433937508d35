"""The request log as chart series: fixed time buckets over a window that ends now.

A chart asks for a window by name (WINDOWS: the last hour in 60 one-minute buckets, the
last day in 96 fifteen-minute ones), so every read is bounded in time and in points
whatever the caller sends. The window ends at the end of the bucket under way, so the
newest bucket fills up while it is shown. Buckets without rows are present, with zero
counts and no latency.

gateway requests, for an environment or a deployment, per bucket: how many, requests per
second, p50 and p99 latency (ms), and the share answered with a 5xx and with a 4xx;
the same over the whole window as totals.
key verifications, for a keyspace, per bucket and outcome (VALID, RATE_LIMITED, ...).

Values reach the SQL as quoted literals (the store reads one statement, no parameters);
every one is an id dockyard issued or a number computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.analytics.records import GATEWAY_REQUESTS, KEY_VERIFICATIONS
from dockyard.analytics.store import AnalyticsStore


@dataclass(frozen=True)
class Window:
    span_ms: int
    bucket_ms: int

    @property
    def buckets(self) -> int:
        return self.span_ms // self.bucket_ms


WINDOWS = {
    "1h": Window(3_600_000, 60_000),
    "24h": Window(86_400_000, 900_000),
}


@dataclass(frozen=True)
class Span:
    """[start, end) in ms since the epoch, cut into `bucket_ms` buckets."""

    start_ms: int
    end_ms: int
    bucket_ms: int

    @classmethod
    def ending(cls, window: Window, now_ms: int) -> Span:
        end = (now_ms // window.bucket_ms + 1) * window.bucket_ms
        return cls(end - window.span_ms, end, window.bucket_ms)

    @property
    def times(self) -> list[int]:
        return list(range(self.start_ms, self.end_ms, self.bucket_ms))


@dataclass(frozen=True)
class Traffic:
    times: list[int]
    requests: list[int]
    requests_per_second: list[float]
    p50_ms: list[float | None]
    p99_ms: list[float | None]
    error_rate: list[float | None]  # the share of requests answered with a 5xx
    client_error_rate: list[float | None]  # with a 4xx
    total_requests: int
    total_requests_per_second: float
    total_p50_ms: float | None
    total_p99_ms: float | None
    total_error_rate: float | None
    total_client_error_rate: float | None


@dataclass(frozen=True)
class OutcomeSeries:
    outcome: str
    counts: list[int]
    total: int


@dataclass(frozen=True)
class Verifications:
    times: list[int]
    outcomes: list[OutcomeSeries]  # VALID first, then the most frequent
    total: int


MEASURES = """count(*),
    quantile_disc(latency, 0.5), quantile_disc(latency, 0.99),
    count_if(response_status >= 500),
    count_if(response_status >= 400 AND response_status < 500)"""


def traffic(
    store: AnalyticsStore,
    *,
    workspace_id: str,
    span: Span,
    environment_id: str | None = None,
    deployment_id: str | None = None,
) -> Traffic:
    """The gateway's requests for one environment or one deployment, per bucket."""
    where = _where(workspace_id, span)
    if environment_id is not None:
        where += f" AND environment_id = {_text(environment_id)}"
    if deployment_id is not None:
        where += f" AND deployment_id = {_text(deployment_id)}"
    table = GATEWAY_REQUESTS.name
    _, rows = store.read(
        f"SELECT (time - {span.start_ms}) // {span.bucket_ms} AS bucket, {MEASURES} "  # noqa: S608 - our own names and numbers
        f"FROM {table} WHERE {where} GROUP BY bucket"
    )
    _, totals = store.read(f"SELECT {MEASURES} FROM {table} WHERE {where}")  # noqa: S608
    empty: tuple[Any, ...] = (0, None, None, 0, 0)
    found = {int(row[0]): tuple(row[1:]) for row in rows}
    per_bucket = [found.get(i, empty) for i in range(len(span.times))]
    seconds = span.bucket_ms / 1000
    count, p50, p99, server, client = totals[0] if totals else empty
    return Traffic(
        times=span.times,
        requests=[int(row[0]) for row in per_bucket],
        requests_per_second=[round(row[0] / seconds, 3) for row in per_bucket],
        p50_ms=[_ms(row[1]) for row in per_bucket],
        p99_ms=[_ms(row[2]) for row in per_bucket],
        error_rate=[_share(row[3], row[0]) for row in per_bucket],
        client_error_rate=[_share(row[4], row[0]) for row in per_bucket],
        total_requests=int(count),
        total_requests_per_second=round(count / ((span.end_ms - span.start_ms) / 1000), 3),
        total_p50_ms=_ms(p50),
        total_p99_ms=_ms(p99),
        total_error_rate=_share(server, count),
        total_client_error_rate=_share(client, count),
    )


def verifications(
    store: AnalyticsStore, *, workspace_id: str, keyspace_id: str, span: Span
) -> Verifications:
    """A keyspace's key verifications per bucket and outcome."""
    where = f"{_where(workspace_id, span)} AND key_space_id = {_text(keyspace_id)}"
    _, rows = store.read(
        f"SELECT (time - {span.start_ms}) // {span.bucket_ms} AS bucket, outcome, count(*) "  # noqa: S608 - our own names and numbers
        f"FROM {KEY_VERIFICATIONS.name} WHERE {where} GROUP BY bucket, outcome"
    )
    counts: dict[str, list[int]] = {}
    for bucket, outcome, count in rows:
        counts.setdefault(str(outcome), [0] * len(span.times))[int(bucket)] = int(count)
    ordered = sorted(counts.items(), key=lambda item: (item[0] != "VALID", -sum(item[1]), item[0]))
    outcomes = [OutcomeSeries(outcome, series, sum(series)) for outcome, series in ordered]
    return Verifications(span.times, outcomes, sum(item.total for item in outcomes))


def _where(workspace_id: str, span: Span) -> str:
    return (
        f"workspace_id = {_text(workspace_id)} AND time >= {span.start_ms} AND time < {span.end_ms}"
    )


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
