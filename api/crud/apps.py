"""Apps: every app starts with a `production` and a `preview` environment, as in Unkey."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.crud.environments import add_environment
from api.crud.teardown import refuse_if_running
from api.errors import Conflict, PreconditionFailed
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from dockyard.ids import new_id
from dockyard.models import App, Deployment, Environment, Project

DEFAULT_ENVIRONMENTS = (("production", "production"), ("preview", "preview"))
PROTECTED = "App '{slug}' has delete protection enabled. Disable it before deleting the app."


def slug_taken(slug: str, project: Project) -> Conflict:
    return Conflict(f"An app with slug '{slug}' already exists in project '{project.slug}'.")


def create_app(
    session: Session,
    *,
    project: Project,
    name: str,
    slug: str,
    git_repository: str | None,
    default_branch: str | None,
) -> App:
    taken = session.scalar(select(exists().where(App.project_id == project.id, App.slug == slug)))
    if taken:
        raise slug_taken(slug, project)
    app = App(
        id=new_id("app"),
        project_id=project.id,
        name=name,
        slug=slug,
        git_repository=git_repository,
        default_branch=default_branch or "main",
    )
    session.add(app)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent request took the slug after our check
        session.rollback()
        raise slug_taken(slug, project) from error
    for environment_slug, kind in DEFAULT_ENVIRONMENTS:
        add_environment(session, app=app, slug=environment_slug, kind=kind)
    return app


def list_apps(
    session: Session, *, project: Project, limit: int, cursor: str | None, search: str | None
) -> tuple[list[App], Pagination]:
    query = select(App).where(App.project_id == project.id)
    if search:
        query = query.where(
            or_(
                App.name.icontains(search, autoescape=True),
                App.slug.icontains(search, autoescape=True),
            )
        )
    if cursor:
        (after,) = decode_cursor(cursor, kinds=(str,))
        query = query.where(App.id > after)
    rows = session.scalars(query.order_by(App.id).limit(limit + 1)).all()
    return page(rows, limit=limit, cursor_of=lambda app: encode_cursor(app.id))


def current_deployment_ids(session: Session, *, apps: list[App]) -> dict[str, str]:
    """Each app's live deployment: the app's own record, else its production environment's."""
    current: dict[str, str] = {
        app.id: app.current_deployment_id for app in apps if app.current_deployment_id
    }
    missing = [app.id for app in apps if app.id not in current]
    if missing:
        rows = session.execute(
            select(Environment.app_id, Environment.current_deployment_id).where(
                Environment.app_id.in_(missing),
                Environment.kind == "production",
                Environment.current_deployment_id.is_not(None),
            )
        )
        for app_id, deployment_id in rows:
            if deployment_id is not None:
                current.setdefault(app_id, deployment_id)
    return current


def delete_app(session: Session, *, app: App) -> None:
    """Delete the app with its environments and deployments (the schema cascades)."""
    if app.delete_protection:
        raise PreconditionFailed(PROTECTED.format(slug=app.slug))
    refuse_if_running(session, Deployment.app_id == app.id, what=f"App '{app.slug}'")
    session.delete(app)
    session.flush()
