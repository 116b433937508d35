"""The Sentinel policies frozen into a deployment, read through the dashboard's own read
(dashboard.reads) and shown on the deployment's page: they stay what they were when
the deployment was created, whatever the environment's list says later."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import open_page, screenshot, sign_in
from tests.dashboard.demo import PROJECT, Demo, call, wait_final
from tests.e2e.conftest import Dockyard

APP = "gateway"
SCOPE = {"project": PROJECT, "app": APP, "environment": "preview"}


def policies_of(dockyard: Dockyard, deployment_id: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{dockyard.settings.api_url}/dashboard/api/deploymentPolicies",
        headers={"Authorization": f"Bearer {key}"},
        json={"deploymentId": deployment_id},
        timeout=10,
    )


@pytest.fixture(scope="module")
def frozen(dockyard: Dockyard, demo: Demo, demo_images: dict[str, str]) -> str:
    """A preview deployment created under key auth and a switched-off rate limit; the
    environment's list is emptied afterwards."""
    call(dockyard, "apps.createApp", {"project": PROJECT, "slug": APP, "name": "Gateway"})
    policies: list[dict[str, Any]] = [
        {"name": "Demo keys", "enabled": True, "keyauth": {"keyspaces": [demo.keyspace]}},
        {
            "name": "Per key",
            "enabled": False,
            "ratelimit": {
                "limit": 5,
                "windowMs": 1000,
                "identifiers": [{"authenticatedSubject": {}}],
            },
        },
    ]
    call(dockyard, "gateway.setPolicies", {**SCOPE, "policies": policies})
    created = call(
        dockyard,
        "deployments.createDeployment",
        {**SCOPE, "image": {"dockerImage": demo_images["v1"]}},
    )
    wait_final(dockyard, created["deploymentId"])
    call(dockyard, "gateway.setPolicies", {**SCOPE, "policies": []})
    return str(created["deploymentId"])


def test_the_read_gives_the_policies_in_the_order_they_were_frozen(
    dockyard: Dockyard, demo: Demo, frozen: str
) -> None:
    answer = policies_of(dockyard, frozen, dockyard.root_key)

    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["deploymentId"] == frozen
    assert [p["name"] for p in data["policies"]] == ["Demo keys", "Per key"]
    assert data["policies"][0]["keyauth"]["keyspaces"] == [demo.keyspace]
    assert data["policies"][1]["enabled"] is False
    # demo's deployments were made before its environment had any policy.
    before = policies_of(dockyard, demo.second, dockyard.root_key).json()["data"]
    assert before["policies"] == []


def test_the_read_needs_the_right_to_read_the_environments_policies(
    dockyard: Dockyard, frozen: str
) -> None:
    reader = call(
        dockyard,
        "rootKeys.createKey",
        {"name": "deployments only", "permissions": ["environment.*.read_deployment"]},
    )["key"]

    assert policies_of(dockyard, frozen, reader).status_code == 403
    assert policies_of(dockyard, "d_doesnotexist", dockyard.root_key).status_code == 404


def test_a_deployment_page_shows_the_policies_frozen_into_it(
    page: Page, dockyard: Dockyard, demo: Demo, frozen: str
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, f"/dashboard/deployments/{frozen}")

    card = page.locator("[data-frozen-policies]")
    expect(card.locator("[data-frozen-policy]")).to_have_count(2)
    first = card.locator("[data-frozen-policy='0']")
    second = card.locator("[data-frozen-policy='1']")
    expect(first).to_contain_text("Demo keys")
    expect(first).to_contain_text("Accepts keys of Demo API")
    expect(second).to_contain_text("Per key")
    expect(second).to_contain_text("5 requests per 1s per key")
    expect(second).to_contain_text("Disabled")
    screenshot(page, "deployment-frozen-policies")

    open_page(page, f"/dashboard/deployments/{demo.second}")
    expect(page.locator("[data-frozen-policies]")).to_contain_text("None")
