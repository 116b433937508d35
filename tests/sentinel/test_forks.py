"""The fork server replicas come from: how they look from outside, and what its death does
(nothing to the replicas serving; it is started again)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.sentinel.conftest import Rows, Upstream
from tests.sentinel.test_supervisor import HOST, Replicas, get, replicas, until

__all__ = ["replicas"]  # the fixture, shared with test_supervisor

StartUpstream = Callable[..., Awaitable[Upstream]]
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_a_replica_reads_as_the_command_it_replaces(replicas: Replicas, rows: Rows) -> None:
    """`ps`, `pgrep -f` and the suite's own lookups find replicas by these arguments."""
    replicas.wanted[rows.environment_id] = 2
    await replicas.serving(rows.environment_id, 2)
    for (environment_id, slot), replica in replicas.supervisor.replicas.items():
        assert replica.process is not None
        args = Path(f"/proc/{replica.process.pid}/cmdline").read_bytes().decode().split("\0")
        assert args[1:11] == ["-m", "sentinel.replica", "--environment", environment_id,
                              "--slot", str(slot), "--port", str(replica.port),
                              "--parent", str(os.getpid())]  # fmt: skip


async def test_replicas_outlive_their_fork_server_which_comes_back(
    replicas: Replicas, rows: Rows, upstreams: StartUpstream
) -> None:
    await replicas.route_and_serve(rows, upstreams, 1)
    forks = replicas.supervisor.forks
    first, serving = forks.pid, replicas.supervisor.replicas[(rows.environment_id, 0)]
    assert first is not None and serving.process is not None
    pid = serving.process.pid
    os.kill(first, signal.SIGKILL)
    await until(lambda: forks.pid != first and forks.ready, 30, "no new fork server")
    assert forks.starts == 2
    (address,) = replicas.supervisor.addresses(rows.environment_id)
    assert await get(address, HOST) == 200
    assert serving.process.pid == pid and serving.restarts == 0
    # The new fork server forks as the old one did.
    wanted_at = time.monotonic()
    replicas.wanted[rows.environment_id] = 2
    await replicas.serving(rows.environment_id, 2)
    assert time.monotonic() - wanted_at < 1
