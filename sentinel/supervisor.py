"""The edge supervises its region's Sentinel replicas: child processes, per environment.

Why child processes of the edge, rather than Docker containers with a restart policy:
- Isolation is what the issue asks of a replica, and a process gives it: its own
  interpreter, memory, config and caches, so a broken policy or a crash in a preview
  cannot touch production's replicas.
- It works wherever the edge works: under `dockyard dev` (which runs `python -m
  sentinel`), in tests, in the compose stack, with no image to build or pull and no
  Docker socket for the edge.
- The edge must know which replicas are up to route to them; as their parent it learns
  of an exit at once (no polling a Docker API) and restarts the replica on the same
  port, so routes stay valid even while the database is unreachable.
- Provisioning needs no deploy step: every second the supervisor reads the wanted count
  per environment (3 for production, 1 for a preview, more if gateway.updateSettings
  raised it) and starts or stops replicas to match. A new environment has replicas
  within a second of its row being committed, whoever created it.

A replica counts as healthy while its process runs and its /healthz answers 200; only
healthy replicas receive traffic. A replica that exits is restarted after a back-off
(RESTART_DELAYS), reset once it has stayed up for STABLE_SECONDS. Replicas watch their
parent and exit when the edge is gone, so an edge killed outright leaves none behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.keyspaces import EnvironmentGateway
from dockyard.models import Environment

log = logging.getLogger(__name__)

PRODUCTION_REPLICAS = 3
PREVIEW_REPLICAS = 1
RESTART_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
STABLE_SECONDS = 10.0
HEALTH_TIMEOUT = 1.0
STOP_GRACE = 5.0


def wanted_replicas(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Replicas per environment: the kind's default, or more when a setting asks."""
    with sessions() as session:
        rows = session.execute(
            select(Environment.id, Environment.kind, EnvironmentGateway.sentinel_replicas).join(
                EnvironmentGateway,
                EnvironmentGateway.environment_id == Environment.id,
                isouter=True,
            )
        )
        wanted = {}
        for environment_id, kind, setting in rows:
            default = PRODUCTION_REPLICAS if kind == "production" else PREVIEW_REPLICAS
            wanted[environment_id] = max(default, setting or 0)
        return wanted


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Replica:
    environment_id: str
    slot: int
    port: int
    process: asyncio.subprocess.Process | None = None
    healthy: bool = False
    started_at: float = 0.0
    failures: int = 0  # exits in a row that came before STABLE_SECONDS
    restarts: int = 0
    stopping: bool = False
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self,
        *,
        wanted: Callable[[], Mapping[str, int]],
        environment: Mapping[str, str],
        host: str,
        on_change: Callable[[], None] = lambda: None,
        interval: float = 1.0,
        health_interval: float = 0.5,
    ) -> None:
        self._wanted = wanted
        self._environment = dict(environment)
        self._host = host
        self.on_change = on_change
        self._interval = interval
        self._health_interval = health_interval
        self.replicas: dict[tuple[str, int], Replica] = {}
        self.loaded = False
        self._stopping: set[asyncio.Task[None]] = set()

    def addresses(self, environment_id: str) -> tuple[str, ...]:
        return tuple(
            f"{self._host}:{replica.port}"
            for (environment, _), replica in sorted(self.replicas.items())
            if environment == environment_id and replica.healthy
        )

    def summary(self) -> dict[str, object]:
        healthy = sum(replica.healthy for replica in self.replicas.values())
        return {"replicas": len(self.replicas), "healthyReplicas": healthy}

    async def run(self) -> None:
        health = asyncio.create_task(self._check_health())
        try:
            while True:
                try:
                    wanted = await asyncio.to_thread(self._wanted)
                except Exception as error:
                    # The database blinked: keep the replicas there are, as they are.
                    log.warning("replica count not read, keeping replicas as they are: %s", error)
                else:
                    self._reconcile(wanted)
                    self.loaded = True
                await asyncio.sleep(self._interval)
        finally:
            health.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await health
            await self.stop_all()

    def _reconcile(self, wanted: Mapping[str, int]) -> None:
        for (environment_id, slot), replica in list(self.replicas.items()):
            if slot >= wanted.get(environment_id, 0):
                del self.replicas[(environment_id, slot)]
                stopping = asyncio.create_task(self._stop(replica))
                self._stopping.add(stopping)
                stopping.add_done_callback(self._stopping.discard)
                self.on_change()
        for environment_id, count in wanted.items():
            for slot in range(count):
                if (environment_id, slot) not in self.replicas:
                    replica = Replica(environment_id, slot, free_port(self._host))
                    self.replicas[(environment_id, slot)] = replica
                    replica.watcher = asyncio.create_task(self._keep_running(replica))

    def command(self, replica: Replica) -> list[str]:
        return [
            sys.executable,
            "-m",
            "sentinel.replica",
            "--environment",
            replica.environment_id,
            "--slot",
            str(replica.slot),
            "--port",
            str(replica.port),
            "--parent",
            str(os.getpid()),
        ]

    async def _keep_running(self, replica: Replica) -> None:
        while not replica.stopping:
            replica.started_at = time.monotonic()
            replica.process = await asyncio.create_subprocess_exec(
                *self.command(replica), env=self._environment
            )
            code = await replica.process.wait()
            replica.healthy = False
            self.on_change()
            if replica.stopping:
                return
            lived = time.monotonic() - replica.started_at
            replica.failures = 0 if lived >= STABLE_SECONDS else replica.failures + 1
            if replica.failures >= 3:
                replica.port = free_port(self._host)  # its port may have been taken meanwhile
            delay = RESTART_DELAYS[min(replica.failures, len(RESTART_DELAYS) - 1)]
            log.warning(
                "sentinel replica %s/%d exited with %s; restarting in %.1f s",
                replica.environment_id,
                replica.slot,
                code,
                delay,
            )
            replica.restarts += 1
            await asyncio.sleep(delay)

    async def _check_health(self) -> None:
        while True:
            replicas = list(self.replicas.values())
            results = await asyncio.gather(*(self._probe(replica) for replica in replicas))
            changed = False
            for replica, healthy in zip(replicas, results, strict=True):
                if replica.healthy != healthy and not replica.stopping:
                    replica.healthy = healthy
                    changed = True
            if changed:
                self.on_change()
            await asyncio.sleep(self._health_interval)

    async def _probe(self, replica: Replica) -> bool:
        if replica.process is None or replica.process.returncode is not None:
            return False
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, replica.port), HEALTH_TIMEOUT
            )
        except (OSError, TimeoutError):
            return False
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status_line = await asyncio.wait_for(reader.readline(), HEALTH_TIMEOUT)
            return status_line.split(b" ")[1:2] == [b"200"]
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()

    async def _stop(self, replica: Replica) -> None:
        replica.stopping = True
        replica.healthy = False
        process = replica.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if replica.watcher is not None:
            replica.watcher.cancel()

    async def stop_all(self) -> None:
        replicas = list(self.replicas.values())
        self.replicas.clear()
        await asyncio.gather(*(self._stop(replica) for replica in replicas))
