"""A git deployment from the deploy form: the build log streams into the page while the
image builds, and the steps fill in until the deployment is ready."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import docker
from playwright.sync_api import Page, expect

from dockyard.images import busybox_base
from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import PROJECT, Demo, call
from tests.e2e.conftest import Dockyard
from tests.git_repo import GitRepo, app_files

REPOSITORY = "acme/web"
APP = "web"
# A build that takes a few seconds and prints as it goes, so the page is seen mid-build.
# Its own text each run, so Docker's layer cache never skips it.
SLOW_STEP = "echo build {run}; for i in 1 2 3 4 5 6; do echo compiling part $i of 6; sleep 1; done"


def test_deploy_a_branch_and_watch_its_build_log_live(
    page: Page, dockyard: Dockyard, demo: Demo, git_repos: Path, docker_client: docker.DockerClient
) -> None:
    repo = GitRepo(git_repos / "work-web", bare=git_repos / f"{REPOSITORY}.git")
    step = SLOW_STEP.format(run=secrets.token_hex(4))
    sha = repo.commit(
        "Build the web app slowly",
        app_files(busybox_base(docker_client), "web v1", extra_run=step),
    )
    repo.push("main")
    call(
        dockyard,
        "apps.createApp",
        {
            "project": PROJECT,
            "slug": APP,
            "name": "Web",
            "git": {"repository": REPOSITORY, "defaultBranch": "main"},
        },
    )
    sign_in(page, dockyard.root_key)
    open_page(page, ENVIRONMENT.format(environment="production").replace("/default/", f"/{APP}/"))

    page.get_by_role("button", name="Deploy").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Branch", exact=True)).to_have_value("main")
    dialog.get_by_role("button", name="Deploy").click()

    expect(page).to_have_url(re.compile(r"/dashboard/deployments/d_[0-9a-z]+$"))
    log = page.locator("[data-log]")
    status = page.locator(".page-head [data-status]")
    expect(log).to_contain_text("compiling part 2 of 6", timeout=60_000)
    # Seen while the build still runs: the log is live, not loaded at the end.
    expect(status).to_have_attribute("data-status", "building")
    expect(page.locator("[data-log-status]")).to_contain_text("Live")
    screenshot(page, "build-log-live")

    expect(status).to_have_attribute("data-status", "ready", timeout=120_000)
    expect(log).to_contain_text("compiling part 6 of 6")
    expect(page.locator("[data-step=building]")).to_have_class(re.compile("completed"))
    expect(page.locator(".facts")).to_contain_text(sha[:7])
    screenshot(page, "build-ready")
