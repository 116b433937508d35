"""The API's one gateway to Temporal: its client, connected in the background, and every
workflow the API starts, signals or updates.

The API has to start, and answer everything that does not need Temporal, even while Temporal
is still starting (compose starts them side by side) or briefly down. So the client is
connected by a background loop, again after any failure, and requests that need it get a
clear 503 instead of hanging. Dropping the client after a failed call also makes the
SDK's automatic retries of a 503 fail fast, before they write anything.

Route changes of one environment are serialized by its workflow (`env-<environment id>`),
so the API never changes routes itself: promote, rollback, start and stop are each the
signal named after the action, with `LifecycleRequest` as its input, and an archival is
the workflow's `stop_deployment` update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from temporalio.client import Client, WorkflowUpdateStage
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.crud.deployments import WorkflowStart
from api.deployment_state import DeploymentAction
from api.errors import ServiceUnavailable
from dockyard.payloads import (
    PROJECT_DELETION_WORKFLOW,
    DeleteProjectInput,
    EnvironmentInput,
    LifecycleRequest,
    TaskQueues,
    environment_workflow_id,
    project_deletion_workflow_id,
)
from dockyard.settings import Settings
from dockyard.temporal import (
    connect,
    ensure_environment_workflow,
    register_search_attributes,
    start_deployment,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
RECONNECT_INTERVAL_SECONDS = 2.0
RETRY_AFTER_SECONDS = "5"
NOTHING_STARTED = "Nothing was started; retry once Temporal is up."
# Statuses that mean "Temporal cannot be reached", not "Temporal refused this request".
CONNECTION_LOST = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})
# What a failed call looks like when Temporal, not dockyard, is the problem.
TEMPORAL_ERRORS = (RPCError, RuntimeError, OSError, TimeoutError)
# The environment workflow's update that stops one deployment (EnvironmentWorkflow.stop).
STOP_UPDATE = "stop_deployment"


class TemporalConnection:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._last_error = "not connected yet"
        self._lock = asyncio.Lock()

    @property
    def address(self) -> str:
        return self._settings.temporal_address

    async def run(self) -> None:
        """Keep a client connected for as long as the API runs."""
        while True:
            if self._client is None:
                await self._connect()
            await asyncio.sleep(RECONNECT_INTERVAL_SECONDS)

    async def client(self) -> Client:
        """The connected client; one prompt attempt to connect; else a 503 saying why."""
        if self._client is None:
            await self._connect()
        if self._client is None:
            raise self.unavailable(self._last_error)
        return self._client

    @contextlib.asynccontextmanager
    async def calling(self, not_done: str) -> AsyncIterator[Client]:
        """The client for the calls in the block; when Temporal fails one, the 503 that
        says `not_done` (what did not happen) instead."""
        client = await self.client()
        try:
            yield client
        except TEMPORAL_ERRORS as error:
            raise self.unavailable(self.failed(error), not_done) from error

    def failed(self, error: BaseException) -> str:
        """Record a failed call and return its reason; reconnect when it was connectivity."""
        if not isinstance(error, RPCError) or error.status in CONNECTION_LOST:
            self._client = None
        self._last_error = str(error) or type(error).__name__
        return self._last_error

    def unavailable(self, reason: str, outcome: str = NOTHING_STARTED) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"Temporal at {self.address} could not be used ({reason}). {outcome}",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    async def _connect(self) -> None:
        async with self._lock:
            if self._client is not None:
                return
            try:
                client = await asyncio.wait_for(connect(self._settings), CONNECT_TIMEOUT_SECONDS)
            except (RuntimeError, OSError, RPCError, TimeoutError) as error:
                reason = str(error) or type(error).__name__
                if reason != self._last_error:
                    log.warning("Temporal at %s is unreachable: %s", self.address, reason)
                self._last_error = reason
                return
            log.info("connected to Temporal at %s", self.address)
            await self._register_search_attributes(client)
            self._client = client

    async def _register_search_attributes(self, client: Client) -> None:
        # A deployment is started with dockyard's search attributes and the start fails
        # on a cluster that lacks them; registering is idempotent, so do it on connect.
        # A cluster that forbids it (managed Temporal) must have them registered by hand.
        try:
            await register_search_attributes(client, self._settings.temporal_namespace)
        except RPCError as error:
            log.warning("could not check dockyard's search attributes: %s", error)


async def launch(client: Client, start: WorkflowStart) -> None:
    """Start a new deployment's workflow, and its environment's when that is not running."""
    await ensure_environment_workflow(client, start.environment)
    await start_deployment(
        client,
        start.deployment,
        project=start.project_slug,
        app=start.app_slug,
        environment=start.environment_slug,
        branch=start.git.branch,
        sha=start.git.sha,
        trigger=start.trigger,
        commit_message=start.git.message,
        author=start.git.author,
    )


async def request_action(
    client: Client, environment: EnvironmentInput, action: DeploymentAction, *, deployment_id: str
) -> None:
    """Ask the environment's workflow to carry out `action` on a deployment:

        rollback  live traffic back TO `deployment_id`; the app is then rolled back
        promote   `deployment_id` becomes live; promoting the current one confirms a rollback
        start     a stopped preview deployment runs and serves again
        stop      a running preview deployment stops; it keeps its configuration

    The signal is sent with start: a workflow that is not running (never started, or
    ended) is started first, so the request is never lost.
    """
    await ensure_environment_workflow(
        client,
        environment,
        signal=action,
        signal_args=[LifecycleRequest(deployment_id=deployment_id)],
    )


async def archive_deployment(
    client: Client, environment: EnvironmentInput, *, deployment_id: str, update_id: str
) -> None:
    """Ask the environment's workflow to stop a deployment (its stop update); returns once
    the workflow accepts. One `update_id` sent twice is one request; a workflow that
    refuses raises WorkflowUpdateFailedError."""
    await ensure_environment_workflow(client, environment)
    handle = client.get_workflow_handle(environment_workflow_id(environment.environment_id))
    await handle.start_update(
        STOP_UPDATE,
        LifecycleRequest(deployment_id=deployment_id),
        id=update_id,
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )


async def start_project_deletion(client: Client, *, project_id: str, queues: TaskQueues) -> None:
    """Start the project's deletion workflow; asking again while it runs joins it."""
    await client.start_workflow(
        PROJECT_DELETION_WORKFLOW,
        DeleteProjectInput(project_id=project_id, queues=queues),
        id=project_deletion_workflow_id(project_id),
        task_queue=queues.control,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
