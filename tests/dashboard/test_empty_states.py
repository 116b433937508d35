"""A workspace with nothing in it yet: each list says what goes there and offers the
first step, instead of an empty table. The browser is shown empty lists (Playwright
answers for the list operations), so the stack's demo data stays as it is."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import Demo
from tests.e2e.conftest import Dockyard

EMPTY_PAGE = {"meta": {"requestId": "req_test"}, "data": [], "pagination": {"hasMore": False}}


def answer_empty(route: Route) -> None:
    route.fulfill(status=200, json=EMPTY_PAGE)


@pytest.mark.parametrize(
    ("path", "lists", "title", "action"),
    [
        ("/dashboard/projects", ["/v2/projects.listProjects"], "No projects yet", "New project"),
        (
            ENVIRONMENT.format(environment="preview"),
            ["/v2/deployments.listDeployments"],
            "No deployments yet",
            "Deploy",
        ),
        ("/dashboard/keyspaces", ["/dashboard/api/keyspaces"], "No keyspaces yet", "New keyspace"),
        ("/dashboard/keyspaces/{keyspace}", ["/v2/apis.listKeys"], "No keys yet", "Create key"),
        (
            f"{ENVIRONMENT.format(environment='preview')}/settings/variables",
            ["/v2/environments.listEnvironmentVariables"],
            "No variables",
            "Save variable",
        ),
    ],
    ids=["projects", "deployments", "keyspaces", "keys", "variables"],
)
def test_empty_lists_say_what_goes_there(
    page: Page, dockyard: Dockyard, demo: Demo, path: str, lists: list[str], title: str, action: str
) -> None:
    sign_in(page, dockyard.root_key)
    for operation in lists:
        page.route(f"**{operation}", answer_empty)

    open_page(page, path.format(keyspace=demo.keyspace))

    empty = page.locator(".empty")
    expect(empty).to_contain_text(title)
    expect(page.get_by_role("button", name=action).last).to_be_visible()
    screenshot(page, f"empty-{title.lower().replace(' ', '-')}")
