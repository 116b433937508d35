"""The dashboard in a real Chromium, against the whole stack as real processes
(tests.e2e.conftest.start_dockyard) seeded with the demo data (tests.dashboard.demo).

The browser is Debian's `chromium` driven by Playwright; a missing browser is a failure,
never a skip. Every test leaves screenshots under test-artifacts/dashboard/ for a person
to look at, and a screenshot of the moment it failed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.dashboard.demo import Demo, seed
from tests.e2e.conftest import Dockyard, start_dockyard
from tests.request_log import forget_streams

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
# How long a page may take to draw its data: the actions' default, not expect()'s 5 s, which
# a loaded machine can outlast while a fresh browser fetches and runs the page's modules.
DRAWN_TIMEOUT = 15_000
NO_CHROMIUM = (
    f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
    "Playwright's own browser download does not work here"
)

FAILED = pytest.StashKey[bool]()


# The stack lives as long as this package's tests: stopped before the next package's start.
@pytest.fixture(scope="package")
def git_repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the stack clones `owner/name` from: bare repositories the tests push to."""
    return tmp_path_factory.mktemp("dashboard-repos")


@pytest.fixture(scope="package")
def dockyard(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    demo_images: dict[str, str],
    git_repos: Path,
) -> Iterator[Dockyard]:
    home = tmp_path_factory.mktemp("dashboard-home")
    clone_url = f"file://{git_repos}/{{repository}}.git"
    # A request log of its own: the charts' tests count what they ship into it.
    stream = f"dashboard-{secrets.token_hex(4)}"
    with start_dockyard(
        home, redis_url, git_clone_url=clone_url, analytics_stream=stream
    ) as running:
        yield running
    forget_streams(redis_url, stream)


@pytest.fixture(scope="package")
def demo(dockyard: Dockyard, demo_images: dict[str, str]) -> Demo:
    return seed(dockyard, demo_images)


# One browser per test module, not per session: Playwright's sync API keeps an event loop
# running while it is open, and async tests elsewhere in the suite need theirs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise RuntimeError(NO_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


@pytest.fixture
def page(browser: Browser, dockyard: Dockyard, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser tab (its own sessionStorage); uncaught page errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT, base_url=dockyard.settings.api_url)
    context.set_default_timeout(DRAWN_TIMEOUT)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # A module that fails to load throws nothing: its request and the console say why.
    trouble: list[str] = []
    tab.on("requestfailed", lambda r: trouble.append(f"request failed: {r.url} {r.failure}"))
    tab.on("console", lambda m: m.type == "error" and trouble.append(f"console: {m.text}"))
    yield tab
    # Every browser test leaves at least its last screen, and says when it was a failure.
    failed = request.node.stash.get(FAILED, False)
    if failed:
        print("\n".join(["browser trouble before the failure:", *trouble]))
    screenshot(tab, f"{short_name(request.node)}-{'failed' if failed else 'end'}")
    context.close()
    assert not errors, f"the page threw: {errors}"


def short_name(item: pytest.Item) -> str:
    """The test's name; a parametrized one keeps the start of its parameters' id."""
    callspec = getattr(item, "callspec", None)
    name = getattr(item, "originalname", item.name)
    return f"{name}-{callspec.id[:40]}" if callspec else name


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    # From the top, so the sticky sidebar is drawn where a person sees it.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, root_key: str, path: str = "/dashboard") -> None:
    """Sign in from `path`, and wait until the page the sign-in leads to is drawn."""
    page.goto(path)
    expect(page.locator(f"{SIGN_IN}[data-ready]")).to_be_visible(timeout=DRAWN_TIMEOUT)
    page.get_by_label("Root key").fill(root_key)
    page.get_by_role("button", name="Sign in").click()
    # The sign-in page is itself [data-ready]: wait for the next one.
    expect(page.locator(f"[data-ready]:not({SIGN_IN})")).to_be_visible(timeout=DRAWN_TIMEOUT)


def open_page(page: Page, path: str) -> None:
    """Go to a dashboard address and wait until its data is drawn."""
    page.goto(path)
    expect(page.locator("[data-ready]")).to_be_visible(timeout=DRAWN_TIMEOUT)


SIGN_IN = "[data-page=sign-in]"
ENVIRONMENT = "/dashboard/projects/demo/apps/default/environments/{environment}"
