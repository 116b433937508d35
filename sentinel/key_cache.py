"""Verified keys cached in one replica, dropped the moment the API announces a change.

While the replica's subscription to key changes (sentinel.route_events) is live, an
entry is trusted until a notice drops it: that push, not a timeout, is what makes a
revoked key fail everywhere within a second. While it is not live (Redis unreachable),
entries are trusted for UNTRUSTED_SECONDS only and then read again from the database,
so revocation still takes effect within a second. Unknown secrets are cached too (as
None), so a flood of bad keys does not become a flood of queries.

When the database cannot be read either, a key seen before keeps its last state (no
change can be written without the database) and an unknown one raises KeysUnavailable:
the request is refused, never waved through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from dockyard.verification import KeyRecord

log = logging.getLogger(__name__)

UNTRUSTED_SECONDS = 0.5
MAX_ENTRIES = 100_000


class KeysUnavailable(Exception):
    """The key is not cached and the database cannot be read."""


class KeyCache:
    def __init__(self, load: Callable[[str], KeyRecord | None]) -> None:
        self._load = load
        self._entries: dict[str, tuple[KeyRecord | None, float]] = {}
        self._loading: dict[str, asyncio.Future[KeyRecord | None]] = {}
        self.pushed = False  # change notices are arriving: entries live until dropped
        # Bumped by every notice: a read that started before a notice must not be cached,
        # since it may have seen the row before the change was committed.
        self._generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def cached(self, key_hash: str) -> tuple[bool, KeyRecord | None]:
        """(True, the record) when the cache may answer without the database."""
        entry = self._entries.get(key_hash)
        if entry is not None and (self.pushed or time.monotonic() - entry[1] < UNTRUSTED_SECONDS):
            return True, entry[0]
        return False, None

    async def get(self, key_hash: str) -> KeyRecord | None:
        cached, record = self.cached(key_hash)
        if cached:
            return record
        entry = self._entries.get(key_hash)
        generation = self._generation
        loading = self._loading.get(key_hash)
        if loading is None:
            loading = asyncio.ensure_future(asyncio.to_thread(self._load, key_hash))
            self._loading[key_hash] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key_hash, None))
        try:
            record = await asyncio.shield(loading)
        except Exception as error:
            if entry is not None:
                return entry[0]
            log.warning("key not verifiable, database unreachable: %s", error)
            raise KeysUnavailable(str(error)) from error
        if generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (record, time.monotonic())
        return record

    def changed(self, message: str) -> None:
        """Apply one notice from dockyard.key_events."""
        self._generation += 1
        self._loading.clear()
        kind, _, value = message.partition(":")
        if kind == "hash":
            self._entries.pop(value, None)
        elif kind == "keyspace":
            self._entries = {
                key_hash: entry
                for key_hash, entry in self._entries.items()
                if entry[0] is None or entry[0].keyspace_id != value
            }
        else:
            self.clear()

    def clear(self) -> None:
        self._generation += 1
        self._loading.clear()
        self._entries.clear()
