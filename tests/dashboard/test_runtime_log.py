"""The deployment page shows what the app printed and how it exited, beside the build log."""

from __future__ import annotations

import docker
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import open_page, screenshot, sign_in
from tests.dashboard.demo import PROJECT, Demo, call, wait_final
from tests.e2e.conftest import Dockyard
from tests.runtime_apps import CRASH_CODE, CRASHER_LINES, build_log_apps


def test_a_crashed_deployment_shows_its_output_and_exit_code(
    page: Page, dockyard: Dockyard, demo: Demo, docker_client: docker.DockerClient
) -> None:
    crasher = build_log_apps(docker_client)["crasher"]
    created = call(
        dockyard,
        "deployments.createDeployment",
        {
            "project": PROJECT,
            "app": "default",
            "environment": "preview",
            "image": {"dockerImage": crasher},
        },
    )
    deployment_id = created["deploymentId"]
    assert wait_final(dockyard, deployment_id)["status"] == "failed"

    sign_in(page, dockyard.root_key)
    open_page(page, f"/dashboard/deployments/{deployment_id}")

    log = page.locator("[data-runtime-log]")
    expect(log).to_contain_text(f"exited with code {CRASH_CODE}", timeout=30_000)
    for i in range(1, CRASHER_LINES + 1):
        expect(log).to_contain_text(f"out {i}")
        expect(log).to_contain_text(f"err {i}")
    expect(log.locator("[data-stream=stderr]")).to_have_count(CRASHER_LINES)
    expect(page.locator("[data-runtime-status]")).not_to_contain_text("Live")
    screenshot(page, "runtime-log")
