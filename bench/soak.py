"""Does the edge leak under sustained load? `python -m bench.soak [--minutes 5]`.

Starts an upstream (nginx `return 200` when installed, else a small aiohttp server) and
the edge (`python -m sentinel`) on a temporary SQLite database with one production
environment, so the edge supervises three Sentinel replicas. The deployment runs
bench.sentinel's policies: keyauth (the key is cached after the first request) and a
rate limit by client IP, high enough never to refuse, so every request also pays for the
shared Redis counter. Load carries a valid key: wrk (`-t1 -c<connections>`) when
installed, else bench.loadgen at `--rate` requests/s.

RSS and open file descriptors (/proc/<pid>/status, /proc/<pid>/fd) of the edge and each
replica are sampled after a warm-up and after the run, each time once the load has
stopped and idle keep-alive connections have been closed (after 4 s), so both samples
see the same resting state and only what the run kept shows as growth.

Fails (exit 1) when a process's RSS grew by more than RSS_GROWTH of its start, when its
descriptors grew by more than FD_SLACK, when a replica was restarted, or when any request
failed.
Needs Redis (DOCKYARD_REDIS_URL, default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

from bench.edge import (
    HOST,
    edge_settings,
    free_port,
    prepare_database,
    running,
    start_upstream,
    wildcard_certificate,
)
from bench.loadgen import steady_load
from bench.sentinel import REDIS_URL, add_gateway
from dockyard.db import make_engine, make_sessionmaker
from dockyard.models import Environment
from dockyard.settings import settings_environment

# A leak costs memory per request; allocator caches and first-time imports do not grow
# with time. 10% of a ~60 MB process is ~6 MB: at the edge's few thousand requests/s,
# 5 minutes catches anything that keeps even 8 bytes per request.
RSS_GROWTH = 0.10
# Idle keep-alive connections close after EdgeOptions.keepalive_seconds (4 s), checked
# every second: after this much quiet, every pool is back to its resting size.
SETTLE_SECONDS = 6.0
# Pools open connections when first needed, not at start: the edge's resting count is 25
# or 27 from one run to the next (a second pooled SQLite connection: its file and its
# WAL). A leak on the request path costs a descriptor per request or per connection:
# hundreds in a run, not a few.
FD_SLACK = 4
REPLICAS = 3


@dataclass(frozen=True)
class Sample:
    rss_kib: int
    fds: int


def sample(pid: int) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert rss is not None, f"no VmRSS for {pid}"
    return Sample(rss_kib=int(rss.group(1)), fds=len(os.listdir(f"/proc/{pid}/fd")))


@dataclass
class Load:
    requests: int = 0
    failed: int = 0
    detail: str = ""


@dataclass
class Soaked:
    """Samples of every process at start and end, and what the load saw."""

    pids: dict[str, int]
    start: dict[str, Sample]
    end: dict[str, Sample] = field(default_factory=dict)
    load: Load = field(default_factory=Load)
    seconds: float = 0.0
    restarted: list[str] = field(default_factory=list)

    def problems(self, rss_growth: float = RSS_GROWTH) -> list[str]:
        found = [f"{name} was restarted during the run" for name in self.restarted]
        for name, first in self.start.items():
            last = self.end[name]
            if last.rss_kib > first.rss_kib * (1 + rss_growth):
                found.append(
                    f"{name}: RSS {first.rss_kib} -> {last.rss_kib} KiB, "
                    f"more than {rss_growth:.0%} growth"
                )
            if last.fds > first.fds + FD_SLACK:
                found.append(f"{name}: open descriptors {first.fds} -> {last.fds}")
        if self.load.failed:
            found.append(f"{self.load.failed} of {self.load.requests} requests failed")
        return found

    def table(self) -> str:
        header = (
            f"{'process':<11}{'pid':>8}{'RSS start':>12}{'RSS end':>10}{'growth':>9}"
            f"{'FDs start':>11}{'FDs end':>9}"
        )
        lines = [header, "-" * len(header)]
        for name, first in self.start.items():
            last = self.end[name]
            growth = (last.rss_kib - first.rss_kib) / first.rss_kib
            lines.append(
                f"{name:<11}{self.pids[name]:>8}{first.rss_kib / 1024:>9.1f} MB"
                f"{last.rss_kib / 1024:>7.1f} MB{growth:>+9.1%}{first.fds:>11}{last.fds:>9}"
            )
        rate = self.load.requests / self.seconds if self.seconds else 0.0
        lines.append(
            f"\n{self.load.requests} requests in {self.seconds:.0f} s ({rate:.0f}/s), "
            f"{self.load.failed} failed{self.load.detail}"
        )
        return "\n".join(lines)


class SoakStack:
    """Upstream, database, the edge and its replicas; the edge's URL and a valid key."""

    def __init__(self, stack: ExitStack, workdir: Path, redis_url: str) -> None:
        upstream_port, proxy_port = free_port(), free_port()
        start_upstream(stack, workdir, upstream_port, proxy_port)
        database_url = prepare_database(workdir / "dockyard.db", upstream_port)
        engine = make_engine(database_url)
        with make_sessionmaker(engine).begin() as session:
            session.execute(update(Environment).values(kind="production"))  # 3 replicas
        engine.dispose()
        _, self.key, _ = add_gateway(database_url, keys=0)
        settings = edge_settings(workdir, database_url, wildcard_certificate(workdir, "localhost"))
        env = os.environ | settings_environment(settings) | {"DOCKYARD_REDIS_URL": redis_url}
        self.log = workdir / "edge.log"
        command = [sys.executable, "-m", "sentinel"]
        self.edge = stack.enter_context(running(command, env=env, log=self.log))
        self.url = f"http://127.0.0.1:{settings.edge_port}/"
        self._wait_until_serving()

    def _health(self) -> dict[str, object]:
        with urllib.request.urlopen(self.url + "healthz", timeout=2) as response:
            body: dict[str, object] = json.load(response)
            return body

    def _wait_until_serving(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                if self._health().get("healthyReplicas") == REPLICAS:
                    return
            except OSError:
                pass
            if self.edge.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the edge and its replicas did not come up:\n{self.log.read_text()}"
                )
            time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        """The edge, its Caddy and its replica children (named by slot)."""
        found = {"edge": self.edge.pid}
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().decode().split("\0")
                stat = (cmdline.parent / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent != self.edge.pid:
                continue
            if "sentinel.replica" in args:
                found[f"replica {args[args.index('--slot') + 1]}"] = int(cmdline.parent.name)
            elif Path(args[0]).name == "caddy":
                found["caddy"] = int(cmdline.parent.name)
        return dict(sorted(found.items()))


def drive_wrk(url: str, key: str, seconds: float, connections: int) -> Load:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "-H", f"Host: {HOST}", "-H", f"Authorization: Bearer {key}", url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests = re.search(r"(\d+) requests in", out)
    assert requests is not None, out
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(n) for n in socket.groups()) if socket else 0
    failed = (int(non_2xx.group(1)) if non_2xx else 0) + errors
    detail = f" (wrk -c{connections}: {socket.group(0)})" if socket else f" (wrk -c{connections})"
    return Load(requests=int(requests.group(1)), failed=failed, detail=detail)


