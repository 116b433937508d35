"""What Sentinel replicas cost, and whether a new environment serves the moment it is ready.

    python -m bench.footprint [--apps 20] [--requests 300]

Starts a private stack (Temporal dev server, worker, API, edge) in a temporary directory
and, through the REST API, creates --apps apps (each with its production and preview
environment: 3 + 1 replicas). Right after creating each app it gives the app's brand-new
production environment the gateway policies replicas are there for (an API key, a rate
limit), deploys the local demo image to it, and the moment the deployment reports
`ready` sends one request (with a valid key) to each of its domains through the edge:
any answer that is not 2xx counts as a first-request failure. Then it sends --requests
requests to each live domain, and reads from /proc what the Sentinel processes (the
fork server and every replica) hold:
  PSS   their proportional share of memory, summed: what they cost the machine together;
  USS   a replica's private memory (smaps_rollup Private_Clean + Private_Dirty): what one
        more replica costs.
Replica start times (fork to healthy) are the ones the edge logs for every start.
Bars: replica USS < 25 MB, start < 500 ms, no first-request failure.
Last line: `replica_mb <x> start_ms <y> first_request_failures <n>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import docker
import httpx

from bench.stack import own_settings
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import running_stack
from dockyard.images import build_demo
from dockyard.runtime import DockerRuntime

PROJECT = "footprint"
POLL_SECONDS = 0.01
READY_TIMEOUT = 180.0
REPLICAS_PER_APP = 4  # production's 3 and preview's 1
LANES = 8  # concurrent requests per live domain under load
STARTED = re.compile(r"sentinel replica \S+ serving (\d+) ms after its fork")
USS_BAR_MB, START_BAR_MS = 25.0, 500.0


@dataclass(frozen=True)
class FirstRequest:
    deployment_id: str
    statuses: dict[str, int]  # domain -> status of its first request (0: no answer)
    served_after: float | None  # seconds from `ready` to the first 2xx

    @property
    def failed(self) -> bool:
        return any(not 200 <= status < 300 for status in self.statuses.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="per live domain")
    args = parser.parse_args()
    image = build_demo(docker.from_env(), "v1")
    with tempfile.TemporaryDirectory(prefix="dockyard-footprint-") as home:
        settings = own_settings(Path(home), "footprint")
        os.environ["DOCKYARD_ROOT_KEY"] = settings.root_key
        edge_url = f"http://127.0.0.1:{settings.edge_port}"
        with (
            running_stack(settings, echo=False) as running,
            ApiClient(settings.api_url, settings.root_key) as api,
        ):
            edge_pid = dict(running.stack.processes)["edge"].pid
            api.call("projects.createProject", {"slug": PROJECT, "name": PROJECT})
            api_id = api.call("apis.createApi", {"name": PROJECT})["apiId"]
            key = api.call("keys.createKey", {"apiId": api_id})["key"]
            headers = {"Authorization": f"Bearer {key}"}
            firsts = []
            for number in range(1, args.apps + 1):
                app = f"app{number:02d}"
                api.call("apps.createApp", {"project": PROJECT, "slug": app, "name": app})
                api.call("gateway.setPolicies", {**target(app), "policies": policies(api_id)})
                firsts.append(first_request(api, edge_url, app, image, headers))
                print(f"{app}: {describe(firsts[-1])}", file=sys.stderr)
            wait_for_replicas(edge_pid, args.apps * REPLICAS_PER_APP)
            idle = sentinel_memory(edge_pid)
            live = [live_domain(api, first.deployment_id) for first in firsts]
            load = asyncio.run(serve(edge_url, live, args.requests, headers))
            loaded = sentinel_memory(edge_pid)
            starts = [
                int(ms) for ms in STARTED.findall((settings.home / "logs/edge.log").read_text())
            ]
        DockerRuntime(owner=settings.task_queue_prefix).remove_owned()
    report(args.apps, firsts, idle, loaded, load, starts)
    return 0


def target(app: str) -> dict[str, str]:
    return {"project": PROJECT, "app": app, "environment": "production"}


def policies(api_id: str) -> list[dict[str, object]]:
    """A valid key, then a rate limit per client address no load here reaches."""
    limit = {"limit": 10**9, "windowMs": 60_000, "identifiers": [{"remoteIp": {}}]}
    return [
        {"name": "key", "enabled": True, "keyauth": {"keyspaces": [api_id]}},
        {"name": "limit", "enabled": True, "ratelimit": limit},
    ]


def first_request(
    api: ApiClient, edge_url: str, app: str, image: str, headers: dict[str, str]
) -> FirstRequest:
    """Deploy to the app's new production environment; at `ready`, request its domains."""
    created = api.call(
        "deployments.createDeployment", {**target(app), "image": {"dockerImage": image}}
    )
    deployment_id = created["deploymentId"]
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        deployment = api.call("deployments.getDeployment", {"deploymentId": deployment_id})
        if deployment["status"] == "ready":
            break
        if deployment["status"] == "failed" or time.monotonic() > deadline:
            raise SystemExit(f"deployment {deployment_id} did not become ready: {deployment}")
        time.sleep(POLL_SECONDS)
    ready_at = time.monotonic()
    statuses, served_after = {}, None
    with httpx.Client(timeout=10) as client:
        for domain in deployment.get("domains") or []:
            try:
                answer = client.get(f"{edge_url}/", headers={**headers, "Host": domain})
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            statuses[domain] = status
            if served_after is None and 200 <= status < 300:
                served_after = time.monotonic() - ready_at
    if not statuses:
        raise SystemExit(f"deployment {deployment_id} is ready without any domain")
    return FirstRequest(deployment_id, statuses, served_after)


