"""Rows a test needs before it can deploy: workspace, project, app and its environments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.ids import new_id
from dockyard.models import App, Environment, Project, Workspace


@dataclass(frozen=True)
class Seeded:
    workspace: Workspace
    project: Project
    app: App
    production: Environment
    preview: Environment


def seed_app(
    sessions: sessionmaker[Session], *, project: str = "shop", app: str = "default"
) -> Seeded:
    with sessions.begin() as session:
        workspace = session.scalars(select(Workspace)).first()
        assert workspace is not None, "the sessions fixture creates the workspace"
        project_row = Project(
            id=new_id("project"), workspace_id=workspace.id, slug=project, name=project
        )
        session.add(project_row)
        session.flush()
        app_row = App(id=new_id("app"), project_id=project_row.id, slug=app, name=app)
        production, preview = (
            Environment(
                id=new_id("environment"),
                project_id=project_row.id,
                app_id=app_row.id,
                slug=kind,
                kind=kind,
            )
            for kind in ("production", "preview")
        )
        session.add(app_row)
        session.flush()
        session.add_all([production, preview])
    return Seeded(workspace, project_row, app_row, production, preview)
