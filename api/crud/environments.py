"""Environments: where an app's deployments run. At most one per app serves production."""

from __future__ import annotations

from sqlalchemy import case, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import Conflict
from dockyard.ids import new_id
from dockyard.models import App, Environment


def slug_taken(slug: str, app: App) -> Conflict:
    return Conflict(f"An environment with slug '{slug}' already exists in app '{app.slug}'.")


def add_environment(
    session: Session, *, app: App, slug: str, kind: str, description: str = ""
) -> Environment:
    """Insert an environment after the caller has checked the app may have it."""
    environment = Environment(
        id=new_id("environment"),
        project_id=app.project_id,
        app_id=app.id,
        slug=slug,
        kind=kind,
        description=description,
    )
    session.add(environment)
    session.flush()
    return environment


def create_environment(
    session: Session, *, app: App, slug: str, kind: str, description: str
) -> Environment:
    taken = session.scalar(
        select(exists().where(Environment.app_id == app.id, Environment.slug == slug))
    )
    if taken:
        raise slug_taken(slug, app)
    if kind == "production":
        # The live domain and "the current deployment" are per app: two production
        # environments would fight over them.
        production = session.scalar(
            select(Environment.slug).where(
                Environment.app_id == app.id, Environment.kind == "production"
            )
        )
        if production is not None:
            raise Conflict(
                f"App '{app.slug}' already has its production environment ('{production}'); "
                "create a preview environment instead."
            )
    try:
        return add_environment(session, app=app, slug=slug, kind=kind, description=description)
    except IntegrityError as error:  # a concurrent request took the slug after our check
        session.rollback()
        raise slug_taken(slug, app) from error


def list_environments(session: Session, *, app: App) -> list[Environment]:
    production_first = case((Environment.kind == "production", 0), else_=1)
    return list(
        session.scalars(
            select(Environment)
            .where(Environment.app_id == app.id)
            .order_by(production_first, Environment.created_at, Environment.slug)
        )
    )
