"""One deployment, start to finish: the phases read top to bottom in `run`.

pending -> queued (git: wait for a build slot) -> building (git: the commit, built into an
image) -> deploying (start instances per region, wait until healthy) -> network (domains)
-> finalizing (routes flip through the environment's workflow) -> ready.
Any failure ends it as `failed`, removes what it started, and leaves live traffic alone.
A git deployment overtaken by a newer one of its branch while queued ends `superseded`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from activities.build import BuildActivities
    from activities.build_queue import BuildQueue
    from activities.domains import DomainActivities
    from activities.records import DeploymentRecords
    from activities.routes import RouteActivities
    from dockyard import search_attributes
    from dockyard.payloads import (
        DEPLOYMENT_WORKFLOW,
        AssignDomainsInput,
        BuildInput,
        BuildSlotRequest,
        DeploymentFailure,
        DeploymentInput,
        FinalizeInput,
        ReleaseBuildSlot,
        RemoveInstancesInput,
        StepUpdate,
    )
    from workflows import instances
    from workflows.options import DEPLOY_RETRY, HEARTBEAT, QUICK, REGION_PICKUP, STARTUP

T = TypeVar("T")
QUEUE_WAIT = timedelta(days=1)
# Finalizing lasts until every region's edge routes the deployment: while an edge is down,
# the deployment stays `finalizing` (heartbeats still notice a lost worker).
ROUTES_WAIT = timedelta(days=1)
REGION_DOWN = (
    "region {region} did not finish '{activity}': {what}. Its host, Docker engine or "
    "worker is down, or cannot reach the control plane"
)


@workflow.defn(name=DEPLOYMENT_WORKFLOW)
class DeploymentWorkflow:
    def __init__(self) -> None:
        self._deployment_id = ""
        self._status = "pending"
        self._step = ""
        self._failed_region = ""

    @workflow.query
    def status(self) -> str:
        return self._status

    @workflow.run
    async def run(self, deployment: DeploymentInput) -> str:
        self._deployment_id = deployment.deployment_id
        try:
            if deployment.source == "git":
                await self._enter("queued")
                superseded_by = await self._wait_for_build_slot(deployment)
                if superseded_by:
                    await self._supersede(superseded_by)
                    return "superseded"
                await self._enter("building")
                deployment = await self._build(deployment)
            else:
                await self._skip("queued", "building", reason="image deployments need no build")
            await self._enter("deploying")
            await self._deploy(deployment)
            await self._enter("network")
            await self._assign_domains(deployment)
            await self._enter("finalizing")
            await self._finalize(deployment)
        except ActivityError as error:
            await self._fail(deployment, error)
            return "failed"
        self._set_search_status("ready")
        return "ready"

    async def _wait_for_build_slot(self, deployment: DeploymentInput) -> str | None:
        """None once a build slot is held; else the newer deployment that superseded it."""
        slot = await workflow.execute_activity_method(
            BuildQueue.wait_for_slot,
            BuildSlotRequest(
                deployment_id=deployment.deployment_id, concurrency=deployment.build_concurrency
            ),
            start_to_close_timeout=QUEUE_WAIT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=DEPLOY_RETRY,
        )
        return slot.superseded_by

    async def _build(self, deployment: DeploymentInput) -> DeploymentInput:
        """The deployment with the image it built; the slot is free again either way."""
        try:
            built = await workflow.execute_activity_method(
                BuildActivities.build,
                BuildInput(
                    deployment_id=deployment.deployment_id, timeout=deployment.build_timeout
                ),
                task_queue=deployment.queues.build,
                # The build stops itself at its timeout; this only catches a lost worker.
                start_to_close_timeout=deployment.build_timeout + STARTUP,
                heartbeat_timeout=HEARTBEAT,
                retry_policy=DEPLOY_RETRY,
                summary="fetch the commit and docker build",
            )
        finally:
            await workflow.execute_activity_method(
                BuildQueue.release_slot,
                ReleaseBuildSlot(deployment_id=deployment.deployment_id),
                start_to_close_timeout=QUICK,
                retry_policy=DEPLOY_RETRY,
            )
        return deployment.model_copy(update={"image": built.image})

    async def _deploy(self, deployment: DeploymentInput) -> None:
        """Every region's instances started, then every region's healthy."""
        queues, starts = deployment.queues, instances.per_region(deployment)
        started = await asyncio.gather(
            *(
                self._in_region(start.region, instances.schedule(start, queues, retry=DEPLOY_RETRY))
                for start in starts
            )
        )
        await asyncio.gather(
            *(
                self._in_region(
                    start.region, instances.wait_healthy(start, refs, queues, retry=DEPLOY_RETRY)
                )
                for start, refs in zip(starts, started, strict=True)
            )
        )

    async def _in_region(self, region: str, step: Awaitable[T]) -> T:
        """One region's step; the first region to fail is named in the failure."""
        try:
            return await step
        except ActivityError:
            self._failed_region = self._failed_region or region
            raise

    async def _assign_domains(self, deployment: DeploymentInput) -> None:
        await workflow.execute_activity_method(
            DomainActivities.assign_domains,
            AssignDomainsInput(deployment_id=deployment.deployment_id),
            start_to_close_timeout=QUICK,
            retry_policy=DEPLOY_RETRY,
        )

    async def _finalize(self, deployment: DeploymentInput) -> None:
        await workflow.execute_activity_method(
            RouteActivities.finalize,
            FinalizeInput(
                deployment_id=deployment.deployment_id,
                environment_id=deployment.environment_id,
                production=deployment.production,
                regions=[region.name for region in deployment.regions],
                queues=deployment.queues,
                standby_time=deployment.standby_time,
                preview_idle_time=deployment.preview_idle_time,
            ),
            start_to_close_timeout=ROUTES_WAIT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=DEPLOY_RETRY,
        )

    async def _fail(self, deployment: DeploymentInput, error: ActivityError) -> None:
        cause = error.cause
        code, message = "unknown", str(cause or error)
        if isinstance(cause, ApplicationError):
            code, message = cause.type or "unknown", cause.message
        elif isinstance(cause, TimeoutError) and self._failed_region:
            code, message = "region_unavailable", _region_down(self._failed_region, error, cause)
        # Remove what this deployment started; nothing that serves traffic changes.
        await asyncio.gather(
            *(self._remove_started(deployment, region.name) for region in deployment.regions)
        )
        await workflow.execute_local_activity_method(
            DeploymentRecords.record_failure,
            DeploymentFailure(
                deployment_id=deployment.deployment_id, step=self._step, code=code, message=message
            ),
            start_to_close_timeout=QUICK,
            retry_policy=DEPLOY_RETRY,
        )
        self._set_search_status("failed")

    async def _remove_started(self, deployment: DeploymentInput, region: str) -> None:
        """A region that is down is not waited for: once its host is back, the region's
        watch removes what this deployment left there."""
        try:
            await instances.remove(
                RemoveInstancesInput(
                    deployment_id=deployment.deployment_id,
                    region=region,
                    reason="failed",
                    grace_seconds=0,  # it never served traffic
                    propagation_seconds=0,
                ),
                deployment.queues,
                retry=DEPLOY_RETRY,
                pickup=REGION_PICKUP,
            )
        except ActivityError as error:
            workflow.logger.warning("instances in region %s not removed: %s", region, error)

    async def _supersede(self, newer_deployment_id: str) -> None:
        await self._record(
            status="superseded",
            step="queued",
            step_status="skipped",
            message=f"superseded by {newer_deployment_id}, a newer deployment of this branch",
        )
        self._set_search_status("superseded")

    async def _skip(self, *steps: str, reason: str) -> None:
        for step in steps:
            await self._record(step=step, step_status="skipped", message=reason)

    async def _enter(self, step: str) -> None:
        if self._step:
            await self._complete(self._step)
        self._step = step
        await self._record(status=step, step=step, step_status="running")
        self._set_search_status(step)

    async def _complete(self, step: str) -> None:
        await self._record(step=step, step_status="completed")

    def _set_search_status(self, status: str) -> None:
        self._status = status
        workflow.upsert_search_attributes([search_attributes.STATUS.value_set(status)])

    async def _record(self, **update: str) -> None:
        await workflow.execute_local_activity_method(
            DeploymentRecords.record_progress,
            StepUpdate(deployment_id=self._deployment_id, **update),
            start_to_close_timeout=QUICK,
            retry_policy=DEPLOY_RETRY,
        )


def _region_down(region: str, error: ActivityError, cause: TimeoutError) -> str:
    if cause.type == TimeoutType.SCHEDULE_TO_START:
        what = (
            f"no worker of the region took it within {REGION_PICKUP.total_seconds():.0f}s "
            "(schedule-to-start timeout)"
        )
    elif cause.type == TimeoutType.HEARTBEAT:
        what = "its worker stopped heartbeating (heartbeat timeout)"
    else:
        what = f"it timed out ({cause.message})"
    return REGION_DOWN.format(region=region, activity=error.activity_type, what=what)
