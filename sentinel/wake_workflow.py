"""What a replica's Waker is wired to: the database says which deployment sleeps, and the
environment's workflow wakes it (its `wake_deployment` update, starting the workflow when
it is not running). sentinel.wake holds the requests meanwhile."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from dockyard.deployments import environment_input
from dockyard.models import Deployment, Environment
from dockyard.payloads import (
    ENVIRONMENT_WORKFLOW,
    LifecycleRequest,
    LifecycleResult,
    environment_workflow_id,
)
from dockyard.settings import Settings
from dockyard.temporal import connect
from sentinel.wake import Asleep, Waker

log = logging.getLogger(__name__)

WAKE_UPDATE = "wake_deployment"  # workflows.environment.EnvironmentWorkflow.wake


def find_asleep(
    sessions: sessionmaker[Session], settings: Settings, deployment_id: str
) -> Asleep | None:
    """The deployment when it is a stopped preview; None for anything else."""
    with sessions() as session:
        row = session.execute(
            select(Deployment.status, Environment)
            .join(Environment, Environment.id == Deployment.environment_id)
            .where(Deployment.id == deployment_id)
        ).first()
        if row is None:
            return None
        status, environment = row
        if status != "stopped" or environment.kind != "preview":
            return None
        return Asleep(
            deployment_id=deployment_id,
            wake_on_request=environment.wake_on_request,
            environment=environment_input(environment, settings),
        )


class WakeFailed(Exception):
    """The environment's workflow could not start the deployment; the message says why."""


def _innermost(error: BaseException) -> str:
    """The message at the bottom of a Temporal failure's chain of causes: an update failed
    because an activity failed because, say, the health check answered 404."""
    while (cause := getattr(error, "cause", None)) is not None:
        error = cause
    return str(error) or type(error).__name__


class WorkflowWake:
    """Asks the environment's workflow to wake a deployment, starting the workflow when it
    is not running; the Temporal client is connected at the first wake, not before."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None

    async def __call__(self, asleep: Asleep) -> None:
        if self._client is None:
            self._client = await connect(self._settings)
        environment = asleep.environment
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            ENVIRONMENT_WORKFLOW,
            environment,
            id=environment_workflow_id(environment.environment_id),
            task_queue=environment.queues.control,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            result = await self._client.execute_update_with_start_workflow(
                WAKE_UPDATE,
                LifecycleRequest(deployment_id=asleep.deployment_id),
                start_workflow_operation=start,
                id=f"wake-{asleep.deployment_id}-{secrets.token_hex(4)}",
                result_type=LifecycleResult,
            )
        except WorkflowUpdateFailedError as error:
            raise WakeFailed(_innermost(error)) from error
        log.info(
            "woke deployment %s (instances started: %s)",
            asleep.deployment_id,
            result.started_instances,
        )


def replica_waker(settings: Settings, sessions: sessionmaker[Session]) -> Waker:
    """A replica's waker: the database says what sleeps, Temporal wakes it."""
    return Waker(
        find=lambda deployment_id: find_asleep(sessions, settings, deployment_id),
        wake=WorkflowWake(settings),
        timeout=settings.wake_timeout.total_seconds(),
    )
