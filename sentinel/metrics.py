"""The region edge's /metrics: every replica's series, read from their multiprocess files.

The edge gives its replicas (through the fork server's environment) one directory for
prometheus_client's multiprocess files, emptied at each edge start; each replica writes
its own files there, named by pid (sentinel.metered). A scrape of the edge's control
endpoint (GET /metrics, loopback only) merges them all: counters and histograms of
replicas that have exited stay in the sums, so a restart never makes a counter go back,
while a dead replica's live gauges are dropped (mark_process_dead) before each scrape.
The edge adds its own: healthy replicas, and the fork server's starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from dockyard.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it
LIVE_GAUGE_PREFIX = "gauge_live"


def metrics_directory(settings: Settings) -> Path:
    return settings.home.resolve() / "metrics" / f"sentinel-{settings.region}"


def fresh_directory(path: Path) -> Path:
    """An empty directory: files of an earlier edge's replicas would be summed forever."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def forget_dead(path: Path, alive: Callable[[int], bool] = _alive) -> list[int]:
    """Drop the live gauges of replicas that are gone; the pids dropped."""
    dead = set()
    for file in path.glob(f"{LIVE_GAUGE_PREFIX}*_*.db"):
        pid = file.stem.rpartition("_")[2]
        if pid.isdigit() and not alive(int(pid)):
            dead.add(int(pid))
    for gone in dead:
        mark_process_dead(gone, str(path))  # type: ignore[no-untyped-call]
    return sorted(dead)


class EdgeCollector(Collector):
    """The edge's own series, read from its supervisor's summary at scrape time."""

    def __init__(
        self, region: str, *, fork_starts: Callable[[], int], healthy: Callable[[], int]
    ) -> None:
        self._region = region
        self._fork_starts = fork_starts
        self._healthy = healthy

    def collect(self) -> Iterator[Metric]:
        forks = CounterMetricFamily(
            "dockyard_sentinel_fork_server_starts",
            "Times the edge started its warm fork server.",
            labels=["region"],
        )
        forks.add_metric([self._region], self._fork_starts())
        yield forks
        healthy = GaugeMetricFamily(
            "dockyard_sentinel_healthy_replicas",
            "Sentinel replicas answering their health check.",
            labels=["region"],
        )
        healthy.add_metric([self._region], self._healthy())
        yield healthy


class ReplicaCollector(Collector):
    """prometheus_client's MultiProcessCollector, minus files still being created: a
    replica's file is empty for a moment after it is opened, and reading it would fail
    the whole scrape."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def collect(self) -> Iterable[Metric]:
        files = []
        for file in self._path.glob("*.db"):
            with contextlib.suppress(FileNotFoundError):  # a dead replica's live gauge
                if file.stat().st_size > 0:
                    files.append(str(file))
        merge = MultiProcessCollector.merge
        merged: Iterable[Metric] = merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return merged


def exposition(path: Path, *extra: Collector) -> bytes:
    """The text a scrape gets (run it in a thread: it reads every replica's files)."""
    forget_dead(path)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReplicaCollector(path))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


def replica_environment(path: Path) -> dict[str, str]:
    """What the replicas' environment needs for them to count."""
    return {METRICS_DIR_VARIABLE: os.fspath(path)}
