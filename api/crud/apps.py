"""Apps: every app starts with a `production` and a `preview` environment, as in Unkey."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.crud.environments import add_environment
from api.crud.teardown import refuse_if_running
from api.errors import BadRequest, Conflict, PreconditionFailed
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.apps import UpdateApp
from api.schemas.base import Pagination
from dockyard.ids import new_id
from dockyard.models import App, Deployment, Environment, Project

DEFAULT_ENVIRONMENTS = (("production", "production"), ("preview", "preview"))
PROTECTED = "App '{slug}' has delete protection enabled. Disable it before deleting the app."
SWITCH_TO_OCI = (
    "this app deploys from git; switching an app's source to an OCI image is not supported"
)
SWITCH_TO_GIT = "this app deploys an OCI image; switching an app's source to git is not supported"
SWITCH_FIX = "Create a new app with the other source instead."


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
    image: str | None = None,
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
        image=image,
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


def update_app(session: Session, *, project: Project, app: App, body: UpdateApp) -> App:
    """Apply what was sent; the source kind (git or OCI) never changes."""
    if body.oci is not None and app.image is None:
        raise BadRequest.at("body.oci", SWITCH_TO_OCI, SWITCH_FIX)
    if body.git is not None and app.image is not None:
        raise BadRequest.at("body.git", SWITCH_TO_GIT, SWITCH_FIX)
    if body.slug is not None and body.slug != app.slug:
        taken = session.scalar(
            select(exists().where(App.project_id == project.id, App.slug == body.slug))
        )
        if taken:
            raise slug_taken(body.slug, project)
        app.slug = body.slug
    if body.name is not None:
        app.name = body.name
    if body.delete_protection is not None:
        app.delete_protection = body.delete_protection
    if body.oci is not None:
        app.image = body.oci.image
    if "git" in body.model_fields_set:
        if body.git is None:
            app.git_repository = None
        else:
            app.git_repository = body.git.repository or app.git_repository
            app.default_branch = body.git.default_branch or app.default_branch
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent request took the slug after our check
        session.rollback()
        raise slug_taken(app.slug, project) from error
    return app


def delete_app(session: Session, *, app: App) -> None:
    """Delete the app with its environments and deployments (the schema cascades)."""
    if app.delete_protection:
        raise PreconditionFailed(PROTECTED.format(slug=app.slug))
    refuse_if_running(session, Deployment.app_id == app.id, what=f"App '{app.slug}'")
    session.delete(app)
    session.flush()
