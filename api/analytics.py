"""The API's part of the request log: what it records, and the store it collects into.

keys.verifyKey and ratelimit.limit add one record per answer to their Shipper (the
gateway's replicas ship theirs); the Collector task turns the streams into rows of the
store, which analytics.get* read. Started and stopped with the API (api.main). A second
API process on the same DOCKYARD_HOME finds the store taken: it still records, and its
analytics operations answer 503 (one process collects; see dockyard.analytics.store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import duckdb
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from dockyard.analytics.collector import Collector
from dockyard.analytics.records import RATELIMITS, VERIFICATIONS, stream_name
from dockyard.analytics.shipper import Shipper
from dockyard.analytics.store import AnalyticsStore
from dockyard.settings import Settings

log = logging.getLogger(__name__)

STORE_FILE = "analytics/analytics.duckdb"


@dataclass
class Analytics:
    verifications: Shipper
    ratelimits: Shipper
    store: AnalyticsStore | None
    collector: Collector | None
    region: str
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def verified(
        self,
        *,
        workspace_id: str,
        keyspace_id: str | None,
        key_id: str | None,
        identity_id: str | None,
        external_id: str | None,
        outcome: str,
        spent_credits: int,
    ) -> None:
        self.verifications.add(
            (_now_ms(), workspace_id, keyspace_id, key_id, identity_id, external_id, self.region,
             outcome, spent_credits)
        )  # fmt: skip

    def limited(
        self,
        *,
        workspace_id: str,
        namespace_id: str,
        identifier: str,
        passed: bool,
        limit: int,
        remaining: int,
        reset_at: int,
        override_id: str | None,
    ) -> None:
        self.ratelimits.add(
            (_now_ms(), workspace_id, namespace_id, identifier, passed, limit, remaining,
             reset_at, override_id)
        )  # fmt: skip

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.store is not None:
            self.store.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


def start_analytics(settings: Settings, sessions: sessionmaker[Session]) -> Analytics:
    """The shippers and, when this process can open the store, the collector; running."""
    prefix = settings.analytics_stream
    verifications = Shipper(
        settings.redis_url, stream_name(prefix, VERIFICATIONS), bound=settings.analytics_queue
    )
    ratelimits = Shipper(
        settings.redis_url, stream_name(prefix, RATELIMITS), bound=settings.analytics_queue
    )
    store = collector = None
    try:
        store = AnalyticsStore(settings.home.resolve() / STORE_FILE)
    except duckdb.IOException as error:
        log.warning("the analytics store is open in another process; not collecting: %s", error)
    if store is not None:
        retention_ms = int(settings.analytics_retention.total_seconds() * 1000)
        collector = Collector(
            settings.redis_url, prefix, store, sessions, retention_ms=retention_ms
        )
    analytics = Analytics(verifications, ratelimits, store, collector, settings.region)
    runs: list[Any] = [verifications.run, ratelimits.run]
    if collector is not None:
        runs.append(collector.run)
    for run in runs:
        analytics.tasks.append(asyncio.create_task(run(), name="request-log"))
    return analytics


def get_analytics(request: Request) -> Analytics | None:
    analytics = getattr(request.app.state, "analytics", None)
    return analytics if isinstance(analytics, Analytics) else None


AnalyticsDep = Annotated[Analytics | None, Depends(get_analytics)]
