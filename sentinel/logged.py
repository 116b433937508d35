"""A replica's request log: every request bound for an app, one tuple, off the hot path.

What a request costs here: a route lookup, a wrapped `send` that notes the status and the
edge's error code, and a tuple appended to the replica's Shipper (dockyard.analytics),
which ships once a second in the background and drops (and counts) past its bound rather
than wait. Nothing secret is kept: the path without its query, never a header, and of
the principal the gateway verified only its key, keyspace and identity ids.

The tuple's layout is dockyard.analytics.records' gateway record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from time import perf_counter_ns
from typing import Any

from starlette.types import Receive, Scope, Send

from dockyard.analytics.shipper import Shipper
from sentinel import metered
from sentinel.app import HOST_SLOT, Edge, _host_header
from sentinel.metered import MeteredEdge
from sentinel.outcomes import Answer
from sentinel.policies.gateway import PRINCIPAL_SLOT
from sentinel.routing import is_ip_literal, normalize_host

MAX_PATH = 512
# What the request log keeps of a verified principal; the rest (meta, permissions) stays.
PRINCIPAL_IDS = ("keyId", "keyspaceId", "identityId", "externalId")
MAX_PRINCIPALS = 10_000
Who = tuple[str | None, str | None, str | None, str | None]
NOBODY: Who = (None, None, None, None)


def _app_host(scope: Scope) -> str | None:
    """The hostname of a request the edge answered before routing it (a malformed one);
    None for one to the replica's own endpoint (no Host, or an IP literal)."""
    raw_host = _host_header(scope)
    if not raw_host:
        return None
    host = normalize_host(raw_host.decode("latin-1"))
    return None if is_ip_literal(host) else host


class LoggedEdge(Edge):
    def __init__(self, *, request_log: Shipper, environment_id: str, **kwargs: Any) -> None:
        self.request_log = request_log
        self.logged_environment = environment_id
        self._who: dict[bytes, Who] = {}
        if isinstance(self, MeteredEdge):
            kwargs["environment_id"] = environment_id
        super().__init__(**kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = perf_counter_ns()
        answer = Answer(send)
        try:
            await self._http(scope, receive, answer)
        finally:
            # Nanoseconds, as measured: integers are cheap to ship (a float's repr in JSON
            # costs three times an int's); the collector makes milliseconds of both times.
            self._record(scope, answer, perf_counter_ns() - started)

    def _record(self, scope: Scope, answer: Answer, latency: int) -> None:
        host = scope.get(HOST_SLOT) or _app_host(scope)
        if host is None:  # the replica's own /healthz
            return
        route = self.routes.table.lookup(host)
        principal = scope.get(PRINCIPAL_SLOT)
        who = (self._who.get(principal) or self._learn(principal)) if principal else NOBODY
        self.request_log.add(
            (
                time.time_ns(),
                self.logged_environment,
                route.deployment_id if route is not None else None,
                self.region,
                scope["method"],
                host,
                scope["path"][:MAX_PATH],
                answer.status,
                latency,
                answer.outcome,
                *who,
            )
        )

    def _learn(self, principal: bytes) -> Who:
        """The ids in a principal, kept per encoded principal: a key's is the same bytes
        object on every request (sentinel.key_cache), so the next lookup is a dict hit."""
        if len(self._who) >= MAX_PRINCIPALS:
            self._who.clear()
        try:
            decoded = json.loads(principal)
        except ValueError:
            decoded = {}
        fields = decoded if isinstance(decoded, dict) else {}
        key, keyspace, identity, external = (
            value if isinstance(value, str) else None
            for value in (fields.get(name) for name in PRINCIPAL_IDS)
        )
        who: Who = (key, keyspace, identity, external)
        self._who[principal] = who
        return who


class LoggedMeteredEdge(LoggedEdge, MeteredEdge):
    """Logged and metered: one watch of each request feeds the log and the tally."""

    def _record(self, scope: Scope, answer: Answer, latency: int) -> None:
        if HOST_SLOT in scope or _app_host(scope) is not None:
            self._tally.add(answer.status, answer.outcome, latency / 1e9)
        super()._record(scope, answer, latency)


def edge_for(environment_id: str, request_log: Shipper | None) -> Callable[..., Edge]:
    """The Edge class a replica builds: logged when it has a request log, metered when
    the edge asked for metrics."""
    if request_log is None:
        return metered.edge_for(environment_id)
    kind = LoggedMeteredEdge if metered.enabled() else LoggedEdge
    return partial(kind, request_log=request_log, environment_id=environment_id)
