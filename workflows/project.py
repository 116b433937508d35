"""Deleting a project, durably: the API accepts with 202 and this workflow finishes it.

Its environments' and deployments' workflows are terminated first, so nothing flips a
route or starts an instance behind the teardown; then every deployment's containers are
removed in every region; then the rows go (apps, environments, deployments, domains), and
with them the edges' routes and the environments' Sentinel replicas. One workflow per
project (`delete-project-<project id>`): a second request while it runs joins it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.teardown import ProjectTeardown
    from dockyard.payloads import (
        PROJECT_DELETION_WORKFLOW,
        DeleteProjectInput,
        TerminateWorkflowsInput,
    )
    from workflows import instances

# Unbounded attempts: a project half torn down is worse than a teardown that waits for the
# database or a region's worker to come back.
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
QUICK = timedelta(seconds=30)


@workflow.defn(name=PROJECT_DELETION_WORKFLOW)
class ProjectDeletionWorkflow:
    @workflow.run
    async def run(self, request: DeleteProjectInput) -> None:
        plan = await workflow.execute_activity_method(
            ProjectTeardown.plan, request, start_to_close_timeout=QUICK, retry_policy=RETRY
        )
        await workflow.execute_activity_method(
            ProjectTeardown.terminate,
            TerminateWorkflowsInput(
                workflow_ids=plan.workflow_ids, reason=f"project {request.project_id} deleted"
            ),
            start_to_close_timeout=QUICK,
            retry_policy=RETRY,
        )
        await asyncio.gather(
            *(
                instances.stop(deployment.deployment_id, deployment.regions, request.queues)
                for deployment in plan.deployments
            )
        )
        await workflow.execute_activity_method(
            ProjectTeardown.delete_rows, request, start_to_close_timeout=QUICK, retry_policy=RETRY
        )