def drive_loadgen(url: str, key: str, seconds: float, rate: float) -> Load:
    async def run() -> Load:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        headers = {"Authorization": f"Bearer {key}"}
        tally = await steady_load(
            url, host=HOST, rate=rate, stop=stop, concurrency=16, headers=headers
        )
        detail = f" (loadgen at {rate:.0f}/s: statuses {dict(tally.statuses)}"
        return Load(tally.sent, tally.failed, detail + f", errors {dict(tally.errors)})")

    return asyncio.run(run())


@contextmanager
def soak_stack(redis_url: str) -> Iterator[SoakStack]:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        yield SoakStack(stack, Path(tmp), redis_url)


def soak(
    seconds: float,
    *,
    warmup: float = 15.0,
    connections: int = 32,
    rate: float | None = None,
    redis_url: str = REDIS_URL,
) -> Soaked:
    """Warm up, sample, load for `seconds`, sample. wrk unless `rate` asks for loadgen."""
    if rate is None and not shutil.which("wrk"):
        rate = 500.0

    def drive(url: str, key: str, duration: float) -> Load:
        if rate is None:
            return drive_wrk(url, key, duration, connections)
        return drive_loadgen(url, key, duration, rate)

    with soak_stack(redis_url) as edge:
        drive(edge.url, edge.key, warmup)
        time.sleep(SETTLE_SECONDS)
        pids = edge.pids()
        soaked = Soaked(pids=pids, start={name: sample(pid) for name, pid in pids.items()})
        started = time.monotonic()
        soaked.load = drive(edge.url, edge.key, seconds)
        soaked.seconds = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
        now = edge.pids()
        soaked.restarted = [name for name, pid in pids.items() if now.get(name) != pid]
        soaked.end = {name: sample(pid) for name, pid in pids.items() if name in now}
        for name in soaked.restarted:
            soaked.end[name] = soaked.start[name]
    return soaked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--rate", type=float, help="use bench.loadgen at this rate, not wrk")
    args = parser.parse_args()
    soaked = soak(args.minutes * 60, connections=args.connections, rate=args.rate)
    print(soaked.table())
    problems = soaked.problems()
    print(
        f"\nbars: RSS growth <= {RSS_GROWTH:.0%} per process, "
        f"descriptors +{FD_SLACK} at most, no failures"
    )
    for problem in problems:
        print(f"  FAIL  {problem}")
    if not problems:
        print("  PASS")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
