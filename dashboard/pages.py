"""`/dashboard`: the page shell and its assets (`/` redirects here).

The dashboard is a single page of plain ES modules and CSS, served from this package: no
build step, no CDN, nothing fetched from a registry at runtime. The browser keeps the root
key in sessionStorage and sends it to /v2 like any SDK would, so the shell itself is public
and carries no data, only the settings a browser needs to draw links (edge port, Temporal
Web UI).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SettingsDep
from dashboard.assets import Assets
from dockyard.settings import Settings

router = APIRouter()

ASSETS = Assets(Path(__file__).parent / "static")
# Everything the page runs or draws comes from this origin; nothing inline can execute,
# so a name or a log line shown on a page can never read the key in sessionStorage.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
FOREVER = "public, max-age=31536000, immutable"
NO_SUCH_ASSET = "No such dashboard asset."


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard/assets/{version}/{name:path}")
async def versioned_asset(version: str, name: str) -> Response:
    """A file of the page at a version: cached for good when it is the current one."""
    return _asset(name, FOREVER if version == ASSETS.version else "no-cache")


@router.get("/dashboard/assets/{name:path}")
async def asset(name: str) -> Response:
    return _asset(name, "no-cache")


@router.get("/dashboard")
@router.get("/dashboard/{path:path}")
async def page(settings: SettingsDep, path: str = "") -> HTMLResponse:
    """Every dashboard address answers with the same shell; the page routes itself."""
    ASSETS.refresh()
    return HTMLResponse(_shell(settings), headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def _asset(name: str, cache: str) -> Response:
    found = ASSETS.get(name) if name != "index.html" else None
    if found is None:
        return Response(NO_SUCH_ASSET, status_code=404, media_type="text/plain")
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return Response(found.body, media_type=found.media_type, headers=headers)


def _shell(settings: Settings) -> str:
    template = ASSETS.get("index.html")
    assert template is not None, "dashboard/static/index.html is part of the package"
    config = {
        "edgePort": settings.edge_port,
        "temporalUi": settings.temporal_ui_url,
        "temporalNamespace": settings.temporal_namespace,
        "apexDomain": settings.apex_domain,
        "workspace": settings.workspace,
        "standbyMinutes": int(settings.standby_time.total_seconds() // 60),
    }
    # Data for the page, not code: an attribute value, escaped as one.
    return (
        template.body.decode()
        .replace("{{assets}}", f"/dashboard/assets/{ASSETS.version}")
        .replace("{{config}}", html.escape(json.dumps(config), quote=True))
    )
