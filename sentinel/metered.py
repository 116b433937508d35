"""A replica's request metrics: tallied in plain Python on the hot path, written to
Prometheus's multiprocess files once a second.

Each replica is a process of its own, so its series live in prometheus_client's
multiprocess mode: one set of memory-mapped files per pid, in the directory the edge names
in PROMETHEUS_MULTIPROC_DIR (sentinel.metrics reads them back and serves /metrics). A
replica counts only when that variable is set; `python -m sentinel.replica` alone does not.

Why tallies rather than prometheus_client on every request: in multiprocess mode each
`inc` or `observe` takes a lock and writes the mmap (about 1 µs per value, 3 to 4 values a
request), a few percent of a replica's whole budget per request. A dict increment and a
bisect cost a tenth of that; the files then get one write per series per second. What a
replica counted in its last second is lost if it is SIGKILLed; a SIGTERM flushes it.

Series (label `environment` on each):
    dockyard_sentinel_requests_total{status_class, outcome}   outcome: "allowed" when the
        app answered, else the edge's error code (key_missing, rate_limited, ...)
    dockyard_sentinel_request_duration_seconds                 histogram, whole request
    dockyard_sentinel_replicas                                 1 per live replica (livesum)
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from time import perf_counter
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import Receive, Scope, Send

from sentinel.app import Edge
from sentinel.outcomes import Answer
from sentinel.routing import is_ip_literal, normalize_host

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
FLUSH_SECONDS = 1.0
# Seconds; from a cached-key pass (about a millisecond) to a slow app.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATUS_CLASSES = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")
# A Host that is an IP literal asks for the replica's own /healthz, not an app.
_IP_FIRST = frozenset(b"0123456789[")

REQUESTS = Counter(
    "dockyard_sentinel_requests",
    "Requests a Sentinel replica answered, by status class and policy outcome.",
    ["environment", "status_class", "outcome"],
)
DURATION = Histogram(
    "dockyard_sentinel_request_duration_seconds",
    "Time from a request's arrival at a replica to the end of its response.",
    ["environment"],
    buckets=BUCKETS,
)
REPLICAS = Gauge(
    "dockyard_sentinel_replicas",
    "Sentinel replicas running (each live replica counts 1).",
    ["environment"],
    multiprocess_mode="livesum",
)


def enabled() -> bool:
    return bool(os.environ.get(METRICS_DIR_VARIABLE))


def edge_for(environment_id: str) -> Callable[..., Edge]:
    """The Edge class a replica builds: metered when the edge asked for metrics."""
    return partial(MeteredEdge, environment_id=environment_id) if enabled() else Edge


def _own_endpoint(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"host":
            return (
                bool(value)
                and value[0] in _IP_FIRST
                and is_ip_literal(normalize_host(value.decode("latin-1")))
            )
    return True


class Tally:
    """What a replica counted since the last flush."""

    def __init__(self) -> None:
        self.requests: dict[tuple[int, str], int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.seconds = 0.0

    def add(self, status: int, outcome: str, seconds: float) -> None:
        key = (status // 100, outcome)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.buckets[bisect_left(BUCKETS, seconds)] += 1
        self.seconds += seconds


def write(environment_id: str, tally: Tally) -> None:
    """Add a tally to this process's series."""
    for (status_class, outcome), count in tally.requests.items():
        label = STATUS_CLASSES[status_class] if status_class < len(STATUS_CLASSES) else "none"
        REQUESTS.labels(environment_id, label, outcome).inc(count)
    if not any(tally.buckets):
        return
    histogram = DURATION.labels(environment_id)
    # A histogram has no public way to add many observations at once. Its multiprocess
    # values are one counter per bucket (not cumulative) plus the sum, as observe() writes.
    histogram._sum.inc(tally.seconds)
    for value, count in zip(histogram._buckets, tally.buckets, strict=True):
        if count:
            value.inc(count)


class MeteredEdge(Edge):
    """A replica's Edge that counts every request bound for an app, whatever answers it."""

    def __init__(self, *, environment_id: str, **kwargs: Any) -> None:
        self.environment_id = environment_id
        self._tally = Tally()
        tasks = [*kwargs.pop("tasks", ()), self._keep_flushing]
        super().__init__(tasks=tasks, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _own_endpoint(scope):
            await super().__call__(scope, receive, send)
            return
        started = perf_counter()
        answer = Answer(send)
        try:
            await self._http(scope, receive, answer)
        finally:
            self._tally.add(answer.status, answer.outcome, perf_counter() - started)

    def flush(self) -> None:
        tally, self._tally = self._tally, Tally()
        write(self.environment_id, tally)

    async def _keep_flushing(self) -> None:
        REPLICAS.labels(self.environment_id).set(1)
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    async def stop(self) -> None:
        await super().stop()
        self.flush()
