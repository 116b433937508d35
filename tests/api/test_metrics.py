"""GET /metrics on a served API: requests by route template and status, deployments by
status, and refused to anything a proxy forwarded (the edge, from the internet)."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session, sessionmaker

from api.metrics import straight_from_loopback
from dockyard.ids import new_id
from dockyard.models import Deployment
from tests.api.conftest import RunningApi
from tests.metrics_scrape import parse, value
from tests.seed import seed_app

REQUESTS = "dockyard_api_requests_total"
DURATION_COUNT = "dockyard_api_request_duration_seconds_count"


def scrape(http: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def test_requests_are_counted_by_route_template_and_status(
    api: RunningApi, db: sessionmaker[Session]
) -> None:
    create = {"method": "POST", "route": "/v2/projects.createProject"}
    with api.http() as http, api.http(root_key=None) as anonymous:
        before = scrape(http)
        assert http.post(
            "/v2/projects.createProject", json={"name": "Shop", "slug": "shop"}
        ).is_success
        assert (
            anonymous.post(
                "/v2/projects.createProject", json={"name": "Shed", "slug": "shed"}
            ).status_code
            == 401
        )
        for path in ("/nothing/here", "/or/here"):
            assert http.get(path).status_code == 404
        after = scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(REQUESTS, **create, status="200") == 1
    assert moved(REQUESTS, **create, status="401") == 1
    assert moved(REQUESTS, method="GET", route="unmatched", status="404") == 2
    assert moved(REQUESTS, method="GET", route="/metrics", status="200") == 1  # the first scrape
    assert moved(DURATION_COUNT, **create) == 2
    assert not any("/nothing/here" in str(labels) for _, labels in after)


def test_deployments_are_counted_by_status(api: RunningApi, db: sessionmaker[Session]) -> None:
    seeded = seed_app(db)
    with api.http() as http:
        before = value(scrape(http), "dockyard_deployments", status="building")
        with db.begin() as session:
            for _ in range(2):
                session.add(
                    Deployment(
                        id=new_id("deployment"),
                        workspace_id=seeded.workspace.id,
                        project_id=seeded.project.id,
                        app_id=seeded.app.id,
                        environment_id=seeded.production.id,
                        source="image",
                        status="building",
                    )
                )
        assert value(scrape(http), "dockyard_deployments", status="building") == before + 2


def test_metrics_refuse_what_a_proxy_forwarded(api: RunningApi) -> None:
    with api.http(root_key=None) as http:
        for header in ("X-Forwarded-For", "Forwarded", "Via", "X-Forwarded-Host"):
            response = http.get("/metrics", headers={header: "203.0.113.9"})
            assert response.status_code == 404, header
            assert "dockyard_api" not in response.text
        assert http.get("/metrics").status_code == 200
        assert "/metrics" not in http.get("/openapi.json").json()["paths"]


def test_only_loopback_peers_may_scrape() -> None:
    def scope(client: tuple[str, int] | None) -> dict[str, object]:
        return {"type": "http", "client": client, "headers": []}

    assert straight_from_loopback(scope(("127.0.0.1", 5000)))
    assert straight_from_loopback(scope(("::1", 5000)))
    assert not straight_from_loopback(scope(("10.0.0.7", 5000)))
    assert not straight_from_loopback(scope(None))
    assert not straight_from_loopback(scope(("not-an-address", 0)))
