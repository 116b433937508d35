"""The series the dashboard's charts draw, from the request log (dockyard.analytics.series).

Each read names a window ("1h" or "24h"; anything else is a 400 that lists them) and
answers with a fixed number of buckets. Traffic is for an environment or a deployment,
under the right getGatewayRequests takes (`project.<id or *>.read_gateway_requests`);
verifications are for a keyspace, under `api.<id or *>.read_analytics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

from fastapi import APIRouter

from api.analytics import AnalyticsDep
from api.crud.keyspaces import find_keyspace
from api.crud.lookup import find_app_environment, find_deployment
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import ServiceUnavailable
from api.routes.analytics import NOT_COLLECTING, TOO_EXPENSIVE, QueryTooLarge
from api.schemas.base import Envelope, Input, Output
from api.schemas.deployments import GetDeployment
from api.schemas.environments import EnvironmentRef
from api.schemas.keys import ApiRef
from dockyard.analytics import series
from dockyard.analytics.store import QUERY_SECONDS, AnalyticsStore, QueryTooExpensive

router = APIRouter()

WindowName = Literal["1h", "24h"]
T = TypeVar("T")


class WindowInput(Input):
    window: WindowName = "1h"


class EnvironmentTrafficInput(EnvironmentRef, WindowInput):
    pass


class DeploymentTrafficInput(GetDeployment, WindowInput):
    pass


class KeyspaceVerificationsInput(ApiRef, WindowInput):
    pass


class Totals(Output):
    requests: int
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    error_rate: float | None
    client_error_rate: float | None


class TrafficSeries(Output):
    window: WindowName
    start: int
    end: int
    bucket_ms: int
    times: list[int]
    requests: list[int]
    requests_per_second: list[float]
    p50_ms: list[float | None]
    p99_ms: list[float | None]
    error_rate: list[float | None]
    client_error_rate: list[float | None]
    totals: Totals


class OutcomeSeries(Output):
    outcome: str
    counts: list[int]
    total: int


class VerificationSeries(Output):
    window: WindowName
    start: int
    end: int
    bucket_ms: int
    times: list[int]
    outcomes: list[OutcomeSeries]
    total: int


@router.post("/dashboard/api/environmentTraffic")
def environment_traffic(
    body: EnvironmentTrafficInput,
    session: SessionDep,
    caller: RootKeyDep,
    analytics: AnalyticsDep,
    meta: MetaDep,
) -> Envelope[TrafficSeries]:
    """Requests per second, p50/p99 latency and error rates of an environment's gateway."""
    project, _, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    caller.require("project", "read_gateway_requests", project.id)
    found = _read_traffic(
        analytics, caller.workspace_id, body.window, environment_id=environment.id
    )
    return Envelope(meta=meta, data=found)


@router.post("/dashboard/api/deploymentTraffic")
def deployment_traffic(
    body: DeploymentTrafficInput,
    session: SessionDep,
    caller: RootKeyDep,
    analytics: AnalyticsDep,
    meta: MetaDep,
) -> Envelope[TrafficSeries]:
    """The same as environmentTraffic, for the requests one deployment answered."""
    deployment = find_deployment(
        session, workspace_id=caller.workspace_id, deployment_id=body.deployment_id
    )
    caller.require("project", "read_gateway_requests", deployment.project_id)
    found = _read_traffic(analytics, caller.workspace_id, body.window, deployment_id=deployment.id)
    return Envelope(meta=meta, data=found)


@router.post("/dashboard/api/keyspaceVerifications")
def keyspace_verifications(
    body: KeyspaceVerificationsInput,
    session: SessionDep,
    caller: RootKeyDep,
    analytics: AnalyticsDep,
    meta: MetaDep,
) -> Envelope[VerificationSeries]:
    """A keyspace's key verifications per bucket, one series per outcome."""
    caller.require("api", "read_analytics", body.api_id)
    keyspace = find_keyspace(session, workspace_id=caller.workspace_id, api_id=body.api_id)
    store, span = _store(analytics), _span(body.window)
    found = _bounded(
        lambda: series.verifications(
            store, workspace_id=caller.workspace_id, keyspace_id=keyspace.id, span=span
        )
    )
    outcomes = [
        OutcomeSeries(outcome=o.outcome, counts=o.counts, total=o.total) for o in found.outcomes
    ]
    return Envelope(
        meta=meta,
        data=VerificationSeries(
            window=body.window,
            start=span.start_ms,
            end=span.end_ms,
            bucket_ms=span.bucket_ms,
            times=found.times,
            outcomes=outcomes,
            total=found.total,
        ),
    )


def _store(analytics: AnalyticsDep) -> AnalyticsStore:
    if analytics is None or analytics.store is None:
        raise ServiceUnavailable(NOT_COLLECTING)
    return analytics.store


def _span(window: WindowName) -> series.Span:
    return series.Span.ending(series.WINDOWS[window], int(time.time() * 1000))


def _bounded(read: Callable[[], T]) -> T:
    try:
        return read()
    except QueryTooExpensive as error:
        raise QueryTooLarge(TOO_EXPENSIVE.format(seconds=QUERY_SECONDS)) from error


def _read_traffic(
    analytics: AnalyticsDep, workspace_id: str, window: WindowName, **which: str
) -> TrafficSeries:
    """`which`: environment_id or deployment_id."""
    store, span = _store(analytics), _span(window)
    found = _bounded(lambda: series.traffic(store, workspace_id=workspace_id, span=span, **which))
    return TrafficSeries(
        window=window,
        start=span.start_ms,
        end=span.end_ms,
        bucket_ms=span.bucket_ms,
        times=found.times,
        requests=found.requests,
        requests_per_second=found.requests_per_second,
        p50_ms=found.p50_ms,
        p99_ms=found.p99_ms,
        error_rate=found.error_rate,
        client_error_rate=found.client_error_rate,
        totals=Totals(
            requests=found.total_requests,
            requests_per_second=found.total_requests_per_second,
            p50_ms=found.total_p50_ms,
            p99_ms=found.total_p99_ms,
            error_rate=found.total_error_rate,
            client_error_rate=found.total_client_error_rate,
        ),
    )
