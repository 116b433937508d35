"""deployments.createDeployment (v2 and v3) / getDeployment / listDeployments."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Caller
from api.crud import deployment_queries as queries
from api.crud import deployments as crud
from api.crud.lookup import find_app_environment
from api.deployment_view import deployment_out
from api.deps import (
    BoxDep,
    MetaDep,
    ReportedTriggerDep,
    RootKeyDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
)
from api.errors import UNAVAILABLE_RESPONSE
from api.permissions import urn
from api.routes import resource_router
from api.schemas.base import Envelope, Page
from api.schemas.deployments import (
    CreateDeployment,
    CreateDeploymentV3,
    DeploymentCreated,
    DeploymentOut,
    GetDeployment,
    ListDeployments,
)
from api.temporal import TEMPORAL_ERRORS, TemporalConnection, launch
from dockyard.crypto import SecretBox
from dockyard.models import App, Environment, Project
from dockyard.settings import Settings

log = logging.getLogger(__name__)
router = resource_router("deployments")


def every_deployment(caller: Caller) -> str:
    """Unkey's resource permission to read every deployment of the workspace."""
    return urn(caller.workspace_id, "projects/*/apps/*/environments/*/deployments/*", "read")


@router.post("/v2/deployments.createDeployment", status_code=201, responses=UNAVAILABLE_RESPONSE)
async def create_deployment(
    body: CreateDeployment,
    session: SessionDep,
    caller: RootKeyDep,
    settings: SettingsDep,
    box: BoxDep,
    temporal: TemporalDep,
    reported_trigger: ReportedTriggerDep,
    meta: MetaDep,
) -> Envelope[DeploymentCreated]:
    """Deploy a pre-built image (`image`), build a commit of the app's repository (`git`),
    or re-run an earlier deployment (`deployment`: a git deployment rebuilds its commit).

    Answers once the deployment row is committed and its workflow started; the rollout
    itself runs in Temporal, so poll deployments.getDeployment for its progress.
    """
    # The database is synchronous: its work runs in the thread pool, off the event loop.
    target = await run_in_threadpool(_resolve, session, caller, settings, body)
    trigger = body.trigger or reported_trigger or "api"
    deployment_id = await _start(target, session, settings, box, temporal, trigger)
    return Envelope(meta=meta, data=DeploymentCreated(deployment_id=deployment_id))


@router.post("/v3/deployments.createDeployment", status_code=201, responses=UNAVAILABLE_RESPONSE)
async def create_deployment_v3(
    body: CreateDeploymentV3,
    session: SessionDep,
    caller: RootKeyDep,
    settings: SettingsDep,
    box: BoxDep,
    temporal: TemporalDep,
    reported_trigger: ReportedTriggerDep,
    meta: MetaDep,
) -> Envelope[DeploymentCreated]:
    """Unkey's v3 shape: `oci`, `git`, `deployment`, or no source for the app's default."""
    target = await run_in_threadpool(_resolve_v3, session, caller, settings, body)
    deployment_id = await _start(
        target, session, settings, box, temporal, reported_trigger or "api"
    )
    return Envelope(meta=meta, data=DeploymentCreated(deployment_id=deployment_id))


async def _start(
    target: _Target,
    session: Session,
    settings: Settings,
    box: SecretBox,
    temporal: TemporalConnection,
    trigger: str,
) -> str:
    """Insert the deployment, then start its workflows; the new deployment's id."""
    # Asked only now, so a bad request is a 4xx even while Temporal is down, and before
    # anything is written, so a 503 here leaves nothing behind for the SDK's retries.
    client = await temporal.client()
    start = await run_in_threadpool(_insert, session, target, settings, box, trigger)
    try:
        await launch(client, start)
    except Exception as error:
        # Whatever went wrong, the row must not stay pending with no workflow behind it.
        unreachable = isinstance(error, TEMPORAL_ERRORS)
        reason = temporal.failed(error) if unreachable else repr(error)
        await run_in_threadpool(_fail, session, start.deployment_id, reason)
        if not unreachable:
            raise
        log.warning("deployment %s not started: %s", start.deployment_id, reason)
        raise temporal.unavailable(
            reason,
            f"Deployment {start.deployment_id} was marked failed; deploy again once "
            "Temporal is up.",
        ) from error
    return start.deployment_id


