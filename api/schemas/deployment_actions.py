"""deployments.promote/rollback/start/stopDeployment and listBuildLogs."""

from __future__ import annotations

from typing import Literal

from api.schemas.base import Cursor, Input, Limit, Output, ResourceIdentifier


class DeploymentRef(Input):
    deployment_id: ResourceIdentifier


class ListBuildLogs(Input):
    deployment_id: ResourceIdentifier
    step_id: ResourceIdentifier | None = None
    cursor: Cursor | None = None
    limit: Limit = 100


class BuildLogEntryOut(Output):
    """One chunk of build output, as Unkey's BuildLogEntry."""

    time: int
    step_id: str
    step: str
    output: Literal["stdout", "stderr"]
    message: str
