"""The edge's replicas, as a user of the edge notices them: real forks of a real fork
server, serving real routes from the database, with the real Redis."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dockyard.ids import new_id
from dockyard.models import Environment
from dockyard.settings import Settings, settings_environment
from sentinel.supervisor import Supervisor, wanted_replicas
from tests.sentinel.conftest import Rows, Upstream

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "replicas-acme.localhost"
START_BAR = 0.5  # seconds from wanted to serving
PR_GET_CHILD_SUBREAPER = 37


def replica_environment(tmp_path: Path, database_url: str, redis_url: str) -> dict[str, str]:
    settings = Settings(home=tmp_path, database_url=database_url, redis_url=redis_url)
    return {**os.environ, **settings_environment(settings), "PYTHONUNBUFFERED": "1"}


@dataclass
class Replicas:
    """A supervisor in this test's event loop; `wanted` is what it reads each poll."""

    supervisor: Supervisor
    wanted: dict[str, int] = field(default_factory=dict)

    async def route_and_serve(self, rows: Rows, upstreams: StartUpstream, count: int) -> None:
        """HOST routed to a new app in rows' environment, served by `count` replicas."""
        app = await upstreams("app")
        rows.route(HOST, app.address)
        self.wanted[rows.environment_id] = count
        await self.serving(rows.environment_id, count)

    async def serving(self, environment_id: str, count: int, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while len(self.supervisor.addresses(environment_id)) < count:
            assert time.monotonic() < deadline, f"{count} replicas never served {environment_id}"
            await asyncio.sleep(0.005)


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.005)


@pytest.fixture
async def replicas(
    tmp_path: Path, database_url: str, redis_url: str, sessions: sessionmaker[Session]
) -> AsyncIterator[Replicas]:
    wanted: dict[str, int] = {}
    supervisor = Supervisor(
        wanted=lambda: dict(wanted),
        environment=replica_environment(tmp_path, database_url, redis_url),
        host="127.0.0.1",
        interval=0.02,
    )
    running = asyncio.create_task(supervisor.run())
    await until(lambda: supervisor.forks.ready, 60, "the fork server never became ready")
    yield Replicas(supervisor, wanted)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def get(address: str, host: str, path: str = "/") -> int:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://{address}{path}", headers={"Host": host}) as response,
    ):
        return response.status


