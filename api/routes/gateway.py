"""gateway.setPolicies / listPolicies / updatePolicy, and dockyard's gateway.updateSettings.

Policies belong to an environment and are frozen into each deployment when it is created
(dockyard.keyspaces.freeze_policies): the deployment serving now keeps enforcing what it
was created with, and the next deployment enforces the new list. That is what makes a
deployment immutable, and a rollback restore its policies too.
"""

from __future__ import annotations

from api.crud import gateway as crud
from api.crud.lookup import find_app_environment
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope
from api.schemas.gateway import (
    EnvironmentTarget,
    SetPolicies,
    StoredPolicy,
    UpdateGateway,
    UpdatePolicy,
)
from dockyard.models import Environment

router = resource_router("gateway")


def _environment(session: SessionDep, caller: RootKeyDep, body: EnvironmentTarget) -> Environment:
    _, _, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    return environment


@router.post("/v2/gateway.setPolicies")
def set_policies(
    body: SetPolicies, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    """Replace the whole list, atomically; every policy gets a new id."""
    environment = _environment(session, caller, body)
    caller.require("environment", "set_policies", environment.id)
    crud.set_policies(
        session,
        workspace_id=caller.workspace_id,
        environment=environment,
        policies=list(body.policies),
    )
    session.commit()
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/gateway.listPolicies")
def list_policies(
    body: EnvironmentTarget, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[list[StoredPolicy]]:
    environment = _environment(session, caller, body)
    caller.require("environment", "read_policies", environment.id)
    return Envelope(meta=meta, data=crud.list_policies(session, environment))


@router.post("/v2/gateway.updatePolicy")
def update_policy(
    body: UpdatePolicy, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    """Change one policy in place: same id, same position."""
    environment = _environment(session, caller, body)
    caller.require("environment", "update_policy", environment.id)
    crud.update_policy(
        session, workspace_id=caller.workspace_id, environment=environment, body=body
    )
    session.commit()
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/gateway.updateSettings")
def update_settings(
    body: UpdateGateway, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    """dockyard extension: run more Sentinel replicas per region than the environment
    kind's default (3 for production, 1 for a preview); null goes back to the default.
    The edges start or stop replicas within a second."""
    environment = _environment(session, caller, body)
    caller.require("environment", "update_environment", environment.id)
    crud.set_replicas(session, environment, body.sentinel_replicas)
    session.commit()
    return Envelope(meta=meta, data=Empty())
