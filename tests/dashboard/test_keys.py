"""Keys in the browser: create one (its secret shown once, with a copy button), limit it,
disable it, revoke it; keys.verifyKey agrees with what the page shows."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.dashboard.conftest import open_page, screenshot, sign_in
from tests.dashboard.demo import Demo, call
from tests.e2e.conftest import Dockyard


def verify(dockyard: Dockyard, key: str) -> dict[str, Any]:
    result: dict[str, Any] = call(dockyard, "keys.verifyKey", {"key": key})
    return result


def test_create_a_key_see_it_once_then_revoke_it(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, f"/dashboard/keyspaces/{demo.keyspace}")
    screenshot(page, "keyspace")

    page.get_by_role("button", name="Create key").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name (optional)").fill("Browser test key")
    dialog.get_by_label("Prefix (optional)").fill("web")
    dialog.get_by_label("Credits (optional)").fill("50")
    dialog.get_by_role("button", name="Create key").click()

    shown = page.get_by_role("dialog").filter(has_text="Copy your key now")
    secret = shown.locator("[data-new-key]").inner_text()
    assert secret.startswith("web_")
    expect(shown.get_by_role("button", name="Copy")).to_be_visible()
    screenshot(page, "key-shown-once")
    assert verify(dockyard, secret)["valid"] is True
    shown.get_by_role("button", name="Done").click()

    row = page.locator("tr", has_text="Browser test key")
    expect(row).to_contain_text("49 left")  # the verification above spent one
    expect(row).not_to_contain_text(secret)
    assert secret not in page.content()

    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Every gateway rejects this key")
    dialog.get_by_role("button", name="Revoke key").click()

    expect(row).to_have_count(0)
    screenshot(page, "key-revoked")
    assert verify(dockyard, secret)["valid"] is False


def test_disable_a_key_and_set_its_rate_limit_and_credits(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    created = call(dockyard, "keys.createKey", {"apiId": demo.keyspace, "name": "Limits key"})
    sign_in(page, dockyard.root_key)
    open_page(page, f"/dashboard/keyspaces/{demo.keyspace}")
    row = page.locator(f"tr[data-key={created['keyId']}]")

    row.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("Disabled")
    assert verify(dockyard, created["key"])["code"] == "DISABLED"
    row.get_by_role("button", name="Enable").click()
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name="Limits").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Requests per window").fill("10")
    dialog.get_by_label("Window (seconds)").fill("30")
    dialog.get_by_label("Credits left").fill("7")
    dialog.get_by_label("Refill", exact=True).select_option("daily")
    dialog.get_by_role("button", name="Save limits").click()
    expect(dialog).to_contain_text("How many credits each refill adds")
    screenshot(page, "key-limits-field-error")
    dialog.get_by_label("Refill amount").fill("100")
    dialog.get_by_role("button", name="Save limits").click()

    expect(row).to_contain_text("10 / 30s")
    expect(row).to_contain_text("7 left")
    expect(row).to_contain_text("+100 daily")
    screenshot(page, "key-limits")
    stored = call(dockyard, "keys.getKey", {"keyId": created["keyId"]})
    assert stored["credits"]["remaining"] == 7
    assert [(r["limit"], r["duration"]) for r in stored["ratelimits"]] == [(10, 30000)]
