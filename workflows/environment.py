"""One long-lived workflow per environment: the only writer of its routes.

Deploy finalization (and, later, rollback and promote) go through it, so two route changes
of one environment can never race. It also owns the standby timers: a deployment replaced
as live stays warm for `standby_time`, then its instances stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.instances import InstanceActivities
    from activities.routes import RouteActivities
    from dockyard.payloads import (
        ENVIRONMENT_WORKFLOW,
        EnvironmentInput,
        FinalizeInput,
        FlipRoutesInput,
        RemoveInstancesInput,
        RouteChange,
        StopDeploymentInput,
    )

RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)


class Standby(BaseModel):
    deployment_id: str
    regions: list[str]
    until: datetime


class EnvironmentState(BaseModel):
    """Everything the workflow knows; carried across continue-as-new."""

    live_deployment_id: str | None = None
    live_regions: list[str] = Field(default_factory=list)
    standby: list[Standby] = Field(default_factory=list)


class EnvironmentRun(BaseModel):
    environment: EnvironmentInput
    state: EnvironmentState = Field(default_factory=EnvironmentState)


@workflow.defn(name=ENVIRONMENT_WORKFLOW)
class EnvironmentWorkflow:
    def __init__(self) -> None:
        self._state = EnvironmentState()
        self._input: EnvironmentInput | None = None
        self._lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, start: EnvironmentInput | EnvironmentRun) -> None:
        run = start if isinstance(start, EnvironmentRun) else EnvironmentRun(environment=start)
        self._input, self._state = run.environment, run.state
        while True:
            await self._sleep_until_next_event()
            await self._stop_expired_standbys()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    EnvironmentRun(environment=run.environment, state=self._state)
                )

    @workflow.query
    def state(self) -> EnvironmentState:
        return self._state

    @workflow.update
    async def finalize(self, request: FinalizeInput) -> RouteChange:
        async with self._lock:
            change = await workflow.execute_activity_method(
                RouteActivities.flip_routes,
                FlipRoutesInput(
                    environment_id=request.environment_id,
                    deployment_id=request.deployment_id,
                    take_live=True,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
            )
            previous = self._state.live_deployment_id
            if previous and previous != request.deployment_id:
                self._state.standby.append(
                    Standby(
                        deployment_id=previous,
                        regions=self._state.live_regions,
                        until=workflow.now() + self._environment.standby_time,
                    )
                )
            self._state.live_deployment_id = request.deployment_id
            self._state.live_regions = request.regions
            self._changed = True
            return change

    @property
    def _environment(self) -> EnvironmentInput:
        assert self._input is not None
        return self._input

    async def _sleep_until_next_event(self) -> None:
        self._changed = False
        deadlines = [entry.until for entry in self._state.standby]
        timeout = (min(deadlines) - workflow.now()) if deadlines else None
        if timeout is not None and timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changed or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
            )

    async def _stop_expired_standbys(self) -> None:
        now = workflow.now()
        async with self._lock:
            for entry in [e for e in self._state.standby if e.until <= now]:
                await self._stop(entry.deployment_id, entry.regions)
                self._state.standby.remove(entry)

    async def _stop(self, deployment_id: str, regions: list[str]) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    InstanceActivities.remove_instances,
                    RemoveInstancesInput(deployment_id=deployment_id, region=region),
                    task_queue=self._environment.queues.region(region),
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=RETRY,
                )
                for region in regions
            )
        )
        await workflow.execute_activity_method(
            RouteActivities.mark_stopped,
            StopDeploymentInput(deployment_id=deployment_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
