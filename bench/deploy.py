"""How long a deployment takes, from the API call to `ready`, and where the time goes.

    python -m bench.deploy [--runs 7]

Starts a private stack (Temporal dev server, worker, API, edge) in a temporary directory,
deploys the local demo image to one region with one replica, --runs times in a row, and
prints the median with a per-phase breakdown taken from the recorded deployment steps.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import docker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.stack import own_settings
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import running_stack
from dockyard.images import build_demo
from dockyard.models import Deployment, DeploymentStep
from dockyard.runtime import DockerRuntime

PHASES = ("accepted", "deploying", "network", "finalizing")
POLL_SECONDS = 0.02
BAR_SECONDS = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    image = build_demo(docker.from_env(), "v1")
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as home:
        settings = own_settings(Path(home), "bench")
        root_key = settings.root_key
        os.environ["DOCKYARD_ROOT_KEY"] = root_key
        with (
            running_stack(settings, echo=False) as running,
            ApiClient(settings.api_url, root_key) as api,
        ):
            api.call("projects.createProject", {"slug": "bench", "name": "bench"})
            api.call("apps.createApp", {"project": "bench", "slug": "default", "name": "bench"})
            rows = []
            for run in range(args.runs):
                rows.append(deploy_once(api, running.booted.sessions, image))
                print(f"run {run + 1}: {rows[-1]['total']:.2f}s", file=sys.stderr)
        DockerRuntime(owner=settings.task_queue_prefix).remove_owned()
    report(rows)
    return 0


def deploy_once(api: ApiClient, sessions: sessionmaker[Session], image: str) -> dict[str, float]:
    started = time.time()
    created = api.call(
        "deployments.createDeployment",
        {
            "project": "bench",
            "app": "default",
            "environment": "production",
            "image": {"dockerImage": image},
        },
    )
    deployment_id = created["deploymentId"]
    while True:
        status = api.call("deployments.getDeployment", {"deploymentId": deployment_id})["status"]
        if status in ("ready", "failed"):
            break
        time.sleep(POLL_SECONDS)
    total = time.time() - started
    if status != "ready":
        raise SystemExit(f"deployment {deployment_id} failed; see the stack's logs")
    with sessions() as session:
        steps = {
            s.name: s
            for s in session.scalars(
                select(DeploymentStep).where(DeploymentStep.deployment_id == deployment_id)
            )
        }
        created_at = session.get_one(Deployment, deployment_id).created_at
    row = {"total": total, "accepted": (steps["deploying"].started_at - created_at) / 1000}
    for phase in ("deploying", "network", "finalizing"):
        step = steps[phase]
        row[phase] = ((step.finished_at or step.started_at) - step.started_at) / 1000
    return row


def report(rows: list[dict[str, float]]) -> None:
    totals = [row["total"] for row in rows]
    median = statistics.median(totals)
    print(f"\ndeploy benchmark: {len(rows)} runs, local image, 1 region, 1 replica")
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}")
    print(f"\n{'phase':<12}{'median':>9}{'min':>9}{'max':>9}")
    for phase in (*PHASES, "total"):
        values = [row[phase] for row in rows]
        print(
            f"{phase:<12}{statistics.median(values):>8.3f}s{min(values):>8.3f}s{max(values):>8.3f}s"
        )
    verdict = "meets" if median < BAR_SECONDS else "MISSES"
    print(f"\nmedian API call -> ready: {median:.2f}s ({verdict} the {BAR_SECONDS:.0f} s bar)")


if __name__ == "__main__":
    raise SystemExit(main())
