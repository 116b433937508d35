"""Deleting a project, durably: the API accepts with 202 and this workflow finishes it.

Its environments' and deployments' workflows are terminated first, so nothing flips a
route or starts an instance behind the teardown; then every deployment's containers are
removed in every region; then the rows go (apps, environments, deployments, domains), and
with them the edges' routes and the environments' Sentinel replicas. One workflow per
project (`delete-project-<project id>`): a second request while it runs joins it.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.teardown import ProjectTeardown
    from dockyard.payloads import (
        PROJECT_DELETION_WORKFLOW,
        DeleteProjectInput,
        TerminateWorkflowsInput,
    )
    from workflows import instances
    from workflows.options import QUICK, TEARDOWN_RETRY


@workflow.defn(name=PROJECT_DELETION_WORKFLOW)
class ProjectDeletionWorkflow:
    @workflow.run
    async def run(self, request: DeleteProjectInput) -> None:
        plan = await workflow.execute_activity_method(
            ProjectTeardown.plan, request, start_to_close_timeout=QUICK, retry_policy=TEARDOWN_RETRY
        )
        await workflow.execute_activity_method(
            ProjectTeardown.terminate,
            TerminateWorkflowsInput(
                workflow_ids=plan.workflow_ids, reason=f"project {request.project_id} deleted"
            ),
            start_to_close_timeout=QUICK,
            retry_policy=TEARDOWN_RETRY,
        )
        await asyncio.gather(
            *(
                instances.stop(deployment.deployment_id, deployment.regions, request.queues)
                for deployment in plan.deployments
            )
        )
        await workflow.execute_activity_method(
            ProjectTeardown.delete_rows,
            request,
            start_to_close_timeout=QUICK,
            retry_policy=TEARDOWN_RETRY,
        )
