"""The rule that keeps verified custom domains on their environment's live deployment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.custom_domains import follow_live, routed_deployment
from dockyard.ids import new_id
from dockyard.models import App, Domain, Environment, Project, Workspace


def _environment(session: Session) -> Environment:
    workspace = session.scalar(select(Workspace))
    assert workspace is not None
    project = Project(id=new_id("project"), workspace_id=workspace.id, slug="shop", name="Shop")
    app = App(id=new_id("app"), project_id=project.id, slug="web", name="Web")
    environment = Environment(
        id=new_id("environment"),
        project_id=project.id,
        app_id=app.id,
        slug="prod",
        kind="production",
    )
    for row in (project, app, environment):
        session.add(row)
        session.flush()
    return environment


def _domain(session: Session, environment: Environment, hostname: str, kind: str, status: str):
    domain = Domain(
        id=new_id("domain"),
        hostname=hostname,
        kind=kind,
        workspace_id=session.scalar(select(Workspace.id)),
        project_id=environment.project_id,
        app_id=environment.app_id,
        environment_id=environment.id,
        deployment_id="d_old",
        status=status,
    )
    session.add(domain)
    return domain


def test_only_verified_custom_domains_follow_live(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        environment = _environment(session)
        verified = _domain(session, environment, "api.acme.com", "custom", "verified")
        pending = _domain(session, environment, "new.acme.com", "custom", "pending")
        pending.deployment_id = None
        generated = _domain(session, environment, "shop-dep-x.localhost", "deployment", "verified")
        session.flush()
        follow_live(session, environment_id=environment.id, deployment_id="d_new")
        ids = verified.id, pending.id, generated.id
    with sessions() as session:
        rows = [session.get_one(Domain, domain_id) for domain_id in ids]
        assert [row.deployment_id for row in rows] == ["d_new", None, "d_old"]
        environment = session.get_one(Environment, rows[0].environment_id)
        environment.current_deployment_id = "d_new"
        assert routed_deployment(rows[0], environment) == "d_new"
        assert routed_deployment(rows[1], environment) is None
