"""Bad input in any form gets a message next to the field it is about: from the page's
own checks before anything is sent, and from the API's 400 (`errors[].location`)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import Demo, call
from tests.e2e.conftest import Dockyard

PRODUCTION = ENVIRONMENT.format(environment="production")


def error_of(scope: Page | Locator, field_id: str) -> Locator:
    return scope.locator(f".field:has(#{field_id}) .error")


def test_new_project_slug_is_checked_before_it_is_sent(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))

    page.get_by_role("button", name="New project").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Shop")
    dialog.get_by_label("Slug").fill("Bad Slug")
    dialog.get_by_role("button", name="Create project").click()

    expect(error_of(dialog, "f-slug")).to_contain_text("lowercase letters, digits or '-'")
    expect(error_of(dialog, "f-name")).to_have_count(0)
    assert not [url for url in sent if "projects.createProject" in url]
    screenshot(page, "form-project-slug")

    dialog.get_by_label("Slug").fill("demo")  # taken: the API's 409 shows on the form
    dialog.get_by_role("button", name="Create project").click()
    expect(dialog.locator(".form-error")).to_contain_text("demo")


def test_deploy_form_shows_the_api_error_next_to_the_image(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, PRODUCTION)

    page.get_by_role("button", name="Deploy").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Pre-built image").click()
    dialog.get_by_label("Image", exact=True).fill("Not An Image!!")
    dialog.get_by_role("button", name="Deploy").click()

    expect(error_of(dialog, "f-image")).to_be_visible()
    expect(dialog.locator(".form-error")).to_have_count(0)
    screenshot(page, "form-deploy-image")


def test_runtime_settings_errors_sit_next_to_their_fields(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, f"{PRODUCTION}/settings")

    page.get_by_label("Port").fill("70000")
    page.get_by_role("button", name="Save runtime settings").click()
    expect(error_of(page, "f-port")).to_contain_text("1 to 65535")

    page.get_by_label("Port").fill("8080")
    page.get_by_label("Region").fill("mars")  # only the API knows which regions exist
    page.get_by_role("button", name="Save runtime settings").click()
    expect(error_of(page, "f-region-0")).to_contain_text("mars")
    expect(error_of(page, "f-port")).to_have_count(0)
    screenshot(page, "form-runtime-region")

    page.get_by_label("Region").fill("local")
    page.get_by_label("Path").fill("/healthz")
    page.get_by_role("button", name="Save runtime settings").click()
    expect(page.locator(".toast")).to_contain_text("Saved")
    settings = call(
        dockyard,
        "environments.getEnvironment",
        {"project": "demo", "app": "default", "environment": "production"},
    )
    assert settings["runtime"]["healthcheck"]["path"] == "/healthz"


def test_custom_domain_and_variable_errors(page: Page, dockyard: Dockyard, demo: Demo) -> None:
    sign_in(page, dockyard.root_key)
    open_page(page, f"{PRODUCTION}/domains")

    page.get_by_label("Add a custom domain").fill("shop.localhost")
    page.get_by_role("button", name="Add domain").click()
    expect(error_of(page, "new-domain")).to_contain_text("localhost")
    screenshot(page, "form-domain")

    page.get_by_label("Add a custom domain").fill("shop.example.org")
    page.get_by_role("button", name="Add domain").click()
    card = page.locator("[data-domain='shop.example.org']")
    expect(card).to_contain_text("CNAME")
    expect(card).to_contain_text("TXT")
    card.get_by_role("button", name="Verify now").click()
    expect(page.locator(".toast").last).to_contain_text("Checking the DNS records")
    expect(card).to_contain_text("No TXT record _dockyard.shop.example.org")
    screenshot(page, "domains")

    open_page(page, f"{PRODUCTION}/settings/variables")
    page.get_by_label("Key").fill("1BAD")
    page.get_by_label("Value").fill("x")
    page.get_by_role("button", name="Save variable").click()
    expect(error_of(page, "var-key")).to_contain_text("not starting with a digit")
    page.get_by_label("Key").fill("API_TOKEN")
    page.get_by_role("button", name="Save variable").click()
    row = page.locator("[data-variable=API_TOKEN]")
    expect(row).to_contain_text("hidden (write-only)")
    assert "x" not in row.locator(".value-cell").inner_text().replace("hidden (write-only)", "")
    screenshot(page, "variables")
