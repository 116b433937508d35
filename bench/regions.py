"""Two regions on two hosts: how long a deployment to both takes, and what a host's death
costs the other region.

    sudo python -m bench.regions [--rate 100] [--after-kill 10]

Needs root, iproute2 (ip, nsenter), socat, redis-server, dockerd and a PostgreSQL server
(DOCKYARD_TEST_POSTGRES_URL, as the tests). Makes two region hosts on this machine, each a
network namespace with its own Docker engine, started with scripts/region-host
(tests/regions/host.py), beside a control plane of its own (Temporal dev server, Redis with
a password, a PostgreSQL database with its own role, the API, `worker.py --control`).
Deploys to both regions and times the API call to ready, in each region and in all. Then,
under steady load on the live domain through both edges, kills one host outright and keeps
the load on the surviving region for --after-kill seconds.

Last line: `ready_s <x> failed_surviving <n>`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import docker

from bench.loadgen import Tally, table
from bench.stack import require_tools
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import free_port
from dockyard.runtime import DockerRuntime
from tests.conftest import POSTGRES_ADMIN_URL
from tests.regions.apps import REGION_APP, build_region_apps, steady
from tests.regions.host import RegionHost, region_host
from tests.regions.plane import ControlPlane, control_plane, deploy

REGIONS = ("eu", "us")
PROJECT = "twin"
LIVE = f"{PROJECT}-acme.localhost"
POLL_SECONDS = 0.02


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="requests/s per edge")
    parser.add_argument("--after-kill", type=float, default=10, help="seconds of load after")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.regions makes network namespaces and Docker engines: run it as root")
    require_tools("ip", "nsenter", "socat", "redis-server", "dockerd")
    images = build_region_apps(docker.from_env())
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-regions-") as state:
        root = Path(state)
        with (
            region_host(1, root / "eu") as eu,
            region_host(2, root / "us") as us,
            control_plane(
                root / "plane",
                regions=list(REGIONS),
                temporal_address=f"127.0.0.1:{free_port()}",
                postgres_admin_url=POSTGRES_ADMIN_URL,
                hosts=[eu, us],
                temporal=True,
                local_region=False,
                temporal_ui_port=free_port(),
            ) as plane,
        ):
            for host, region in ((eu, "eu"), (us, "us")):
                host.load(images)
                plane.start_host(host, region)
            for region in REGIONS:
                plane.wait_edge(plane.host_edge(region))
            with plane.api() as api:
                api.call("projects.createProject", {"slug": PROJECT, "name": PROJECT})
                api.call("apps.createApp", {"project": PROJECT, "slug": "default", "name": "t"})
                ready = deploy_and_time(api)
            failed, rows = kill_one_under_load(plane, us, args.rate, args.after_kill)
            DockerRuntime(owner=plane.settings.task_queue_prefix).remove_owned()
    report(ready, rows)
    print(f"ready_s {ready['all']:.2f} failed_surviving {failed}")
    return 0


def deploy_and_time(api: ApiClient) -> dict[str, float]:
    """Seconds from the createDeployment call until each region, then the deployment, is
    ready."""
    started = time.monotonic()
    deployment_id = deploy(api, PROJECT, REGION_APP)
    ready: dict[str, float] = {}
    while "all" not in ready:
        found = api.call("deployments.getDeployment", {"deploymentId": deployment_id})
        now = time.monotonic() - started
        for region in found["regionStatus"]:
            if region["status"] == "ready":
                ready.setdefault(region["region"], now)
        if found["status"] == "failed":
            raise SystemExit(f"the deployment failed: {found['error']}")
        if found["status"] == "ready":
            ready["all"] = now
            for step in (s for s in found["steps"] if s["status"] != "skipped"):
                took = ((step["finishedAt"] or step["startedAt"]) - step["startedAt"]) / 1000
                ready[f"  {step['name']}"] = took
        time.sleep(POLL_SECONDS)
    return ready


def kill_one_under_load(
    plane: ControlPlane, victim: RegionHost, rate: float, after_kill: float
) -> tuple[int, list[tuple[str, Tally]]]:
    """Load through both edges; `us` dies midway. What the surviving region failed (no
    answer at all counts as failed too)."""
    with (
        steady(plane.host_edge("eu"), LIVE, rate=rate) as surviving,
        steady(plane.host_edge("us"), LIVE, rate=rate) as dying,
    ):
        time.sleep(after_kill / 2)  # a benchmark's fixed window of load before the kill
        killed_at = time.monotonic()
        victim.kill()
        print(f"killed host us in {time.monotonic() - killed_at:.2f}s", file=sys.stderr)
        time.sleep(after_kill)
    rows = [
        ("eu (surviving), through its edge", surviving.tally),
        ("us (killed midway), through its edge", dying.tally),
    ]
    return surviving.tally.failed, rows


def report(ready: dict[str, float], rows: list[tuple[str, Tally]]) -> None:
    print("\nregions benchmark: 2 region hosts (network namespaces), 1 replica each")
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}")
    print("\nAPI call -> ready (each region's instances healthy; the whole deployment, by step)")
    for name, seconds in ready.items():
        print(f"  {name:<14}{seconds:>7.2f}s")
    print()
    print(table(rows))


if __name__ == "__main__":
    raise SystemExit(main())
