"""projects.createProject / getProject / listProjects / updateProject / deleteProject."""

from __future__ import annotations

from api.crud import projects as crud
from api.crud.lookup import find_project
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.projects import (
    CreateProject,
    ListProjects,
    ProjectCreated,
    ProjectOut,
    ProjectRef,
    UpdateProject,
)

router = resource_router("projects")


@router.post("/v2/projects.createProject")
def create_project(
    body: CreateProject, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[ProjectCreated]:
    caller.require("project", "create_project")
    project = crud.create_project(
        session, workspace_id=caller.workspace_id, name=body.name, slug=body.slug
    )
    session.commit()
    return Envelope(meta=meta, data=ProjectCreated(id=project.id))


@router.post("/v2/projects.getProject")
def get_project(
    body: ProjectRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[ProjectOut]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    caller.require("project", "read_project", project.id)
    return Envelope(meta=meta, data=ProjectOut.of(project))


@router.post("/v2/projects.listProjects")
def list_projects(
    body: ListProjects, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[ProjectOut]:
    caller.require("project", "read_project")
    projects, pagination = crud.list_projects(
        session,
        workspace_id=caller.workspace_id,
        limit=body.limit,
        cursor=body.cursor,
        search=body.search,
    )
    return Page(meta=meta, data=[ProjectOut.of(p) for p in projects], pagination=pagination)


@router.post("/v2/projects.updateProject")
def update_project(
    body: UpdateProject, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[ProjectOut]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    caller.require("project", "update_project", project.id)
    crud.update_project(
        session,
        project=project,
        name=body.name,
        slug=body.slug,
        delete_protection=body.delete_protection,
    )
    session.commit()
    return Envelope(meta=meta, data=ProjectOut.of(project))


@router.post("/v2/projects.deleteProject", status_code=202)
def delete_project(
    body: ProjectRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    caller.require("project", "delete_project", project.id)
    crud.delete_project(session, project=project)
    session.commit()
    return Envelope(meta=meta, data=Empty())
