"""How fast is push to deploy? `python -m bench.build [--runs 5] [--dependency-mb 150]`.

Starts a private stack (Temporal dev server, worker, API, edge) in a temporary directory,
connects an app to a local bare repository, and drives it the way GitHub does: `git push`,
then a signed push delivery to /webhooks/github. The app's Dockerfile has a dependency
layer (a RUN step writing and hashing --dependency-mb of data, standing in for `npm ci`
or `pip install`: there is no package registry here) keyed on deps.txt, then copies the
site. The first push builds cold; every later push changes one line of the site, so the
dependency layer comes from Docker's cache.

Prints the cold build, the warm builds (bar: warm under 30% of cold) and, for the warm
pushes, the time from the delivery's arrival to `ready` with each phase (bar: median
under 10 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import docker
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.stack import own_settings
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import running_stack
from dockyard.images import busybox_base
from dockyard.models import DeploymentStep
from dockyard.runtime import LABEL_OWNER
from dockyard.settings import Settings
from tests.git_repo import GitRepo
from tests.github import deliver

REPOSITORY = "bench/site"
PHASES = ("queued", "building", "deploying", "network", "finalizing")
WARM_BAR = 0.30
READY_BAR_SECONDS = 10.0
POLL_SECONDS = 0.02


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm pushes after the cold one")
    parser.add_argument("--dependency-mb", type=int, default=150)
    args = parser.parse_args()
    client = docker.from_env()
    base = busybox_base(client)
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-build-") as home:
        repos = Path(home) / "repos"
        settings = own_settings(
            Path(home) / "dockyard", "bench", github_webhook_secret=SecretStr(secret)
        )
        root_key = settings.root_key
        os.environ["DOCKYARD_ROOT_KEY"] = root_key
        repo = GitRepo(Path(home) / "work", bare=repos / f"{REPOSITORY}.git")
        try:
            with (
                running_stack(settings, echo=False) as running,
                ApiClient(settings.api_url, root_key) as api,
            ):
                api.call("projects.createProject", {"slug": "bench", "name": "bench"})
                api.call(
                    "apps.createApp",
                    {
                        "project": "bench",
                        "slug": "default",
                        "name": "bench",
                        "git": {"repository": REPOSITORY},
                    },
                )
                pusher = Pusher(settings, repo, secret, base, args.dependency_mb)
                rows = []
                for run in range(args.runs + 1):
                    rows.append(pusher.push_and_wait(api, running.booted.sessions, run))
                    kind = "cold" if run == 0 else "warm"
                    print(
                        f"push {run + 1} ({kind}): build {rows[-1]['building']:.2f}s, "
                        f"delivery -> ready {rows[-1]['total']:.2f}s",
                        file=sys.stderr,
                    )
        finally:
            # Only once the worker is gone: while it runs, it replaces removed instances.
            _clean_up(client, settings.task_queue_prefix)
    report(rows, args.dependency_mb)
    return 0


class Pusher:
    def __init__(
        self, settings: Settings, repo: GitRepo, secret: str, base: str, dependency_mb: int
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._secret = secret
        self._base = base
        self._dependency_bytes = dependency_mb * 1_000_000
        self._salt = secrets.token_hex(8)  # a dependency layer no earlier run has cached

    def push_and_wait(
        self, api: ApiClient, sessions: sessionmaker[Session], run: int
    ) -> dict[str, float]:
        sha = self._repo.commit(f"change {run}", self._files(run))
        self._repo.push("main")
        started = time.monotonic()
        answer = deliver(self._settings.api_url, "push", self._payload(sha), secret=self._secret)
        answer.raise_for_status()
        [deployment_id] = answer.json()["deploymentIds"]
        while True:
            deployment = api.call("deployments.getDeployment", {"deploymentId": deployment_id})
            if deployment["status"] in ("ready", "failed"):
                break
            time.sleep(POLL_SECONDS)
        total = time.monotonic() - started
        if deployment["status"] != "ready":
            raise SystemExit(f"{deployment_id} failed: {deployment.get('error')}")
        return {"total": total, **_phases(sessions, deployment_id)}

    def _files(self, run: int) -> dict[str, str]:
        dockerfile = (
            f"FROM {self._base}\n"
            "COPY deps.txt /app/deps.txt\n"
            f"RUN head -c {self._dependency_bytes} /dev/urandom > /app/deps.bin"
            " && sha256sum /app/deps.bin > /app/deps.sum\n"
            "COPY www /www\n"
            'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n'
        )
        return {
            "Dockerfile": dockerfile,
            "deps.txt": f"dependencies {self._salt}\n",
            "www/index.html": f"<h1>bench</h1>\n<p>change {run}</p>\n",
        }

    def _payload(self, sha: str) -> dict[str, object]:
        """GitHub's push event, with the fields dockyard reads (GitHub sends many more)."""
        commit = {
            "id": sha,
            "message": "change",
            "added": [],
            "removed": [],
            "modified": ["www/index.html"],
        }
        return {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": sha,
            "created": False,
            "deleted": False,
            "repository": {
                "full_name": REPOSITORY,
                "clone_url": self._repo.url,
                "default_branch": "main",
            },
            "head_commit": commit,
            "commits": [commit],
        }


def _phases(sessions: sessionmaker[Session], deployment_id: str) -> dict[str, float]:
    with sessions() as session:
        steps = {
            step.name: step
            for step in session.scalars(
                select(DeploymentStep).where(DeploymentStep.deployment_id == deployment_id)
            )
        }
    return {
        name: ((steps[name].finished_at or steps[name].started_at) - steps[name].started_at) / 1000
        for name in PHASES
    }


def _clean_up(client: docker.DockerClient, owner: str) -> None:
    """The bench's instances and the images it built; the layer cache stays."""
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}):
        image = container.image
        container.remove(force=True)
        for tag in image.tags if image is not None else []:
            if tag.startswith("dockyard-build/"):
                client.images.remove(tag)


def report(rows: list[dict[str, float]], dependency_mb: int) -> None:
    cold, warm = rows[0], rows[1:]
    print(
        f"\npush-to-deploy benchmark: 1 cold + {len(warm)} warm pushes, "
        f"{dependency_mb} MB dependency layer"
    )
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}")
    print(f"\n{'phase':<12}{'cold':>9}{'warm med':>10}{'min':>9}{'max':>9}")
    for phase in (*PHASES, "total"):
        values = [row[phase] for row in warm]
        print(
            f"{phase:<12}{cold[phase]:>8.2f}s{statistics.median(values):>9.2f}s"
            f"{min(values):>8.2f}s{max(values):>8.2f}s"
        )
    warm_build = statistics.median(row["building"] for row in warm)
    ratio = warm_build / cold["building"]
    ready = statistics.median(row["total"] for row in warm)
    print(
        f"\nbuild: cold {cold['building']:.2f}s, warm median {warm_build:.2f}s = "
        f"{ratio:.0%} of cold ({'meets' if ratio < WARM_BAR else 'MISSES'} the "
        f"{WARM_BAR:.0%} bar)"
    )
    print(
        f"delivery -> ready on a warm cache: median {ready:.2f}s "
        f"({'meets' if ready < READY_BAR_SECONDS else 'MISSES'} the {READY_BAR_SECONDS:.0f} s bar)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
