"""Reading deployments with what Unkey's Deployment shape needs from around them.

Unkey's Deployment names its project, app and environment by slug and says whether it is
the current one, so each row is read together with those (one joined query per page).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from api.deployment_state import stored_statuses
from api.errors import NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from api.schemas.deployments import ListDeployments
from dockyard.domains import DomainKind
from dockyard.models import (
    App,
    Deployment,
    DeploymentStep,
    Domain,
    Environment,
    Instance,
    Project,
)

# The most useful address first: the one that always shows what is live.
DOMAIN_ORDER = [
    DomainKind.LIVE,
    DomainKind.CUSTOM,
    DomainKind.ENVIRONMENT,
    DomainKind.BRANCH,
    DomainKind.COMMIT,
    DomainKind.DEPLOYMENT,
]


@dataclass(frozen=True)
class DeploymentRecord:
    deployment: Deployment
    project_slug: str
    app_slug: str
    app_rolled_back: bool
    environment_slug: str
    environment_kind: str
    environment_current_id: str | None


def _records(workspace_id: str) -> Select[Deployment, str, str, bool, str, str, str | None]:
    return (
        select(
            Deployment,
            Project.slug,
            App.slug,
            App.is_rolled_back,
            Environment.slug,
            Environment.kind,
            Environment.current_deployment_id,
        )
        .join(Project, Project.id == Deployment.project_id)
        .join(App, App.id == Deployment.app_id)
        .join(Environment, Environment.id == Deployment.environment_id)
        .where(Deployment.workspace_id == workspace_id)
    )


def get_deployment(session: Session, *, workspace_id: str, deployment_id: str) -> DeploymentRecord:
    row = session.execute(_records(workspace_id).where(Deployment.id == deployment_id)).first()
    if row is None:
        raise NotFound(f"Deployment '{deployment_id}' does not exist in this workspace.")
    return DeploymentRecord(*row)


def list_deployments(
    session: Session, *, workspace_id: str, filters: ListDeployments
) -> tuple[list[DeploymentRecord], Pagination]:
    """Newest first, filtered as asked; a 404 for a named project, app or environment that
    does not exist, so a typo is not mistaken for "no deployments"."""
    query = _records(workspace_id)
    scope: list[ColumnElement[bool]] = []
    if filters.project:
        scope.append(or_(Project.id == filters.project, Project.slug == filters.project))
        _must_exist(session, workspace_id, scope, f"Project '{filters.project}'")
    if filters.app:
        scope.append(or_(App.id == filters.app, App.slug == filters.app))
        _must_exist(session, workspace_id, scope, f"App '{filters.app}'")
    if filters.environment:
        scope.append(
            or_(Environment.id == filters.environment, Environment.slug == filters.environment)
        )
        _must_exist(session, workspace_id, scope, f"Environment '{filters.environment}'")
    query = query.where(*scope)
    if filters.status:
        query = query.where(Deployment.status.in_(stored_statuses(list(filters.status))))
    if filters.branch:
        query = query.where(Deployment.git_branch.in_(filters.branch))
    if filters.start_time is not None:
        query = query.where(Deployment.created_at >= filters.start_time)
    if filters.end_time is not None:
        query = query.where(Deployment.created_at < filters.end_time)
    if filters.cursor:
        created_at, deployment_id = decode_cursor(filters.cursor, kinds=(int, str))
        query = query.where(
            or_(
                Deployment.created_at < created_at,
                and_(Deployment.created_at == created_at, Deployment.id < deployment_id),
            )
        )
    rows = session.execute(
        query.order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(filters.limit + 1)
    ).all()
    return page(
        [DeploymentRecord(*row) for row in rows],
        limit=filters.limit,
        cursor_of=lambda record: encode_cursor(record.deployment.created_at, record.deployment.id),
    )


def _must_exist(
    session: Session, workspace_id: str, scope: list[ColumnElement[bool]], what: str
) -> None:
    # Checked against the resources, not the deployments: an app with no deployment yet
    # is an empty list, not a 404.
    found = session.scalar(
        select(
            select(Project.id)
            .outerjoin(App, App.project_id == Project.id)
            .outerjoin(Environment, Environment.app_id == App.id)
            .where(Project.workspace_id == workspace_id, *scope)
            .exists()
        )
    )
    if not found:
        raise NotFound(f"{what} does not exist in this workspace.")


def domains_of(session: Session, *, deployment_ids: list[str]) -> dict[str, list[str]]:
    """Hostnames per deployment: domains whose `deployment_id` points at it right now."""
    rows = session.execute(
        select(Domain.deployment_id, Domain.kind, Domain.hostname).where(
            Domain.deployment_id.in_(deployment_ids)
        )
    ).all()
    rank = {kind.value: index for index, kind in enumerate(DOMAIN_ORDER)}
    ordered = sorted(rows, key=lambda row: (rank.get(row.kind, len(rank)), row.hostname))
    found: dict[str, list[str]] = {deployment_id: [] for deployment_id in deployment_ids}
    for row in ordered:
        if row.deployment_id is not None:
            found[row.deployment_id].append(row.hostname)
    return found


def steps_of(session: Session, *, deployment_id: str) -> list[DeploymentStep]:
    return list(
        session.scalars(
            select(DeploymentStep)
            .where(DeploymentStep.deployment_id == deployment_id)
            .order_by(DeploymentStep.started_at, DeploymentStep.id)
        )
    )


def instances_of(session: Session, *, deployment_id: str) -> list[Instance]:
    return list(
        session.scalars(
            select(Instance)
            .where(Instance.deployment_id == deployment_id)
            .order_by(Instance.region, Instance.container_name)
        )
    )
