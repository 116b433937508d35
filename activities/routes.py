"""Finalizing: routes flip to a new deployment, serialized per environment."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.domains import planned_domains, point
from dockyard.custom_domains import follow_live
from dockyard.domains import MOVING_KINDS, DomainKind
from dockyard.events import Events
from dockyard.models import App, Deployment, DeploymentStep, Environment, now_ms
from dockyard.payloads import (
    ENVIRONMENT_WORKFLOW,
    EnvironmentInput,
    FinalizeInput,
    FlipRoutesInput,
    MarkReadyInput,
    RouteChange,
    environment_workflow_id,
)

FOLLOWS_LIVE = frozenset({DomainKind.ENVIRONMENT, DomainKind.LIVE})
HEARTBEAT_SECONDS = 2.0


class RouteActivities:
    def __init__(
        self, sessions: sessionmaker[Session], events: Events, apex: str, client: Client
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._apex = apex
        self._client = client

    @activity.defn(name="finalize")
    async def finalize(self, request: FinalizeInput) -> RouteChange:
        """Ask the environment's workflow to flip routes; it starts if it is not running.

        The update id is derived from the deployment, so a retried activity gets the
        result of the first attempt instead of flipping twice. It heartbeats while it
        waits, so a worker killed meanwhile is noticed within the heartbeat timeout rather
        than the activity's whole start-to-close timeout.
        """
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            ENVIRONMENT_WORKFLOW,
            EnvironmentInput(
                environment_id=request.environment_id,
                production=request.production,
                queues=request.queues,
                standby_time=request.standby_time,
                preview_idle_time=request.preview_idle_time,
            ),
            id=environment_workflow_id(request.environment_id),
            task_queue=request.queues.control,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        update = asyncio.ensure_future(
            self._client.execute_update_with_start_workflow(
                "finalize",
                request,
                start_workflow_operation=start,
                id=f"finalize-{request.deployment_id}",
                result_type=RouteChange,
            )
        )
        try:
            while not (await asyncio.wait({update}, timeout=HEARTBEAT_SECONDS))[0]:
                activity.heartbeat()
        finally:
            update.cancel()  # only matters when this activity itself is cancelled
        result: RouteChange = update.result()
        return result

    @activity.defn(name="flip routes")
    def flip_routes(self, request: FlipRoutesInput) -> RouteChange:
        """In one transaction: moving domains, the environment's and the app's current.

        With `mark_ready`, the deployment's `ready` is written in the same transaction;
        without, it waits for `mark_ready` (once every region's edge routes the flip).
        """
        with self._sessions.begin() as session:
            deployment = session.get_one(Deployment, request.deployment_id)
            environment = session.get_one(Environment, request.environment_id)
            previous = environment.current_deployment_id
            for kind, hostname in planned_domains(session, deployment, self._apex).items():
                if kind in MOVING_KINDS and (request.take_live or kind not in FOLLOWS_LIVE):
                    point(session, deployment, kind, hostname)
            app = session.get_one(App, deployment.app_id)
            if request.take_live:
                environment.current_deployment_id = deployment.id
                follow_live(session, environment_id=environment.id, deployment_id=deployment.id)
                if environment.kind == "production":
                    app.current_deployment_id = deployment.id
            if request.rolled_back is not None and environment.kind == "production":
                app.is_rolled_back = request.rolled_back
            if request.mark_ready:
                _mark_ready(session, deployment)
        flipped_at = time.time()  # after the commit: an edge that read later sees the flip
        self._events.routes_changed(request.environment_id)
        return RouteChange(
            deployment_id=request.deployment_id,
            previous_deployment_id=previous if previous != request.deployment_id else None,
            took_live=request.take_live,
            flipped_at=flipped_at,
        )

    @activity.defn(name="mark ready")
    def mark_ready(self, request: MarkReadyInput) -> None:
        """Every region's edge routes the deployment's flip: it is `ready`, finalizing done."""
        with self._sessions.begin() as session:
            _mark_ready(session, session.get_one(Deployment, request.deployment_id))


def _mark_ready(session: Session, deployment: Deployment) -> None:
    deployment.status = "ready"
    deployment.finished_at = deployment.finished_at or now_ms()
    _complete_finalizing(session, deployment.id)


def _complete_finalizing(session: Session, deployment_id: str) -> None:
    """The finalizing step ends when the deployment becomes `ready`, in one transaction."""
    step = session.scalar(
        select(DeploymentStep).where(
            DeploymentStep.deployment_id == deployment_id,
            DeploymentStep.name == "finalizing",
            DeploymentStep.status == "running",
        )
    )
    if step is not None:
        step.status = "completed"
        step.finished_at = now_ms()
