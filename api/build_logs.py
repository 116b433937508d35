"""Who may read a deployment's build log, and how one entry reads in Unkey's shape.

deployments.listBuildLogs pages through the log; the stream in api.routes.build_logs
follows it live. Both ask the same question of the same rows (dockyard.build_logs).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth import Caller
from api.crud import deployment_queries as queries
from api.permissions import urn
from api.schemas.deployment_actions import BuildLogEntryOut
from dockyard.models import BuildLogLine, Deployment


def readable_deployment(session: Session, caller: Caller, deployment_id: str) -> Deployment:
    """The deployment, when the caller may read its build log; 404 or 403 otherwise."""
    deployment = queries.get_deployment(
        session, workspace_id=caller.workspace_id, deployment_id=deployment_id
    ).deployment
    path = (
        f"projects/{deployment.project_id}/apps/{deployment.app_id}/environments/"
        f"{deployment.environment_id}/deployments/{deployment.id}"
    )
    caller.require(
        "environment",
        "read_deployment",
        deployment.environment_id,
        also=[urn(caller.workspace_id, f"{path}/buildLogs", "read")],
    )
    return deployment


def entry_out(line: BuildLogLine) -> BuildLogEntryOut:
    output = "stderr" if line.output == "stderr" else "stdout"
    return BuildLogEntryOut(
        time=line.time, step_id=line.step_id, step=line.step, output=output, message=line.message
    )
