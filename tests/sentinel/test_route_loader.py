from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from sentinel.route_loader import load_route_table
from tests.sentinel.conftest import Rows


def test_table_holds_routable_domains_with_their_healthy_instances(
    sessions: sessionmaker[Session], rows: Rows
) -> None:
    live = rows.deployment()
    rows.instance(live, "10.0.0.1:80", region="eu")
    rows.instance(live, "10.0.0.2:80", region="us")
    rows.instance(live, "10.0.0.3:80", region="eu", status="starting")
    rows.instance(live, "10.0.0.4:80", region="eu", status="stopped")
    rows.domain("shop-acme.localhost", live)
    rows.domain("shop-git-main-acme.localhost", None)  # assigned, not yet routed

    table = load_route_table(sessions, region="eu")

    route = table.lookup("shop-acme.localhost")
    assert route is not None
    assert route.deployment_id == live
    assert route.environment_id == rows.environment_id
    assert route.local == ("10.0.0.1:80",)
    assert route.remote == ("10.0.0.2:80",)
    assert table.lookup("shop-git-main-acme.localhost") is None


def test_deployment_without_healthy_instance_is_known_but_empty(
    sessions: sessionmaker[Session], rows: Rows
) -> None:
    deployment = rows.deployment()
    rows.instance(deployment, "10.0.0.1:80", status="starting")
    rows.domain("shop-acme.localhost", deployment)

    route = load_route_table(sessions, region="local").lookup("shop-acme.localhost")

    assert route is not None and not route.has_instances