def describe(first: FirstRequest) -> str:
    after = f"{1000 * first.served_after:.0f} ms" if first.served_after is not None else "never"
    return f"first requests {sorted(first.statuses.values())}, first 2xx {after} after ready"


def live_domain(api: ApiClient, deployment_id: str) -> str:
    domains = api.call("deployments.getDeployment", {"deploymentId": deployment_id})["domains"]
    return str(min(domains, key=len))  # <project>-<app>-<workspace>: the shortest of them


async def serve(
    edge_url: str, hosts: list[str], requests: int, headers: dict[str, str]
) -> Counter[str]:
    """`requests` GETs per host, LANES at a time per host, all hosts at once: what came
    back, by status or by the error that came instead."""
    outcomes: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=0)  # a connection per lane, none waiting
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def lane(host: str, count: int) -> None:
            for _ in range(count):
                try:
                    sent = {**headers, "Host": host}
                    async with client.get(f"{edge_url}/", headers=sent) as response:
                        await response.read()
                        outcomes[str(response.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as error:
                    outcomes[type(error).__name__] += 1

        await asyncio.gather(
            *(lane(host, requests // LANES) for host in hosts for _ in range(LANES))
        )
    return outcomes


@dataclass(frozen=True)
class Memory:
    fork_servers: dict[int, tuple[float, float]]  # pid -> (PSS, USS) in MB
    replicas: dict[int, tuple[float, float]]

    @property
    def total_pss(self) -> float:
        return sum(pss for pss, _ in [*self.fork_servers.values(), *self.replicas.values()])

    @property
    def replica_uss(self) -> list[float]:
        return [uss for _, uss in self.replicas.values()]


def sentinel_processes(edge_pid: int) -> tuple[list[int], list[int]]:
    """The edge's children: (fork servers, replicas), by the command lines they show."""
    forks, replicas = [], []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode().split("\0")
            stat = (cmdline.parent / "stat").read_text()
        except OSError:
            continue  # it exited meanwhile
        if int(stat.rpartition(")")[2].split()[1]) != edge_pid:
            continue
        if "sentinel.forks" in args:
            forks.append(int(cmdline.parent.name))
        elif "sentinel.replica" in args:
            replicas.append(int(cmdline.parent.name))
    return forks, replicas


def memory_of(pid: int) -> tuple[float, float]:
    """(PSS, USS) in MB, from /proc/<pid>/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return fields["Pss"] / 1024, (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024


def sentinel_memory(edge_pid: int) -> Memory:
    forks, replicas = sentinel_processes(edge_pid)
    return Memory({pid: memory_of(pid) for pid in forks}, {pid: memory_of(pid) for pid in replicas})


def wait_for_replicas(edge_pid: int, count: int, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while len(sentinel_processes(edge_pid)[1]) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"fewer than {count} replicas after {within:.0f} s")
        time.sleep(0.2)


def report(
    apps: int,
    firsts: list[FirstRequest],
    idle: Memory,
    loaded: Memory,
    load: Counter[str],
    starts: list[int],
) -> None:
    failures = sum(first.failed for first in firsts)
    gaps = [first.served_after for first in firsts if first.served_after is not None]
    replica_mb = statistics.mean(loaded.replica_uss)
    start_ms = statistics.mean(starts) if starts else float("nan")
    print(f"\nfootprint benchmark: {apps} apps, {2 * apps} environments, "
          f"{len(loaded.replicas)} replicas, {len(loaded.fork_servers)} fork server")  # fmt: skip
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}")
    print(f"load: {sum(load.values())} requests through the edge: {dict(load)}")
    print(f"\n{'memory (MB)':<36}{'idle':>10}{'after load':>12}")
    rows = [
        ("total PSS, fork server + replicas", idle.total_pss, loaded.total_pss),
        ("replica USS, mean", statistics.mean(idle.replica_uss), replica_mb),
        ("replica USS, max", max(idle.replica_uss), max(loaded.replica_uss)),
        ("fork server PSS", sum(p for p, _ in idle.fork_servers.values()),
         sum(p for p, _ in loaded.fork_servers.values())),
    ]  # fmt: skip
    for name, before, after in rows:
        print(f"{name:<36}{before:>10.1f}{after:>12.1f}")
    if starts:
        print(f"\nreplica start, fork to healthy: mean {start_ms:.0f} ms, "
              f"median {statistics.median(starts):.0f} ms, max {max(starts)} ms "
              f"({len(starts)} starts)")  # fmt: skip
    if gaps:
        print(f"ready -> first 2xx: mean {1000 * statistics.mean(gaps):.0f} ms, "
              f"max {1000 * max(gaps):.0f} ms")  # fmt: skip
    print(f"first requests after ready that failed: {failures} of {len(firsts)}")
    verdicts = [
        ("replica USS", replica_mb < USS_BAR_MB, f"< {USS_BAR_MB:.0f} MB"),
        ("start", start_ms < START_BAR_MS, f"< {START_BAR_MS:.0f} ms"),
        ("first requests", failures == 0, "none failed"),
    ]
    for name, met, bar in verdicts:
        print(f"{name}: {'meets' if met else 'MISSES'} the bar ({bar})")
    print(f"replica_mb {replica_mb:.1f} start_ms {start_ms:.0f} first_request_failures {failures}")


if __name__ == "__main__":
    raise SystemExit(main())
