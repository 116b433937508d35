"""Keep the in-memory route table fresh without ever blocking the event loop.

One task does every reload, so reloads never overlap: it waits for a change notice
(from Redis) or for the poll interval to pass, whichever comes first, then reads the
database in a worker thread and swaps the table in one assignment. Notices arriving
during a reload cause exactly one more reload, never a queue of them.

When the database cannot be read, the last table keeps serving: an edge that forgets
its routes because the database blinked would turn a DB hiccup into an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sentinel.routing import RouteTable

log = logging.getLogger(__name__)


class RouteKeeper:
    def __init__(self, load: Callable[[], RouteTable], *, poll_interval: float = 1.0) -> None:
        self.table = RouteTable()
        self.loaded = False  # a table from the database has been served at least once
        self.reloads = 0  # successful reloads so far; tells tests and /healthz it is live
        self._load = load
        self._poll_interval = poll_interval
        self._changed = asyncio.Event()
        self._reloaded = asyncio.Event()  # set and replaced at every successful reload
        self._failing = False

    def changed(self) -> None:
        """Routes changed somewhere: reload now rather than at the next poll."""
        self._changed.set()

    async def reload(self) -> bool:
        """Read the table once; on failure keep the current one. True when it loaded."""
        try:
            table = await asyncio.to_thread(self._load)
        except Exception as error:
            if not self._failing:
                log.warning("routes not reloaded, serving the last table: %s", error)
            self._failing = True
            return False
        if self._failing:
            log.warning("routes reload again (%d hosts)", len(table))
        self._failing = False
        self.table = table  # the swap: requests see the old table or the new, never a mix
        self.loaded = True
        self.reloads += 1
        self._reloaded.set()
        self._reloaded = asyncio.Event()
        return True

    async def next_reload(self) -> None:
        """Until the next successful reload: what a request held for new routes awaits."""
        await self._reloaded.wait()

    async def run(self) -> None:
        """Reload forever: on every change notice, and at least every poll interval."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=self._poll_interval)
            # Cleared before the read, so a change during the read triggers one more.
            self._changed.clear()
            await self.reload()
