"""A deployment's instances, from inside a workflow: started, healthy, stopped.

The steps per region (`schedule`, `wait_healthy`, `remove`) serve the deployment workflow
and the environment's moves alike; `start` and `stop` are the environment's.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.instances import InstanceActivities
    from activities.lifecycle import LifecycleActivities
    from dockyard.payloads import (
        DeploymentInput,
        DeploymentPlan,
        InstanceRef,
        RemoveInstancesInput,
        SetStatusInput,
        StartInstancesInput,
        TaskQueues,
        WaitHealthyInput,
    )
    from workflows.options import (
        ENVIRONMENT_RETRY,
        HEARTBEAT,
        QUICK,
        REGION_PICKUP,
        REMOVAL,
        STARTUP,
        health_wait,
    )


# Histories recorded before a failed start cleaned up after itself (and before its regions
# were all waited for when one failed).
CLEAN_FAILED_START = "clean-failed-start"


def per_region(deployment: DeploymentInput | DeploymentPlan) -> list[StartInstancesInput]:
    """What starting the deployment asks of each of its regions."""
    return [
        StartInstancesInput(
            deployment_id=deployment.deployment_id,
            environment_id=deployment.environment_id,
            region=region.name,
            replicas=region.replicas,
            image=deployment.image or "",
            runtime=deployment.runtime,
        )
        for region in deployment.regions
    ]


async def schedule(
    start: StartInstancesInput, queues: TaskQueues, *, retry: RetryPolicy
) -> list[InstanceRef]:
    """One region's instances, started (not yet healthy)."""
    return await workflow.execute_activity_method(
        InstanceActivities.start_instances,
        start,
        task_queue=queues.region(start.region),
        schedule_to_start_timeout=REGION_PICKUP,
        start_to_close_timeout=STARTUP,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=retry,
        summary=f"schedule in region {start.region}",
    )


async def wait_healthy(
    start: StartInstancesInput,
    instances: list[InstanceRef],
    queues: TaskQueues,
    *,
    retry: RetryPolicy,
) -> None:
    """Until every one of a region's new instances answers its health check."""
    check = start.runtime.healthcheck
    await workflow.execute_activity_method(
        InstanceActivities.wait_healthy,
        WaitHealthyInput(
            deployment_id=start.deployment_id,
            region=start.region,
            instances=instances,
            healthcheck=check,
            port=start.runtime.port,
        ),
        task_queue=queues.region(start.region),
        schedule_to_start_timeout=REGION_PICKUP,
        start_to_close_timeout=health_wait(check),
        heartbeat_timeout=HEARTBEAT,
        retry_policy=retry,
        summary=f"wait for health in region {start.region}",
    )


async def remove(
    request: RemoveInstancesInput,
    queues: TaskQueues,
    *,
    retry: RetryPolicy,
    summary: str | None = None,
    pickup: timedelta | None = None,
) -> None:
    """One region's instances: out of routing, drained, stopped. `pickup`: give up when no
    worker of the region takes the work within it (None: wait for the region to return)."""
    await workflow.execute_activity_method(
        InstanceActivities.remove_instances,
        request,
        task_queue=queues.region(request.region),
        schedule_to_start_timeout=pickup,
        start_to_close_timeout=REMOVAL,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=retry,
        summary=summary,
    )


async def start(plan: DeploymentPlan, queues: TaskQueues) -> None:
    """Bring a stopped deployment back: every region's instances, healthy, before traffic.

    If a region's instances do not come up (the image is gone, the app exits or fails its
    health check), every region finishes what it was doing, then what did start is
    removed everywhere and the deployment says `stopped`: a failed start, promote or wake
    leaves nothing running unhealthy, and the next attempt begins clean."""

    async def region(request: StartInstancesInput) -> None:
        refs = await schedule(request, queues, retry=ENVIRONMENT_RETRY)
        await wait_healthy(request, refs, queues, retry=ENVIRONMENT_RETRY)

    requests = per_region(plan)
    if not workflow.patched(CLEAN_FAILED_START):
        await asyncio.gather(*(region(request) for request in requests))
        return
    outcomes = await asyncio.gather(
        *(region(request) for request in requests), return_exceptions=True
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    for failure in failures:
        if isinstance(failure, asyncio.CancelledError):
            raise failure
    if failures:
        await stop(plan.deployment_id, [request.region for request in requests], queues)
        raise failures[0]


async def stop(deployment_id: str, regions: list[str], queues: TaskQueues) -> None:
    """Out of routing first, then drained and stopped; the record says `stopped`."""
    await asyncio.gather(
        *(
            remove(
                RemoveInstancesInput(deployment_id=deployment_id, region=region),
                queues,
                retry=ENVIRONMENT_RETRY,
                summary=f"stop instances in region {region}",
            )
            for region in regions
        )
    )
    await set_status(deployment_id, "stopped")


async def set_status(deployment_id: str, status: str) -> None:
    await workflow.execute_activity_method(
        LifecycleActivities.set_status,
        SetStatusInput(deployment_id=deployment_id, status=status),
        start_to_close_timeout=QUICK,
        retry_policy=ENVIRONMENT_RETRY,
    )
