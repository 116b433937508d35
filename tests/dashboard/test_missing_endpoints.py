"""Parts of the API may not exist yet on a given dockyard. A page whose endpoint answers
404 ("no operation") or 501 says so where that part would be, and the rest keeps working.

The browser is made to see the missing endpoint (Playwright answers for it, with the API's
own error body), so this holds whatever the API under test has."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import Demo
from tests.e2e.conftest import Dockyard

PRODUCTION = ENVIRONMENT.format(environment="production")


def missing(page: Page, path: str, status: int = 404) -> None:
    def answer(route: Route) -> None:
        detail = (
            f"There is no operation at {route.request.method} {path}."
            if status == 404
            else "Not implemented."
        )
        route.fulfill(
            status=status,
            json={
                "meta": {"requestId": "req_test"},
                "error": {"title": "Not Found", "detail": detail, "status": status, "type": "x"},
            },
        )

    page.route(f"**{path}", answer)


@pytest.mark.parametrize(
    ("page_path", "endpoint", "still_there"),
    [
        (
            f"{PRODUCTION}/settings/variables",
            "/v2/environments.listEnvironmentVariables",
            "Variables",
        ),
        (f"{PRODUCTION}/settings/sentinel", "/v2/gateway.listPolicies", "Sentinel replicas"),
        (f"{PRODUCTION}/domains", "/v2/domains.listDomains", "dockyard domains"),
        ("/dashboard/keyspaces", "/dashboard/api/keyspaces", "New keyspace"),
        ("/dashboard/keyspaces/{keyspace}", "/v2/apis.listKeys", "Create key"),
    ],
    ids=["variables", "policies", "domains", "keyspaces", "keys"],
)
def test_a_missing_read_is_named_where_its_part_would_be(
    page: Page, dockyard: Dockyard, demo: Demo, page_path: str, endpoint: str, still_there: str
) -> None:
    sign_in(page, dockyard.root_key)
    missing(page, endpoint, status=501 if "keyspaces" in endpoint else 404)

    open_page(page, page_path.format(keyspace=demo.keyspace))

    notice = page.locator("[data-missing]")
    expect(notice).to_contain_text("not available on this dockyard yet")
    expect(notice).to_contain_text(endpoint.rsplit("/", 1)[1])
    expect(page.get_by_text(still_there).first).to_be_visible()
    screenshot(page, f"missing-{endpoint.rsplit('/', 1)[1]}")


def test_without_build_logs_the_deployment_page_says_so(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    missing(page, f"/v2/deployments/{demo.second}/buildLogs/stream")
    missing(page, "/v2/deployments.listBuildLogs")

    open_page(page, f"/dashboard/deployments/{demo.second}")

    expect(page.locator("[data-log]")).to_contain_text("Build logs are not available")
    expect(page.locator("[data-step=finalizing]")).to_be_visible()
    screenshot(page, "missing-build-logs")


def test_a_missing_action_is_explained_on_its_confirmation(
    page: Page, dockyard: Dockyard, demo: Demo
) -> None:
    sign_in(page, dockyard.root_key)
    missing(page, "/v2/deployments.promoteDeployment", status=501)
    open_page(page, PRODUCTION)
    standby = page.locator("tr", has=page.locator("[data-status]", has_text="Standby")).first

    standby.get_by_role("button", name="Promote").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Promote").click()

    expect(dialog.locator(".form-error")).to_contain_text("deployments.promoteDeployment")
    screenshot(page, "missing-promote")
