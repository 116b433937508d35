"""Waiting for a region's edge to route what the database says, so `ready` means served.

These run on the region's task queue, on a worker configured with that region's edge.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from temporalio import activity

from dockyard.payloads import WaitForRoutesInput

POLL_SECONDS = 0.05
REQUEST_TIMEOUT_SECONDS = 2.0
WARN_EVERY_SECONDS = 10.0


class EdgeActivities:
    def __init__(self, control_url: str) -> None:
        self._control_url = control_url.rstrip("/")

    @activity.defn(name="wait for routes")
    async def wait_for_routes(self, request: WaitForRoutesInput) -> None:
        """Return once this region's edge routes the environment as of the flip, or later.

        The edge's control endpoint says as of when every route of the environment in this
        region (its own config and every replica's) was read from the database; null while
        a replica is not up. An edge that cannot be reached does not serve the domain
        either, so the wait goes on (heartbeating) until it answers. No control URL: this
        region has no edge to wait for.

        Clock skew: both times are wall clocks compared exactly (the edge's taken before its
        read, the flip's after its commit, on the control worker), since a margin would hold
        every `ready` and rollback for the edge's next 1-second poll instead of the reload it
        makes milliseconds after the flip's notice; so hosts apart must keep NTP-synced
        clocks, as a skew of d lets a read up to d older than the commit count as routed.
        """
        if not self._control_url:
            return
        url = f"{self._control_url}/environments/{request.environment_id}/routes"
        warn_at = time.monotonic() + WARN_EVERY_SECONDS
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            while True:
                routes_as_of, waiting_for = await _routes_as_of(client, url)
                if routes_as_of is not None and routes_as_of >= request.flipped_at:
                    return
                activity.heartbeat(waiting_for)
                if time.monotonic() >= warn_at:
                    warn_at = time.monotonic() + WARN_EVERY_SECONDS
                    activity.logger.warning(
                        "region %s: %s has not routed environment %s since its flip: %s",
                        request.region,
                        url,
                        request.environment_id,
                        waiting_for,
                    )
                await asyncio.sleep(POLL_SECONDS)


async def _routes_as_of(client: httpx.AsyncClient, url: str) -> tuple[float | None, str]:
    """The edge's routesAsOf, or None and what it is waiting for instead."""
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return None, f"edge unreachable: {type(error).__name__} {error}"
    if response.status_code != 200:
        return None, f"edge answered {response.status_code}"
    try:
        routes_as_of = response.json()["routesAsOf"]
    except (ValueError, KeyError, TypeError):
        return None, f"edge answered without routesAsOf: {response.text[:200]!r}"
    if routes_as_of is None:
        return None, "a replica of the environment is not up yet"
    if isinstance(routes_as_of, bool) or not isinstance(routes_as_of, int | float):
        return None, f"edge answered routesAsOf {routes_as_of!r}, not unix seconds"
    return float(routes_as_of), f"edge routes as of {routes_as_of}, before the flip"
