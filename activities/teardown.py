"""Deleting a project: what runs for it, stopping its workflows, and removing its rows.

Containers are removed by the region activities (InstanceActivities.remove_instances);
these run on the control queue. Every step is idempotent, so a retried activity, or a
second deletion of the same project, finds less to do and does it again harmlessly.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from dockyard.events import Events
from dockyard.models import Deployment, Environment, Instance, Project
from dockyard.payloads import (
    DeleteProjectInput,
    DeploymentRegions,
    TeardownPlan,
    TerminateWorkflowsInput,
    deployment_workflow_id,
    environment_workflow_id,
)
from dockyard.specs import RegionSpec


class ProjectTeardown:
    def __init__(self, sessions: sessionmaker[Session], events: Events, client: Client) -> None:
        self._sessions = sessions
        self._events = events
        self._client = client

    @activity.defn(name="plan project teardown")
    def plan(self, request: DeleteProjectInput) -> TeardownPlan:
        """The project's environment and deployment workflows, and each deployment's
        regions: those it was planned for and those any of its instances ran in."""
        with self._sessions() as session:
            environments = session.scalars(
                select(Environment.id).where(Environment.project_id == request.project_id)
            ).all()
            deployments = session.scalars(
                select(Deployment).where(Deployment.project_id == request.project_id)
            ).all()
            deployed: list[DeploymentRegions] = []
            for deployment in deployments:
                ran_in = session.scalars(
                    select(Instance.region)
                    .where(Instance.deployment_id == deployment.id)
                    .distinct()
                ).all()
                planned = [RegionSpec.model_validate(r).name for r in deployment.regions or []]
                regions = sorted({*planned, *ran_in})
                deployed.append(DeploymentRegions(deployment_id=deployment.id, regions=regions))
        return TeardownPlan(
            workflow_ids=[
                *(environment_workflow_id(environment_id) for environment_id in environments),
                *(deployment_workflow_id(d.deployment_id) for d in deployed),
            ],
            deployments=deployed,
        )

    @activity.defn(name="terminate project workflows")
    async def terminate(self, request: TerminateWorkflowsInput) -> None:
        """Nothing of the project flips a route or starts an instance after this; a
        workflow that already ended (or never started) is fine."""
        for workflow_id in request.workflow_ids:
            try:
                await self._client.get_workflow_handle(workflow_id).terminate(reason=request.reason)
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise

    @activity.defn(name="delete project rows")
    def delete_rows(self, request: DeleteProjectInput) -> None:
        """Apps, environments, deployments and domains go with the project (the schema
        cascades); each edge then drops the environments' routes, and the Sentinel
        supervisors the environments' replicas."""
        with self._sessions.begin() as session:
            project = session.get(Project, request.project_id)
            if project is None:
                return
            environments = session.scalars(
                select(Environment.id).where(Environment.project_id == project.id)
            ).all()
            session.delete(project)
        for environment_id in environments:
            self._events.routes_changed(environment_id)
