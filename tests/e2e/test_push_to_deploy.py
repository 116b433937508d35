"""Push to deploy, as a team uses it: git pushes, GitHub's deliveries, real builds, the edge.

One private dockyard (worker, API, edge) with a webhook secret, one repository served from
a local bare repository, and deliveries made from @octokit/webhooks-examples payloads.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import docker
import httpx
import pytest
from pydantic import SecretStr

from dockyard.images import busybox_base
from tests.e2e.conftest import Dockyard, start_dockyard
from tests.git_repo import GitRepo, app_files
from tests.github import branch_deleted_example, deliver, example, push_example, sign_with_octokit

SECRET = f"webhook-{secrets.token_hex(8)}"
REPOSITORY = "acme/shop"
FINAL = ("ready", "failed", "skipped", "superseded", "cancelled", "stopped")


class Shop:
    """The stack, the repository it is connected to, and GitHub telling it about pushes."""

    def __init__(self, dockyard: Dockyard, repo: GitRepo, base_image: str) -> None:
        self.dockyard = dockyard
        self.repo = repo
        self.base_image = base_image

    def commit(self, content: str, **options: str) -> str:
        return self.repo.commit(content, app_files(self.base_image, content, **options))

    def push(self, branch: str, sha: str, *, files: list[str] | None = None) -> dict[str, Any]:
        """`git push`, then GitHub's delivery of it; the delivery's answer."""
        self.repo.push(branch)
        payload = push_example(
            repository=REPOSITORY,
            branch=branch,
            sha=sha,
            clone_url=self.repo.url,
            files=files if files is not None else ["www/index.html"],
        )
        answer = deliver(self.dockyard.settings.api_url, "push", payload, secret=SECRET)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        answer = self.dockyard.api("deployments.getDeployment", {"deploymentId": deployment_id})
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    def wait(self, deployment_id: str, until: tuple[str, ...] = FINAL) -> dict[str, Any]:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            deployment = self.deployment(deployment_id)
            if deployment["status"] in until:
                return deployment
            time.sleep(0.1)
        raise AssertionError(f"{deployment_id} is still {deployment['status']}")

    def deploy(self, branch: str, sha: str) -> dict[str, Any]:
        [deployment_id] = self.push(branch, sha)["deploymentIds"]
        deployment = self.wait(deployment_id)
        assert deployment["status"] == "ready", deployment
        return deployment

    def serves(self, hostname: str) -> str:
        # A branch's first push creates its environment, whose Sentinel replica the edge
        # starts within a second or so of the row: until then the edge answers 503.
        deadline = time.monotonic() + 20
        answer = self.dockyard.through_edge(hostname)
        while answer.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            answer = self.dockyard.through_edge(hostname)
        assert answer.status_code == 200, f"{hostname}: {answer.status_code} {answer.text}"
        return answer.text.strip()


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, docker_client: docker.DockerClient
) -> Iterator[Shop]:
    repos = tmp_path_factory.mktemp("git-host")
    repo = GitRepo(repos / "work-root", bare=repos / f"{REPOSITORY}.git")
    with start_dockyard(
        tmp_path_factory.mktemp("dockyard-home"),
        redis_url,
        github_webhook_secret=SecretStr(SECRET),
        git_clone_url=f"file://{repos}/{{repository}}.git",
    ) as dockyard:
        assert dockyard.cli("projects", "create", "shop").returncode == 0
        created = dockyard.api(
            "apps.createApp",
            {
                "project": "shop",
                "slug": "default",
                "name": "Shop",
                "git": {"repository": REPOSITORY, "defaultBranch": "main"},
            },
        )
        assert created.status_code < 300, created.text
        shop = Shop(dockyard, repo, busybox_base(docker_client))
        shop.commit("the first commit")
        repo.push("main")  # GitHub is not told: nothing is deployed yet
        yield shop
    app_id = created.json()["data"]["appId"]
    for image in docker_client.images.list(name=f"dockyard-build/{app_id}"):
        for tag in image.tags:
            docker_client.images.remove(tag)


def test_each_push_deploys_its_commit_to_its_environment_and_every_domain_serves_it(
    shop: Shop,
) -> None:
    first = shop.commit("first on main")
    shop.deploy("main", first)
    second = shop.commit("second on main")
    live = shop.deploy("main", second)
    shop.repo.branch("feature")
    on_branch = shop.commit("on feature")
    preview = shop.deploy("feature", on_branch)
    shop.repo.branch("main")

    assert live["git"]["commitSha"] == second and live["environment"] == "production"
    assert preview["git"]["commitSha"] == on_branch
    assert preview["environment"] == "preview-feature"
    assert shop.serves(f"shop-git-{first[:7]}-acme.localhost") == "first on main"
    for hostname in (
        f"shop-git-{second[:7]}-acme.localhost",
        "shop-git-main-acme.localhost",
        "shop-production-acme.localhost",
        "shop-acme.localhost",
    ):
        assert shop.serves(hostname) == "second on main", hostname
    for hostname in (
        f"shop-git-{on_branch[:7]}-acme.localhost",
        "shop-git-feature-acme.localhost",
        "shop-preview-feature-acme.localhost",
    ):
        assert shop.serves(hostname) == "on feature", hostname


def test_a_failing_dockerfile_fails_the_build_and_live_keeps_serving(shop: Shop) -> None:
    good = shop.commit("good")
    shop.deploy("main", good)
    broken = shop.commit("broken", extra_run="echo cannot find module left-pad; exit 1")

    [deployment_id] = shop.push("main", broken)["deploymentIds"]
    failed = shop.wait(deployment_id)

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "build_failed"
    assert failed["error"]["step"] == "building"
    assert "cannot find module left-pad" in failed["error"]["message"]
    assert shop.serves("shop-acme.localhost") == "good"


def test_a_push_outside_the_watch_paths_is_skipped(shop: Shop) -> None:
    where = {"project": "shop", "app": "default", "environment": "production"}
    shop.dockyard.api("environments.updateSettings", {**where, "watchPaths": ["www/**"]})
    try:
        docs = shop.repo.commit("docs only", {"README.md": "just docs\n"})
        answer = shop.push("main", docs, files=["README.md"])
    finally:
        shop.dockyard.api("environments.updateSettings", {**where, "watchPaths": []})

    [skipped_id] = answer["skippedDeploymentIds"]
    assert answer.get("deploymentIds", []) == []
    assert shop.deployment(skipped_id)["status"] == "skipped"


def test_deleting_a_branch_archives_its_preview(
    shop: Shop, docker_client: docker.DockerClient
) -> None:
    shop.repo.branch("short-lived")
    preview = shop.deploy("short-lived", shop.commit("short-lived preview"))
    shop.repo.branch("main")
    assert shop.serves("shop-git-short-lived-acme.localhost") == "short-lived preview"

    shop.repo.delete_remote_branch("short-lived")
    payload = branch_deleted_example(repository=REPOSITORY, branch="short-lived")
    answer = deliver(shop.dockyard.settings.api_url, "push", payload, secret=SECRET)

    assert answer.status_code == 200, answer.text
    assert answer.json()["archivedDeploymentIds"] == [preview["id"]]
    assert shop.wait(preview["id"], until=("stopped",))["status"] == "stopped"
    assert (
        docker_client.containers.list(filters={"label": f"dockyard.deployment={preview['id']}"})
        == []
    )


def test_a_closed_pull_request_archives_its_head_branchs_preview(shop: Shop) -> None:
    shop.repo.branch("pr-branch")
    preview = shop.deploy("pr-branch", shop.commit("pull request preview"))
    shop.repo.branch("main")
    closed = example("pull_request", lambda p: p["action"] == "closed")
    closed["repository"]["full_name"] = REPOSITORY
    closed["pull_request"]["head"]["ref"] = "pr-branch"
    closed["pull_request"]["head"]["repo"]["full_name"] = REPOSITORY
    body = json.dumps(closed)

    answer = deliver(
        shop.dockyard.settings.api_url,
        "pull_request",
        body,
        secret=None,
        signature=sign_with_octokit(SECRET, body),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["archivedDeploymentIds"] == [preview["id"]]
    assert shop.wait(preview["id"], until=("stopped",))["status"] == "stopped"


def test_redeploy_rebuilds_exactly_the_earlier_commit(shop: Shop) -> None:
    old = shop.commit("the old one")
    earlier = shop.deploy("main", old)
    shop.deploy("main", shop.commit("the new one"))

    by_sha = shop.dockyard.api(
        "deployments.createDeployment",
        {
            "project": "shop",
            "app": "default",
            "environment": "production",
            "git": {"commitSha": old},
        },
    )
    assert by_sha.status_code == 201, by_sha.text
    rebuilt = shop.wait(by_sha.json()["data"]["deploymentId"])
    assert rebuilt["status"] == "ready" and rebuilt["git"]["commitSha"] == old
    assert shop.serves("shop-acme.localhost") == "the old one"

    again = shop.dockyard.api(
        "deployments.createDeployment",
        {
            "project": "shop",
            "app": "default",
            "environment": "production",
            "deployment": {"deploymentId": earlier["id"]},
        },
    )
    assert again.status_code == 201, again.text
    redeployed = shop.wait(again.json()["data"]["deploymentId"])
    assert redeployed["status"] == "ready" and redeployed["git"]["commitSha"] == old
    assert redeployed["id"] != earlier["id"]


def test_build_logs_arrive_while_the_build_runs(shop: Shop) -> None:
    marker = f"compiling-{secrets.token_hex(4)}"
    slow = shop.commit("slow", extra_run=f"echo {marker} && sleep 6 && echo linked")
    [deployment_id] = shop.push("main", slow)["deploymentIds"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "logs", deployment_id, "--follow"],
        env={
            **os.environ,
            "DOCKYARD_API_URL": shop.dockyard.settings.api_url,
            "DOCKYARD_ROOT_KEY": shop.dockyard.root_key,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    printed = []
    status_when_seen = None
    for line in follower.stdout:
        printed.append(line.rstrip("\n"))
        if line.strip() == marker:
            status_when_seen = shop.deployment(deployment_id)["status"]
            break

    rest, errors = follower.communicate(timeout=120)

    assert status_when_seen == "building", printed
    assert follower.returncode == 0, errors
    assert "linked" in rest.splitlines()
    assert any(line.startswith("Step 1/") for line in printed)
    assert shop.wait(deployment_id)["status"] == "ready"
    listed = shop.dockyard.cli("logs", deployment_id)
    assert listed.returncode == 0
    assert marker in listed.stdout.splitlines() and "linked" in listed.stdout.splitlines()


def test_the_build_log_stream_is_server_sent_events(shop: Shop) -> None:
    marker = f"sse-{secrets.token_hex(4)}"
    [deployment_id] = shop.push("main", shop.commit("sse", extra_run=f"echo {marker} && sleep 4"))[
        "deploymentIds"
    ]
    url = f"{shop.dockyard.settings.api_url}/v2/deployments/{deployment_id}/buildLogs/stream"
    headers = {"Authorization": f"Bearer {shop.dockyard.root_key}"}

    seen_while = []
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(30, read=60)) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:]).get("message") == marker:
                seen_while.append(shop.deployment(deployment_id)["status"])
            if line.startswith("event: end"):
                break

    assert seen_while == ["building"]
    unauthenticated = httpx.get(url, timeout=10)
    assert unauthenticated.status_code == 401
    assert shop.wait(deployment_id)["status"] == "ready"
