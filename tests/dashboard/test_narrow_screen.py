"""The dashboard on a phone (390 x 844): the sidebar is a bar across the top, the page gets
the width, and nothing is wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.dashboard.conftest import ENVIRONMENT, open_page, screenshot, sign_in
from tests.dashboard.demo import Demo
from tests.e2e.conftest import Dockyard

PHONE: ViewportSize = {"width": 390, "height": 844}
TOP_BAR_HEIGHT = 64  # one row of links, not a column beside the page
PAGES = {
    "projects": "/dashboard/projects",
    "environment": ENVIRONMENT.format(environment="production"),
    "deployment": "/dashboard/deployments/{deployment}",
    "settings": ENVIRONMENT.format(environment="production") + "/settings/sentinel",
    "keyspace": "/dashboard/keyspaces/{keyspace}",
}


@pytest.mark.parametrize("name", PAGES)
def test_on_a_phone_the_sidebar_is_a_top_bar_and_the_page_gets_the_width(
    page: Page, dockyard: Dockyard, demo: Demo, name: str
) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, dockyard.root_key)
    open_page(page, PAGES[name].format(deployment=demo.second, keyspace=demo.keyspace))

    main = page.locator("main.main").bounding_box()
    sidebar = page.locator(".sidebar").bounding_box()
    assert main is not None and sidebar is not None
    assert main["width"] >= 0.9 * PHONE["width"], main
    assert sidebar["height"] <= TOP_BAR_HEIGHT, sidebar
    assert main["y"] >= sidebar["y"] + sidebar["height"] - 1, (main, sidebar)
    for link in ("Projects", "Keyspaces", "Sign out"):
        expect(page.locator(".sidebar").get_by_role("link", name=link)).to_be_visible()
    # Wide parts (tables, logs) scroll inside their cards; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, f"phone-{name}")
