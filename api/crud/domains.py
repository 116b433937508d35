"""Custom domains: attached to an environment, routable only once ownership is verified.

Generated domains (live, environment, branch, commit, deployment) share the `domains`
table but are not custom domains: domains.* neither lists nor changes them.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Caller
from api.domain_names import CUSTOM, Record, canonical, records
from api.errors import Conflict, NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from api.schemas.domains import DnsRecordOut, DomainOut, ListDomains
from dockyard.domains import DomainNames
from dockyard.ids import new_id
from dockyard.models import App, Domain, Environment, Project, Workspace, now_ms

NOT_FOUND = "Domain '{domain}' does not exist in this workspace."
ATTACHED_HERE = "The domain '{domain}' is already attached to this workspace."
IN_USE = "The domain '{domain}' is already in use by another dockyard workspace or deployment."
PENDING = "pending"


def create_domain(
    session: Session, *, project: Project, app: App, environment: Environment, hostname: str
) -> Domain:
    existing = session.scalar(select(Domain).where(Domain.hostname == hostname))
    if existing is not None:
        raise _taken(hostname, existing, project.workspace_id)
    domain = Domain(
        id=new_id("domain"),
        hostname=hostname,
        kind=CUSTOM,
        workspace_id=project.workspace_id,
        project_id=project.id,
        app_id=app.id,
        environment_id=environment.id,
        deployment_id=None,  # not routable until verified
        status=PENDING,
        verification_token=secrets.token_urlsafe(18),
        verification_started_at=now_ms(),
    )
    session.add(domain)
    try:
        session.flush()
    except IntegrityError as error:  # attached by a concurrent request after our check
        session.rollback()
        raise Conflict(ATTACHED_HERE.format(domain=hostname)) from error
    return domain


def _taken(hostname: str, existing: Domain, workspace_id: str) -> Conflict:
    if existing.kind == CUSTOM and existing.workspace_id == workspace_id:
        return Conflict(ATTACHED_HERE.format(domain=hostname))
    return Conflict(IN_USE.format(domain=hostname))


def find_domain(session: Session, *, workspace_id: str, domain: str) -> Domain:
    """By id (`dom_...`) or by name in any form; 404 for generated and foreign domains."""
    try:
        hostname = canonical(domain)
    except ValueError:
        hostname = None
    match = (
        Domain.id == domain
        if hostname is None
        else or_(Domain.id == domain, Domain.hostname == hostname)
    )
    row = session.scalar(
        select(Domain).where(Domain.workspace_id == workspace_id, Domain.kind == CUSTOM, match)
    )
    if row is None:
        raise NotFound(NOT_FOUND.format(domain=domain))
    return row


def list_domains(
    session: Session, *, caller: Caller, filters: ListDomains
) -> tuple[list[Domain], Pagination]:
    """Readable custom domains by id; filters that match nothing give an empty list."""
    query = (
        select(Domain)
        .join(Project, Project.id == Domain.project_id)
        .join(App, App.id == Domain.app_id)
        .join(Environment, Environment.id == Domain.environment_id)
        .where(Domain.workspace_id == caller.workspace_id, Domain.kind == CUSTOM)
    )
    scope: list[ColumnElement[bool]] = []
    if filters.project:
        scope.append(or_(Project.id == filters.project, Project.slug == filters.project))
    if filters.app:
        scope.append(or_(App.id == filters.app, App.slug == filters.app))
    if filters.environment:
        scope.append(
            or_(Environment.id == filters.environment, Environment.slug == filters.environment)
        )
    if filters.search:
        scope.append(
            or_(
                Domain.id.icontains(filters.search, autoescape=True),
                Domain.hostname.icontains(filters.search, autoescape=True),
            )
        )
    if not caller.allows("environment.*.read_domain"):
        scope.append(Domain.environment_id.in_(_readable_environments(caller)))
    if filters.cursor:
        (after,) = decode_cursor(filters.cursor, kinds=(str,))
        scope.append(Domain.id > after)
    rows = session.scalars(query.where(*scope).order_by(Domain.id).limit(filters.limit + 1)).all()
    return page(rows, limit=filters.limit, cursor_of=lambda row: encode_cursor(row.id))


def _readable_environments(caller: Caller) -> list[str]:
    named = []
    for permission in caller.permissions:
        resource, _, rest = permission.partition(".")
        environment_id, _, action = rest.partition(".")
        if resource == "environment" and action == "read_domain":
            named.append(environment_id)
    return named


def routing_target(session: Session, *, domain: Domain, apex: str) -> str:
    """The name a custom domain's CNAME points at: its environment's own hostname, which
    reaches the edge like every generated domain."""
    environment = session.get_one(Environment, domain.environment_id)
    app = session.get_one(App, domain.app_id)
    project = session.get_one(Project, domain.project_id)
    workspace = session.get_one(Workspace, domain.workspace_id)
    names = DomainNames(project=project.slug, app=app.slug, workspace=workspace.slug, apex=apex)
    return names.environment(environment.slug)


def dns_records(session: Session, *, domain: Domain, apex: str) -> list[Record]:
    return records(
        domain.hostname,
        token=domain.verification_token or "",
        target=routing_target(session, domain=domain, apex=apex),
        routing_verified=domain.routing_verified,
        owned=domain.status == "verified",
    )


def record_out(record: Record) -> DnsRecordOut:
    return DnsRecordOut(
        type=record.type,
        name=record.name,
        value=record.value,
        ttl=record.ttl,
        verified=record.verified,
        note=record.note,
    )


def domain_out(session: Session, *, domain: Domain, apex: str) -> DomainOut:
    return DomainOut(
        id=domain.id,
        domain=domain.hostname,
        project_id=domain.project_id,
        app_id=domain.app_id,
        environment_id=domain.environment_id,
        status=domain.status,
        dns_records=[record_out(r) for r in dns_records(session, domain=domain, apex=apex)],
        created_at=domain.created_at,
        verification_error=domain.verification_error,
        updated_at=domain.updated_at,
    )


def restart_verification(domain: Domain) -> None:
    """Back to `pending` with a new 24-hour verification period."""
    domain.status = PENDING
    domain.verification_error = None
    domain.verification_started_at = now_ms()


def domain_kind_and_status(session: Session, *, hostname: str) -> tuple[str, str] | None:
    """Kind and status of any domain, generated or custom, named `hostname` (canonical),
    by its unique index."""
    row = session.execute(
        select(Domain.kind, Domain.status).where(Domain.hostname == hostname)
    ).one_or_none()
    return None if row is None else (row.kind, row.status)
