"""Signing in with a root key, and where the key may (and may not) end up."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import open_page, screenshot, sign_in
from tests.dashboard.demo import Demo, call
from tests.e2e.conftest import Dockyard


def test_root_and_dashboard_lead_to_sign_in_with_a_strict_policy(dockyard: Dockyard) -> None:
    root = httpx.get(f"{dockyard.settings.api_url}/", follow_redirects=False)
    assert root.status_code == 307
    assert root.headers["location"] == "/dashboard"

    shell = httpx.get(f"{dockyard.settings.api_url}/dashboard/deployments/d_anything")
    assert shell.status_code == 200
    policy = shell.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert shell.headers["referrer-policy"] == "no-referrer"


def test_a_wrong_key_gets_a_message_next_to_the_field(page: Page, dockyard: Dockyard) -> None:
    page.goto("/")

    expect(page).to_have_url(f"{dockyard.settings.api_url}/dashboard/sign-in")
    page.get_by_label("Root key").fill("dy_not_a_real_key")
    page.get_by_role("button", name="Sign in").click()

    error = page.locator(".field:has(#root-key) .error")
    expect(error).to_contain_text("not valid")
    screenshot(page, "sign-in-wrong-key")
    assert page.evaluate("sessionStorage.length") == 0


def test_sign_in_keeps_the_key_in_this_tab_only(page: Page, dockyard: Dockyard, demo: Demo) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    sign_in(page, dockyard.root_key)

    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    expect(page.locator("[data-project=demo]")).to_contain_text("app")
    screenshot(page, "projects")
    assert page.evaluate("sessionStorage.getItem('dockyard.rootKey')") == dockyard.root_key
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    assert not [url for url in requested if dockyard.root_key in url]
    logs = (dockyard.settings.home / "logs" / "api.log").read_text(errors="replace")
    assert dockyard.root_key not in logs


def test_signing_out_forgets_the_key(page: Page, dockyard: Dockyard, demo: Demo) -> None:
    sign_in(page, dockyard.root_key)

    page.get_by_role("link", name="Sign out").click()

    expect(page.get_by_label("Root key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.goto("/dashboard/keyspaces")
    expect(page).to_have_url(
        f"{dockyard.settings.api_url}/dashboard/sign-in?next=%2Fdashboard%2Fkeyspaces"
    )


def test_a_key_revoked_mid_session_sends_the_user_back_to_sign_in(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    created = call(dockyard, "rootKeys.createKey", {"name": "short-lived", "permissions": ["*"]})
    sign_in(page, created["key"])
    open_page(page, "/dashboard/keyspaces")

    call(dockyard, "rootKeys.deleteKey", {"keyId": created["keyId"]})
    page.get_by_role("link", name="Projects").click()

    expect(page.locator(".form-error")).to_contain_text("stopped working")
    assert page.evaluate("sessionStorage.length") == 0
    assert "next=%2Fdashboard%2Fprojects" in page.url
    screenshot(page, "sign-in-key-revoked")
