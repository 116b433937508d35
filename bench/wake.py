"""How long a stopped preview takes to answer its first requests (wake on request).

    python -m bench.wake [--runs 3] [--requests 20]

Starts a private stack (Temporal dev server, worker, API, edge) in a temporary directory,
deploys the local demo image to a preview environment, then --runs times: stops the
deployment, fires --requests concurrent first requests at its domain, and times each
one's first byte (the request is held while the deployment wakes). Starts are counted in
the environment workflow's history: the instance starts ("schedule instances"
activities) each wake caused, which must be one however many requests arrived.

Last line: `wake_s <median over runs of the slowest first byte> starts <most starts one
wake caused> failed <requests not answered 200 with the app's body, over all runs>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import docker
import httpx
from temporalio.client import Client

from bench.stack import own_settings
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import running_stack
from dockyard.images import build_demo
from dockyard.payloads import environment_workflow_id
from dockyard.runtime import DockerRuntime
from dockyard.settings import Settings
from dockyard.temporal import connect

BAR_SECONDS = 3.0
POLL_SECONDS = 0.05
SCHEDULE = "schedule instances"
ENVIRONMENT = "wake"
HOSTNAME = "bench-wake-bench.localhost"  # the environment domain: <project>-<env>-<workspace>


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    image = build_demo(docker.from_env(), "v1")
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as home:
        settings = own_settings(Path(home), "bench", workspace="bench")
        os.environ["DOCKYARD_ROOT_KEY"] = settings.root_key
        try:
            with (
                running_stack(settings, echo=False),
                ApiClient(settings.api_url, settings.root_key) as api,
            ):
                deployment_id, environment_id = deploy_preview(api, image)
                runs = asyncio.run(wake_runs(api, settings, deployment_id, environment_id, args))
        finally:
            DockerRuntime(owner=settings.task_queue_prefix).remove_owned()
    return report(runs, args.requests)


def deploy_preview(api: ApiClient, image: str) -> tuple[str, str]:
    where = {"project": "bench", "app": "default"}
    api.call("projects.createProject", {"slug": "bench", "name": "bench"})
    api.call("apps.createApp", {"project": "bench", "slug": "default", "name": "bench"})
    environment = api.call(
        "environments.createEnvironment", {**where, "slug": ENVIRONMENT, "kind": "preview"}
    )
    created = api.call(
        "deployments.createDeployment",
        {**where, "environment": ENVIRONMENT, "image": {"dockerImage": image}},
    )
    deployment_id: str = created["deploymentId"]
    wait_for_status(api, deployment_id, "ready")
    return deployment_id, environment["id"]


def wait_for_status(api: ApiClient, deployment_id: str, wanted: str) -> None:
    while True:
        status = api.call("deployments.getDeployment", {"deploymentId": deployment_id})["status"]
        if status == wanted:
            return
        if status == "failed":
            raise SystemExit(f"deployment {deployment_id} failed; see the stack's logs")
        time.sleep(POLL_SECONDS)


async def wake_runs(
    api: ApiClient,
    settings: Settings,
    deployment_id: str,
    environment_id: str,
    args: argparse.Namespace,
) -> list[tuple[list[float], int, int]]:
    """Per run: (each request's seconds to first byte, starts, failed requests)."""
    client = await connect(settings)
    url = f"http://127.0.0.1:{settings.edge_port}/version.txt"
    runs = []
    async with httpx.AsyncClient(
        timeout=settings.wake_timeout.total_seconds() + 10,
        limits=httpx.Limits(max_connections=args.requests),
    ) as http:
        for run in range(args.runs):
            api.call("deployments.stopDeployment", {"deploymentId": deployment_id})
            await asyncio.to_thread(wait_for_status, api, deployment_id, "stopped")
            before = await events(client, environment_id)
            started = time.monotonic()
            answers = await asyncio.gather(
                *(first_byte(http, url, started) for _ in range(args.requests))
            )
            starts = (await events(client, environment_id))[SCHEDULE] - before[SCHEDULE]
            seconds = [took for took, _ in answers]
            failed = sum(1 for _, ok in answers if not ok)
            print(
                f"run {run + 1}: first byte {min(seconds):.2f}s to {max(seconds):.2f}s, "
                f"starts {starts}, failed {failed}",
                file=sys.stderr,
            )
            runs.append((seconds, starts, failed))
    return runs


async def first_byte(http: httpx.AsyncClient, url: str, started: float) -> tuple[float, bool]:
    """Seconds from the burst's start to this request's response head, and whether the
    app itself answered."""
    try:
        async with http.stream("GET", url, headers={"Host": HOSTNAME}) as response:
            took = time.monotonic() - started
            body = (await response.aread()).decode(errors="replace").strip()
    except httpx.HTTPError:
        return time.monotonic() - started, False
    return took, response.status_code == 200 and body == "v1"


async def events(client: Client, environment_id: str) -> Counter[str]:
    """The environment workflow's scheduled activities, by name."""
    handle = client.get_workflow_handle(environment_workflow_id(environment_id))
    seen: Counter[str] = Counter()
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            seen[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
    return seen


def report(runs: list[tuple[list[float], int, int]], requests: int) -> int:
    slowest = [max(seconds) for seconds, _, _ in runs]
    fastest = [min(seconds) for seconds, _, _ in runs]
    wake_s = statistics.median(slowest)
    starts = max(starts for _, starts, _ in runs)
    failed = sum(failed for _, _, failed in runs)
    print(f"\nwake benchmark: {len(runs)} runs, {requests} concurrent first requests each")
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}")
    print(f"first byte, fastest request: median {statistics.median(fastest):.2f}s")
    print(f"first byte, slowest request: median {wake_s:.2f}s, max {max(slowest):.2f}s")
    verdict = "meets" if wake_s < BAR_SECONDS else "MISSES"
    print(f"stopped preview -> every request served: {wake_s:.2f}s ({verdict} the 3 s bar)")
    print(f"wake_s {wake_s:.2f} starts {starts} failed {failed}")
    return 0 if failed == 0 and starts == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
