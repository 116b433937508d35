"""Starting and stopping an existing deployment's instances, from inside a workflow."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.instances import InstanceActivities
    from activities.lifecycle import LifecycleActivities
    from dockyard.payloads import (
        DeploymentPlan,
        RemoveInstancesInput,
        SetStatusInput,
        StartInstancesInput,
        TaskQueues,
        WaitHealthyInput,
    )

RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
HEARTBEAT = timedelta(seconds=10)


async def start(plan: DeploymentPlan, queues: TaskQueues) -> None:
    """Bring a stopped deployment back: every region's instances, healthy, before traffic."""

    async def region(name: str, replicas: int) -> None:
        refs = await workflow.execute_activity_method(
            InstanceActivities.start_instances,
            StartInstancesInput(
                deployment_id=plan.deployment_id,
                environment_id=plan.environment_id,
                region=name,
                replicas=replicas,
                image=plan.image,
                runtime=plan.runtime,
            ),
            task_queue=queues.region(name),
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
            summary=f"schedule in region {name}",
        )
        check = plan.runtime.healthcheck
        budget = timedelta(seconds=check.startup_deadline_seconds if check else 30)
        await workflow.execute_activity_method(
            InstanceActivities.wait_healthy,
            WaitHealthyInput(
                deployment_id=plan.deployment_id,
                region=name,
                instances=refs,
                healthcheck=check,
                port=plan.runtime.port,
            ),
            task_queue=queues.region(name),
            start_to_close_timeout=budget + timedelta(minutes=1),
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
            summary=f"wait for health in region {name}",
        )

    await asyncio.gather(*(region(r.name, r.replicas) for r in plan.regions))


async def stop(deployment_id: str, regions: list[str], queues: TaskQueues) -> None:
    """Out of routing first, then drained and stopped; the record says `stopped`."""
    await asyncio.gather(
        *(
            workflow.execute_activity_method(
                InstanceActivities.remove_instances,
                RemoveInstancesInput(deployment_id=deployment_id, region=region),
                task_queue=queues.region(region),
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=HEARTBEAT,
                retry_policy=RETRY,
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
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RETRY,
    )
