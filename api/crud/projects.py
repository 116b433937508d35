"""Projects: create, list, rename, delete."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import Conflict, PreconditionFailed
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from dockyard.ids import new_id
from dockyard.models import Deployment, Project

PROTECTED = (
    "Project '{slug}' has delete protection enabled. Disable it with "
    "projects.updateProject (deleteProtection: false), then delete it."
)


def slug_taken(slug: str) -> Conflict:
    return Conflict(f"A project with slug '{slug}' already exists in this workspace.")


def create_project(session: Session, *, workspace_id: str, name: str, slug: str) -> Project:
    _ensure_slug_free(session, workspace_id=workspace_id, slug=slug)
    project = Project(id=new_id("project"), workspace_id=workspace_id, name=name, slug=slug)
    session.add(project)
    _flush_or_conflict(session, slug)
    return project


def list_projects(
    session: Session, *, workspace_id: str, limit: int, cursor: str | None, search: str | None
) -> tuple[list[Project], Pagination]:
    query = select(Project).where(Project.workspace_id == workspace_id)
    if search:
        query = query.where(
            or_(
                Project.name.icontains(search, autoescape=True),
                Project.slug.icontains(search, autoescape=True),
            )
        )
    if cursor:
        (after,) = decode_cursor(cursor, kinds=(str,))
        query = query.where(Project.id > after)
    rows = session.scalars(query.order_by(Project.id).limit(limit + 1)).all()
    return page(rows, limit=limit, cursor_of=lambda project: encode_cursor(project.id))


def update_project(
    session: Session,
    *,
    project: Project,
    name: str | None,
    slug: str | None,
    delete_protection: bool | None,
) -> Project:
    if slug is not None and slug != project.slug:
        _ensure_slug_free(session, workspace_id=project.workspace_id, slug=slug)
        project.slug = slug
    if name is not None:
        project.name = name
    if delete_protection is not None:
        project.delete_protection = delete_protection
    _flush_or_conflict(session, project.slug)
    return project


def delete_project(session: Session, *, project: Project) -> bool:
    """Refuse a protected project. One that never had a deployment has nothing running
    (no container, no workflow): its rows go now, and the answer is True. Any other is
    torn down by workflows.project, which the caller starts."""
    if project.delete_protection:
        raise PreconditionFailed(PROTECTED.format(slug=project.slug))
    if session.scalar(select(exists().where(Deployment.project_id == project.id))):
        return False
    session.delete(project)
    session.flush()
    return True


def _ensure_slug_free(session: Session, *, workspace_id: str, slug: str) -> None:
    taken = session.scalar(
        select(exists().where(Project.workspace_id == workspace_id, Project.slug == slug))
    )
    if taken:
        raise slug_taken(slug)


def _flush_or_conflict(session: Session, slug: str) -> None:
    # The check above answers the common case with a clear message; the unique constraint
    # still decides when two requests race for one slug.
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise slug_taken(slug) from error
