"""Sentinel from the dashboard: key auth in three clicks (Settings, Sentinel, choose the
keyspace, save), and the ordered policy list. The gateway enforces what was saved."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import APP, PROJECT, Demo, call, wait_final
from tests.e2e.conftest import Dockyard

PREVIEW_HOST = "demo-preview-acme.localhost"


def through_edge(dockyard: Dockyard, key: str | None = None) -> httpx.Response:
    headers = {"Host": PREVIEW_HOST}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = f"http://127.0.0.1:{dockyard.settings.edge_port}/version.txt"
    return httpx.get(url, headers=headers, timeout=10)


def policies(dockyard: Dockyard, environment: str) -> list[dict[str, Any]]:
    scope = {"project": PROJECT, "app": APP, "environment": environment}
    listed: list[dict[str, Any]] = call(dockyard, "gateway.listPolicies", scope)
    return listed


def test_key_auth_in_three_clicks_then_the_gateway_wants_a_key(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, ENVIRONMENT.format(environment="preview"))

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Sentinel").click()
    page.get_by_role("checkbox", name="Demo API").check()
    page.get_by_role("button", name="Save key auth").click()

    expect(page.locator(".toast")).to_contain_text("Key auth saved")
    expect(page.locator("[data-keyauth]")).to_contain_text("On")
    screenshot(page, "sentinel-key-auth")
    [keyauth] = policies(dockyard, "preview")
    assert keyauth["keyauth"]["keyspaces"] == [demo.keyspace]
    assert keyauth["enabled"] is True

    # Policies are frozen into deployments: the next preview deployment enforces it.
    created = call(
        dockyard,
        "deployments.createDeployment",
        {
            "project": PROJECT,
            "app": APP,
            "environment": "preview",
            "deployment": {"deploymentId": demo.preview},
        },
    )
    assert wait_final(dockyard, created["deploymentId"])["status"] == "ready"
    key = call(dockyard, "keys.createKey", {"apiId": demo.keyspace, "name": "preview"})["key"]
    deadline = time.monotonic() + 30
    while through_edge(dockyard).status_code != 401 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert through_edge(dockyard).status_code == 401
    assert through_edge(dockyard, key).status_code == 200


def test_the_policy_list_is_ordered_switched_and_edited_in_the_page(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, f"{ENVIRONMENT.format(environment='production')}/settings/sentinel")
    card = page.locator("[data-policies]")
    expect(card.locator("[data-policy]")).to_have_count(1)

    card.get_by_role("button", name="Add policy").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Block the admin area")
    dialog.get_by_label("Type").select_option("firewall")
    dialog.get_by_label("Rule").fill('{"firewall": {"action": "ACTION_DENY"},')
    dialog.get_by_role("button", name="Add to list").click()
    expect(dialog.locator(".field:has(#p-rule) .error")).to_contain_text("not valid JSON")
    dialog.get_by_label("Type").select_option("firewall")  # the template again
    dialog.get_by_role("button", name="Add to list").click()

    expect(card.locator("[data-policy]")).to_have_count(2)
    expect(card).to_contain_text("Unsaved changes")
    card.locator("[data-policy='1']").get_by_role("button", name="Move up").click()
    card.locator("[data-policy='1']").get_by_role("switch").uncheck()
    screenshot(page, "sentinel-policies-draft")
    card.get_by_role("button", name="Save policies").click()

    expect(page.locator(".toast")).to_contain_text("Policies saved")
    expect(card).to_contain_text("Saved")
    saved = policies(dockyard, "production")
    assert [(p["name"], p["enabled"]) for p in saved] == [
        ("Block the admin area", True),
        ("Rate limit per IP", False),
    ]
    assert saved[0]["firewall"] == {"action": "ACTION_DENY"}
    assert saved[0]["match"][0]["path"]["path"]["prefix"] == "/admin"
    screenshot(page, "sentinel-policies")
