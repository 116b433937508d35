"""Asking an environment's workflow to promote, roll back, start or stop a deployment.

Route changes of one environment are serialized by its workflow (`env-<environment id>`),
so the API never changes routes itself: it validates the request (api.routes.
deployment_actions), then signals the workflow and answers 202, as Unkey does. Each
request is the signal named after the action, with `LifecycleRequest` as its input:

    rollback  LifecycleRequest(deployment_id=<the deployment to roll back TO>)
    promote   LifecycleRequest(deployment_id=<the deployment to make live>)
    start     LifecycleRequest(deployment_id=<the stopped preview deployment>)
    stop      LifecycleRequest(deployment_id=<the running preview deployment>)

The signal is sent with start: a workflow that is not running (never started, or ended)
is started first, so the request is never lost.
"""

from __future__ import annotations

from typing import Literal

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from dockyard.payloads import (
    ENVIRONMENT_WORKFLOW,
    EnvironmentInput,
    LifecycleRequest,
    environment_workflow_id,
)

Action = Literal["rollback", "promote", "start", "stop"]
ROLLBACK: Action = "rollback"
PROMOTE: Action = "promote"
START: Action = "start"
STOP: Action = "stop"


async def request_rollback(
    client: Client, environment: EnvironmentInput, *, deployment_id: str
) -> None:
    """Live traffic back to `deployment_id`; the app is then rolled back."""
    await _signal(client, environment, ROLLBACK, deployment_id)


async def request_promote(
    client: Client, environment: EnvironmentInput, *, deployment_id: str
) -> None:
    """`deployment_id` becomes live; promoting the current one confirms a rollback."""
    await _signal(client, environment, PROMOTE, deployment_id)


async def request_start(
    client: Client, environment: EnvironmentInput, *, deployment_id: str
) -> None:
    """A stopped preview deployment runs and serves again."""
    await _signal(client, environment, START, deployment_id)


async def request_stop(
    client: Client, environment: EnvironmentInput, *, deployment_id: str
) -> None:
    """A running preview deployment stops; it keeps its configuration."""
    await _signal(client, environment, STOP, deployment_id)


async def _signal(
    client: Client, environment: EnvironmentInput, action: Action, deployment_id: str
) -> None:
    await client.start_workflow(
        ENVIRONMENT_WORKFLOW,
        environment,
        id=environment_workflow_id(environment.environment_id),
        task_queue=environment.queues.control,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=action,
        start_signal_args=[LifecycleRequest(deployment_id=deployment_id)],
    )
