"""Many deployments at once: does the control plane keep up, and how does it grow?

    python -m bench.control_plane [--deployments 50] [--environments 10]

Starts a private stack, creates apps until there are --environments environments (each
app has production and preview), starts every deployment at the same moment through the
API, waits for all of them, and prints deployments per minute and p50/p99 time to ready.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from bench.stack import own_settings
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import running_stack
from dockyard.images import build_demo
from dockyard.runtime import DockerRuntime

FINAL = {"ready", "failed", "cancelled", "superseded", "skipped", "stopped"}


def deploy_and_wait(
    api_url: str, root_key: str, target: tuple[str, str], image: str
) -> tuple[str, float]:
    app, environment = target
    with ApiClient(api_url, root_key) as api:
        started = time.monotonic()
        created = api.call(
            "deployments.createDeployment",
            {
                "project": "load",
                "app": app,
                "environment": environment,
                "image": {"dockerImage": image},
            },
        )
        while True:
            status = api.call(
                "deployments.getDeployment", {"deploymentId": created["deploymentId"]}
            )["status"]
            if status in FINAL:
                return status, time.monotonic() - started
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=50)
    parser.add_argument("--environments", type=int, default=10)
    args = parser.parse_args()
    image = build_demo(docker.from_env(), "v1")
    with tempfile.TemporaryDirectory(prefix="dockyard-load-") as home:
        settings = own_settings(Path(home), "load")
        root_key = settings.root_key
        with running_stack(settings, echo=False), ApiClient(settings.api_url, root_key) as api:
            api.call("projects.createProject", {"slug": "load", "name": "load"})
            apps = [f"app{i}" for i in range((args.environments + 1) // 2)]
            for app in apps:
                api.call("apps.createApp", {"project": "load", "slug": app, "name": app})
            targets = [(app, env) for app in apps for env in ("production", "preview")]
            targets = targets[: args.environments]
            plan = [targets[i % len(targets)] for i in range(args.deployments)]
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.deployments) as pool:
                results = list(
                    pool.map(
                        lambda target: deploy_and_wait(settings.api_url, root_key, target, image),
                        plan,
                    )
                )
            wall = time.monotonic() - started
        DockerRuntime(owner=settings.task_queue_prefix).remove_owned()
    times = sorted(seconds for status, seconds in results if status == "ready")
    statuses = {status: sum(1 for s, _ in results if s == status) for status, _ in results}
    print(
        f"\n{args.deployments} deployments at once across {len(targets)} environments "
        f"on {os.cpu_count()} cores"
    )
    print(f"outcomes: {statuses}")
    print(f"all final after {wall:.1f} s: {len(results) / wall * 60:.0f} deployments/minute")
    if times:
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"time to ready: p50 {statistics.median(times):.1f} s, p99 {p99:.1f} s")
    return 0 if len(times) == args.deployments else 1


if __name__ == "__main__":
    raise SystemExit(main())
