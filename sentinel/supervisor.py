"""The edge supervises its region's Sentinel replicas: processes, per environment.

Why processes of the edge, rather than Docker containers with a restart policy:
- Isolation is what a replica must give, and a process gives it: its own
  memory, config and caches, so a broken policy or a crash in a preview cannot touch
  production's replicas.
- It works wherever the edge works: under `dockyard dev`, in tests, in the compose
  stack, with no image to build or pull and no Docker socket for the edge.
- Replicas are forked from one warm process per region (sentinel.forks), so a replica
  starts in a fraction of a second and shares the imported code and warm caches
  copy-on-write. Each is still the edge's own child: it learns of an exit at once (no
  polling a Docker API) and restarts the replica on the same port, so routes stay valid
  even while the database is unreachable.
- Provisioning needs no deploy step: every second the supervisor reads the wanted count
  per environment (3 for production, 1 for a preview, more if gateway.updateSettings
  raised it) and starts or stops replicas to match. A new environment has replicas
  within a second or so of its row being committed, whoever created it.

A replica counts as healthy while its process runs and its /healthz answers 200; the
edge routes to healthy ones. Every address assigned to an environment stays the same
while its replica restarts (`assigned`), and `routes_as_of` says as of when every wanted
replica of an environment has read its routes. A replica that exits is restarted after a
back-off (RESTART_DELAYS), reset once it has stayed up for STABLE_SECONDS. Replicas die
with the edge (sentinel.forks), so an edge killed outright leaves none behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.keyspaces import EnvironmentGateway
from dockyard.models import Environment
from sentinel.forks import ForkedProcess, ForkFailed, ForkServer, adopting_orphans, end

log = logging.getLogger(__name__)

PRODUCTION_REPLICAS = 3
PREVIEW_REPLICAS = 1
RESTART_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
STABLE_SECONDS = 10.0
HEALTH_TIMEOUT = 1.0
# A starting replica is probed this often, so traffic reaches it as soon as it answers.
STARTING_PROBE_SECONDS = 0.01
STARTS_KEPT = 200


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
    process: ForkedProcess | None = None
    healthy: bool = False
    started_at: float = 0.0  # when it was last forked
    starting: bool = False  # forked, and not yet healthy since
    routes_as_of: float | None = None  # its /healthz routesAsOf, while healthy
    failures: int = 0  # exits in a row that came before STABLE_SECONDS
    restarts: int = 0
    stopping: bool = False
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Health:
    healthy: bool
    routes_as_of: float | None = None


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
        """`environment`: the fork server's (and so every replica's) process environment,
        settings included."""
        self._wanted = wanted
        self._host = host
        self.on_change = on_change
        self._interval = interval
        self._health_interval = health_interval
        self.forks = ForkServer(environment)
        self.replicas: dict[tuple[str, int], Replica] = {}
        self.loaded = False
        self.start_seconds: deque[float] = deque(maxlen=STARTS_KEPT)  # fork -> healthy
        self._stopping: set[asyncio.Task[None]] = set()

    def _of(self, environment_id: str) -> list[Replica]:
        return [
            replica
            for (environment, _), replica in sorted(self.replicas.items())
            if environment == environment_id
        ]

    def addresses(self, environment_id: str) -> tuple[str, ...]:
        """The healthy replicas of an environment."""
        return tuple(
            f"{self._host}:{replica.port}"
            for replica in self._of(environment_id)
            if replica.healthy
        )

    def assigned(self, environment_id: str) -> tuple[str, ...]:
        """Every replica of an environment, healthy or not: each keeps its address while
        it restarts, so a proxy can list them all and let its health checks choose."""
        return tuple(f"{self._host}:{replica.port}" for replica in self._of(environment_id))

    def routes_as_of(self, environment_id: str) -> float | None:
        """When every wanted replica of the environment is healthy: the oldest time as of
        which one of them read its routes (changes committed before it are served
        everywhere). None while any is missing, starting or down."""
        replicas = self._of(environment_id)
        times = [replica.routes_as_of for replica in replicas if replica.healthy]
        if not replicas or len(times) < len(replicas) or None in times:
            return None
        return min(as_of for as_of in times if as_of is not None)

    def summary(self) -> dict[str, object]:
        healthy = sum(replica.healthy for replica in self.replicas.values())
        starts = self.start_seconds
        return {
            "replicas": len(self.replicas),
            "healthyReplicas": healthy,
            "replicaStartMs": round(1000 * sum(starts) / len(starts), 1) if starts else None,
            "forkServer": {"pid": self.forks.pid, "starts": self.forks.starts},
        }

    async def run(self) -> None:
        with adopting_orphans():  # every replica the fork server forks is our child
            forks = asyncio.create_task(self.forks.run())
            health = asyncio.create_task(self._check_health())
            try:
                await self._keep_reconciling()
            finally:
                health.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await health
                await self.stop_all()
                await asyncio.gather(*self._stopping)
                forks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forks

    async def _keep_reconciling(self) -> None:
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
                    self.on_change()

    async def _keep_running(self, replica: Replica) -> None:
        while not replica.stopping:
            replica.started_at = time.monotonic()
            replica.starting = True
            try:
                replica.process = await self.forks.fork(
                    replica.environment_id, replica.slot, host=self._host, port=replica.port
                )
            except ForkFailed as error:
                log.warning("sentinel replica %s/%d not started: %s", replica.environment_id,
                            replica.slot, error)  # fmt: skip
                await asyncio.sleep(RESTART_DELAYS[1])
                continue
            starting = asyncio.create_task(self._until_healthy(replica))
            code = await replica.process.wait()
            starting.cancel()
            self._set_health(replica, Health(False))
            if replica.stopping:
                return
            lived = time.monotonic() - replica.started_at
            replica.failures = 0 if lived >= STABLE_SECONDS else replica.failures + 1
            if replica.failures >= 3:
                replica.port = free_port(self._host)  # its port may have been taken meanwhile
                self.on_change()
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

    async def _until_healthy(self, replica: Replica) -> None:
        """Probe a starting replica closely: it takes traffic the moment it answers."""
        process = replica.process
        while process is not None and process.returncode is None and not replica.stopping:
            health = await self._probe(replica)
            if health.healthy:
                self._set_health(replica, health)
                return
            await asyncio.sleep(STARTING_PROBE_SECONDS)

    def _set_health(self, replica: Replica, health: Health) -> None:
        replica.routes_as_of = health.routes_as_of
        if replica.healthy == health.healthy or (health.healthy and replica.stopping):
            return
        replica.healthy = health.healthy
        if health.healthy and replica.starting:
            replica.starting = False
            took = time.monotonic() - replica.started_at
            self.start_seconds.append(took)
            log.info("sentinel replica %s/%d serving %.0f ms after its fork",
                     replica.environment_id, replica.slot, 1000 * took)  # fmt: skip
        self.on_change()

    async def _check_health(self) -> None:
        while True:
            replicas = list(self.replicas.values())
            results = await asyncio.gather(*(self._probe(replica) for replica in replicas))
            for replica, health in zip(replicas, results, strict=True):
                if not replica.stopping:
                    self._set_health(replica, health)
            await asyncio.sleep(self._health_interval)

    async def _probe(self, replica: Replica) -> Health:
        """GET /healthz on an IP host: 200 means healthy; its routesAsOf comes along."""
        process = replica.process
        if process is None or process.returncode is not None:
            return Health(False)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, replica.port), HEALTH_TIMEOUT
            )
        except (OSError, TimeoutError):
            return Health(False)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), HEALTH_TIMEOUT)
        except (OSError, TimeoutError):
            return Health(False)
        finally:
            writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        if head.split(b" ")[1:2] != [b"200"]:
            return Health(False)
        try:
            as_of = json.loads(body).get("routesAsOf")
        except ValueError:
            as_of = None
        return Health(True, float(as_of) if isinstance(as_of, int | float) else None)

    async def _stop(self, replica: Replica) -> None:
        replica.stopping = True
        replica.healthy = False
        if replica.process is not None:
            await end(replica.process)
        if replica.watcher is not None:
            replica.watcher.cancel()

    async def stop_all(self) -> None:
        replicas = list(self.replicas.values())
        self.replicas.clear()
        await asyncio.gather(*(self._stop(replica) for replica in replicas))
