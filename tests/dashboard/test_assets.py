"""dashboard.pages and dashboard.assets without a browser: what is served, under
which cache rules, and what the shell tells the page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import dashboard
from api.deps import get_settings
from dashboard.assets import Assets
from dashboard.pages import ASSETS
from dockyard.settings import Settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(dashboard.router)
    settings = Settings(home=tmp_path, edge_port=18080, temporal_ui_port=18233, workspace="acme")
    app.dependency_overrides[get_settings] = lambda: settings
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http


def shell_config(text: str) -> dict[str, Any]:
    found = re.search(r'<meta name="dockyard-config" content="([^"]*)">', text)
    assert found
    config: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return config


async def test_root_redirects_to_the_dashboard(client: httpx.AsyncClient) -> None:
    answer = await client.get("/")
    assert answer.status_code == 307
    assert answer.headers["location"] == "/dashboard"


async def test_the_shell_carries_links_settings_and_versioned_assets(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/dashboard/projects/shop")

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert f'src="/dashboard/assets/{ASSETS.version}/app.js"' in answer.text
    assert shell_config(answer.text) == {
        "edgePort": 18080,
        "temporalUi": "http://127.0.0.1:18233",
        "temporalNamespace": "default",
        "apexDomain": "localhost",
        "workspace": "acme",
        "standbyMinutes": 30,
    }


async def test_current_assets_are_cached_for_good_and_others_revalidated(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/dashboard")
    current = await client.get(f"/dashboard/assets/{ASSETS.version}/app.js")
    stale = await client.get("/dashboard/assets/0123456789ab/app.js")

    assert current.status_code == 200
    assert current.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in current.headers["cache-control"]
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("name", ["index.html", "nope.js", "pages.py", "app.css.map"])
async def test_only_the_page_files_are_assets(client: httpx.AsyncClient, name: str) -> None:
    answer = await client.get(f"/dashboard/assets/{ASSETS.version}/{name}")
    assert answer.status_code == 404


def test_a_changed_file_is_a_new_version(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("export const a = 1;\n")
    assets = Assets(tmp_path)
    assets.refresh()
    first = assets.version

    (tmp_path / "app.js").write_text("export const a = 2;\n")
    assets.refresh()

    assert assets.version != first
    found = assets.get("app.js")
    assert found is not None
    assert found.body == b"export const a = 2;\n"


async def test_vendored_libraries_are_served_by_their_path(client: httpx.AsyncClient) -> None:
    await client.get("/dashboard")
    module = await client.get(f"/dashboard/assets/{ASSETS.version}/vendor/uPlot.esm.js")
    styles = await client.get(f"/dashboard/assets/{ASSETS.version}/vendor/uPlot.min.css")

    assert module.status_code == 200
    assert module.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in module.headers["cache-control"]
    assert "export { uPlot as default }" in module.text
    assert styles.headers["content-type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize("name", ["vendor/uPlot.LICENSE", "vendor/../pages.py", "vendor/nope.js"])
async def test_only_vendored_page_files_are_assets(client: httpx.AsyncClient, name: str) -> None:
    answer = await client.get(f"/dashboard/assets/{ASSETS.version}/{name}")
    assert answer.status_code == 404


def test_a_vendored_library_keeps_its_license() -> None:
    vendor = Path(dashboard.__file__).parent / "static" / "vendor"
    assert "MIT License" in (vendor / "uPlot.LICENSE").read_text()
