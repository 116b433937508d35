"""Finding a resource by what a caller sends: its prefixed id or its slug.

Slugs never contain `_` and ids always do, so one identifier cannot match two rows.
Everything is scoped to the caller's workspace: another workspace's rows do not exist here.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.errors import NotFound
from dockyard.models import App, Deployment, Environment, Project


def find_project(session: Session, *, workspace_id: str, project: str) -> Project:
    row = session.scalar(
        select(Project).where(
            Project.workspace_id == workspace_id,
            or_(Project.id == project, Project.slug == project),
        )
    )
    if row is None:
        raise NotFound(f"Project '{project}' does not exist in this workspace.")
    return row


def find_app(session: Session, *, project: Project, app: str) -> App:
    row = session.scalar(
        select(App).where(App.project_id == project.id, or_(App.id == app, App.slug == app))
    )
    if row is None:
        raise NotFound(f"App '{app}' does not exist in project '{project.slug}'.")
    return row


def find_environment(session: Session, *, app: App, environment: str) -> Environment:
    row = session.scalar(
        select(Environment).where(
            Environment.app_id == app.id,
            or_(Environment.id == environment, Environment.slug == environment),
        )
    )
    if row is None:
        raise NotFound(f"Environment '{environment}' does not exist in app '{app.slug}'.")
    return row


def find_app_environment(
    session: Session, *, workspace_id: str, project: str, app: str, environment: str
) -> tuple[Project, App, Environment]:
    project_row = find_project(session, workspace_id=workspace_id, project=project)
    app_row = find_app(session, project=project_row, app=app)
    return project_row, app_row, find_environment(session, app=app_row, environment=environment)


def find_deployment(session: Session, *, workspace_id: str, deployment_id: str) -> Deployment:
    row = session.scalar(
        select(Deployment).where(
            Deployment.workspace_id == workspace_id, Deployment.id == deployment_id
        )
    )
    if row is None:
        raise NotFound(f"Deployment '{deployment_id}' does not exist in this workspace.")
    return row
