"""The API's Prometheus metrics: GET /metrics, for a scraper on the API's own machine.

Who may scrape: /metrics answers only a request that arrived straight from loopback and
carries no proxy's forwarding header. The edge proxies `DOCKYARD_API_DOMAIN` to the API
from loopback too, but Caddy always adds X-Forwarded-For, so a request from the internet
through the edge is refused (404, as for any path the API does not serve), whatever it
sends. Nothing secret is in the series, but request rates and deployment counts are no
business of the internet's, and a separate port would be one more thing to configure.

Series:
    dockyard_api_requests_total{method, route, status}     route: the path template
        (`/v2/keys.createKey`, `/dashboard/deployments/{deployment_id}`), "unmatched" for
        paths no route serves, so clients cannot make new series at will
    dockyard_api_request_duration_seconds{method, route}  histogram
    dockyard_deployments{status}                           deployments by their status
        (pending, building, deploying, ..., ready, failed), counted when scraped

Each app has its own registry, so several apps in one process (tests) do not mix counts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from time import perf_counter

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.models import Deployment

PATH = "/metrics"
UNMATCHED = "unmatched"
FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-forwarded-host", b"forwarded", b"via"})


class ApiMetrics:
    def __init__(self, sessions: Callable[[], sessionmaker[Session] | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "dockyard_api_requests",
            "API requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "dockyard_api_request_duration_seconds",
            "Time the API took to answer a request.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(DeploymentCollector(sessions))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class DeploymentCollector(Collector):
    """Deployments by status, from one GROUP BY per scrape."""

    def __init__(self, sessions: Callable[[], sessionmaker[Session] | None]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        sessions = self._sessions()
        if sessions is None:  # not started yet
            return
        family = GaugeMetricFamily(
            "dockyard_deployments", "Deployments by status.", labels=["status"]
        )
        with sessions() as session:
            rows = session.execute(
                select(Deployment.status, func.count()).group_by(Deployment.status)
            )
            for status, count in rows:
                family.add_metric([status], count)
        yield family


class MeasureRequests:
    """Counts and times every HTTP request, labelled by the route that served it."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(perf_counter() - started)


def straight_from_loopback(scope: Scope) -> bool:
    """True for a request from this machine that no proxy forwarded."""
    client = scope.get("client")
    try:
        loopback = client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False
    return loopback and not any(name in FORWARDING_HEADERS for name, _ in scope["headers"])


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Count the app's requests and serve GET /metrics."""

    def sessions() -> sessionmaker[Session] | None:
        services = getattr(app.state, "services", None)
        return services.sessions if services is not None else None

    metrics = ApiMetrics(sessions)
    app.add_middleware(MeasureRequests, metrics=metrics)

    @app.get(PATH, include_in_schema=False)
    def scrape(request: Request) -> Response:
        if not straight_from_loopback(request.scope):
            raise HTTPException(status_code=404)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics = metrics
    return metrics
