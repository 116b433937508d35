"""The deploy loop in a browser: redeploy a commit, watch it go live, roll back in one
click plus a confirmation; the edge serves what the dashboard says."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import COMMITS, Demo
from tests.e2e.conftest import Dockyard

LIVE = "demo-acme.localhost"
PRODUCTION = ENVIRONMENT.format(environment="production")
READY_TIMEOUT = 90_000


def live_version(dockyard: Dockyard, timeout: float = 30) -> str:
    """What the live domain serves; Sentinel replicas may still be starting at first."""
    deadline = time.monotonic() + timeout
    while True:
        response = dockyard.through_edge(LIVE, "/version.txt")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert response.status_code == 200, response.text
    return response.text.strip()


def test_redeploy_a_commit_watch_it_go_live_then_roll_back(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, PRODUCTION)
    assert live_version(dockyard) == "v2"
    first = page.locator(f"[data-deployment-row={demo.first}]")
    expect(first).to_contain_text(COMMITS["v1"][1])
    expect(first).to_contain_text(COMMITS["v1"][0][:7])
    expect(first.locator("[data-status]")).to_have_text("Standby")
    screenshot(page, "deployments-before-redeploy")

    # Redeploy v1's commit: one click, then the confirmation.
    first.get_by_role("button", name="Redeploy").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(demo.first)
    dialog.get_by_role("button", name="Redeploy").click()

    # The new deployment's page follows it to ready, step by step.
    expect(page).to_have_url(re.compile(r"/dashboard/deployments/d_[0-9a-z]+$"))
    redeployed = page.url.rsplit("/", 1)[1]
    assert redeployed not in (demo.first, demo.second)
    status = page.locator(".page-head [data-status]")
    expect(status).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT)
    expect(page.locator(".page-head")).to_contain_text("Current")
    for step in ("deploying", "network", "finalizing"):
        expect(page.locator(f"[data-step={step}]")).to_have_class(re.compile("completed"))
    expect(page.locator(".facts")).to_contain_text(COMMITS["v1"][0][:7])
    expect(page.locator("[data-workflow]")).to_have_attribute(
        "href", re.compile(rf"/namespaces/default/workflows/deploy-{redeployed}$")
    )
    expect(page.locator(".domain-link", has_text=LIVE)).to_have_attribute(
        "href", f"http://{LIVE}:{dockyard.settings.edge_port}/"
    )
    screenshot(page, "redeployed-ready")
    assert live_version(dockyard) == "v1"

    # Roll back to v2: the confirmation says what changes, one click carries it out.
    open_page(page, PRODUCTION)
    second = page.locator(f"[data-deployment-row={demo.second}]")
    second.get_by_role("button", name="Roll back").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Roll back production?")
    expect(dialog).to_contain_text(redeployed)
    expect(dialog).to_contain_text(demo.second)
    expect(dialog).to_contain_text(LIVE)
    screenshot(page, "rollback-confirmation")
    dialog.get_by_role("button", name="Roll back").click()

    expect(second).to_contain_text("Current", timeout=20_000)
    expect(page.locator(f"[data-live={demo.second}]")).to_be_visible()
    expect(page.locator(f"[data-deployment-row={redeployed}] [data-status]")).to_have_text(
        "Standby"
    )
    screenshot(page, "rolled-back")
    assert live_version(dockyard) == "v2"
    banner = page.locator("text=Production is rolled back")
    open_page(page, "/dashboard/projects/demo")
    expect(banner).to_be_visible()
    screenshot(page, "project-rolled-back")

    # Promote the redeployment again: live follows, and new deployments take live again.
    open_page(page, f"/dashboard/deployments/{redeployed}")
    page.locator(".page-head").get_by_role("button", name="Promote").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("go live on their own again")
    dialog.get_by_role("button", name="Promote").click()
    expect(page.locator(".page-head")).to_contain_text("Current", timeout=20_000)
    assert live_version(dockyard) == "v1"
    open_page(page, "/dashboard/projects/demo")
    expect(banner).to_have_count(0)


def test_stop_and_start_a_preview(page: Page, dockyard: Dockyard, demo: Demo) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, ENVIRONMENT.format(environment="preview"))
    row = page.locator(f"[data-deployment-row={demo.preview}]")
    status = row.locator("[data-status]")

    row.get_by_role("button", name="Stop").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Stop this preview?")
    dialog.get_by_role("button", name="Stop deployment").click()
    expect(status).to_have_attribute("data-status", "stopped", timeout=30_000)
    screenshot(page, "preview-stopped")

    row.get_by_role("button", name="Start").click()
    page.get_by_role("dialog").get_by_role("button", name="Start deployment").click()
    expect(status).to_have_attribute("data-status", "ready", timeout=60_000)
    expect(row.get_by_role("button", name="Stop")).to_be_visible()


def test_a_failed_deployment_says_why_and_where(page: Page, dockyard: Dockyard, demo: Demo) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, ENVIRONMENT.format(environment="preview"))

    page.get_by_role("button", name="Deploy").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Pre-built image").click()
    dialog.get_by_label("Image", exact=True).fill("dockyard/does-not-exist:v9")
    dialog.get_by_role("button", name="Deploy").click()

    status = page.locator(".page-head [data-status]")
    expect(status).to_have_attribute("data-status", "failed", timeout=READY_TIMEOUT)
    error = page.locator("[data-error]")
    expect(error).to_contain_text("Failed while")
    expect(error).to_contain_text("dockyard/does-not-exist:v9")
    expect(page.locator(".step.failed")).to_have_count(1)
    screenshot(page, "deployment-failed")


def test_an_app_without_a_repository_deploys_an_image_by_default(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, PRODUCTION)

    page.locator(".page-head").get_by_role("button", name="Deploy").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("radio", name="Pre-built image")).to_be_checked()
    expect(dialog.get_by_label("Image", exact=True)).to_be_visible()
    expect(dialog.get_by_label("Branch", exact=True)).to_be_hidden()
    expect(dialog.locator("[data-no-repository]")).to_contain_text("no repository connected")
    screenshot(page, "deploy-dialog-no-repository")
    dialog.get_by_role("button", name="Cancel").click()
