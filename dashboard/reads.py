"""Reads the dashboard needs that Unkey's v2 API has no operation for.

Unkey's own console lists keyspaces through its private API; v2 can only get one by id
(apis.getApi), and gateway.listPolicies shows an environment's policies (what the next
deployment gets), not the ones frozen into a deployment. These are reads only, under the
same root key and permissions as /v2; every change the dashboard makes goes through /v2.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.crud import deployment_queries
from api.crud.gateway import frozen_policies
from api.crud.keyspaces import keyspaces_with_key_counts
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.schemas.base import Envelope, Output
from api.schemas.deployments import GetDeployment
from api.schemas.gateway import StoredPolicy

router = APIRouter()


class KeyspaceSummary(Output):
    id: str
    name: str
    created_at: int
    keys: int


class FrozenPolicies(Output):
    deployment_id: str
    policies: list[StoredPolicy]


@router.post("/dashboard/api/keyspaces")
def list_keyspaces(
    session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[list[KeyspaceSummary]]:
    """The workspace's keyspaces the key may read (`api.<id or *>.read_api`), newest first."""
    rows = keyspaces_with_key_counts(session, workspace_id=caller.workspace_id)
    return Envelope(
        meta=meta,
        data=[
            KeyspaceSummary(
                id=keyspace.id, name=keyspace.name, created_at=keyspace.created_at, keys=keys
            )
            for keyspace, keys in rows
            if caller.allows("api.*.read_api", f"api.{keyspace.id}.read_api")
        ],
    )


@router.post("/dashboard/api/deploymentPolicies")
def deployment_policies(
    body: GetDeployment, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[FrozenPolicies]:
    """The gateway policies a deployment was created with, in order: what its Sentinel
    replicas enforce. The same right as gateway.listPolicies on its environment."""
    deployment = deployment_queries.get_deployment(
        session, workspace_id=caller.workspace_id, deployment_id=body.deployment_id
    ).deployment
    caller.require("environment", "read_policies", deployment.environment_id)
    policies = frozen_policies(session, deployment_id=deployment.id)
    return Envelope(meta=meta, data=FrozenPolicies(deployment_id=deployment.id, policies=policies))
