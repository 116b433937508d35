"""apps.createApp / getApp / listApps / updateApp / deleteApp."""

from __future__ import annotations

from api.crud import apps as crud
from api.crud.lookup import find_app, find_project
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.routes import resource_router
from api.schemas.apps import AppCreated, AppOut, AppRef, CreateApp, ListApps, UpdateApp
from api.schemas.base import Empty, Envelope, Page

router = resource_router("apps")


@router.post("/v2/apps.createApp")
def create_app(
    body: CreateApp, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[AppCreated]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    caller.require("project", "create_app", project.id)
    app = crud.create_app(
        session,
        project=project,
        name=body.name,
        slug=body.slug,
        git_repository=body.git.repository if body.git else None,
        default_branch=body.git.default_branch if body.git else None,
        image=body.oci.image if body.oci else None,
    )
    session.commit()
    return Envelope(meta=meta, data=AppCreated(app_id=app.id))


@router.post("/v2/apps.getApp")
def get_app(
    body: AppRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[AppOut]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    app = find_app(session, project=project, app=body.app)
    caller.require("app", "read_app", app.id)
    current = crud.current_deployment_ids(session, apps=[app])
    return Envelope(meta=meta, data=AppOut.of(app, current_deployment_id=current.get(app.id)))


@router.post("/v2/apps.listApps")
def list_apps(
    body: ListApps, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[AppOut]:
    caller.require("app", "read_app")
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    apps, pagination = crud.list_apps(
        session, project=project, limit=body.limit, cursor=body.cursor, search=body.search
    )
    current = crud.current_deployment_ids(session, apps=apps)
    return Page(
        meta=meta,
        data=[AppOut.of(app, current_deployment_id=current.get(app.id)) for app in apps],
        pagination=pagination,
    )


@router.post("/v2/apps.updateApp")
def update_app(
    body: UpdateApp, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[AppOut]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    app = find_app(session, project=project, app=body.app)
    caller.require("app", "update_app", app.id)
    crud.update_app(session, project=project, app=app, body=body)
    session.commit()
    current = crud.current_deployment_ids(session, apps=[app])
    return Envelope(meta=meta, data=AppOut.of(app, current_deployment_id=current.get(app.id)))


@router.post("/v2/apps.deleteApp", status_code=202)
def delete_app(
    body: AppRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    app = find_app(session, project=project, app=body.app)
    caller.require("app", "delete_app", app.id)
    crud.delete_app(session, app=app)
    session.commit()
    return Envelope(meta=meta, data=Empty())
