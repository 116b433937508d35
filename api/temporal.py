"""The API's one Temporal client, connected in the background.

The API has to start, and answer everything that does not need Temporal, even while Temporal
is still starting (compose starts them side by side) or briefly down. So the client is
connected by a background loop, again after any failure, and requests that need it get a
clear 503 instead of hanging. Dropping the client after a failed call also makes the
SDK's automatic retries of a 503 fail fast, before they write anything.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ServiceUnavailable
from dockyard.settings import Settings
from dockyard.temporal import connect, register_search_attributes

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
RECONNECT_INTERVAL_SECONDS = 2.0
RETRY_AFTER_SECONDS = "5"
NOTHING_STARTED = "Nothing was started; retry once Temporal is up."
# Statuses that mean "Temporal cannot be reached", not "Temporal refused this request".
CONNECTION_LOST = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})


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