@dataclass(frozen=True)
class _Target:
    project: Project
    app: App
    environment: Environment
    source: crud.Source


def _deployable(
    session: Session, caller: Caller, body: CreateDeployment | CreateDeploymentV3
) -> tuple[Project, App, Environment]:
    """The environment a deployment is asked for, once the caller may deploy to it."""
    project, app, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    caller.require("environment", "create_deployment", environment.id)
    return project, app, environment


def _resolve(
    session: Session, caller: Caller, settings: Settings, body: CreateDeployment
) -> _Target:
    project, app, environment = _deployable(session, caller, body)
    source: crud.Source
    if body.image is not None:
        source = crud.image_from_request(body.image.docker_image, body.git)
    elif body.git is not None:
        source = crud.git_from_request(app, body.git, settings)
    else:
        assert body.deployment is not None  # CreateDeployment guarantees one source
        source = crud.source_of_earlier(
            session,
            workspace_id=caller.workspace_id,
            app=app,
            deployment_id=body.deployment.deployment_id,
        )
    return _Target(project, app, environment, source)


def _resolve_v3(
    session: Session, caller: Caller, settings: Settings, body: CreateDeploymentV3
) -> _Target:
    project, app, environment = _deployable(session, caller, body)
    source: crud.Source
    if body.deployment is not None:
        source = crud.source_of_earlier(
            session,
            workspace_id=caller.workspace_id,
            app=app,
            deployment_id=body.deployment.deployment_id,
        )
    elif body.git is not None or (body.oci is None and app.image is None and app.git_repository):
        source = crud.git_from_request(app, body.git, settings)
    else:
        source = crud.ImageToDeploy(image=crud.image_for_app(app, body.oci))
    return _Target(project, app, environment, source)


def _insert(
    session: Session, target: _Target, settings: Settings, box: SecretBox, trigger: str
) -> crud.WorkflowStart:
    start = crud.create_deployment(
        session,
        settings=settings,
        box=box,
        project=target.project,
        app=target.app,
        environment=target.environment,
        source=target.source,
        trigger=trigger,
    )
    session.commit()
    return start


def _fail(session: Session, deployment_id: str, reason: str) -> None:
    crud.mark_not_started(session, deployment_id=deployment_id, reason=reason)
    session.commit()


@router.post("/v2/deployments.getDeployment")
def get_deployment(
    body: GetDeployment, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[DeploymentOut]:
    """Unkey's Deployment, plus `steps`: each workflow phase with its start and end."""
    record = queries.get_deployment(
        session, workspace_id=caller.workspace_id, deployment_id=body.deployment_id
    )
    deployment = record.deployment
    caller.require(
        "environment",
        "read_deployment",
        deployment.environment_id,
        also=[
            urn(
                caller.workspace_id,
                f"projects/{deployment.project_id}/apps/{deployment.app_id}/environments/"
                f"{deployment.environment_id}/deployments/{deployment.id}",
                "read",
            )
        ],
    )
    domains = queries.domains_of(session, deployment_ids=[record.deployment.id])
    steps = queries.steps_of(session, deployment_id=record.deployment.id)
    instances = queries.instances_of(session, deployment_id=record.deployment.id)
    return Envelope(
        meta=meta,
        data=deployment_out(
            record, domains=domains[record.deployment.id], steps=steps, instances=instances
        ),
    )


@router.post("/v2/deployments.listDeployments")
def list_deployments(
    body: ListDeployments, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[DeploymentOut]:
    caller.require("environment", "read_deployment", also=[every_deployment(caller)])
    records, pagination = queries.list_deployments(
        session, workspace_id=caller.workspace_id, filters=body
    )
    domains = queries.domains_of(
        session, deployment_ids=[record.deployment.id for record in records]
    )
    return Page(
        meta=meta,
        data=[deployment_out(r, domains=domains[r.deployment.id]) for r in records],
        pagination=pagination,
    )