async def test_a_replica_serves_within_half_a_second_of_being_wanted(
    replicas: Replicas, rows: Rows, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    rows.route(HOST, app.address)
    wanted_at = time.monotonic()
    replicas.wanted[rows.environment_id] = 1
    await until(lambda: bool(replicas.supervisor.assigned(rows.environment_id)), 1, "no port")
    (address,) = replicas.supervisor.assigned(rows.environment_id)
    status = 0
    while status != 200:
        assert time.monotonic() - wanted_at < START_BAR, f"not served in {START_BAR}s: {status}"
        try:
            status = await get(address, HOST)
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.005)
    # The supervisor saw it too: its health check routes traffic there now.
    await replicas.serving(rows.environment_id, 1, within=START_BAR)
    assert replicas.supervisor.summary()["replicaStartMs"] is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_killed_replica_comes_back_on_the_same_address(
    replicas: Replicas, rows: Rows, upstreams: StartUpstream
) -> None:
    await replicas.route_and_serve(rows, upstreams, 3)
    assigned = replicas.supervisor.assigned(rows.environment_id)
    victim = replicas.supervisor.replicas[(rows.environment_id, 1)]
    assert victim.process is not None
    old_pid = victim.process.pid
    os.kill(old_pid, signal.SIGKILL)
    await until(lambda: not victim.healthy, 1, "the edge did not notice the exit")
    # Its address stays assigned while it restarts; the others keep serving.
    assert replicas.supervisor.assigned(rows.environment_id) == assigned
    assert len(replicas.supervisor.addresses(rows.environment_id)) == 2
    await replicas.serving(rows.environment_id, 3, within=2)
    assert victim.process.pid != old_pid and victim.restarts == 1
    assert await get(f"127.0.0.1:{victim.port}", HOST) == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_routes_as_of_waits_for_every_replica(
    replicas: Replicas, rows: Rows, upstreams: StartUpstream
) -> None:
    app = await upstreams("app")
    environment = rows.environment_id
    assert replicas.supervisor.routes_as_of(environment) is None  # none wanted yet
    replicas.wanted[environment] = 2
    await replicas.serving(environment, 2)
    await until(lambda: replicas.supervisor.routes_as_of(environment) is not None, 2, "no time")
    made_at = time.time()
    rows.route(HOST, app.address)
    # Replicas poll the database every second (no Redis notice here): both read it soon.
    await until(
        lambda: (replicas.supervisor.routes_as_of(environment) or 0) > made_at, 5, "not read"
    )
    for address in replicas.supervisor.addresses(environment):
        assert await get(address, HOST) == 200
    victim = replicas.supervisor.replicas[(environment, 0)]
    assert victim.process is not None
    victim.process.kill()
    await until(lambda: replicas.supervisor.routes_as_of(environment) is None, 1, "still a time")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_new_environment_gets_replicas_without_a_deploy(
    tmp_path: Path, database_url: str, redis_url: str, sessions: sessionmaker[Session], rows: Rows
) -> None:
    supervisor = Supervisor(
        wanted=lambda: wanted_replicas(sessions),
        environment=replica_environment(tmp_path, database_url, redis_url),
        host="127.0.0.1",
    )
    running = asyncio.create_task(supervisor.run())
    try:
        await Replicas(supervisor).serving(rows.environment_id, 3, within=60)
        with sessions.begin() as session:
            production = session.get_one(Environment, rows.environment_id)
            staging = Environment(
                id=new_id("environment"),
                project_id=production.project_id,
                app_id=production.app_id,
                slug="staging",
                kind="preview",
            )
            session.add(staging)
        # Read every second, started in a fraction of one.
        await Replicas(supervisor).serving(staging.id, 1, within=3)
        assert len(supervisor.assigned(staging.id)) == 1
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert not supervisor.replicas
    assert not adopts_orphans()  # that was for the replicas: this process is itself again


def adopts_orphans() -> bool:
    flag = ctypes.c_int()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0
    return bool(flag.value)


EDGE = """
import asyncio, os, sys
from dockyard.db import make_engine, make_sessionmaker
from sentinel.supervisor import Supervisor, wanted_replicas

sessions = make_sessionmaker(make_engine(sys.argv[1]))
supervisor = Supervisor(
    wanted=lambda: wanted_replicas(sessions), environment=dict(os.environ), host="127.0.0.1"
)
asyncio.run(supervisor.run())
"""


def processes(*words: str) -> list[int]:
    """Processes whose command line has these arguments, found the way `ps` shows them."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode().split("\0")
        except OSError:
            continue  # it exited meanwhile
        if all(word in args for word in words):
            found.append(int(cmdline.parent.name))
    return found


def replica_pids(environment_id: str) -> list[int]:
    return processes("sentinel.replica", "--environment", environment_id)


def alive(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting for whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_killing_the_edge_leaves_no_replica_behind(
    tmp_path: Path, database_url: str, redis_url: str, rows: Rows
) -> None:
    environment = replica_environment(tmp_path, database_url, redis_url)
    edge = subprocess.Popen([sys.executable, "-c", EDGE, database_url], env=environment)
    try:
        await until(lambda: len(replica_pids(rows.environment_id)) == 3, 60, "no replicas")
        replicas = replica_pids(rows.environment_id)
        # The edge's own children (it reaps them), not the fork server's they came from.
        assert {parent(pid) for pid in replicas} == {edge.pid}
        # A replica just forked carries the fork server's command line until it names
        # itself: wait until the fork server is the only such child of the edge.
        servers: list[int] = []

        def one_fork_server() -> bool:
            servers[:] = [p for p in processes("sentinel.forks") if parent(p) == edge.pid]
            return len(servers) == 1

        await until(one_fork_server, 60, "no single fork server under the edge")
        (forks,) = servers
        edge.kill()
        edge.wait()
        await until(lambda: not any(map(alive, replicas)), 1, "replicas outlived the edge")
        await until(lambda: not alive(forks), 1, "the fork server outlived the edge")
        assert not replica_pids(rows.environment_id)
    finally:
        if edge.poll() is None:
            edge.kill()
            edge.wait()
