"""Capturing what app instances print, on the worker that owns a region's Docker host.

Each second the collector looks at the region's containers. A running one gets a reader
per stream (stdout, stderr) that follows Docker's log from the last line already stored;
an exited one is read to its end once. Lines go to the database in batches. When a
container ends, an `event` line says how it exited. DockerRuntime calls `drain` before it
removes a container, so the last lines of an instance that crashed are stored before
Docker forgets them.

A line's key (container, stream, Docker timestamp, rank among equal timestamps) is the
same however often it is read, so a worker killed at any point resumes without losing or
repeating a line.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dockyard import container_logs, runtime_logs
from dockyard.container_logs import STREAMS
from dockyard.models import Deployment
from dockyard.runtime import LABEL_DEPLOYMENT, LABEL_OWNER, LABEL_REGION
from dockyard.runtime_logs import LogLine

log = logging.getLogger(__name__)

# Docker's container states: whose log is followed, and whose is read to its end once.
FOLLOWED = frozenset({"running", "paused"})
ENDED = frozenset({"exited", "dead"})
SCAN_SECONDS = 1.0
FLUSH_SECONDS = 0.25
BATCH_LINES = 1000
PRUNE_SECONDS = 300.0  # counting lines per deployment reads the whole index
RETRY_SECONDS = 1.0


class RuntimeLogCollector:
    """Follows the app containers of some regions and stores what they print."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        owner: str,
        regions: list[str],
        retention: timedelta,
        max_lines: int,
        client: docker.DockerClient | None = None,
    ) -> None:
        self._sessions = sessions
        self._owner = owner
        self._regions = regions
        self._retention = retention
        self._max_lines = max_lines
        # Every followed stream holds a connection: more than docker-py's default pool.
        self._docker = client or docker.from_env(max_pool_size=128)
        self._pending: queue.Queue[LogLine] = queue.Queue()
        self._lock = threading.Lock()
        self._following: set[str] = set()  # container ids with readers
        self._done: set[str] = set()  # container ids read to their end
        self._open: dict[tuple[str, str], Any] = {}  # (container id, stream) -> stream
        self._latest: dict[str, int] = {}  # container id -> time of the last line followed
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @contextlib.contextmanager
    def running(self) -> Iterator[RuntimeLogCollector]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> None:
        for target, name in ((self._scan_loop, "scan"), (self._flush_loop, "flush")):
            thread = threading.Thread(target=target, name=f"runtime-logs-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            streams = list(self._open.values())
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()
        for thread in self._threads:
            thread.join(timeout=5)
        while not self._pending.empty() and self._flush():
            pass

    def drain(self, container: Container) -> None:
        """Store the rest of a container's log and how it exited; before it is removed."""
        labels = container.labels or {}
        if LABEL_DEPLOYMENT not in labels:
            return
        try:
            lines = self._read_to_end(container)
            after = self._last_line_ns(container.id or "", lines)
            self._store([*lines, *container_logs.exit_line(container, after_ns=after)])
        except (APIError, SQLAlchemyError) as error:
            log.warning("could not keep the last lines of %s: %s", container.name, error)

    def scan(self) -> None:
        """Start reading every container of the regions that is not read yet."""
        present: set[str] = set()
        for region in self._regions:
            labels = [f"{LABEL_OWNER}={self._owner}", f"{LABEL_REGION}={region}"]
            for container in self._docker.containers.list(
                all=True, filters={"label": labels}, ignore_removed=True
            ):
                present.add(container.id or "")
                self._take(container)
        with self._lock:  # a removed container does not come back
            self._done &= present

    def prune(self) -> int:
        cutoff = runtime_logs.retention_cutoff_ns(datetime.now(UTC), self._retention)
        with self._sessions.begin() as session:
            return runtime_logs.prune(session, cutoff_ns=cutoff, max_lines=self._max_lines)

    def _take(self, container: Container) -> None:
        container_id = container.id or ""
        if LABEL_DEPLOYMENT not in (container.labels or {}):
            return
        if container.status not in FOLLOWED and container.status not in ENDED:
            return  # created and not started yet, or on its way out: the next scan looks
        with self._lock:
            if container_id in self._following or container_id in self._done:
                return
            if container.status in ENDED:
                self._done.add(container_id)
            else:
                self._following.add(container_id)
        if container.status in ENDED:
            self.drain(container)
            return
        for stream in STREAMS:
            threading.Thread(
                target=self._follow,
                args=(container, stream),
                name=f"runtime-logs-{container.name}-{stream}",
                daemon=True,
            ).start()

    def _follow(self, container: Container, stream: str) -> None:
        key = (container.id or "", stream)
        latest = 0
        try:
            since = self._since(container.id or "", stream)
            reader = container_logs.follow(self._docker, container, stream, since)
            with self._lock:
                self._open[key] = reader
            for line in container_logs.log_lines(container, stream, reader):
                self._pending.put(line)
                latest = line.time_ns
        except (APIError, SQLAlchemyError, OSError) as error:
            if not self._stopping.is_set():
                log.info("reading %s's %s ended: %s", container.name, stream, error)
        finally:
            with self._lock:
                self._open.pop(key, None)
                self._latest[key[0]] = max(self._latest.get(key[0], 0), latest)
                ended = not any(open_key[0] == key[0] for open_key in self._open)
        if ended and not self._stopping.is_set():
            self._ended(container)

    def _ended(self, container: Container) -> None:
        """Both streams ended: the container stopped (or is gone). Record how it exited."""
        try:
            container.reload()
        except NotFound:
            with self._lock:
                self._following.discard(container.id or "")
                self._latest.pop(container.id or "", None)
            return
        if container.status not in ENDED:  # the reads broke off; the next scan resumes
            with self._lock:
                self._following.discard(container.id or "")
            return
        after = self._last_line_ns(container.id or "")
        for line in container_logs.exit_line(container, after_ns=after):
            self._pending.put(line)
        with self._lock:
            self._following.discard(container.id or "")
            self._done.add(container.id or "")
            self._latest.pop(container.id or "", None)

    def _read_to_end(self, container: Container) -> list[LogLine]:
        lines: list[LogLine] = []
        for stream in STREAMS:
            since = self._since(container.id or "", stream)
            raw = container_logs.read(self._docker, container, stream, since)
            lines.extend(container_logs.log_lines(container, stream, raw))
        return lines

    def _last_line_ns(self, container_id: str, in_hand: list[LogLine] | None = None) -> int:
        """The time of the container's last line: stored, followed (maybe not stored
        yet), or `in_hand`; 0 when it printed nothing."""
        with self._sessions() as session:
            stored = [
                runtime_logs.last_time_ns(session, container_id=container_id, stream=stream) or 0
                for stream in STREAMS
            ]
        with self._lock:
            followed = self._latest.get(container_id, 0)
        return max(*stored, followed, *(line.time_ns for line in in_hand or ()))

    def _since(self, container_id: str, stream: str) -> float | None:
        with self._sessions() as session:
            last = runtime_logs.last_time_ns(session, container_id=container_id, stream=stream)
        return runtime_logs.resume_since(last)

    def _scan_loop(self) -> None:
        pruned_at = 0.0
        while not self._stopping.is_set():
            try:
                self.scan()
                if time.monotonic() - pruned_at > PRUNE_SECONDS:
                    pruned_at = time.monotonic()
                    self.prune()
            except (APIError, SQLAlchemyError, OSError) as error:
                log.warning("runtime log scan: %s", error)
            self._stopping.wait(SCAN_SECONDS)

    def _flush_loop(self) -> None:
        while not self._stopping.is_set():
            self._flush(wait=FLUSH_SECONDS)

    def _flush(self, *, wait: float = 0.0) -> bool:
        """Store the next batch of lines; False when none came or storing gave up."""
        batch: list[LogLine] = []
        try:
            batch.append(self._pending.get(timeout=wait) if wait else self._pending.get_nowait())
        except queue.Empty:
            return False
        while len(batch) < BATCH_LINES:
            try:
                batch.append(self._pending.get_nowait())
            except queue.Empty:
                break
        # Until it is stored: a later batch stored first would move a stream's resume
        # point past these lines, and a restart would then skip them.
        while True:
            try:
                self._store(batch)
                return True
            except SQLAlchemyError as error:
                log.warning("could not store %d runtime log lines: %s", len(batch), error)
            if self._stopping.wait(RETRY_SECONDS):
                return False

    def _store(self, lines: list[LogLine]) -> None:
        if not lines:
            return
        try:
            with self._sessions.begin() as session:
                runtime_logs.append(session, lines)
        except IntegrityError:
            # A deployment deleted meanwhile takes its lines with it: keep only the others.
            with self._sessions.begin() as session:
                wanted = {line.deployment_id for line in lines}
                alive = set(session.scalars(select(Deployment.id).where(Deployment.id.in_(wanted))))
                runtime_logs.append(
                    session, [line for line in lines if line.deployment_id in alive]
                )
