"""One long-lived workflow per environment: the only writer of its routes.

Deploy finalization, rollback, promote, start and stop all go through it, one at a time
under a lock, so two route changes of one environment can never race. It also owns the
environment's clocks: a production deployment replaced as live stays warm for
`standby_time`, then stops; a preview deployment with no request for `preview_idle_time`
is archived. Both are durable timers: they survive any restart.

A route change is done once every region's edge routes it: a deployment becomes `ready`,
and a rollback or promote returns, only then.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.lifecycle import LifecycleActivities
    from dockyard.payloads import (
        ENVIRONMENT_WORKFLOW,
        DeploymentPlan,
        EnvironmentInput,
        FinalizeInput,
        FlipRoutesInput,
        IdleCheckInput,
        LifecycleRequest,
        LifecycleResult,
        RouteChange,
    )
    from workflows import instances, routes
    from workflows.options import ENVIRONMENT_RETRY, QUICK

NOT_PRODUCTION = "rollback needs a production environment; use promote or start for previews"
WAKE_PREVIEW_ONLY = "only preview deployments wake on request; production standby is unchanged"


class Running(BaseModel):
    """A deployment with instances up, and when the workflow next looks at it."""

    deployment_id: str
    regions: list[str]
    until: datetime


class EnvironmentState(BaseModel):
    """Everything the workflow knows; carried across continue-as-new."""

    live_deployment_id: str | None = None
    live_regions: list[str] = Field(default_factory=list)
    rolled_back: bool = False
    standby: list[Running] = Field(default_factory=list)  # production: warm for rollback
    previews: list[Running] = Field(default_factory=list)  # preview: alive while used


class EnvironmentRun(BaseModel):
    environment: EnvironmentInput
    state: EnvironmentState = Field(default_factory=EnvironmentState)


@workflow.defn(name=ENVIRONMENT_WORKFLOW)
class EnvironmentWorkflow:
    # @workflow.init: an update that starts this workflow (update-with-start) runs before
    # `run`, so the state must exist from construction.
    @workflow.init
    def __init__(self, start: EnvironmentInput | EnvironmentRun) -> None:
        run = start if isinstance(start, EnvironmentRun) else EnvironmentRun(environment=start)
        self._env: EnvironmentInput = run.environment
        self._state: EnvironmentState = run.state
        self._lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, start: EnvironmentInput | EnvironmentRun) -> None:
        while True:
            await self._sleep_until_next_deadline()
            await self._stop_expired_standbys()
            await self._archive_idle_previews()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(EnvironmentRun(environment=self._env, state=self._state))

    @workflow.query
    def state(self) -> EnvironmentState:
        return self._state

    # Deploy finalization -------------------------------------------------------------
    @workflow.update
    async def finalize(self, request: FinalizeInput) -> RouteChange:
        async with self._lock:
            take_live = not (self._env.production and self._state.rolled_back)
            change = await self._flip(
                request.deployment_id, take_live=take_live, regions=request.regions
            )
            if take_live:
                self._replace_live(request.deployment_id, request.regions)
            else:
                # Rolled back: the new deployment is ready beside live, warm for a promote.
                self._state.standby.append(self._warm(request.deployment_id, request.regions))
            return change

    # Rollback and promote ------------------------------------------------------------
    @workflow.signal(name="rollback")
    async def rollback_signal(self, request: LifecycleRequest) -> None:
        # A signal has no caller to answer: an invalid target is logged and ignored.
        try:
            await self._make_live(request.deployment_id, rolled_back=True)
        except ApplicationError as error:
            workflow.logger.warning("rollback to %s refused: %s", request.deployment_id, error)

    @workflow.update(name="rollback_to")
    async def rollback(self, request: LifecycleRequest) -> LifecycleResult:
        return await self._make_live(request.deployment_id, rolled_back=True)

    @rollback.validator
    def _validate_rollback(self, request: LifecycleRequest) -> None:
        if not self._env.production:
            raise ValueError(NOT_PRODUCTION)
        self._validate_target(request)

    @workflow.signal(name="promote")
    async def promote_signal(self, request: LifecycleRequest) -> None:
        try:
            await self._make_live(request.deployment_id, rolled_back=False)
        except ApplicationError as error:
            workflow.logger.warning("promote of %s refused: %s", request.deployment_id, error)

    @workflow.update(name="promote_to")
    async def promote(self, request: LifecycleRequest) -> LifecycleResult:
        return await self._make_live(request.deployment_id, rolled_back=False)

    @promote.validator
    def _validate_promote(self, request: LifecycleRequest) -> None:
        if request.deployment_id == self._state.live_deployment_id and not self._state.rolled_back:
            raise ValueError(f"deployment {request.deployment_id} is already live")

    # Preview start and stop ----------------------------------------------------------
    @workflow.signal(name="start")
    async def start_signal(self, request: LifecycleRequest) -> None:
        try:
            await self._start(request)
        except ApplicationError as error:
            workflow.logger.warning("start of %s refused: %s", request.deployment_id, error)

    @workflow.signal(name="stop")
    async def stop_signal(self, request: LifecycleRequest) -> None:
        if self._env.production and request.deployment_id == self._state.live_deployment_id:
            workflow.logger.warning("the live production deployment cannot be stopped")
            return
        try:
            await self._stop(request)
        except ApplicationError as error:
            workflow.logger.warning("stop of %s refused: %s", request.deployment_id, error)

    @workflow.update(name="start_deployment")
    async def start(self, request: LifecycleRequest) -> LifecycleResult:
        return await self._start(request)

    async def _start(self, request: LifecycleRequest) -> LifecycleResult:
        async with self._lock:
            plan = await self._load(request.deployment_id)
            if not plan.running:
                await instances.start(plan, self._env.queues)
            await instances.set_status(plan.deployment_id, "ready")
            regions = [region.name for region in plan.regions]
            if not self._env.production and not self._tracked(plan.deployment_id):
                self._state.previews.append(self._idle_clock(plan.deployment_id, regions))
            self._changed = True
            return self._result(plan.deployment_id, started=not plan.running)

    @workflow.update(name="stop_deployment")
    async def stop(self, request: LifecycleRequest) -> LifecycleResult:
        return await self._stop(request)

    async def _stop(self, request: LifecycleRequest) -> LifecycleResult:
        async with self._lock:
            plan = await self._load(request.deployment_id)
            await instances.stop(
                plan.deployment_id, [r.name for r in plan.regions], self._env.queues
            )
            self._untrack(plan.deployment_id)
            self._changed = True
            return self._result(plan.deployment_id)

    @stop.validator
    def _validate_stop(self, request: LifecycleRequest) -> None:
        if self._env.production and request.deployment_id == self._state.live_deployment_id:
            raise ValueError("the live production deployment cannot be stopped; roll back first")

    # Wake on request ---------------------------------------------------------------
    @workflow.update(name="wake_deployment")
    async def wake(self, request: LifecycleRequest) -> LifecycleResult:
        """A request reached a stopped preview (its Sentinel replica holds it): start it
        as `start` does, idle clock included. Wakes that queue behind the first find it
        running and start nothing."""
        return await self._start(request)

    @wake.validator
    def _validate_wake(self, request: LifecycleRequest) -> None:
        if self._env.production:
            raise ValueError(WAKE_PREVIEW_ONLY)

    # The moves themselves ------------------------------------------------------------
    async def _make_live(self, deployment_id: str, *, rolled_back: bool) -> LifecycleResult:
        async with self._lock:
            plan = await self._load(deployment_id)
            if plan.environment_id != self._env.environment_id:
                raise ApplicationError(
                    f"deployment {deployment_id} belongs to another environment",
                    type="invalid_state",
                    non_retryable=True,
                )
            started = not plan.running
            if started:
                await instances.start(plan, self._env.queues)
            self._untrack(deployment_id)
            regions = [region.name for region in plan.regions]
            await self._flip(
                deployment_id,
                take_live=True,
                rolled_back=rolled_back,
                regions=regions,
                ready=plan.status == "ready",
            )
            self._replace_live(deployment_id, regions)
            self._state.rolled_back = rolled_back and self._env.production
            return self._result(deployment_id, started=started)

    async def _flip(
        self,
        deployment_id: str,
        *,
        take_live: bool,
        regions: list[str],
        rolled_back: bool | None = None,
        ready: bool = False,
    ) -> RouteChange:
        """`regions`: the deployment's; live's edges route the environment too."""
        return await routes.flip(
            FlipRoutesInput(
                environment_id=self._env.environment_id,
                deployment_id=deployment_id,
                take_live=take_live,
                rolled_back=rolled_back,
            ),
            queues=self._env.queues,
            regions=[*regions, *self._state.live_regions],
            ready=ready,
        )

    def _replace_live(self, deployment_id: str, regions: list[str]) -> None:
        previous, previous_regions = self._state.live_deployment_id, self._state.live_regions
        self._state.live_deployment_id, self._state.live_regions = deployment_id, regions
        if self._env.production:
            if previous and previous != deployment_id:
                self._state.standby.append(self._warm(previous, previous_regions))
        elif not self._tracked(deployment_id):
            self._state.previews.append(self._idle_clock(deployment_id, regions))
        self._changed = True

    async def _load(self, deployment_id: str) -> DeploymentPlan:
        return await workflow.execute_activity_method(
            LifecycleActivities.load_plan,
            LifecycleRequest(deployment_id=deployment_id),
            start_to_close_timeout=QUICK,
            retry_policy=ENVIRONMENT_RETRY,
        )

    # Clocks --------------------------------------------------------------------------
    async def _sleep_until_next_deadline(self) -> None:
        self._changed = False
        deadlines = [entry.until for entry in self._state.standby + self._state.previews]
        timeout = (min(deadlines) - workflow.now()) if deadlines else None
        if timeout is not None and timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changed or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
            )

    async def _stop_expired_standbys(self) -> None:
        async with self._lock:
            for entry in [e for e in self._state.standby if e.until <= workflow.now()]:
                await instances.stop(entry.deployment_id, entry.regions, self._env.queues)
                self._state.standby.remove(entry)

    async def _archive_idle_previews(self) -> None:
        """Sentinel records traffic; the workflow reads it only at the deadline."""
        async with self._lock:
            for entry in [e for e in self._state.previews if e.until <= workflow.now()]:
                last_ms = await workflow.execute_activity_method(
                    LifecycleActivities.last_request,
                    IdleCheckInput(deployment_id=entry.deployment_id),
                    start_to_close_timeout=QUICK,
                    retry_policy=ENVIRONMENT_RETRY,
                )
                idle_until = datetime.fromtimestamp(last_ms / 1000, tz=workflow.now().tzinfo)
                idle_until += self._env.preview_idle_time
                if idle_until > workflow.now():
                    entry.until = idle_until
                    continue
                await instances.stop(entry.deployment_id, entry.regions, self._env.queues)
                self._state.previews.remove(entry)

    def _warm(self, deployment_id: str, regions: list[str]) -> Running:
        until = workflow.now() + self._env.standby_time
        return Running(deployment_id=deployment_id, regions=regions, until=until)

    def _idle_clock(self, deployment_id: str, regions: list[str]) -> Running:
        until = workflow.now() + self._env.preview_idle_time
        return Running(deployment_id=deployment_id, regions=regions, until=until)

    def _tracked(self, deployment_id: str) -> bool:
        return any(
            e.deployment_id == deployment_id for e in self._state.standby + self._state.previews
        )

    def _untrack(self, deployment_id: str) -> None:
        self._state.standby = [e for e in self._state.standby if e.deployment_id != deployment_id]
        self._state.previews = [e for e in self._state.previews if e.deployment_id != deployment_id]

    def _validate_target(self, request: LifecycleRequest) -> None:
        if request.deployment_id == self._state.live_deployment_id:
            raise ValueError(f"deployment {request.deployment_id} is already live")

    def _result(self, deployment_id: str, *, started: bool = False) -> LifecycleResult:
        return LifecycleResult(
            deployment_id=deployment_id,
            live_deployment_id=self._state.live_deployment_id,
            rolled_back=self._state.rolled_back,
            started_instances=started,
        )
