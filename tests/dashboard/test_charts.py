"""Charts in a real Chromium: an environment's and a deployment's traffic, and a keyspace's
verifications by outcome, drawn by the vendored uPlot from request-log rows shipped the way
a gateway ships them (the collector stores them); the reads' 400s for a bad window."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from dockyard.analytics.records import GATEWAY, stream_name
from dockyard.analytics.shipper import Shipper
from tests.dashboard.conftest import DRAWN_TIMEOUT, sign_in
from tests.dashboard.demo import APP, PROJECT, Demo, call
from tests.e2e.conftest import Dockyard

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_SECONDS = 30.0
CHARTS_ENV = "charts"


@dataclass(frozen=True)
class Seeded:
    environment_id: str
    keyspace: str


def gateway_record(
    environment_id: str, deployment_id: str, ago_s: int, status: int, ms: int
) -> list[Any]:
    """As dockyard.analytics.records says a replica ships one: times in nanoseconds."""
    return [
        time.time_ns() - ago_s * 1_000_000_000, environment_id, deployment_id, "local", "GET",
        "charts.localhost", "/orders/42", status, ms * 1_000_000,
        "allowed" if status < 500 else "upstream_error", None, None, None, None,
    ]  # fmt: skip


def ship(dockyard: Dockyard, records: list[list[Any]]) -> None:
    """Through a Shipper, as a Sentinel replica ships them; its flush runs on a loop of its own."""
    shipper = Shipper(
        dockyard.settings.redis_url,
        stream_name(dockyard.settings.analytics_stream, GATEWAY),
        bound=len(records),
    )
    for record in records:
        shipper.add(record)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, shipper.flush()).result()
    assert shipper.shipped == len(records)


def read(dockyard: Dockyard, name: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{dockyard.settings.api_url}/dashboard/api/{name}",
        json=body,
        headers={"Authorization": f"Bearer {dockyard.root_key}"},
        timeout=10,
    )


def eventually(get: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = get()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.fixture(scope="module")
def seeded(dockyard: Dockyard, demo: Demo) -> Seeded:
    """An environment of its own with 200 requests over the last hour: 170 answered
    200 in 12 ms, 20 answered 404 in 30 ms, 10 answered 503 in 480 ms. demo.first (on
    standby) answered 30 in 25 ms. A keyspace of its own got 5 VALID and 3 RATE_LIMITED
    verifications, from keys.verifyKey."""
    created = call(
        dockyard,
        "environments.createEnvironment",
        {"project": PROJECT, "app": APP, "slug": CHARTS_ENV, "kind": "preview"},
    )
    environment_id = created["id"]
    fake_deployment = f"d_seed{secrets.token_hex(4)}"
    records = [
        gateway_record(environment_id, fake_deployment, 30 + i * 19, 200, 12) for i in range(170)
    ]
    records += [
        gateway_record(environment_id, fake_deployment, 40 + i * 150, 404, 30) for i in range(20)
    ]
    records += [
        gateway_record(environment_id, fake_deployment, 50 + i * 300, 503, 480) for i in range(10)
    ]
    production = call(
        dockyard,
        "environments.getEnvironment",
        {"project": PROJECT, "app": APP, "environment": "production"},
    )
    records += [gateway_record(production["id"], demo.first, 20 + i, 200, 25) for i in range(30)]
    ship(dockyard, records)

    keyspace = call(dockyard, "apis.createApi", {"name": "Charts API"})["apiId"]
    key = call(
        dockyard,
        "keys.createKey",
        {
            "apiId": keyspace,
            "ratelimits": [{"name": "requests", "limit": 5, "duration": 60000, "autoApply": True}],
        },
    )["key"]
    for _ in range(8):
        call(dockyard, "keys.verifyKey", {"key": key})

    traffic = {"project": PROJECT, "app": APP, "environment": CHARTS_ENV}
    stored = eventually(
        lambda: read(dockyard, "environmentTraffic", traffic).json()["data"]["totals"]["requests"],
        lambda total: total == 200,
    )
    assert stored == 200
    verified = eventually(
        lambda: read(dockyard, "keyspaceVerifications", {"apiId": keyspace}).json()["data"][
            "total"
        ],
        lambda total: total == 8,
    )
    assert verified == 8
    return Seeded(environment_id, keyspace)


def stat(page: Page, card: str, key: str) -> Any:
    return page.locator(f"[data-{card}] [data-stat={key}] dd")


def test_environment_traffic_is_charted_for_the_hour_and_the_day(
    page: Page, dockyard: Dockyard, seeded: Seeded
) -> None:
    sign_in(
        page,
        dockyard.root_key,
        f"/dashboard/projects/{PROJECT}/apps/{APP}/environments/{CHARTS_ENV}",
    )
    card = page.locator("[data-traffic]")
    expect(card).to_have_attribute("data-drawn", "1h", timeout=DRAWN_TIMEOUT)

    expect(card.locator("[data-chart] canvas")).to_have_count(3)
    expect(stat(page, "traffic", "requests")).to_have_text("200")
    expect(stat(page, "traffic", "p50")).to_have_text("12 ms")
    expect(stat(page, "traffic", "p99")).to_have_text("480 ms")
    expect(stat(page, "traffic", "errors")).to_have_text("5.0%")
    expect(stat(page, "traffic", "client-errors")).to_have_text("10.0%")
    card.scroll_into_view_if_needed()
    DOCS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(DOCS / "environment-charts.png"))

    card.get_by_text("24h", exact=True).click()
    expect(card).to_have_attribute("data-drawn", "24h", timeout=DRAWN_TIMEOUT)
    expect(card.locator("[data-chart] canvas")).to_have_count(3)
    expect(stat(page, "traffic", "requests")).to_have_text("200")
    expect(stat(page, "traffic", "p99")).to_have_text("480 ms")


def test_a_deployment_shows_the_requests_it_answered(
    page: Page, dockyard: Dockyard, demo: Demo, seeded: Seeded
) -> None:
    sign_in(page, dockyard.root_key, f"/dashboard/deployments/{demo.first}")
    card = page.locator("[data-traffic]")
    expect(card).to_have_attribute("data-drawn", "1h", timeout=DRAWN_TIMEOUT)

    expect(card.locator("[data-chart] canvas")).to_have_count(3)
    expect(stat(page, "traffic", "requests")).to_have_text("30")
    expect(stat(page, "traffic", "p99")).to_have_text("25 ms")
    expect(stat(page, "traffic", "errors")).to_have_text("0.0%")

    # A narrower window lays the charts out in one column, each as wide as its place.
    canvas = "document.querySelector('[data-traffic] [data-chart=requests] canvas')"
    before = page.evaluate(f"{canvas}.clientWidth")
    page.set_viewport_size({"width": 900, "height": 900})
    page.wait_for_function(f"w => {canvas}.clientWidth !== w", arg=before)


def test_a_quiet_environment_says_so(page: Page, dockyard: Dockyard, demo: Demo) -> None:
    call(
        dockyard,
        "environments.createEnvironment",
        {"project": PROJECT, "app": APP, "slug": "quiet", "kind": "preview"},
    )
    sign_in(page, dockyard.root_key, f"/dashboard/projects/{PROJECT}/apps/{APP}/environments/quiet")
    card = page.locator("[data-traffic]")
    expect(card).to_have_attribute("data-drawn", "1h", timeout=DRAWN_TIMEOUT)
    expect(card.get_by_text("No requests in the last hour")).to_be_visible()
    expect(card.locator("canvas")).to_have_count(0)

    card.get_by_text("24h", exact=True).click()
    expect(card).to_have_attribute("data-drawn", "24h", timeout=DRAWN_TIMEOUT)
    expect(card.get_by_text("No requests in the last day")).to_be_visible()


def test_keyspace_verifications_by_outcome(page: Page, dockyard: Dockyard, seeded: Seeded) -> None:
    sign_in(page, dockyard.root_key, f"/dashboard/keyspaces/{seeded.keyspace}")
    card = page.locator("[data-verifications]")
    expect(card).to_have_attribute("data-drawn", "1h", timeout=DRAWN_TIMEOUT)

    expect(card.locator("[data-chart] canvas")).to_have_count(1)
    expect(stat(page, "verifications", "total")).to_have_text("8")
    expect(card.locator("[data-outcome=VALID] dd")).to_have_text("5")
    expect(card.locator("[data-outcome=RATE_LIMITED] dd")).to_have_text("3")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(DOCS / "keyspace-verifications.png"))


def test_charts_load_nothing_from_another_origin(
    page: Page, dockyard: Dockyard, seeded: Seeded
) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    sign_in(
        page,
        dockyard.root_key,
        f"/dashboard/projects/{PROJECT}/apps/{APP}/environments/{CHARTS_ENV}",
    )
    expect(page.locator("[data-traffic]")).to_have_attribute(
        "data-drawn", "1h", timeout=DRAWN_TIMEOUT
    )

    assert any("/vendor/uPlot.esm.js" in url for url in asked)
    assert all(url.startswith(dockyard.settings.api_url) for url in asked), asked


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"window": "7d"}, "body.window"),
        ({"window": 3600}, "body.window"),
        ({"window": "1h", "start": 0}, "body.start"),
    ],
)
def test_a_bad_window_is_a_400_that_names_it(
    dockyard: Dockyard, demo: Demo, body: dict[str, Any], location: str
) -> None:
    target = {"project": PROJECT, "app": APP, "environment": "production"}
    answer = read(dockyard, "environmentTraffic", {**target, **body})

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert [item["location"] for item in error["errors"]] == [location]
    assert "1h" in error["detail"] or location == "body.start"


@pytest.mark.parametrize(
    ("name", "body", "status", "words"),
    [
        ("deploymentTraffic", {"deploymentId": "first"}, 403, "read_gateway_requests"),
        ("keyspaceVerifications", {"apiId": "keyspace"}, 403, "read_analytics"),
        ("deploymentTraffic", {"deploymentId": "d_nosuchdeployment"}, 404, "does not exist"),
    ],
    ids=["traffic-right", "verifications-right", "unknown-deployment"],
)
def test_charts_take_the_rights_their_analytics_take(
    dockyard: Dockyard, demo: Demo, name: str, body: dict[str, str], status: int, words: str
) -> None:
    key = call(
        dockyard,
        "rootKeys.createKey",
        {"name": "charts", "permissions": ["project.*.read_project"]},
    )["key"]
    ids = {"first": demo.first, "keyspace": demo.keyspace}
    answer = httpx.post(
        f"{dockyard.settings.api_url}/dashboard/api/{name}",
        json={field: ids.get(value, value) for field, value in body.items()},
        headers={"Authorization": f"Bearer {key if status == 403 else dockyard.root_key}"},
        timeout=10,
    )

    assert answer.status_code == status
    assert words in answer.json()["error"]["detail"]
