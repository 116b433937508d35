"""The collector: the request log's streams into the store, and keys' lastUsedAt.

One consumer group per stream (GROUP) reads batches; each is named (a gateway record's
environment becomes its workspace, project and app), appended, then acknowledged, so a
collector that dies re-reads what it had not stored.
A gateway request a key was verified for is a key verification too, as Unkey counts its
gateway's verifications. Every verified key's lastUsedAt moves to its newest use, written
at most once per LAST_USED_SECONDS per key. Rows older than the retention go once an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import duckdb
import redis
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from dockyard.analytics.paths import path_template
from dockyard.analytics.records import (
    GATEWAY,
    GATEWAY_REQUESTS,
    KEY_VERIFICATIONS,
    KINDS,
    RATELIMIT_DECISIONS,
    RATELIMITS,
    VERIFICATIONS,
    stream_name,
)
from dockyard.analytics.shipper import FIELD, decode
from dockyard.analytics.store import AnalyticsStore
from dockyard.keyspaces import Key
from dockyard.models import Environment, Project

log = logging.getLogger(__name__)

GROUP = "collector"
CONSUMER = "api"
READ_COUNT = 200  # stream entries per read, each a batch of records
BLOCK_MS = 500
LAST_USED_SECONDS = 10.0
RETENTION_CHECK_SECONDS = 3600.0
RETRY_SECONDS = 1.0
NS_PER_MS = 1_000_000
# The edge's outcome for a request whose key was verified, as Unkey names verifications.
VERIFICATION_OUTCOMES = {
    "allowed": "VALID",
    "rate_limited": "RATE_LIMITED",
    "usage_exceeded": "USAGE_EXCEEDED",
    "insufficient_permissions": "INSUFFICIENT_PERMISSIONS",
}
Owner = tuple[str | None, str | None, str | None]  # workspace, project, app
# What a batch no retry can store raises (not JSON, records of another shape, values no
# column holds): it is dropped, so it cannot hold up the stream behind it.
MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
)


class Collector:
    def __init__(
        self,
        redis_url: str,
        prefix: str,
        store: AnalyticsStore,
        sessions: sessionmaker[Session],
        *,
        retention_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5)
        self._streams = {stream_name(prefix, kind): kind for kind in KINDS}
        self._sessions = sessions
        self._retention_ms = retention_ms
        self._clock = clock
        self._owners: dict[str, Owner] = {}
        self._last_used_written: dict[str, float] = {}
        self._forgot_at = 0.0
        self._ready = False

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._step_to_the_end()
                except (redis.RedisError, OSError) as error:
                    log.warning("request log not collected, retrying: %s", error)
                    self._ready = False
                    await asyncio.sleep(RETRY_SECONDS)
                except Exception:
                    # The store or the database failed: unacknowledged, the batch is read
                    # again on the next try.
                    log.exception("request log not stored, retrying")
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            self._client.close()

    async def _step_to_the_end(self) -> None:
        """One step in a thread; cancelled, it still waits for that step (at most BLOCK_MS
        and one append), so the store is never closed under a running statement."""
        step = asyncio.ensure_future(asyncio.to_thread(self.step))
        try:
            await asyncio.shield(step)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await step
            raise

    def step(self, block_ms: int = BLOCK_MS) -> int:
        """One read of every stream (pending entries first after a restart); the number of
        records stored."""
        if not self._ready:
            self._prepare()
        stored = self._collect("0", block_ms=None)  # what this consumer read and did not ack
        stored += self._collect(">", block_ms=block_ms)
        self._forget_old()
        return stored

    def _prepare(self) -> None:
        for stream in self._streams:
            try:
                self._client.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        self._ready = True

    def _collect(self, position: str, *, block_ms: int | None) -> int:
        answer: Any = self._client.xreadgroup(
            GROUP,
            CONSUMER,
            {stream: position for stream in self._streams},
            count=READ_COUNT,
            block=block_ms,
        )
        stored = 0
        for stream, entries in answer or []:
            name = stream.decode() if isinstance(stream, bytes) else str(stream)
            if not entries:
                continue
            kind = self._streams[name]
            try:
                stored += self._store_entries(kind, entries)
            except MALFORMED:  # find the entries at fault; the others are stored
                for entry in entries:
                    try:
                        stored += self._store_entries(kind, [entry])
                    except MALFORMED as error:
                        log.warning("request log: a malformed batch dropped: %s", error)
            self._client.xack(name, GROUP, *[entry_id for entry_id, _ in entries])
        return stored

    def _store_entries(self, kind: str, entries: list[Any]) -> int:
        # An entry trimmed from the stream while pending comes back without fields.
        records = [r for _, fields in entries if fields for r in decode(fields[FIELD])]
        return self.store_records(kind, records)

    def store_records(self, kind: str, records: list[list[Any]]) -> int:
        """Name, append and account for one stream's records; how many were stored."""
        if kind == GATEWAY:
            requests, verifications = self._gateway_rows(records)
            self.store.append(GATEWAY_REQUESTS, requests)
            self.store.append(KEY_VERIFICATIONS, verifications)
            self._touch_keys(verifications)
        elif kind == VERIFICATIONS:
            rows = [tuple(record) for record in records]
            self.store.append(KEY_VERIFICATIONS, rows)
            self._touch_keys(rows)
        elif kind == RATELIMITS:
            self.store.append(RATELIMIT_DECISIONS, [tuple(record) for record in records])
        return len(records)

    def _gateway_rows(
        self, records: list[list[Any]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        self._learn_owners({record[1] for record in records} - self._owners.keys())
        requests, verifications = [], []
        for record in records:
            at_ns, environment_id, deployment_id, region, method, host, path = record[:7]
            status, took_ns, outcome, key_id, keyspace_id, identity_id, external_id = record[7:14]
            at, latency = at_ns // NS_PER_MS, round(took_ns / NS_PER_MS, 3)
            workspace_id, project_id, app_id = self._owners.get(environment_id, (None,) * 3)
            requests.append(
                (at, workspace_id, project_id, app_id, environment_id, deployment_id, region,
                 method, host, path, path_template(path), status, latency, outcome, key_id,
                 identity_id, external_id)
            )  # fmt: skip
            if key_id:
                verifications.append(
                    (at, workspace_id, keyspace_id, key_id, identity_id, external_id, region,
                     VERIFICATION_OUTCOMES.get(outcome, "VALID"), 0)
                )  # fmt: skip
        return requests, verifications

    def _learn_owners(self, environment_ids: set[str]) -> None:
        if not environment_ids:
            return
        with self._sessions() as session:
            rows = session.execute(
                select(
                    Environment.id, Project.workspace_id, Environment.project_id, Environment.app_id
                )
                .join(Project, Project.id == Environment.project_id)
                .where(Environment.id.in_(environment_ids))
            ).all()
        for environment_id, workspace_id, project_id, app_id in rows:
            self._owners[environment_id] = (workspace_id, project_id, app_id)

    def _touch_keys(self, verifications: list[tuple[Any, ...]]) -> None:
        """lastUsedAt of each key to its newest verification, at most once per key per
        LAST_USED_SECONDS."""
        newest: dict[str, int] = {}
        for row in verifications:
            key_id, at = row[3], int(row[0])
            if key_id and at > newest.get(key_id, 0):
                newest[key_id] = at
        now = self._clock()
        due = {
            key_id: at
            for key_id, at in newest.items()
            if now - self._last_used_written.get(key_id, 0.0) >= LAST_USED_SECONDS
        }
        if not due:
            return
        with self._sessions() as session:
            for key_id, at in due.items():
                session.execute(
                    update(Key)
                    .where(Key.id == key_id, or_(Key.last_used_at.is_(None), Key.last_used_at < at))
                    .values(last_used_at=at, updated_at=Key.updated_at)
                )
            session.commit()
        for key_id in due:
            self._last_used_written[key_id] = now

    def _forget_old(self) -> None:
        now = self._clock()
        if now - self._forgot_at < RETENTION_CHECK_SECONDS:
            return
        self._forgot_at = now
        gone = self.store.forget_before(int(now * 1000) - self._retention_ms)
        if gone:
            log.info("request log: %d rows past the retention deleted", gone)
