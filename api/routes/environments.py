"""environments.getEnvironment / listEnvironments / updateSettings, and dockyard's
createEnvironment."""

from __future__ import annotations

from api.crud import environments as crud
from api.crud.environment_settings import update_settings as update_environment_settings
from api.crud.lookup import find_app, find_app_environment, find_project
from api.deps import MetaDep, RootKeyDep, SessionDep, SettingsDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope
from api.schemas.environment_settings import UpdateSettings
from api.schemas.environments import (
    CreateEnvironment,
    EnvironmentCreated,
    EnvironmentOut,
    EnvironmentRef,
    ListEnvironments,
)
from dockyard.deployments import environment_regions
from dockyard.models import Environment
from dockyard.settings import Settings

router = resource_router("environments")


def _out(environment: Environment, settings: Settings) -> EnvironmentOut:
    # Regions as a deployment would get them: the environment's own, else every region.
    return EnvironmentOut.of(environment, regions=environment_regions(environment, settings))


@router.post("/v2/environments.getEnvironment")
def get_environment(
    body: EnvironmentRef,
    session: SessionDep,
    caller: RootKeyDep,
    settings: SettingsDep,
    meta: MetaDep,
) -> Envelope[EnvironmentOut]:
    _, _, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    caller.require("environment", "read_environment", environment.id)
    return Envelope(meta=meta, data=_out(environment, settings))


@router.post("/v2/environments.listEnvironments")
def list_environments(
    body: ListEnvironments,
    session: SessionDep,
    caller: RootKeyDep,
    settings: SettingsDep,
    meta: MetaDep,
) -> Envelope[list[EnvironmentOut]]:
    caller.require("environment", "read_environment")
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    app = find_app(session, project=project, app=body.app)
    environments = crud.list_environments(session, app=app)
    return Envelope(meta=meta, data=[_out(environment, settings) for environment in environments])


@router.post("/v2/environments.createEnvironment")
def create_environment(
    body: CreateEnvironment, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[EnvironmentCreated]:
    """dockyard extension: add an environment (kind production or preview) to an app."""
    project = find_project(session, workspace_id=caller.workspace_id, project=body.project)
    app = find_app(session, project=project, app=body.app)
    caller.require("app", "create_environment", app.id)
    environment = crud.create_environment(
        session, app=app, slug=body.slug, kind=body.kind, description=body.description
    )
    session.commit()
    return Envelope(meta=meta, data=EnvironmentCreated(id=environment.id))


@router.post("/v2/environments.updateSettings")
def update_settings(
    body: UpdateSettings,
    session: SessionDep,
    caller: RootKeyDep,
    settings: SettingsDep,
    meta: MetaDep,
) -> Envelope[Empty]:
    """Build, runtime and region settings for the environment's later deployments."""
    _, _, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    caller.require("environment", "update_environment", environment.id)
    update_environment_settings(
        session, environment=environment, body=body, regions=settings.regions
    )
    session.commit()
    return Envelope(meta=meta, data=Empty())
