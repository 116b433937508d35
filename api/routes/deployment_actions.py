"""deployments.promoteDeployment / rollbackDeployment / startDeployment / stopDeployment,
and listBuildLogs.

The four actions are validated here, against the same rules as a deployment's
`availableActions`, and carried out by the environment's workflow (api.temporal): they
answer 202 once the workflow has the request. As in Unkey, a key without the action's
permission gets the same 404 as for a deployment that does not exist, so permissions never
reveal which deployments exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Caller
from api.build_logs import entry_out, readable_deployment
from api.crud import deployment_queries as queries
from api.deployment_state import DeploymentAction, refusal
from api.deps import MetaDep, RootKeyDep, SessionDep, SettingsDep, TemporalDep
from api.errors import UNAVAILABLE_RESPONSE, Forbidden, NotFound, PreconditionFailed
from api.pagination import decode_cursor, encode_cursor, page
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.deployment_actions import BuildLogEntryOut, DeploymentRef, ListBuildLogs
from api.temporal import request_action
from dockyard import build_logs
from dockyard import deployments as core
from dockyard.models import Environment
from dockyard.payloads import EnvironmentInput
from dockyard.settings import Settings

router = resource_router("deployments")

NOT_FOUND = "Deployment '{id}' does not exist in this workspace."
NOT_ACCEPTED = "The {action} of deployment {id} was not sent; nothing changed."


# Each action's operation, and what it does (the operation's description).
ACTIONS: tuple[tuple[DeploymentAction, str, str], ...] = (
    (
        "promote",
        "/v2/deployments.promoteDeployment",
        "Make a ready (or standby, or stopped) production deployment the live one.",
    ),
    (
        "rollback",
        "/v2/deployments.rollbackDeployment",
        "Roll live traffic back TO this earlier production deployment.",
    ),
    (
        "start",
        "/v2/deployments.startDeployment",
        "Run a stopped preview deployment again, with the configuration it was created with.",
    ),
    (
        "stop",
        "/v2/deployments.stopDeployment",
        "Stop a running preview deployment; startDeployment resumes it.",
    ),
)


def _operation(action: DeploymentAction) -> Callable[..., Awaitable[Envelope[Empty]]]:
    async def operation(
        body: DeploymentRef,
        session: SessionDep,
        caller: RootKeyDep,
        settings: SettingsDep,
        temporal: TemporalDep,
        meta: MetaDep,
    ) -> Envelope[Empty]:
        environment = await run_in_threadpool(_validate, action, body, session, caller, settings)
        not_accepted = NOT_ACCEPTED.format(action=action, id=body.deployment_id)
        async with temporal.calling(not_accepted) as client:
            await request_action(client, environment, action, deployment_id=body.deployment_id)
        return Envelope(meta=meta, data=Empty())

    return operation


def _validate(
    action: DeploymentAction,
    body: DeploymentRef,
    session: Session,
    caller: Caller,
    settings: Settings,
) -> EnvironmentInput:
    """The environment whose workflow carries the action out; 404 or 412 otherwise."""
    not_found = NotFound(NOT_FOUND.format(id=body.deployment_id))
    try:
        record = queries.get_deployment(
            session, workspace_id=caller.workspace_id, deployment_id=body.deployment_id
        )
        caller.require("environment", f"{action}_deployment", record.deployment.environment_id)
    except (NotFound, Forbidden) as error:
        raise not_found from error
    deployment = record.deployment
    production = record.environment_kind == "production"
    reason = refusal(
        action,
        deployment_id=deployment.id,
        status=deployment.status,
        environment=record.environment_slug,
        production=production,
        is_current=production and record.environment_current_id == deployment.id,
        app_rolled_back=record.app_rolled_back,
        has_current=record.environment_current_id is not None,
    )
    if reason is not None:
        raise PreconditionFailed(reason)
    environment = session.get_one(Environment, deployment.environment_id)
    return core.environment_input(environment, settings)


for action, path, description in ACTIONS:
    router.post(
        path,
        status_code=202,
        responses=UNAVAILABLE_RESPONSE,
        name=f"{action}_deployment",
        description=description,
    )(_operation(action))


@router.post("/v2/deployments.listBuildLogs")
def list_build_logs(
    body: ListBuildLogs, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[BuildLogEntryOut]:
    """The build output of a deployment, oldest first, as far as it has been written.

    A running build's log grows while it is read: page on with the last cursor, or
    follow it live with the stream (api.routes.build_logs). An image deployment has no
    build, so no entries. A cursor is only accepted as it was returned.
    """
    deployment = readable_deployment(session, caller, body.deployment_id)
    after = decode_cursor(body.cursor, kinds=(int,))[0] if body.cursor is not None else 0
    lines = build_logs.lines_after(
        session,
        deployment_id=deployment.id,
        after_id=after,
        limit=body.limit + 1,
        step_id=body.step_id,
    )
    entries, pagination = page(
        lines, limit=body.limit, cursor_of=lambda line: encode_cursor(line.id)
    )
    return Page(meta=meta, data=[entry_out(line) for line in entries], pagination=pagination)
