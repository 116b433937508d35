"""Flipping an environment's routes, from inside a workflow: done once every edge routes them.

The flip itself is one transaction (domains, current deployment). Then each region's edge
must say it routes the environment as of that commit or later; only then is the
deployment `ready`, so the first request after `ready` is served.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.edge import EdgeActivities
    from activities.routes import RouteActivities
    from dockyard.payloads import (
        FlipRoutesInput,
        MarkReadyInput,
        RouteChange,
        TaskQueues,
        WaitForRoutesInput,
    )
    from workflows.options import ENVIRONMENT_RETRY, HEARTBEAT, QUICK

# An edge that is down holds `ready` until it is back: each attempt polls it this long,
# attempts never run out, and heartbeats notice a lost worker within seconds.
EDGE_WAIT = timedelta(hours=1)
UNTIL_ROUTED = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5)
)
# Histories recorded before it flipped and wrote `ready` in one activity, without the wait.
READY_AFTER_EDGES_ROUTE = "ready-after-edges-route"


async def flip(
    request: FlipRoutesInput, *, queues: TaskQueues, regions: list[str], ready: bool
) -> RouteChange:
    """Flip, wait until every region's edge routes the flip, then write `ready` unless the
    deployment already was (a rollback or promote of a warm one)."""
    if not workflow.patched(READY_AFTER_EDGES_ROUTE):
        return await _flip_routes(request)
    change = await _flip_routes(request.model_copy(update={"mark_ready": False}))
    await asyncio.gather(
        *(
            _wait_for_routes(request.environment_id, region, change.flipped_at, queues)
            for region in dict.fromkeys(regions)  # each once, in a replayable order
        )
    )
    if not ready:
        await workflow.execute_activity_method(
            RouteActivities.mark_ready,
            MarkReadyInput(deployment_id=request.deployment_id),
            start_to_close_timeout=QUICK,
            retry_policy=ENVIRONMENT_RETRY,
            summary="finalize: ready",
        )
    return change


async def _flip_routes(request: FlipRoutesInput) -> RouteChange:
    return await workflow.execute_activity_method(
        RouteActivities.flip_routes,
        request,
        start_to_close_timeout=QUICK,
        retry_policy=ENVIRONMENT_RETRY,
        summary="finalize: flip routes",
    )


async def _wait_for_routes(
    environment_id: str, region: str, flipped_at: float, queues: TaskQueues
) -> None:
    await workflow.execute_activity_method(
        EdgeActivities.wait_for_routes,
        WaitForRoutesInput(environment_id=environment_id, region=region, flipped_at=flipped_at),
        task_queue=queues.region(region),
        start_to_close_timeout=EDGE_WAIT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=UNTIL_ROUTED,
        summary=f"finalize: wait for the edge of region {region}",
    )
